"""Bad input and usage: exit code 2, one line on stderr, nothing left behind.

The README's exit codes: 2 is bad input or usage, "one line ``labelport:
error: <file>[:<line>]: <what>`` and nothing written" (labelport writes into
a temporary sibling, then renames). CoNLL errors name the 1-based physical
line of the file (blank, lone-tab and -DOCSTART- lines count).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from conftest import WNUT17_FIXTURES, run_cli
from hostile import PREFIX, assert_refused

MINIMAL_ADVANCED = (
    '{"sentences":[{"id":0,"content":"John lives","tokens":["John","lives"],"metadata":[]}],'
    '"labelerInfo":null,"labelSets":[{"index":0,"name":"NER","labelItems":[{"id":"1","labelName":"PER"}]}],'
    '"labels":[{"id":"s1","type":"SPAN","layer":0,"labelSetItemId":"1","startCellLine":0,"startTokenIndex":0,'
    '"startCharIndex":0,"endCellLine":0,"endTokenIndex":0,"endCharIndex":3}],"comments":[]}'
)


def _late_mix() -> bytes:
    """A real WNUT-17 slice (IOB) with a bare label on the line after its end:
    the error comes after output has been written."""
    data = (WNUT17_FIXTURES / "wnut17train.head.conll").read_bytes()
    return data + b"Mary\tperson\n"


LATE_MIX_LINE = len((WNUT17_FIXTURES / "wnut17train.head.conll").read_bytes().split(b"\n"))


# (id, file name, content, extra arguments, expected line or None, words the message must hold)
CASES = [
    (
        "truncated-datasaur-schema",
        "project.json",
        b'{"version": "1", "data": {"project": ',
        (),
        None,
        [],
    ),
    (
        "iob-then-bare-label",
        "mixed.conll",
        b"-DOCSTART- -X- -X- O\n\nJohn\tB-person\nSmith\tI-person\n\t\nlives\tO\nin\tO\nParis\tlocation\n\n",
        (),
        8,
        [],
    ),
    (
        "bare-label-then-iob",
        "mixed2.conll",
        b"Paris\tlocation\nis\tO\n\t\nnice\tO\n\nJohn\tB-person\n\n",
        (),
        6,
        [],
    ),
    (
        "iob-mixed-late-in-a-real-file",
        "wnut17train.conll",
        _late_mix(),
        (),
        LATE_MIX_LINE,
        [],
    ),
    (
        "bare-label-in-second-docstart-section",
        "sections.conll",
        b"-DOCSTART- -X- -X- O\n\nJohn\tB-person\n\n-DOCSTART- -X- -X- O\n\t\nlives\tO\nParis\tlocation\n\n",
        (),
        8,
        [],
    ),
    (
        "b-without-label",
        "nolabel.conll",
        b"John\tB-person\n\t\nMary\tO\nJane\tB-\n\n",
        (),
        4,
        [],
    ),
    (
        "i-without-label",
        "nolabel2.conll",
        b"John\tB-person\nSmith\tI-\n\n",
        (),
        2,
        [],
    ),
    (
        "column-count-changes",
        "columns.conll",
        b"John\tB-person\nlives\tO\n\t\nMary\tNNP\tB-person\n\n",
        (),
        4,
        [],
    ),
    (
        "not-utf8",
        "bytes.conll",
        b"John\tB-person\n\t\nli\xff\xfeves\tO\n\n",
        (),
        3,
        [],
    ),
    (
        "json-advanced-end-token-past-line",
        "doc.txt.json",
        MINIMAL_ADVANCED.replace('"endTokenIndex":0', '"endTokenIndex":2').encode(),
        (),
        None,
        [],
    ),
    (
        "json-advanced-end-char-past-token",
        "doc.txt.json",
        MINIMAL_ADVANCED.replace('"endCharIndex":3', '"endCharIndex":4').encode(),
        (),
        None,
        [],
    ),
    (
        "json-advanced-negative-token-index",
        "doc.txt.json",
        MINIMAL_ADVANCED.replace('"endTokenIndex":0', '"endTokenIndex":-1').encode(),
        (),
        None,
        [],
    ),
    (
        "json-advanced-negative-char-index",
        "doc.txt.json",
        MINIMAL_ADVANCED.replace('"startCharIndex":0', '"startCharIndex":-1').encode(),
        (),
        None,
        [],
    ),
    (
        "json-advanced-content-not-text",
        "doc.txt.json",
        MINIMAL_ADVANCED.replace('"content":"John lives"', '"content":null').encode(),
        (),
        None,
        ["$.sentences[0].content", "expected a string, got null"],
    ),
    (
        # a bad span before a label of no text type: the file's shape is checked first, so the label is named
        "json-advanced-shape-before-placement",
        "doc.txt.json",
        MINIMAL_ADVANCED.replace('"startCellLine":0', '"startCellLine":9')
        .replace('"endCharIndex":3}]', '"endCharIndex":3},{"id":"b1","type":"BOX"}]')
        .encode(),
        (),
        None,
        ["$.labels[1].type", "'BOX'"],
    ),
    ("missing-input", "missing.conll", None, (), None, []),
]


@pytest.mark.parametrize("case_id,name,content,extra,line,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input(places, case_id, name, content, extra, line, words):
    inputs, work, out = places
    source = inputs / name
    if content is not None:
        source.write_bytes(content)
    message = assert_refused(*run_cli("convert", source, "-f", "TSV_IOB", "-o", out, *extra), work, out)
    assert name in message, f"the message does not name the file: {message}"
    if line is not None:
        assert f"{name}:{line}: " in message, f"expected {name}:{line}: in {message!r}"
    for word in words:
        assert word in message, message


def test_failed_conversion_keeps_an_earlier_output(places):
    """OUT holding an earlier output is replaced only by a successful run."""
    inputs, work, out = places
    good, bad = inputs / "good.conll", inputs / "bad.conll"
    good.write_bytes(b"John\tB-person\nlives\tO\n\n")
    bad.write_bytes(b"John\tB-person\n\nMary\tperson\n\n")
    code, _, stderr = run_cli("convert", good, "-f", "TSV_IOB", "-o", out)
    assert code == 0, stderr
    before = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, stdout, stderr = run_cli("convert", bad, "-f", "TSV_IOB", "-o", out)
    assert code == 2, stderr
    assert stderr.count("\n") == 1 and stderr.startswith(PREFIX) and "bad.conll:3: " in stderr, stderr
    after = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in work.iterdir()) == ["OUT"]


def test_valid_json_advanced_is_accepted(places):
    """The minimal JSON_ADVANCED the bad cases are made from is itself good."""
    inputs, work, out = places
    source = inputs / "doc.txt.json"
    source.write_text(MINIMAL_ADVANCED, encoding="utf-8")
    code, _, stderr = run_cli("convert", source, "-f", "TSV_IOB", "-o", out)
    assert code == 0, stderr
    tsv = [p for p in out.iterdir() if p.suffix == ".tsv"]
    assert len(tsv) == 1
    assert tsv[0].read_text(encoding="utf-8") == "John\tB-PER\nlives\tO\n"


def test_zip_entry_escaping_the_folder(places):
    inputs, work, out = places
    archive = inputs / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("project/doc.conll", "John\tB-person\n\n")
        zf.writestr("../evil.txt", "x\tO\n\n")
    message = assert_refused(*run_cli("convert", archive, "-f", "TSV_IOB", "-o", out), work, out)
    assert "evil.zip" in message, message
    assert "escap" in message.lower(), message
    assert not (inputs.parent / "evil.txt").exists() and not (work.parent / "evil.txt").exists()


def test_unknown_format(places):
    inputs, work, out = places
    source = inputs / "ok.conll"
    source.write_bytes(b"John\tB-person\n\n")
    message = assert_refused(*run_cli("convert", source, "-f", "NOPE", "-o", out), work, out)
    assert "NOPE" in message, message
    assert "TSV_IOB" in message, "the message should list the known formats"


@pytest.mark.parametrize("fmt", ["AMAZON_COMPREHEND_CSV", "AZURE_AUTOML_CSV", "GCP_VERTEX_AI_CSV", "HF_DATASET"])
def test_table_of_labels_only(places, fmt):
    """A table whose every column is a label column has no text to classify."""
    inputs, work, out = places
    source = inputs / "labels.csv"
    source.write_bytes(b"label\nspam\nham\n")
    message = assert_refused(*run_cli("convert", source, "--label-column", "label", "-f", fmt, "-o", out), work, out)
    assert "labels.csv" in message and "no text column" in message, message


@pytest.mark.parametrize(
    "split", ["train=0.8,test=0.3", "train", "train=0.8,train=0.2", "train=x,test=0.5"], ids=lambda v: v
)
def test_bad_split(places, split):
    inputs, work, out = places
    source = inputs / "ok.conll"
    source.write_bytes(b"John\tB-person\n\n")
    message = assert_refused(*run_cli("convert", source, "-f", "TSV_IOB", "-o", out, "--split", split), work, out)
    assert "--split" in message, message


ROWS = b"text,label\nhello there,greeting\nsee you,farewell\n"


def test_token_format_of_a_row_project_names_the_formats_that_can(places):
    """A format refuses a project kind it cannot serve, naming the
    formats that can; the message names the file like every input error."""
    inputs, work, out = places
    source = inputs / "rows.csv"
    source.write_bytes(ROWS)
    message = assert_refused(
        *run_cli("convert", source, "-f", "TSV_IOB", "-o", out, "--label-column", "label"), work, out
    )
    assert "rows.csv" in message, f"the message does not name the file: {message}"
    assert "TSV_IOB" in message, message
    assert "CSV" in message.replace("TSV_IOB", ""), f"no format that can serve it is named: {message}"


@pytest.mark.parametrize("args", [["--help"], ["convert", "--help"], ["inspect", "--help"], ["formats", "--help"]], ids=" ".join)
def test_help(args):
    code, stdout, stderr = run_cli(*args)
    assert code == 0, stderr
    assert stdout.startswith("usage: labelport"), stdout[:200]
    assert "Traceback" not in stderr
