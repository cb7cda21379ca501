"""GCP_VERTEX_AI_CSV and `labelport validate --target vertex`, through the command line.

Everything written is checked independently of labelport's code: the source
CoNLL is parsed by tests/sources.py (a line that is empty or only white space
ends a sentence; ``token<TAB>tag``; IOB2 decoded there), SMS Spam is split on
"\\n" and "\\t" there, and the output is re-read with json and csv. Split
placement is recomputed from the README's split rule (sources.split_of).

Full-set tests (wnut17_dev, wnut17_test, sms_spam) skip when
../shared/datasets is absent; the same checks run on the slices in
tests/fixtures everywhere.
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

try:  # tests/ may or may not be a package
    from .conftest import FIXTURES, SMS_SLICE, WNUT17_FIXTURES, run_cli
except ImportError:
    from conftest import FIXTURES, SMS_SLICE, WNUT17_FIXTURES, run_cli  # type: ignore[no-redef]
from sources import astral_tokens, entities, read_conll, read_csv_rows, read_jsonl, report_of, sms_pairs, split_of

ML_USE_KEY = "aiplatform.googleapis.com/ml_use"
IOFORMAT = "gs://google-cloud-aiplatform/schema/dataset/ioformat/"
EXTRACTION_SCHEMA = IOFORMAT + "text_extraction_io_format_1.0.0.yaml"
SINGLE_SCHEMA = IOFORMAT + "text_classification_single_label_io_format_1.0.0.yaml"
MULTI_SCHEMA = IOFORMAT + "text_classification_multi_label_io_format_1.0.0.yaml"
FORMAT = "GCP_VERTEX_AI_CSV"

DEV_SLICE = WNUT17_FIXTURES / "emerging.dev.slice.conll"
TEST_SLICE = WNUT17_FIXTURES / "emerging.test.slice.annotated"


# -- independent readers (the shared ones are in sources.py) ----------------------------


def utf16_offset(text: str, i: int) -> int:
    return len(text[:i].encode("utf-16-le")) // 2


def utf16_slice(text: str, start: int, end: int) -> str:
    return text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")


def convert(source: Path, out: Path, *args: object, expect: int = 0) -> dict:
    code, _, stderr = run_cli("convert", source, "-f", FORMAT, "-o", out, *args)
    assert code == expect, stderr
    return report_of(out)


def validate(folder: Path, *args: object) -> tuple[int, str, str]:
    return run_cli("validate", folder, "--target", "vertex", *args)


# -- 1. extraction offsets ------------------------------------------------------------


def _check_extraction(source: Path, out: Path, unit: str) -> list[dict]:
    sentences = read_conll(source)
    args = ["--offset-unit", "utf16"] if unit == "utf16" else []
    report = convert(source, out, *args)
    lines = read_jsonl(out / "vertex_dataset.jsonl")
    assert len(lines) == len(sentences)
    annotations = 0
    for number, (obj, sentence) in enumerate(zip(lines, sentences), 1):
        text = obj["textContent"]
        assert text == sentence.text, number
        assert "dataItemResourceLabels" not in obj  # no --split: Vertex splits
        got = obj["textSegmentAnnotations"]
        expected = entities(sentence)
        assert len(got) == len(expected), number
        annotations += len(got)
        for a, e in zip(got, expected):
            assert a["displayName"] == e.label
            assert isinstance(a["startOffset"], int) and isinstance(a["endOffset"], int)
            if unit == "utf16":
                assert (a["startOffset"], a["endOffset"]) == (utf16_offset(text, e.start), utf16_offset(text, e.end))
                assert utf16_slice(text, a["startOffset"], a["endOffset"]) == e.text
            else:
                assert (a["startOffset"], a["endOffset"]) == (e.start, e.end)
                assert text[a["startOffset"] : a["endOffset"]] == e.text
    assert annotations == sum(len(entities(s)) for s in sentences)
    assert read_csv_rows(out / "vertex_import.csv") == [["vertex_dataset.jsonl"]]
    manifest = json.loads((out / "vertex_dataset.json").read_text(encoding="utf-8"))
    assert manifest == {"importSchemaUri": EXTRACTION_SCHEMA, "gcsSource": {"uris": ["vertex_dataset.jsonl"]}}
    assert report["format"] == FORMAT
    assert not any(c["hard"] for c in report["checks"]), report["checks"]
    return lines


@pytest.mark.parametrize("unit", ["codepoint", "utf16"])
def test_extraction_full_dev(wnut17_dev, tmp_path, unit):
    assert astral_tokens(read_conll(wnut17_dev)) == 123
    _check_extraction(wnut17_dev, tmp_path / "out", unit)


@pytest.mark.parametrize("unit", ["codepoint", "utf16"])
def test_extraction_full_test(wnut17_test, tmp_path, unit):
    assert astral_tokens(read_conll(wnut17_test)) == 47
    _check_extraction(wnut17_test, tmp_path / "out", unit)


@pytest.mark.parametrize("source", [DEV_SLICE, TEST_SLICE], ids=["dev-slice", "test-slice"])
@pytest.mark.parametrize("unit", ["codepoint", "utf16"])
def test_extraction_slices(tmp_path, source, unit):
    sentences = read_conll(source)
    assert astral_tokens(sentences) > 0
    lines = _check_extraction(source, tmp_path / "out", unit)
    # some entity comes after a character outside the BMP, so the units differ
    differ = [
        a for obj in lines for a in obj["textSegmentAnnotations"]
        if any(ord(c) > 0xFFFF for c in obj["textContent"][: a["startOffset"]])
    ]
    if source == DEV_SLICE:
        assert differ
    code, stdout, stderr = validate(tmp_path / "out")
    assert code == 0, stdout + stderr
    if unit == "utf16" and differ:
        assert "UTF-16" in stdout  # the validator tells which unit the offsets count


# -- 2. splits as ml_use -----------------------------------------------------------------


SHARES = [("train", 0.8), ("validation", 0.1), ("test", 0.1)]
ML_USE = {"train": "training", "validation": "validation", "test": "test"}


def _check_split(source: Path, out: Path, seed: int) -> dict[str, int]:
    sentences = read_conll(source)
    convert(source, out, "--split", "train=0.8,validation=0.1,test=0.1", "--seed", seed)
    lines = read_jsonl(out / "vertex_dataset.jsonl")
    assert len(lines) == len(sentences)
    counts = {"training": 0, "validation": 0, "test": 0}
    for index, obj in enumerate(lines):
        expected = ML_USE[split_of(seed, source.name, index, SHARES)]
        assert obj["dataItemResourceLabels"] == {ML_USE_KEY: expected}, index
        counts[expected] += 1
    return counts


def test_split_ml_use_full(wnut17_dev, tmp_path):
    counts = _check_split(wnut17_dev, tmp_path / "out", 7)
    assert all(counts.values())
    assert counts["training"] > counts["validation"] and counts["training"] > counts["test"]


def test_split_ml_use_slice(tmp_path):
    _check_split(DEV_SLICE, tmp_path / "a", 0)
    _check_split(TEST_SLICE, tmp_path / "b", 3)


def test_split_rows_ml_use(tmp_path):
    pairs = sms_pairs(SMS_SLICE)
    out = tmp_path / "out"
    convert(SMS_SLICE, out, "--columns", "label,text", "--split", "train=0.8,validation=0.1,test=0.1", "--seed", 5)
    rows = read_csv_rows(out / "vertex_import.csv")
    lines = read_jsonl(out / "vertex_import.jsonl")
    assert len(rows) == len(lines) == len(pairs)
    for index, (row, obj, (label, text)) in enumerate(zip(rows, lines, pairs)):
        expected = ML_USE[split_of(5, SMS_SLICE.name, index, SHARES)]
        assert row == [expected, text, label]
        assert obj["dataItemResourceLabels"] == {ML_USE_KEY: expected}


def test_split_names_vertex_cannot_take(tmp_path):
    out = tmp_path / "out"
    code, _, stderr = run_cli("convert", DEV_SLICE, "-f", FORMAT, "-o", out, "--split", "train=0.5,dev=0.5")
    assert code == 2
    assert "'dev'" in stderr and "train, validation, test" in stderr
    assert not out.exists()


# -- 3. classification (SMS Spam) --------------------------------------------------------


def _check_sms(source: Path, out: Path) -> list[tuple[str, str]]:
    pairs = sms_pairs(source)
    report = convert(source, out, "--columns", "label,text")
    raw = (out / "vertex_import.csv").read_bytes().decode("utf-8")
    assert not raw.startswith("ml_use") and not raw.lower().startswith("text")  # no header
    rows = read_csv_rows(out / "vertex_import.csv")
    assert [(row[2], row[1]) for row in rows] == pairs
    assert all(len(row) == 3 and row[0] == "" for row in rows)  # no --split: ml_use empty
    # the text is always quoted: every record's second field starts with a quote
    assert all(line.startswith(',"') for line in raw.split("\n") if line and line[0] == ",")
    lines = read_jsonl(out / "vertex_import.jsonl")
    assert [(obj["classificationAnnotation"]["displayName"], obj["textContent"]) for obj in lines] == pairs
    assert all("dataItemResourceLabels" not in obj and "classificationAnnotations" not in obj for obj in lines)
    manifest = json.loads((out / "vertex_dataset.json").read_text(encoding="utf-8"))
    assert manifest["importSchemaUri"] == SINGLE_SCHEMA
    assert manifest["gcsSource"]["uris"] == ["vertex_import.jsonl"]
    assert "80%" in report["vertex"]["ml_use"]  # says Vertex splits by itself
    return pairs


def test_sms_full(sms_spam, tmp_path):
    pairs = _check_sms(sms_spam, tmp_path / "out")
    assert len(pairs) == 5574
    assert sum(text != text.strip() for _, text in pairs) == 187
    report = report_of(tmp_path / "out")
    assert report["ready_for_training"] is True, report["checks"]


def test_sms_slice(tmp_path):
    pairs = _check_sms(SMS_SLICE, tmp_path / "out")
    assert len(pairs) == 200
    assert sum(text != text.strip() for _, text in pairs) == 12


def test_multi_label_table(tmp_path):
    source = tmp_path / "topics.csv"
    source.write_text(
        'text,topics\n"a, b ""quoted""",x|y\nplain,y\n"  edge  ",x\nnone,\n', encoding="utf-8"
    )
    out = tmp_path / "out"
    report = convert(source, out, "--label-column", "topics", "--label-separator", "|")
    rows = read_csv_rows(out / "vertex_import.csv")
    assert rows == [["", 'a, b "quoted"', "x", "y"], ["", "plain", "y"], ["", "  edge  ", "x"]]
    lines = read_jsonl(out / "vertex_import.jsonl")
    assert [obj["classificationAnnotations"] for obj in lines] == [
        [{"displayName": "x"}, {"displayName": "y"}], [{"displayName": "y"}], [{"displayName": "x"}]
    ]
    manifest = json.loads((out / "vertex_dataset.json").read_text(encoding="utf-8"))
    assert manifest["importSchemaUri"] == MULTI_SCHEMA
    assert report["not_carried"]["examples without an answer (not written)"]["count"] == 1
    assert report["ready_for_training"] is False


