"""AZURE_AUTOML_CSV and `labelport validate --target azure`.

Written files are checked independently: NER files with plain string code
against every rule of AutoML's NER validator (service-rules.md §2.5), CSV
files with csv and ast.literal_eval, MLTable files as text; sources are parsed
independently too, by tests/sources.py (WNUT-17: a line empty or only white
space ends a sentence, ``token<TAB>tag``; SMS Spam: ``label<TAB>text`` per
line). Splits are recomputed from the README's split rule (sources.split_of).
"""

from __future__ import annotations

import ast
import csv
import json
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import labelport
from labelport.model import (
    ROW_BASED,
    TOKEN_BASED,
    AnswerSet,
    Document,
    Line,
    Project,
    Question,
    Row,
    Span,
)

from sources import (
    REPORT,
    Sentence,
    answered_rows,
    files_under,
    read_conll,
    read_csv_rows,
    read_token_lines,
    report_of,
    sms_pairs,
    split_of,
)

HERE = Path(__file__).resolve().parent
SMS_SLICE = HERE / "fixtures" / "tables" / "sms_slice.tsv"
WNUT17_FIXTURES = HERE / "fixtures" / "wnut17"
FORMAT = "AZURE_AUTOML_CSV"


# -- independent readers and checks (the shared ones are in sources.py) ---------------------

def read_azure_ner(path: Path) -> list[Sentence]:
    """A written NER file, asserting every AutoML rule on the way: exactly one
    space per token line, a token without white space, an ``O``/``B-X``/``I-X``
    tag, no blank first line, one blank line between sentences, one ``\\n``
    after the last token line, no carriage return."""
    assert "\r" not in path.read_bytes().decode("utf-8")
    sentences = read_token_lines(path, " ", 2)  # one space a line; the blank lines and the final \n
    for number, sentence in enumerate(sentences, 1):
        where = f"{path.name}: sentence {number}"
        for i, (token, tag) in enumerate(zip(sentence.tokens, sentence.tags)):
            assert token and not any(c.isspace() for c in token), f"{where}: {token!r}"
            assert tag == "O" or (tag[:2] in ("B-", "I-") and len(tag) > 2), f"{where}: {tag!r}"
            assert not any(c.isspace() for c in tag), f"{where}: {tag!r}"
            if tag.startswith("I-"):  # IOB2: an entity starts with B-
                assert i and sentence.tags[i - 1][2:] == tag[2:], f"{where}: {tag} after {sentence.tags[:i][-1:]}"
    return sentences


def mltable_names(folder: Path) -> str:
    """The file an MLTable's ``paths`` names (read as text)."""
    text = (folder / "MLTable").read_text(encoding="utf-8")
    assert text.startswith("paths:\n  - file: ./"), text
    return text.split("\n")[1].split("./", 1)[1]


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    header, *rows = read_csv_rows(path)
    return header, rows


# -- 1. NER: WNUT-17 dev and test, split 0.8/0.2 -------------------------------------------

def _ner_sources(request: pytest.FixtureRequest, name: str) -> Path:
    if name == "dev-slice":
        return WNUT17_FIXTURES / "emerging.dev.slice.conll"
    if name == "test-slice":
        return WNUT17_FIXTURES / "emerging.test.slice.annotated"
    return request.getfixturevalue({"dev": "wnut17_dev", "test": "wnut17_test"}[name])


