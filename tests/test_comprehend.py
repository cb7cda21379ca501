"""AMAZON_COMPREHEND_CSV and `labelport validate --target comprehend`, through
the command line.

Everything is checked independently of labelport's code: the source CoNLL
and TSV are parsed by tests/sources.py, and the written files are parsed here
with csv and json. Nothing from labelport is imported.

Full-set tests (WNUT-17 dev and test, the SMS Spam Collection) skip when
../shared/datasets is absent; the same checks run on the slices in
tests/fixtures everywhere.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest

try:  # tests/ as a package, or as a plain folder on sys.path
    from .conftest import FIXTURES, SMS_SOURCES, SMS_SPAM, WNUT17_DEV, WNUT17_FIXTURES, WNUT17_TEST, dataset_params, run_cli
except ImportError:
    from conftest import (  # type: ignore[no-redef]
        FIXTURES, SMS_SOURCES, SMS_SPAM, WNUT17_DEV, WNUT17_FIXTURES, WNUT17_TEST, dataset_params, run_cli,
    )
from sources import REPORT, answered_rows, astral_tokens, entities, files_under, read_conll, report_of, sms_pairs

FORMAT = "AMAZON_COMPREHEND_CSV"
HEADER = ["File", "Line", "Begin Offset", "End Offset", "Type"]
NEWSROOM = FIXTURES / "datasaur" / "newsroom-p8Xk2Lq9"

# -- independent readers (the shared ones are in sources.py) ----------------------------


def read_lines(path: Path) -> list[str]:
    """documents.txt: UTF-8, every line ends with LF, no other line break."""
    data = path.read_bytes().decode("utf-8")
    assert data == "" or data.endswith("\n")
    assert "\r" not in data
    return data.split("\n")[:-1] if data else []


def read_annotations(path: Path) -> list[tuple[str, int, int, int, str]]:
    raw = path.read_bytes().decode("utf-8")
    assert raw.split("\n", 1)[0] == ",".join(HEADER), "header must be exactly File,Line,Begin Offset,End Offset,Type"
    rows = list(csv.reader(raw.splitlines()))
    assert rows[0] == HEADER
    out = []
    for row in rows[1:]:
        assert len(row) == 5, row
        out.append((row[0], int(row[1]), int(row[2]), int(row[3]), row[4]))
    return out


def to_type(label: str) -> str:
    return label.upper().replace("-", "_")


def convert(source: Path, out: Path, *args: object) -> tuple[int, str, str]:
    return run_cli("convert", source, "-f", FORMAT, "-o", out, *args)


# -- sources ---------------------------------------------------------------------------

WNUT = {
    "dev-slice": WNUT17_FIXTURES / "emerging.dev.slice.conll",
    "test-slice": WNUT17_FIXTURES / "emerging.test.slice.annotated",
    "dev": WNUT17_DEV,
    "test": WNUT17_TEST,
}
ASTRAL_TOKENS = {"dev": 123, "test": 47}


def wnut_params(*names: str):
    return dataset_params(WNUT, *names, full=ASTRAL_TOKENS)


_converted: dict[tuple, Path] = {}


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """Convert once per (source, options) for the whole module."""

    def get(name: str, *args: str) -> Path:
        key = (name, *args)
        if key not in _converted:
            out = tmp_path_factory.mktemp("comprehend") / "out"
            code, _, err = convert(WNUT[name], out, *args)
            assert code == 0, err
            _converted[key] = out
        return _converted[key]

    return get


# -- 1. token labeling: offsets point at the entities ----------------------------------------


@pytest.mark.parametrize("name", wnut_params("dev-slice", "test-slice", "dev", "test"))
def test_annotations_slice_to_entities(name, converted):
    sentences = read_conll(WNUT[name])
    if name in ASTRAL_TOKENS:
        assert astral_tokens(sentences) == ASTRAL_TOKENS[name]
    out = converted(name)
    assert files_under(out) == [
        "entity_recognizer.json",
        REPORT,
        "train/annotations/annotations.csv",
        "train/documents/documents.txt",
    ]
    lines = read_lines(out / "train/documents/documents.txt")
    assert lines == [s.text for s in sentences]
    for line in lines:
        assert 1 <= len(line.encode("utf-8")) <= 5000
    expected = Counter()
    for number, sentence in enumerate(sentences):
        for e in entities(sentence):
            expected[(number, e.start, e.end, to_type(e.label))] += 1
    rows = read_annotations(out / "train/annotations/annotations.csv")
    assert len(rows) == sum(expected.values())
    assert Counter((line, b, e, t) for _, line, b, e, t in rows) == expected
    for file, line, begin, end, kind in rows:
        assert file == "documents.txt"
        assert begin < end
    # each annotation's slice is the entity's text
    texts = {(n, e.start, e.end): e.text for n, s in enumerate(sentences) for e in entities(s)}
    for _, line, begin, end, _ in rows:
        assert lines[line][begin:end] == texts[(line, begin, end)]

    config = json.loads((out / "entity_recognizer.json").read_text(encoding="utf-8"))
    types = sorted({t for *_, t in rows})
    assert config == {
        "DataFormat": "COMPREHEND_CSV",
        "EntityTypes": [{"Type": t} for t in types],
        "Documents": {"S3Uri": "train/documents/", "InputFormat": "ONE_DOC_PER_LINE"},
        "Annotations": {"S3Uri": "train/annotations/annotations.csv"},
    }
    report = report_of(out)
    astral_lines = sum(1 for line in lines if any(c > "\uffff" for c in line))
    assert astral_lines > 0
    assert report["offsets"] == {"unit": "codepoint", "lines with characters outside the BMP": astral_lines}
    assert report["entity_types"] == {label: to_type(label) for label in report["spans_per_label"]}
    assert "overlapping spans" not in report["not_carried"]


@pytest.mark.parametrize("name", wnut_params("dev-slice", "test-slice", "dev", "test"))
def test_utf16_offsets(name, converted):
    sentences = read_conll(WNUT[name])
    out = converted(name, "--offset-unit", "utf16")
    lines = read_lines(out / "train/documents/documents.txt")
    rows = read_annotations(out / "train/annotations/annotations.csv")
    wanted = Counter(
        (number, e.text, to_type(e.label))
        for number, sentence in enumerate(sentences)
        for e in entities(sentence)
    )
    got = Counter()
    moved = 0
    for _, line, begin, end, kind in rows:
        units = lines[line].encode("utf-16-le")
        text = units[2 * begin : 2 * end].decode("utf-16-le")
        got[(line, text, kind)] += 1
        moved += lines[line][begin:end] != text
    assert got == wanted
    assert moved > 0, "no entity after a character outside the BMP: the test proves nothing"
    assert report_of(out)["offsets"]["unit"] == "utf16"


# -- 2. splits ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", wnut_params("dev-slice", "dev"))
def test_train_test_split(name, tmp_path):
    sentences = read_conll(WNUT[name])
    out = tmp_path / "out"
    code, _, err = convert(WNUT[name], out, "--split", "train=0.8,test=0.2")
    assert code == 0, err
    every: Counter = Counter()
    found: Counter = Counter()
    for split in ("train", "test"):
        lines = read_lines(out / split / "documents" / "documents.txt")
        rows = read_annotations(out / split / "annotations" / "annotations.csv")
        assert lines
        every.update(lines)
        for _, line, begin, end, kind in rows:
            assert 0 <= line < len(lines)  # Line counts from 0 in each split's file
            found[(lines[line], lines[line][begin:end], kind)] += 1
    assert every == Counter(s.text for s in sentences)
    assert found == Counter((s.text, e.text, to_type(e.label)) for s in sentences for e in entities(s))
    config = json.loads((out / "entity_recognizer.json").read_text(encoding="utf-8"))
    assert config["Documents"] == {
        "S3Uri": "train/documents/",
        "TestS3Uri": "test/documents/",
        "InputFormat": "ONE_DOC_PER_LINE",
    }
    assert config["Annotations"] == {
        "S3Uri": "train/annotations/annotations.csv",
        "TestS3Uri": "test/annotations/annotations.csv",
    }


def test_validation_share_goes_to_test(tmp_path):
    out = tmp_path / "out"
    code, _, err = convert(WNUT["dev-slice"], out, "--split", "train=0.5,validation=0.5")
    assert code == 0, err
    assert (out / "test/documents/documents.txt").exists()
    assert not (out / "validation").exists()
    report = report_of(out)
    moved = report["splits"]["validation"]["lines"]
    assert len(read_lines(out / "test/documents/documents.txt")) == moved
    assert [v["count"] for k, v in report["not_carried"].items() if "validation" in k] == [moved]
    assert "validation" in err


def test_other_split_name_is_refused(tmp_path):
    out = tmp_path / "out"
    code, _, err = convert(WNUT["dev-slice"], out, "--split", "train=0.8,dev=0.2")
    assert code == 2
    assert "'dev'" in err and "train" in err and "test" in err and "validation" in err
    assert not out.exists()


# -- 3. classifier ------------------------------------------------------------------------------


@pytest.mark.parametrize("source", SMS_SOURCES)
def test_sms_classifier(source, tmp_path):
    pairs = sms_pairs(source)
    out = tmp_path / "out"
    code, _, err = convert(source, out, "--from", "TSV", "--columns", "label,text")
    assert code == 0, err
    if source == SMS_SPAM:
        assert len(pairs) == 5574
        assert sum(text != text.strip() for _, text in pairs) == 187
    with open(out / "train" / "classifier.csv", encoding="utf-8", newline="") as fh:
        rows = [tuple(row) for row in csv.reader(fh)]
    assert rows == pairs  # in order, texts byte for byte, and no header row
    assert files_under(out) == [
        "document_classifier.json",
        REPORT,
        "train/classifier.csv",
    ]
    config = json.loads((out / "document_classifier.json").read_text(encoding="utf-8"))
    assert config == {"Mode": "MULTI_CLASS", "InputDataConfig": {"DataFormat": "COMPREHEND_CSV", "S3Uri": "train/classifier.csv"}}
    report = report_of(out)
    assert report["ready_for_training"] is (source == SMS_SPAM)  # the slice has fewer than 50 spam
    code, _, _ = run_cli("validate", out, "--target", "comprehend")
    assert code == 0


def test_multi_label_delimiter_and_line_breaks(tmp_path):
    source = tmp_path / "tags.csv"
    source.write_text('text,tags\n"hello,\nthere",x;a|b\nbye now,x\nno tags,\n', encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = run_cli(
        "convert", source, "--label-column", "tags", "--label-separator", ";", "-f", FORMAT, "-o", out,
        "--split", "train=0.5,test=0.5",
    )
    assert code == 0, err
    config = json.loads((out / "document_classifier.json").read_text(encoding="utf-8"))
    assert config["Mode"] == "MULTI_LABEL"
    delimiter = config["InputDataConfig"]["LabelDelimiter"]
    assert len(delimiter) == 1 and delimiter != "|"  # a label holds |
    assert config["InputDataConfig"]["TestS3Uri"] == "test/classifier.csv"
    rows = []
    for split in ("train", "test"):
        raw = (out / split / "classifier.csv").read_bytes().decode("utf-8")
        rows += list(csv.reader(raw.splitlines()))
    assert sorted((sorted(label.split(delimiter)), text) for label, text in rows) == [
        (["a|b", "x"], "hello, there"),
        (["x"], "bye now"),
    ]
    report = report_of(out)
    assert report["not_carried"]["line breaks inside a line (written as spaces)"]["count"] == 1
    assert report["not_carried"]["examples without an answer (not written)"]["count"] == 1


def test_the_writer_prefers_delimiters_in_its_own_order_among_those_comprehend_accepts(tmp_path):
    """The writer's order decides the bytes (the API's order would pick a space
    first); it may hold only, and must hold every, LabelDelimiter the checker accepts."""
    from labelport.targets.comprehend import rules, writer

    preferred = writer.PREFERRED_DELIMITERS
    assert sorted(preferred) == sorted(rules.DELIMITERS) and len(set(preferred)) == len(preferred)
    source = tmp_path / "tags.csv"
    source.write_text("text,tags\nhello,x;a|b\nbye,a b;c~d\n", encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = run_cli("convert", source, "--label-column", "tags", "--label-separator", ";", "-f", FORMAT, "-o", out)
    assert code == 0, err
    config = json.loads((out / "document_classifier.json").read_text(encoding="utf-8"))
    assert config["InputDataConfig"]["LabelDelimiter"] == "^"  # "|" and "~" occur in labels: the third preference
    rows = list(csv.reader((out / "train" / "classifier.csv").read_text("utf-8").splitlines()))
    assert sorted(sorted(label.split("^")) for label, _ in rows) == [["a b", "c~d"], ["a|b", "x"]]
    code, stdout, _ = run_cli("validate", out, "--target", "comprehend")
    assert "comprehend.config.delimiter" not in stdout


# -- 4. labels to entity types ----------------------------------------------------------------------


def write_conll(path: Path, sentences: list[list[tuple[str, str]]]) -> Path:
    path.write_text("\n\n".join("\n".join(f"{t}\t{g}" for t, g in s) for s in sentences) + "\n", encoding="utf-8")
    return path


def test_label_mapping(tmp_path):
    source = write_conll(
        tmp_path / "small.conll",
        [[("Ann", "B-person"), ("read", "O"), ("Dune", "B-creative-work")], [("Bob", "B-person"), ("left", "O")]],
    )
    out = tmp_path / "out"
    code, _, err = convert(source, out)
    assert code == 0, err
    config = json.loads((out / "entity_recognizer.json").read_text(encoding="utf-8"))
    assert config["EntityTypes"] == [{"Type": "CREATIVE_WORK"}, {"Type": "PERSON"}]
    assert report_of(out)["entity_types"] == {"creative-work": "CREATIVE_WORK", "person": "PERSON"}
    rows = read_annotations(out / "train/annotations/annotations.csv")
    assert rows == [
        ("documents.txt", 0, 0, 3, "PERSON"),
        ("documents.txt", 0, 9, 13, "CREATIVE_WORK"),
        ("documents.txt", 1, 0, 3, "PERSON"),
    ]


def test_two_labels_one_type_is_an_error(tmp_path):
    source = write_conll(tmp_path / "clash.conll", [[("x", "B-a-b"), ("y", "O"), ("z", "B-a_b")]])
    out = tmp_path / "out"
    code, _, err = convert(source, out)
    assert code == 1
    assert "a-b" in err and "a_b" in err and "A_B" in err
    assert (out / "entity_recognizer.json").exists()  # files kept
    assert len(read_annotations(out / "train/annotations/annotations.csv")) == 2
    report = report_of(out)
    hard = [c for c in report["checks"] if c["hard"]]
    assert any("a-b" in c["message"] and "a_b" in c["message"] for c in hard)
    assert report["ready_for_training"] is False


# -- 5. overlaps ----------------------------------------------------------------------------------------


def test_overlapping_spans_first_kept(tmp_path):
    out = tmp_path / "out"
    code, _, err = convert(NEWSROOM, out)
    assert code == 0, err
    lines = read_lines(out / "train/documents/documents.txt")
    rows = read_annotations(out / "train/annotations/annotations.csv")
    on_line: dict[int, list[tuple[int, int, str]]] = {}
    for _, line, begin, end, kind in rows:
        on_line.setdefault(line, []).append((begin, end, lines[line][begin:end]))
    for spans in on_line.values():
        spans.sort()
        for (_, end, _), (begin, _, _) in pairwise(spans):
            assert begin >= end, spans
    macron = next(n for n, text in enumerate(lines) if "Macron" in text)
    assert [text for *_, text in on_line[macron]] == ["Emmanuel Macron", "Élysée Palace"]
    dropped = report_of(out)["not_carried"]["overlapping spans"]
    assert dropped["count"] == 2
    assert sorted(e["text"] for e in dropped["examples"]) == ["lys", "Élysée"]


# -- 6. validate ---------------------------------------------------------------------------------------


def test_validate_bad_folder(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    text = "Alice met Bob in Paris"
    long_line = "x" * 6000
    (folder / "documents.txt").write_text(f"{text}\n{long_line}\n{text}\n", encoding="utf-8")
    rows = ["File, Line, Begin Offset, End Offset, Type"]  # 1: spaces after commas
    rows.append("documents.txt,0,0,5,BAD TYPE")  # 2: a Type with a space
    rows.append("documents.txt,0,17,40,CITY")  # 3: past the line (22 characters)
    rows.append("documents.txt,2,0,5,PERSON")  # 4
    rows.append("documents.txt,2,3,9,NAME")  # 5: overlaps line 4's annotation
    rows += [f"documents.txt,2,{i},{i + 1},T{i}" for i in range(10, 22)]  # 6-17
    rows += [f"documents.txt,0,{i},{i + 1},U{i}" for i in range(6, 17)]  # 18-28; 26 valid types in all
    (folder / "annotations.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, stdout, _ = run_cli("validate", folder, "--target", "comprehend")
    assert code == 1
    printed = stdout.splitlines()

    def has(where: str, rule: str) -> bool:
        return any(line.startswith(where + ": error:") and f"[{rule}]" in line for line in printed)

    assert has("annotations.csv:1", "comprehend.annotations.header"), printed
    assert has("annotations.csv:2", "comprehend.annotations.type"), printed
    assert has("annotations.csv:3", "comprehend.annotations.offsets"), printed
    assert has("annotations.csv:5", "comprehend.annotations.overlap"), printed
    assert has("documents.txt:2", "comprehend.documents.size"), printed
    assert any("[comprehend.types.count]" in line and "26" in line and ": error:" in line for line in printed), printed


def test_validate_classifier_rules(tmp_path):
    folder = tmp_path / "cls"
    folder.mkdir()
    (folder / "document_classifier.json").write_text(
        json.dumps({"Mode": "MULTI_LABEL", "InputDataConfig": {"S3Uri": "s3://bucket/data/train.csv", "LabelDelimiter": "|"}}),
        encoding="utf-8",
    )
    (folder / "train.csv").write_text('label,text\na|b,"one"\na||b,two\nc,three,extra\n', encoding="utf-8")
    code, stdout, _ = run_cli("validate", folder, "--target", "comprehend")
    assert code == 1
    assert "train.csv:1: error:" in stdout and "[comprehend.classifier.header]" in stdout
    assert "train.csv:3: error:" in stdout and "[comprehend.classifier.label]" in stdout
    assert "train.csv:4: error:" in stdout and "[comprehend.classifier.fields]" in stdout


def test_validate_another_tools_layout(tmp_path):
    """Documents and annotations anywhere, with a config naming s3:// URIs."""
    folder = tmp_path / "fetched"
    (folder / "docs").mkdir(parents=True)
    (folder / "ann").mkdir()
    line = "Diego Ramirez is an engineer in the high tech industry . " * 5
    (folder / "docs" / "train.txt").write_text((line + "\n") * 30, encoding="utf-8")
    rows = ["File,Line,Begin Offset,End Offset,Type"] + [f"train.txt,{n},0,13,ENGINEER" for n in range(30)]
    (folder / "ann" / "train.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, stdout, err = run_cli("validate", folder, "--target", "comprehend")
    assert code == 0, stdout + err
    (folder / "entity_recognizer.json").write_text(
        json.dumps(
            {
                "DataFormat": "COMPREHEND_CSV",
                "EntityTypes": [{"Type": "ENGINEER"}],
                "Documents": {"S3Uri": "s3://my-bucket/ner/docs/", "InputFormat": "ONE_DOC_PER_LINE"},
                "Annotations": {"S3Uri": "s3://my-bucket/ner/ann/train.csv"},
            }
        ),
        encoding="utf-8",
    )
    code, stdout, err = run_cli("validate", folder, "--target", "comprehend", "--strict")
    assert code == 0, stdout + err
    assert stdout == ""


@pytest.mark.parametrize("name", wnut_params("dev-slice", "dev"))
def test_own_output_validates(name, converted):
    out = converted(name)
    code, stdout, err = run_cli("validate", out, "--target", "comprehend")
    assert code == 0, stdout
    assert ": error:" not in stdout
    assert "0 rules broken" in err


def test_tiny_project_not_ready(tmp_path):
    source = write_conll(tmp_path / "tiny.conll", [[("Ann", "B-person"), ("sleeps", "O")]])
    out = tmp_path / "out"
    code, _, err = convert(source, out)
    assert code == 0, err
    assert "not ready for training" in err
    report = report_of(out)
    assert report["ready_for_training"] is False
    reasons = " ".join(c["message"] for c in report["checks"])
    assert not any(c["hard"] for c in report["checks"])
    assert "at least 3" in reasons and "at least 25" in reasons and "5 KB" in reasons
    code, _, err = convert(source, tmp_path / "strict", "--strict")
    assert code == 1
    assert (tmp_path / "strict" / "entity_recognizer.json").exists()


def test_export_all_zip_validates(tmp_path):
    """The export-all zip holds a ROOT version without labels: never training data, so not checked."""
    out = tmp_path / "out"
    code, _, err = convert(NEWSROOM, out, "--zip", "newsroom")
    assert code == 0, err
    report = report_of(out)
    assert not any(c["hard"] for c in report["checks"])
    # checked before zipping: the findings name the files inside the export-all tree
    assert any(c["file"].startswith("newsroom-p8Xk2Lq9/REVIEW/") for c in report["checks"])
    assert not any("ROOT" in c.get("file", "") for c in report["checks"])
    assert report["entity_types"] == {"LOC": "LOC", "ORG": "ORG", "PER": "PER"}


# -- answers to the questions a classifier does not learn ----------------------------------

OTHER_QUESTIONS = "answers to questions other than the label question"
TICKETS = FIXTURES / "datasaur" / "support-tickets-r7Tt"


def test_answers_to_other_questions_are_listed(tmp_path):
    """The classifier learns "intent" (the first question); the "tags" answers are listed, as Vertex AI lists them."""
    out = tmp_path / "OUT"
    code, _, stderr = convert(TICKETS, out)
    assert code == 0, stderr
    with open(out / "train" / "classifier.csv", encoding="utf-8", newline="") as fh:
        assert len(list(csv.reader(fh))) == answered_rows(TICKETS, "intent")  # one example per intent answer
    tags = answered_rows(TICKETS, "tags")
    assert tags == 2
    assert report_of(out)["not_carried"][OTHER_QUESTIONS] == {
        "count": tags, "examples": [{"question": "tags", "labels_from": "intent"}]}
    assert f"labelport: warning: not carried by {FORMAT}: {OTHER_QUESTIONS}: {tags}\n" in stderr