def test_document_labeling(tmp_path):
    import labelport
    from labelport.model import DOCUMENT_BASED, AnswerSet, Document, Project, Question

    texts = [f"Document number {i}\nwith a second line, and \"quotes\"" for i in range(30)]

    def documents():
        for i, text in enumerate(texts):
            answer = [] if i == 29 else ("even" if i % 2 == 0 else "odd")
            yield Document(id=f"d{i}", name=f"d{i}.txt", kinds=(DOCUMENT_BASED,), text=text,
                           answer_sets=[AnswerSet({"q": answer})])

    project = Project(id="p", name="p", kinds=(DOCUMENT_BASED,), documents_factory=documents,
                      document_questions=[Question(id="q", name="parity")])
    out = tmp_path / "out"
    report = labelport.convert(project, FORMAT, out, split={"train": 0.5, "test": 0.5}, seed=1)
    rows = read_csv_rows(out / "vertex_import.csv")
    expected = [
        [ML_USE[split_of(1, f"d{i}", None, [("train", 0.5), ("test", 0.5)])], texts[i], "even" if i % 2 == 0 else "odd"]
        for i in range(29)
    ]
    assert rows == expected
    lines = read_jsonl(out / "vertex_import.jsonl")
    assert [obj["textContent"] for obj in lines] == texts[:29]
    assert report.to_dict()["ready_for_training"] is True