@pytest.mark.parametrize("name", ["dev", "test", "dev-slice", "test-slice"])
def test_ner_split_keeps_every_token_and_tag(
    tmp_path: Path, name: str, request: pytest.FixtureRequest, run_cli
) -> None:
    source = _ner_sources(request, name)
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", source, "-f", FORMAT, "--split", "train=0.8,validation=0.2", "-o", out)
    sentences = read_conll(source)
    # at least 50 training sentences: ready; a slice is below AutoML's minimum (a warning, exit 0)
    assert code == 0, stderr
    assert files_under(out) == sorted([REPORT, "train/MLTable", "train/train.txt",
                                       "validation/MLTable", "validation/validation.txt"])
    assert mltable_names(out / "train") == "train.txt"
    assert mltable_names(out / "validation") == "validation.txt"
    written = {split: read_azure_ner(out / split / f"{split}.txt") for split in ("train", "validation")}
    # every sentence where the split rule's hash puts it, in source order
    shares = [("train", 0.8), ("validation", 0.2)]
    assigned = [split_of(0, source.name, i, shares) for i in range(len(sentences))]
    for split in ("train", "validation"):
        assert written[split] == [s for s, a in zip(sentences, assigned) if a == split], split
    assert Counter(written["train"] + written["validation"]) == Counter(sentences)
    report = report_of(out)
    assert report["counts"]["lines"] == len(sentences)
    assert report["azure"]["task"] == "text_ner"
    if len(written["train"]) >= 50:
        assert report["checks"] == [] and report["ready_for_training"] is True
    else:
        assert [c["rule"] for c in report["checks"]] == ["azure.ner.min_training"]
    # the written files pass the validator too
    code, stdout, stderr = run_cli("validate", out, "--target", "azure")
    assert code == 0, stdout + stderr


def test_ner_test_share_goes_to_test(tmp_path: Path, run_cli) -> None:
    source = WNUT17_FIXTURES / "emerging.dev.slice.conll"
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", source, "-f", FORMAT, "--split", "train=0.6,validation=0.2,test=0.2",
                              "--seed", "3", "-o", out)
    assert code == 0, stderr
    sentences = read_conll(source)
    shares = [("train", 0.6), ("validation", 0.2), ("test", 0.2)]
    assigned = [split_of(3, source.name, i, shares) for i in range(len(sentences))]
    for split in {a for a in assigned}:
        assert mltable_names(out / split) == f"{split}.txt"
        assert read_azure_ner(out / split / f"{split}.txt") == [s for s, a in zip(sentences, assigned) if a == split]


# -- 2. classification: SMS Spam ------------------------------------------------------------

def _check_sms(out: Path, expected: list[tuple[str, str]]) -> None:
    assert files_under(out) == [REPORT, "train/MLTable", "train/train.csv"]
    header, rows = read_csv(out / "train" / "train.csv")
    assert header == ["text", "label"]
    got = [(label, text) for text, label in rows]
    assert len(got) == len(expected)
    for i, (pair, want) in enumerate(zip(got, expected)):
        assert pair == want, f"row {i}"
    # every cell quoted: numeric-looking texts stay strings
    first = (out / "train" / "train.csv").read_text(encoding="utf-8").split("\n", 2)[:2]
    assert first[0] == '"text","label"' and first[1].startswith('"') and first[1].endswith('"')
    mltable = (out / "train" / "MLTable").read_text(encoding="utf-8")
    assert mltable_names(out / "train") == "train.csv"
    for line in ("read_delimited:", "delimiter: ','", "encoding: 'utf8'", "empty_as_string: false",
                 "support_multi_line: true", "infer_column_types: false"):
        assert line in mltable


def test_sms_full(tmp_path: Path, sms_spam: Path, run_cli) -> None:
    expected = sms_pairs(sms_spam)
    assert len(expected) == 5574
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", sms_spam, "--columns", "label,text", "-f", FORMAT, "-o", out)
    assert code == 0, stderr  # not ready for training (no validation), but no rule broken
    _check_sms(out, expected)
    _, rows = read_csv(out / "train" / "train.csv")
    assert sum(text != text.strip() for text, _ in rows) == 187
    report = report_of(out)
    assert report["ready_for_training"] is False
    assert [c["rule"] for c in report["checks"]] == ["azure.validation.missing"]
    assert "--split" in report["checks"][0]["message"]
    assert report["azure"]["task"] == "text_classification" and report["azure"]["target_column_name"] == "label"


def test_sms_slice(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", SMS_SLICE, "--columns", "label,text", "-f", FORMAT, "-o", out)
    assert code == 0, stderr
    expected = sms_pairs(SMS_SLICE)
    _check_sms(out, expected)
    assert sum(t != t.strip() for _, t in expected) == 12


def test_sms_split_headers_match(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", SMS_SLICE, "--columns", "label,text", "-f", FORMAT, "-o", out,
                              "--split", "train=0.7,validation=0.2,test=0.1")
    assert code == 0, stderr
    expected = sms_pairs(SMS_SLICE)
    shares = [("train", 0.7), ("validation", 0.2), ("test", 0.1)]
    for split in ("train", "validation", "test"):
        header, rows = read_csv(out / split / f"{split}.csv")
        assert header == ["text", "label"]
        want = [(t, l) for i, (l, t) in enumerate(expected) if split_of(0, SMS_SLICE.name, i, shares) == split]
        assert [tuple(r) for r in rows] == want
    assert report_of(out)["ready_for_training"] is True


# -- 3. multi-label --------------------------------------------------------------------------

MULTI_ROWS = [
    ("one", ["a", "b"]),
    ("two", []),
    ("three", ["c"]),
    ('O\'Brien said "hi"', ["it's", 'x"y']),
    ("4, with a comma", ["a,b", "é"]),
    ("12345", ["a"]),
    ("  spaced  ", ["b", "c"]),
    ("line\nbreak", ["[not a list]"]),
    ("3.14", []),
]


def test_multi_label(tmp_path: Path, run_cli) -> None:
    rows = [(f"{text} #{n}", labels) for n in range(4) for text, labels in MULTI_ROWS]
    source = tmp_path / "multi.csv"
    with open(source, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "tags"])
        for text, labels in rows:
            writer.writerow([text, "|".join(labels)])
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", source, "--label-column", "tags", "--label-separator", "|", "-f", FORMAT,
                              "--split", "train=0.5,validation=0.5", "-o", out)
    assert code == 0, stderr
    shares = [("train", 0.5), ("validation", 0.5)]
    headers = []
    for split in ("train", "validation"):
        header, written = read_csv(out / split / f"{split}.csv")
        headers.append(header)
        assert header == ["text", "labels"]
        want = [(t, ls) for i, (t, ls) in enumerate(rows) if split_of(0, source.name, i, shares) == split]
        assert want, split
        got = [(text, ast.literal_eval(cell)) for text, cell in written]
        assert got == want
        assert all(isinstance(ls, list) and all(isinstance(x, str) for x in ls) for _, ls in got)
        assert any(cell == "[]" for _, cell in written) or all(ls for _, ls in want)
        assert mltable_names(out / split) == f"{split}.csv"
    assert headers[0] == headers[1]
    report = report_of(out)
    assert report["azure"]["task"] == "text_classification_multilabel"
    assert report["azure"]["target_column_name"] == "labels"
    assert [c["rule"] for c in report["checks"]] == ["azure.csv.min_training"]  # 36 rows in all


def test_multi_class_unlabeled_rows_are_left_out_and_counted(tmp_path: Path, run_cli) -> None:
    source = tmp_path / "intents.csv"
    source.write_text("text,intent\nhello,greet\nbye,\n42,number\nurgent!,[urgent]\n", encoding="utf-8")
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", source, "--label-column", "intent", "-f", FORMAT, "-o", out)
    assert code == 0, stderr
    header, rows = read_csv(out / "train" / "train.csv")
    assert header == ["text", "label"] and rows == [["hello", "greet"], ["42", "number"], ["urgent!", "[urgent]"]]
    report = report_of(out)
    assert report["not_carried"]["examples without an answer (not written)"]["count"] == 1
    assert {c["rule"] for c in report["checks"]} == {"azure.csv.min_training", "azure.validation.missing"}


# -- 4. tokens holding white space -------------------------------------------------------------

ADVANCED_WITH_SPACE = {
    "sentences": [
        {"id": 0, "content": "I love it", "tokens": ["I", "love", "it"], "metadata": []},
        {"id": 1, "content": "New York is big", "tokens": ["New York", "is", "big"], "metadata": []},
    ],
    "labelerInfo": None,
    "labelSets": [{"index": 0, "name": "NER", "labelItems": [{"id": "1", "labelName": "LOC"}]}],
    "labels": [{"id": "s1", "type": "SPAN", "layer": 0, "labelSetItemId": "1", "startCellLine": 1,
                "startTokenIndex": 0, "startCharIndex": 0, "endCellLine": 1, "endTokenIndex": 0,
                "endCharIndex": 7}],
    "comments": [],
}