# -- extraction from a Datasaur project: what Vertex cannot carry is counted -----------


def test_datasaur_extraction_losses(tmp_path):
    source = FIXTURES / "datasaur" / "newsroom-p8Xk2Lq9"
    out = tmp_path / "out"
    report = convert(source, out)
    lines = read_jsonl(out / "vertex_dataset.jsonl")
    for obj in lines:
        spans = sorted((a["startOffset"], a["endOffset"]) for a in obj["textSegmentAnnotations"])
        for (_, e1), (s2, _) in pairwise(spans):
            assert e1 <= s2  # no overlaps left
        for a in obj["textSegmentAnnotations"]:
            piece = obj["textContent"][a["startOffset"] : a["endOffset"]]
            assert piece and piece == piece.strip()
    lost = report["not_carried"]
    for what in ("overlapping spans", "spans of a second label set", "unresolved (CONFLICT) entries", "arrows"):
        assert lost[what]["count"] > 0, what
    written = sum(len(obj["textSegmentAnnotations"]) for obj in lines)
    assert written + sum(lost[w]["count"] for w in ("overlapping spans", "spans of a second label set",
                                                     "unresolved (CONFLICT) entries")) == report["counts"]["spans"]


# -- 4. validate ------------------------------------------------------------------------


BAD_JSONL = "\n".join([
    json.dumps({"textContent": "Bob lives in Paris", "textSegmentAnnotations": [
        {"startOffset": 0, "endOffset": 3, "displayName": "PER"},
        {"startOffset": 13, "endOffset": 19, "displayName": "LOC"}]}),          # 2: endOffset past the text
    json.dumps({"textContent": "Ann met Bo", "textSegmentAnnotations": [
        {"startOffset": 8, "endOffset": 10, "displayName": "P"}]}),             # 3: 1-char label
    json.dumps({"textContent": "fine", "textSegmentAnnotations": [],
                "dataItemResourceLabels": {ML_USE_KEY: "train"}}),              # 4: bad ml_use
    '{"textContent": "broken", ',                                              # 5: invalid JSON
    json.dumps({"textContent": "a b c", "textSegmentAnnotations": [
        {"startOffset": 0, "endOffset": 3, "displayName": "AB"},
        {"startOffset": 2, "endOffset": 5, "displayName": "CD"}]}),             # 6: overlap
])