def test_token_with_white_space_is_an_error_naming_document_and_line(tmp_path: Path, run_cli) -> None:
    source = tmp_path / "city.txt.json"
    source.write_text(json.dumps(ADVANCED_WITH_SPACE), encoding="utf-8")
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", source, "-f", FORMAT, "-o", out)
    assert code == 1, stderr
    error = [line for line in stderr.splitlines() if "New York" in line]
    assert len(error) == 1 and "error" in error[0], stderr
    assert "city.txt:2:" in error[0] and "document 'city.txt', line 2" in error[0]
    # still written, with the white space made visible
    assert read_azure_ner(out / "train" / "train.txt") == [
        Sentence(("I", "love", "it"), ("O", "O", "O")),
        Sentence(("New_York", "is", "big"), ("B-LOC", "O", "O")),
    ]
    report = report_of(out)
    hard = [c for c in report["checks"] if c["hard"]]
    assert len(hard) == 1
    assert hard[0]["rule"] == "azure.ner.token_whitespace"
    assert hard[0]["file"] == "city.txt" and hard[0]["line"] == 2
    assert "New York" in hard[0]["message"] and "train/train.txt:5" in hard[0]["message"]
    assert report["ready_for_training"] is False


def test_control_white_space_in_a_token_is_an_error_too(tmp_path: Path, run_cli) -> None:
    source = tmp_path / "controls.conll"
    source.write_bytes("a\tO\ng\x0bh\tB-y\ni\u2028j\tI-y\n\nfine\tO\n".encode("utf-8"))
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", source, "-f", FORMAT, "-o", out)
    assert code == 1, stderr
    assert read_azure_ner(out / "train" / "train.txt") == [
        Sentence(("a", "g_h", "i_j"), ("O", "B-y", "I-y")), Sentence(("fine",), ("O",))]
    hard = [c for c in report_of(out)["checks"] if c["hard"]]
    assert [(c["file"], c["line"]) for c in hard] == [("controls.conll", 1), ("controls.conll", 1)]


def test_label_with_space_is_written_with_underscore(tmp_path: Path, run_cli) -> None:
    data = json.loads(json.dumps(ADVANCED_WITH_SPACE))
    data["sentences"][1]["tokens"] = ["New", "York", "is", "big"]
    data["labelSets"][0]["labelItems"][0]["labelName"] = "big city"
    data["labels"][0].update(endTokenIndex=1, endCharIndex=3)
    source = tmp_path / "city.txt.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", source, "-f", FORMAT, "-o", out)
    assert code == 0, stderr
    assert read_azure_ner(out / "train" / "train.txt")[1] == Sentence(
        ("New", "York", "is", "big"), ("B-big_city", "I-big_city", "O", "O"))
    assert "label names with white space" in stderr


# -- 5. validate --------------------------------------------------------------------------------

def _write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


NER_MLTABLE = "paths:\n  - file: ./{}\ntransformations:\n  - take: 1\n"
CSV_MLTABLE = ("paths:\n  - file: ./{}\ntransformations:\n  - read_delimited:\n      delimiter: ','\n"
               "      encoding: 'utf8'\n      empty_as_string: false\n")


def _good_sentences(n: int) -> str:
    return "\n".join(f"Alice B-PER\nmet O\nBob B-PER\nSmith I-PER\n{i} O\n" for i in range(n))


def test_validate_a_bad_ner_file(tmp_path: Path, run_cli) -> None:
    folder = tmp_path / "DIR"
    bad = (
        "\n"              # 1 blank first line
        "I\tO\n"          # 2 tab separator
        "love o\n"        # 3 lowercase o
        "Paris B-LOC\n"   # 4
        "\n"              # 5
        "\n"              # 6 two blank lines
        "big O\n"         # 7
        "city I-LOC\n"    # 8 I- after O: accepted, warned
        "New York B-LOC\n"  # 9 two spaces
        "\n"              # 10 trailing blank line
    )
    _write(folder / "train" / "train.txt", bad)
    _write(folder / "train" / "MLTable", NER_MLTABLE.format("train.txt"))
    _write(folder / "validation" / "validation.txt", _good_sentences(2))
    _write(folder / "validation" / "MLTable", NER_MLTABLE.format("validation.txt"))
    code, stdout, stderr = run_cli("validate", folder, "--target", "azure")
    assert code == 1, stdout + stderr
    expected = [
        ("train/train.txt:1:", "azure.ner.blank_first_line", "error"),
        ("train/train.txt:2:", "azure.ner.single_space", "error"),
        ("train/train.txt:3:", "azure.ner.tag", "error"),
        ("train/train.txt:6:", "azure.ner.consecutive_blank_lines", "error"),
        ("train/train.txt:8:", "azure.ner.iob2", "warning"),
        ("train/train.txt:9:", "azure.ner.single_space", "error"),
        ("train/train.txt:10:", "azure.ner.trailing_blank_line", "error"),
    ]
    lines = stdout.splitlines()
    for where, rule, level in expected:
        hits = [line for line in lines if line.startswith(where) and f"[{rule}]" in line]
        assert len(hits) == 1 and f" {level}: " in hits[0], (where, rule, stdout)
    assert "tab" in next(line for line in lines if line.startswith("train/train.txt:2:"))
    # the minimum is counted too (2 sentences), as a warning
    assert any("[azure.ner.min_training]" in line and "warning" in line for line in lines)
    # --strict changes nothing for errors
    assert run_cli("validate", folder, "--target", "azure", "--strict")[0] == 1


@pytest.mark.parametrize("content, rule, line", [
    ("a O\nb O", "azure.ner.final_newline", 2),
    ("a O\r\nb\rO\n", "azure.ner.carriage_return", 2),
    ("a O\n b-x O\n", "azure.ner.single_space", 2),
    ("a O\n B-X\n", "azure.ner.empty_token", 2),
    ("a O\nb\u00a0c O\n", "azure.ner.token_whitespace", 2),
    ("a O\nb E-X\n", "azure.ner.tag", 2),
    ("a O\nb b-X\n", "azure.ner.tag", 2),
    ("a O\nb B-\n", "azure.ner.tag", 2),
    ("a O\nb X\n", "azure.ner.tag", 2),
    ("a O\n\t\nb O\n", "azure.ner.single_space", 2),  # WNUT-17's lone-tab sentence break
    ("", "azure.ner.empty", None),
    (b"a O\n\xff O\n", "azure.encoding", 2),
])
def test_validate_ner_rules(tmp_path: Path, content: str | bytes, rule: str, line: int | None) -> None:
    folder = tmp_path / "DIR"
    _write(folder / "train" / "train.txt", content)
    _write(folder / "train" / "MLTable", NER_MLTABLE.format("train.txt"))
    findings = _findings(folder)
    hits = [f for f in findings if f.rule == rule]
    assert hits and hits[0].hard and hits[0].file == "train/train.txt" and hits[0].line == line, findings


def _findings(folder: Path):
    from labelport.validate import validate

    return validate(folder, "azure")


def test_validate_accepts_docstart_and_crlf(tmp_path: Path) -> None:
    folder = tmp_path / "DIR"
    _write(folder / "train" / "train.txt", "-DOCSTART- O\n\n" + _good_sentences(50).replace("\n", "\r\n"))
    _write(folder / "train" / "MLTable", NER_MLTABLE.format("train.txt"))
    _write(folder / "validation" / "validation.txt", _good_sentences(1))
    _write(folder / "validation" / "MLTable", NER_MLTABLE.format("validation.txt"))
    assert _findings(folder) == []


def test_validate_the_azure_sample_layout(tmp_path: Path, run_cli) -> None:
    """azureml-examples' folders: training-mltable-folder/train.txt,
    validation-mltable-folder/valid.txt."""
    folder = tmp_path / "DIR"
    _write(folder / "training-mltable-folder" / "train.txt", _good_sentences(50))
    _write(folder / "training-mltable-folder" / "MLTable", NER_MLTABLE.format("train.txt").rstrip("\n"))
    _write(folder / "validation-mltable-folder" / "valid.txt", _good_sentences(3))
    _write(folder / "validation-mltable-folder" / "MLTable", NER_MLTABLE.format("valid.txt"))
    code, stdout, stderr = run_cli("validate", folder, "--target", "azure", "--strict")
    assert code == 0, stdout + stderr
    # 49 training sentences: a warning, an error only with --strict
    _write(folder / "training-mltable-folder" / "train.txt", _good_sentences(49))
    code, stdout, _ = run_cli("validate", folder, "--target", "azure")
    assert code == 0 and "[azure.ner.min_training]" in stdout
    assert run_cli("validate", folder, "--target", "azure", "--strict")[0] == 1