def test_validate_bad_folder(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    good = json.dumps({"textContent": "ok then", "textSegmentAnnotations": [
        {"startOffset": 0, "endOffset": 2, "displayName": "OK"}],
        "dataItemResourceLabels": {ML_USE_KEY: "training"}})
    (folder / "data.jsonl").write_text(good + "\n" + BAD_JSONL + "\n", encoding="utf-8")
    (folder / "vertex_import.csv").write_text("data.jsonl\nmissing.jsonl\n", encoding="utf-8")
    (folder / "cls.csv").write_text('validation,"hi",pos\nTRAINING,"x",neg\n,"no label"\n', encoding="utf-8")
    code, stdout, stderr = validate(folder)
    assert code == 1, stdout + stderr
    out = stdout.splitlines()

    def said(where: str, rule: str) -> bool:
        return any(line.startswith(where + ": error:") and line.endswith(f"[{rule}]") for line in out)

    assert said("data.jsonl:2", "vertex.extraction.offsets"), stdout
    assert said("data.jsonl:3", "vertex.extraction.label"), stdout
    assert said("data.jsonl:4", "vertex.ml_use"), stdout
    assert said("data.jsonl:5", "vertex.jsonl.json"), stdout
    assert said("data.jsonl:6", "vertex.extraction.overlap"), stdout
    assert said("vertex_import.csv:2", "vertex.csv.source"), stdout
    assert said("cls.csv:2", "vertex.ml_use"), stdout
    assert said("cls.csv:3", "vertex.classification.label"), stdout
    assert not any(line.startswith("data.jsonl:1:") for line in out), stdout
    # below the minimums: warnings, without a line
    assert any("vertex.extraction.documents" in line and "warning" in line for line in out), stdout


def test_validate_offsets_units(tmp_path):
    folder = tmp_path / "units"
    folder.mkdir()
    text = "😂 Bob met Ann"
    cp = {"textContent": text, "textSegmentAnnotations": [{"startOffset": 2, "endOffset": 5, "displayName": "PER"}]}
    u16 = {"textContent": text, "textSegmentAnnotations": [{"startOffset": 3, "endOffset": 6, "displayName": "PER"}]}
    (folder / "a.jsonl").write_text(json.dumps(cp) + "\n", encoding="utf-8")
    code, stdout, _ = validate(folder)
    assert code == 0 and "offset" not in stdout, stdout  # code points: fine, nothing to say
    (folder / "a.jsonl").write_text(json.dumps(u16) + "\n", encoding="utf-8")
    code, stdout, _ = validate(folder)
    assert code == 0 and "a.jsonl:1: warning:" in stdout and "UTF-16" in stdout
    (folder / "a.jsonl").write_text(json.dumps(cp) + "\n" + json.dumps(u16) + "\n", encoding="utf-8")
    code, stdout, _ = validate(folder)
    assert code == 1 and "vertex.extraction.offset_unit" in stdout


def test_validate_references_and_gcs(tmp_path):
    folder = tmp_path / "refs"
    folder.mkdir()
    (folder / "vertex_import.csv").write_text("gs://bucket/data/vertex_dataset.jsonl\n", encoding="utf-8")
    line = {"textGcsUri": "gs://bucket/doc.txt", "textSegmentAnnotations": [
        {"startOffset": 0, "endOffset": 4, "displayName": "PER"}]}
    (folder / "other.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    code, stdout, stderr = validate(folder)
    assert code == 0, stdout + stderr
    assert "vertex.text.reference" in stdout and "warning" in stdout


def test_validate_empty_folder(tmp_path):
    code, _, stderr = validate(tmp_path)
    assert code == 2 and "not a Vertex AI export" in stderr


def test_own_output_validates(tmp_path):
    out = tmp_path / "sms"
    convert(SMS_SLICE, out, "--columns", "label,text")
    code, stdout, stderr = validate(out)
    assert code == 0 and "error" not in stdout, stdout + stderr
    out = tmp_path / "ner"
    convert(DEV_SLICE, out, "--split", "train=0.8,validation=0.1,test=0.1")
    code, stdout, stderr = validate(out)
    assert code == 0 and "error" not in stdout, stdout + stderr


def test_own_output_validates_full(wnut17_dev, sms_spam, tmp_path):
    convert(wnut17_dev, tmp_path / "ner", "--split", "train=0.8,validation=0.1,test=0.1")
    code, stdout, stderr = validate(tmp_path / "ner")
    assert code == 0 and "error" not in stdout, stdout + stderr
    convert(sms_spam, tmp_path / "sms", "--columns", "label,text")
    code, stdout, stderr = validate(tmp_path / "sms", "--strict")
    assert code == 0 and stdout == "", stdout + stderr


def test_tiny_project_not_ready(tmp_path):
    source = tmp_path / "tiny.tsv"
    source.write_text("".join(SMS_SLICE.read_text(encoding="utf-8").splitlines(keepends=True)[:5]), encoding="utf-8")
    out = tmp_path / "out"
    report = convert(source, out, "--columns", "label,text")  # written, exit 0
    assert report["ready_for_training"] is False
    rules = {c["rule"] for c in report["checks"]}
    assert {"vertex.classification.documents", "vertex.classification.per_label"} <= rules
    assert not any(c["hard"] for c in report["checks"])
    assert len(read_csv_rows(out / "vertex_import.csv")) == 5
    code, stdout, stderr = run_cli("convert", source, "-f", FORMAT, "-o", tmp_path / "strict",
                                   "--columns", "label,text", "--strict")
    assert code == 1, stderr
    assert "not ready for training" in stderr and "at least 20" in stderr
    assert (tmp_path / "strict" / "vertex_import.csv").exists()  # output kept

    code, stdout, stderr = validate(out)
    assert code == 0 and "warning" in stdout
    code, stdout, stderr = validate(out, "--strict")
    assert code == 1


def test_validator_memory_is_bounded(tmp_path):
    """Many bad lines: findings are capped per rule and file, then counted."""
    folder = tmp_path / "many"
    folder.mkdir()
    bad = json.dumps({"textContent": "ab", "textSegmentAnnotations": [
        {"startOffset": 0, "endOffset": 9, "displayName": "LABEL"}]})
    (folder / "x.jsonl").write_text((bad + "\n") * 5000, encoding="utf-8")
    code, stdout, _ = validate(folder)
    assert code == 1
    lines = [line for line in stdout.splitlines() if "vertex.extraction.offsets" in line]
    assert len(lines) <= 21 and "5,000" in lines[-1]


def test_validate_manifest(tmp_path):
    folder = tmp_path / "m"
    (folder / "data").mkdir(parents=True)
    line = {"textContent": "hello", "classificationAnnotation": {"displayName": "greeting"}}
    (folder / "data" / "items.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    manifest = {"importSchemaUri": EXTRACTION_SCHEMA, "gcsSource": {"uris": ["data/items.jsonl", "nowhere.jsonl"]}}
    (folder / "vertex_dataset.json").write_text(json.dumps(manifest), encoding="utf-8")
    code, stdout, _ = validate(folder)
    assert code == 1
    assert "data/items.jsonl:1: error:" in stdout and "[vertex.jsonl.kind]" in stdout, stdout
    assert "vertex_dataset.json: error:" in stdout and "[vertex.manifest.source]" in stdout, stdout
    manifest["importSchemaUri"] = "gs://google-cloud-aiplatform/schema/dataset/ioformat/text_sentiment_io_format_1.0.0.yaml"
    manifest["gcsSource"]["uris"] = ["data/items.jsonl"]
    (folder / "vertex_dataset.json").write_text(json.dumps(manifest), encoding="utf-8")
    code, stdout, _ = validate(folder)
    assert code == 1 and "[vertex.manifest.schema]" in stdout, stdout
    manifest["importSchemaUri"] = SINGLE_SCHEMA
    (folder / "vertex_dataset.json").write_text(json.dumps(manifest), encoding="utf-8")
    code, stdout, _ = validate(folder)
    assert code == 0 and "error" not in stdout and "1 documents" in stdout, stdout