def test_validate_mltable_problems(tmp_path: Path) -> None:
    folder = tmp_path / "DIR"
    _write(folder / "train" / "train.txt", _good_sentences(50))  # no MLTable
    _write(folder / "validation" / "validation.txt", _good_sentences(2))
    _write(folder / "validation" / "MLTable", NER_MLTABLE.format("valid.txt"))  # names a missing file
    _write(folder / "notes" / "README.txt", "not data\tat all\n")  # not a split: not data
    rules = {(f.rule, f.file) for f in _findings(folder)}
    assert ("azure.mltable.missing", "train/train.txt") in rules
    assert ("azure.mltable.missing_file", "validation/MLTable") in rules
    assert not any(f == "notes/README.txt" for _, f in rules)


def test_validate_an_empty_folder(tmp_path: Path, run_cli) -> None:
    (tmp_path / "DIR").mkdir()
    code, _, stderr = run_cli("validate", tmp_path / "DIR", "--target", "azure")
    assert code == 2 and "not an Azure AutoML NLP export" in stderr


def test_validate_classification_rules(tmp_path: Path) -> None:
    folder = tmp_path / "DIR"
    train = "text,labels\n" + "".join(f"t{i},\"['a', 'b']\"\n" for i in range(50))
    train += "bad,a b\n"              # line 52: not a list literal
    train += "dict,\"{'a': 1}\"\n"   # line 53: not a list
    train += "ints,\"[1, '1']\"\n"    # line 54: one label as a number and as a string
    train += "short\n"                # line 55: one cell
    train += 'multi,"[\'a\',\n\'b\']"\n'  # line 56-57: a line break, the MLTable does not say support_multi_line
    train += "empty,\n"               # line 58: empty cell
    _write(folder / "train" / "train.csv", train)
    _write(folder / "train" / "MLTable", CSV_MLTABLE.format("train.csv"))
    _write(folder / "validation" / "validation.csv", "labels,text\n\"['a']\",v\n")
    _write(folder / "validation" / "MLTable", CSV_MLTABLE.format("validation.csv"))
    found = {(f.rule, f.file, f.line) for f in _findings(folder) if f.hard}
    assert found >= {
        ("azure.csv.labels_literal", "train/train.csv", 52),
        ("azure.csv.labels_literal", "train/train.csv", 53),
        ("azure.csv.field_count", "train/train.csv", 55),
        ("azure.csv.multi_line", "train/train.csv", 56),
        ("azure.csv.empty_label", "train/train.csv", 58),
        ("azure.csv.columns_mismatch", "validation/validation.csv", 1),
    }, found
    assert any(f[0] == "azure.csv.label_types" for f in found)


def test_validate_classification_header_and_types(tmp_path: Path) -> None:
    folder = tmp_path / "DIR"
    # numbers as texts in training, words in validation: AutoML infers int and string
    _write(folder / "train" / "train.csv", "text,label\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(60)))
    _write(folder / "train" / "MLTable", CSV_MLTABLE.format("train.csv"))
    _write(folder / "validation" / "validation.csv", "text,label\nhello,a\n")
    _write(folder / "validation" / "MLTable", CSV_MLTABLE.format("validation.csv"))
    found = [f for f in _findings(folder)]
    assert [(f.rule, f.hard) for f in found] == [("azure.csv.column_types", True)]
    # with type inference off (labelport's MLTable), the same data is fine
    for split in ("train", "validation"):
        text = (folder / split / "MLTable").read_text()
        _write(folder / split / "MLTable", text + "      infer_column_types: false\n")
    assert _findings(folder) == []
    # no header: no label column
    _write(folder / "train" / "train.csv", "".join(f"text {i},a\n" for i in range(60)))
    assert [f.rule for f in _findings(folder) if f.hard] == ["azure.csv.label_column"]


def test_validate_single_label_and_min_labels(tmp_path: Path) -> None:
    folder = tmp_path / "DIR"
    _write(folder / "train" / "train.csv", "text,labels\n" + "".join(f"t{i},['a']\n" for i in range(60)))
    _write(folder / "train" / "MLTable", CSV_MLTABLE.format("train.csv"))
    _write(folder / "validation" / "validation.csv", "text,labels\nv,[]\n")
    _write(folder / "validation" / "MLTable", CSV_MLTABLE.format("validation.csv"))
    assert sorted((f.rule, f.hard) for f in _findings(folder)) == [
        ("azure.csv.min_labels", False), ("azure.csv.single_labels", False)]


def test_validate_caps_findings_per_rule(tmp_path: Path) -> None:
    folder = tmp_path / "DIR"
    _write(folder / "train" / "train.txt", "".join(f"w{i}\tO\n" for i in range(500)))
    _write(folder / "train" / "MLTable", NER_MLTABLE.format("train.txt"))
    found = [f for f in _findings(folder) if f.rule == "azure.ner.single_space"]
    # the cap every checker shares (validate.findings.CAP = 20; Azure's own was 50)
    assert len(found) == 21 and found[-1].line is None and found[-1].message.startswith("and 480 more (500 in all)")


def test_own_output_validates_and_missing_validation_is_not_ready(tmp_path: Path, run_cli) -> None:
    source = WNUT17_FIXTURES / "wnut17train.head.conll"
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", source, "-f", FORMAT, "-o", out)
    assert code == 0, stderr
    assert "not ready for training" in stderr
    report = report_of(out)
    assert report["ready_for_training"] is False
    missing = [c for c in report["checks"] if c["rule"] == "azure.validation.missing"]
    assert len(missing) == 1 and not missing[0]["hard"] and "validation" in missing[0]["message"]
    assert "--split" in missing[0]["message"]
    code, stdout, stderr = run_cli("validate", out, "--target", "azure")
    assert code == 0, stdout + stderr
    assert "[azure.validation.missing]" in stdout
    assert run_cli("validate", out, "--target", "azure", "--strict")[0] == 1
    code, _, stderr = run_cli("convert", source, "-f", FORMAT, "-o", tmp_path / "STRICT", "--strict")
    assert code == 1 and "validation" in stderr
    assert (tmp_path / "STRICT" / "train" / "train.txt").exists()  # written all the same


def test_export_all_zip_is_validated_inside(tmp_path: Path, run_cli) -> None:
    project = HERE / "fixtures" / "datasaur" / "support-tickets-r7Tt"
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", project, "-f", FORMAT, "-o", out, "--zip", "export",
                              "--split", "train=0.5,validation=0.5")
    assert code == 0, stderr
    code, stdout, _ = run_cli("validate", out, "--target", "azure")
    assert code == 0
    assert "export.zip/" in stdout and "/REVIEW/train/train.csv" in stdout  # the minimums, inside the zip


def test_document_classification(tmp_path: Path, run_cli) -> None:
    project = HERE / "fixtures" / "datasaur" / "newsroom-p8Xk2Lq9"
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", project, "-f", FORMAT, "-o", out, "--question", "topic")
    assert code == 0, stderr
    header, rows = read_csv(out / "train" / "train.csv")
    assert header == ["text", "label"]
    assert sorted(label for _, label in rows) == ["politics", "sport"]
    assert all("\n" in text for text, _ in rows)  # documents keep their lines: support_multi_line
    assert _findings(out) and all(not f.hard for f in _findings(out))
    # the documents are token documents: their spans, which a text does not carry, are listed
    spans = sum(len(json.loads(f.read_text(encoding="utf-8"))["data"]["spanLabels"])
                for f in (project / "REVIEW").glob("*.json"))
    assert spans and report_of(out)["not_carried"]["spans (the format writes the text without them)"]["count"] == spans
    assert f"not carried by {FORMAT}: spans (the format writes the text without them): {spans}\n" in stderr


def test_mltable_without_pyyaml() -> None:
    from labelport.targets.azure import checker as azure

    text = ("paths:\n  - file: ./train_data.csv\ntransformations:\n  - read_delimited:\n      delimiter: ','\n"
            "      encoding: 'utf8'\n      empty_as_string: false\n      support_multi_line: true\n")
    assert azure._mini_yaml(text) == {
        "paths": [{"file": "./train_data.csv"}],
        "transformations": [{"read_delimited": {"delimiter": ",", "encoding": "utf8", "empty_as_string": False,
                                                "support_multi_line": True}}],
    }
    assert azure._mini_yaml("paths:\n  - file: ./train.txt\ntransformations:\n  - take: 1") == {
        "paths": [{"file": "./train.txt"}], "transformations": [{"take": 1}]}


# -- streaming: memory does not grow with the project -----------------------------------------

def _ner_project(n: int) -> Project:
    def lines() -> Iterator[Line]:
        for i in range(n):
            text = f"Alice met Bob number {i} today"
            tokens = text.split(" ")
            starts, at = [], 0
            for token in tokens:
                starts.append(at)
                at += len(token) + 1
            yield Line(i, text, tokens, starts, [Span("PER", i, 0, 5, 0, 0), Span("PER", i, 10, 13, 2, 2)])

    return Project(id="big", name="big", kinds=(TOKEN_BASED,),
                   documents_factory=lambda: iter([Document("big", "big", (TOKEN_BASED,), lines=lines())]))


def _row_project(n: int) -> Project:
    def rows() -> Iterator[Row]:
        for i in range(n):
            yield Row(i, [f"message number {i} " * 3], [AnswerSet({"q": ["a", "b"][i % 2]})])

    return Project(id="rows", name="rows", kinds=(ROW_BASED,), text_column="text",
                   questions=[Question("q", "label")],
                   documents_factory=lambda: iter([Document("rows", "rows", (ROW_BASED,), columns=["text"],
                                                            rows=rows())]))


@pytest.mark.parametrize("make", [_ner_project, _row_project])
def test_memory_does_not_grow_with_the_project(tmp_path: Path, make) -> None:
    peaks = []
    for n in (10_000, 50_000):
        tracemalloc.start()
        labelport.convert(make(n), FORMAT, tmp_path / f"out{n}", split={"train": 0.9, "validation": 0.1})
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] * 1.5 + 512 * 1024, peaks


# -- answers to the questions a classifier does not learn ----------------------------------

OTHER_QUESTIONS = "answers to questions other than the label question"
TICKETS = HERE / "fixtures" / "datasaur" / "support-tickets-r7Tt"


def test_answers_to_other_questions_are_listed(tmp_path: Path, run_cli):
    """The classifier learns "intent" (the first question); the "tags" answers are listed, as Vertex AI lists them."""
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", TICKETS, "-f", FORMAT, "-o", out)
    assert code == 0, stderr
    header, rows = read_csv(out / "train" / "train.csv")
    assert header == ["text", "label"] and len(rows) == answered_rows(TICKETS, "intent")
    n = answered_rows(TICKETS, "tags")
    assert report_of(out)["not_carried"][OTHER_QUESTIONS] == {
        "count": n, "examples": [{"question": "tags", "labels_from": "intent"}]}
    assert n == 2 and f"labelport: warning: not carried by {FORMAT}: {OTHER_QUESTIONS}: {n}\n" in stderr


def test_a_span_inside_a_token_is_left_out_of_the_tags_and_listed(tmp_path: Path, run_cli) -> None:
    """"43" of the token "1843": tagging all of "1843" would label characters nobody labeled."""
    import contract_fixture

    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", contract_fixture.build(tmp_path / "hard-cases"), "-f", FORMAT, "-o", out)
    assert code == 0, stderr
    sentences = read_azure_ner(out / "train" / "train.txt")
    tags = dict(zip(sentences[1].tokens, sentences[1].tags))
    assert tags["1843"] == "O"
    assert tags["Royal"] != "O"
    lost = "spans that do not start and end on token boundaries"
    assert report_of(out)["not_carried"][lost] == {
        "count": 1, "examples": [{"document": "hard.txt", "line": 1, "label": "DATE", "text": "43"}]}
    assert f"labelport: warning: not carried by {FORMAT}: {lost}: 1\n" in stderr
