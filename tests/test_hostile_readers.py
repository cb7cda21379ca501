"""Hostile and awkward input for the line-based readers (CoNLL/IOB, CSV, TSV)
and for ``--jobs`` (issue 11, items 4 and 9).

- Refused input goes through :func:`hostile.assert_refused`: exit 2, one
  ``labelport: error: <file>[:<line>]:`` line, nothing written; the line
  named is the physical line of the file, whatever its line ends.
- Awkward but valid input (a byte-order mark, CRLF or CR-only line ends, no
  final line end, spaces for tabs) is converted and the output parsed here,
  independently, and compared with what the source was made from.
- Reading stays linear in the input whatever its shape: the readers count
  what each pass over the text searched (``LineBlocks.work``,
  ``_Stream.scanned``) and the tests hold those counts to a small multiple of
  the input's size, with blocks made small so that a pass done once per
  block again over what is unread would show many times over. No clock.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

import labelport
from conftest import run_cli
from hostile import assert_refused
from labelport.conversion import parallel
from labelport.errors import UsageError
from labelport.readers import conll, table

EXAMPLES = Path(__file__).parent.parent / "examples"

BIG = 300_000  # bytes: longer than a CoNLL block (256 KiB) and many table blocks

# (id, file name, content, arguments after -o OUT, expected "name:line" or None, words the message holds)
TABLE = ("-f", "CSV", "--label-column", "label")
TSV = ("-f", "CSV", "--from", "TSV", "--label-column", "label")
REFUSED = [
    ("conll-utf16", "u16.conll", "John\tB-PER\n".encode("utf-16"), ("-f", "TSV_IOB"), 1, ["UTF-8"]),
    ("conll-bad-byte-after-a-long-line", "long.conll", b"a" * BIG + b"\tO\nb\xff\tO\n", ("-f", "TSV_IOB"), 2, ["UTF-8"]),
    ("conll-bad-byte-cr-only", "mac.conll", b"a\tO\rb\tO\r\rc\xfe\tO\r", ("-f", "TSV_IOB"), 4, ["UTF-8"]),
    ("conll-columns-change-crlf", "dos.conll", b"John\tB-PER\r\nlives\tO\r\n\r\nParis\tB-LOC\tx\r\n", ("-f", "TSV_IOB"), 4,
     ["3 columns"]),
    ("conll-binary-garbage", "data.conll", bytes(range(256)) * 4, ("-f", "TSV_IOB"), 2, ["UTF-8"]),
    ("conll-encoded-surrogate", "sur.conll", b"ok\tO\n\xed\xa0\x80\tO\n", ("-f", "TSV_IOB"), 2, ["UTF-8"]),
    ("conll-many-columns-then-fewer", "wide.conll", b"\t".join([b"a"] * 200_000) + b"\nb\tc\tO\n", ("-f", "TSV_IOB"), 2,
     ["3 columns", "200000"]),
    ("conll-tab-then-space", "sep.conll", b"John\tB-PER\nlives O\n", ("-f", "TSV_IOB"), 2, ["1 column,"]),
    ("conll-b-without-label-cr-only", "nolabel.conll", b"John\tB-PER\rSmith\tI-\r", ("-f", "TSV_IOB"), 2, ["no label"]),
    ("conll-schemes-mixed-across-docstarts-crlf", "mix.conll",
     b"-DOCSTART-\r\n\r\nJohn\tB-PER\r\n\r\n-DOCSTART-\r\nParis\tLOC\r\n", ("-f", "TSV_IOB"), 6, ["mixes"]),
    ("conll-bom-then-bad-byte", "bom.conll", b"\xef\xbb\xbfJo\xffhn\tB-PER\n", ("-f", "TSV_IOB"), 1, ["byte 6 of the line"]),
    ("conll-bad-byte-deep-in-one-sentence", "deep.conll", b"t\tO\n" * 100_000 + b"\xc3\tO\n", ("-f", "TSV_IOB"), 100_001,
     ["UTF-8"]),
    ("conll-docstart-lines-then-mix", "docs.conll", b"-DOCSTART-\n" * 1000 + b"a\tB-X\nb\tX\n", ("-f", "TSV_IOB"), 1002,
     ["mixes"]),
    ("csv-unclosed-quote-after-a-big-cell", "big.csv", b'text,label\n"' + b"a" * BIG + b'",x\n"never,y\n', TABLE, 3,
     ["never closed"]),
    ("csv-bad-quote-cr-only", "mac.csv", b'text,label\rok,x\r"ab"c,d\r', TABLE, 3, ["RFC 4180"]),
    ("csv-bad-byte-crlf", "dos.csv", b"text,label\r\nok,x\r\nb\xffad,y\r\n", TABLE, 3, ["UTF-8"]),
    ("csv-extra-cell-bom-crlf", "bom.csv", b"\xef\xbb\xbftext,label\r\nok,x\r\na,b,c\r\n", TABLE, 3, ["3 cells"]),
    ("csv-only-a-bom", "mark.csv", b"\xef\xbb\xbf", TABLE, None, ["empty"]),
    ("csv-utf16", "u16.csv", "text,label\nhi,x\n".encode("utf-16"), TABLE, 1, ["UTF-8"]),
    ("tsv-bad-byte-cr-only", "mac.tsv", b"text\tlabel\rok\tx\rb\xffad\ty\r", TSV, 3, ["UTF-8"]),
    ("tsv-wrong-cells-cr-only", "cells.tsv", b"text\tlabel\rok\tx\ra\tb\tc\r", TSV, 3, ["3 cells"]),
    ("tsv-short-row-after-a-big-cell-crlf", "big.tsv", b"text\tlabel\r\n" + b"a" * BIG + b"\tx\r\nshort\r\n", TSV, 3,
     ["1 cells"]),
    *[(f"jobs-{value or 'empty'}", "ok.conll", b"John\tB-PER\n", ("-f", "TSV_IOB", f"--jobs={value}"), None, ["--jobs"])
      for value in ("0", "-1", "abc", "1.5", "")],
]


@pytest.mark.parametrize("case_id,name,content,args,line,words", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused(places, case_id, name, content, args, line, words):
    inputs, work, out = places
    source = inputs / name
    source.write_bytes(content)
    message = assert_refused(*run_cli("convert", source, "-o", out, *args), work, out)
    if line is not None:
        assert f"{name}:{line}: " in message, f"expected {name}:{line}: in {message!r}"
    elif not case_id.startswith("jobs-"):
        assert name in message, message
    for word in words:
        assert word in message, message


# -- awkward but valid: the output, parsed here, holds what the source was made of --

SENTENCES = [
    (["\u00e9t\u00e9", "in", "Paris", "!"], ["O", "O", "B-LOC", "O"]),
    (["John", "Smith", "lives"], ["B-PER", "I-PER", "O"]),
    (["\U0001F600"], ["O"]),
]


def conll_bytes(sentences, *, end: str = "\n", sep: str = "\t", blank: str = "", bom: bool = False,
                final_end: bool = True) -> bytes:
    lines: list[str] = []
    for tokens, tags in sentences:
        lines.extend(f"{token}{sep}{tag}" for token, tag in zip(tokens, tags))
        lines.append(blank)
    text = end.join(lines[:-1]) + (end if final_end else "")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def tsv_iob_sentences(path: Path) -> list[tuple[list[str], list[str]]]:
    """TSV_IOB read here: token<TAB>tag lines, a blank line between sentences."""
    sentences = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        rows = [line.split("\t") for line in block.split("\n") if line]
        sentences.append(([r[0] for r in rows], [r[1] for r in rows]))
    return sentences


@pytest.mark.parametrize(
    "shape",
    [
        {"end": "\r\n"},
        {"end": "\r"},
        {"end": "\r", "final_end": False},
        {"bom": True},
        {"bom": True, "end": "\r\n", "final_end": False},
        {"final_end": False},
        {"sep": "   "},
        {"sep": " ", "end": "\r\n", "bom": True},
        {"blank": "\t", "end": "\r"},
    ],
    ids=lambda shape: ",".join(f"{k}={v!r}" for k, v in shape.items()),
)
def test_conll_line_ends_marks_and_separators(places, shape):
    inputs, work, out = places
    source = inputs / "awkward.conll"
    source.write_bytes(conll_bytes(SENTENCES, **shape))
    code, _, stderr = run_cli("convert", source, "-f", "TSV_IOB", "-o", out)
    assert code == 0, stderr
    assert tsv_iob_sentences(out / "awkward.conll.tsv") == SENTENCES


def test_conll_token_longer_than_a_block(tmp_path):
    long_token = "\u00e9" * BIG  # twice BIG bytes
    source = tmp_path / "long.conll"
    source.write_bytes(conll_bytes([([long_token, "x"], ["B-X", "O"])] + SENTENCES, end="\r\n", bom=True))
    labelport.convert(labelport.load(source), "TSV_IOB", tmp_path / "out")
    assert tsv_iob_sentences(tmp_path / "out" / "long.conll.tsv") == [([long_token, "x"], ["B-X", "O"])] + SENTENCES


def test_conll_docstart_lines_without_blank_lines(tmp_path):
    """Every -DOCSTART- line starts a document, blank line after it or not."""
    source = tmp_path / "docs.conll"
    source.write_bytes(b"".join(b"-DOCSTART- -X- O\ntok%d\tO\n" % n for n in range(3000)))
    documents = list(labelport.load(source).documents())
    assert len(documents) == 3000
    assert [line.tokens for line in documents[-1].lines] == [["tok2999"]]


def csv_rows(data: bytes) -> list[list[str]]:
    """The rows of CSV bytes, read by the csv module from a universal-newline text file."""
    return [row for row in csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")) if row]


@pytest.mark.parametrize(
    "name, data, rows",
    [
        ("bom-crlf.csv", b'\xef\xbb\xbftext,label\r\n"two\r\nlines",x\r\nplain,y\r\n',
         [["two\r\nlines", "x"], ["plain", "y"]]),
        ("cr-only.csv", b'text,label\r"two\rlines",x\rplain,y\r', [["two\rlines", "x"], ["plain", "y"]]),
        ("no-final-end.csv", b"text,label\nplain,y\nlast,z", [["plain", "y"], ["last", "z"]]),
        ("bom-crlf.tsv", b"\xef\xbb\xbftext\tlabel\r\n\"quoted\tx\r\nlast\ty", [['"quoted', "x"], ["last", "y"]]),
        ("cr-only.tsv", b"text\tlabel\r a \tx\r\rlast\ty\r", [[" a ", "x"], ["last", "y"]]),
        ("big-cell.csv", b'text,label\r\n"' + b"a\r\n" * BIG + b'",x\r\n', [["a\r\n" * BIG, "x"]]),
    ],
)
def test_tables_line_ends_and_marks(tmp_path, name, data, rows):
    source = tmp_path / name
    source.write_bytes(data)
    project = labelport.load(source, from_format=name.rsplit(".", 1)[1].upper(), label_columns=["label"])
    labelport.convert(project, "CSV", tmp_path / "out")
    (written,) = (tmp_path / "out").glob("*.csv")
    assert csv_rows(written.read_bytes()) == [["text", "label"], *rows]


def test_csv_of_many_columns(tmp_path):
    names = [f"c{n}" for n in range(100_000)]
    source = tmp_path / "wide.csv"
    source.write_text(",".join(names) + "\r\n" + ",".join(n.upper() for n in names) + "\r\n", encoding="utf-8")
    (document,) = labelport.load(source).documents()
    assert document.columns == names
    assert [row.cells for row in document.rows] == [[n.upper() for n in names]]


# -- reading stays linear: what each pass searched, counted by the readers --------

class CountedStream(conll._Stream):
    made: list["CountedStream"] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        CountedStream.made.append(self)


@pytest.fixture
def counted_conll(monkeypatch):
    """CoNLL read in 4 KiB blocks, its streams kept for their counts."""
    monkeypatch.setattr(conll, "_BLOCK", 4096)
    monkeypatch.setattr(conll, "_Stream", CountedStream)
    CountedStream.made = []
    return CountedStream.made


@pytest.mark.parametrize(
    "shape, data",
    [
        ("one line of 1 MB", b"a" * 1_000_000 + b"\tO\n"),
        ("one line of 1 MB, CR-only", b"a" * 1_000_000 + b"\tO\rb\tO\r"),
        ("one sentence of 200,000 tokens", b"tok\tO\n" * 200_000),
        ("one sentence of 200,000 tokens, spaces", b"tok O\n" * 200_000),
        ("a line of 100,000 columns", b"\t".join([b"a"] * 100_000) + b"\n" + b"\t".join([b"b"] * 100_000) + b"\n"),
        ("50,000 -DOCSTART- lines, no blank line", b"-DOCSTART- O\nt\tO\n" * 50_000),
    ],
)
def test_conll_reading_is_linear(tmp_path, counted_conll, shape, data):
    source = tmp_path / "shape.conll"
    source.write_bytes(data)
    summary = labelport.inspect(source)
    assert summary["tokens"] >= 1
    (stream,) = counted_conll
    # each byte searched for a line end once and copied into a block once
    assert stream._lines.work <= 2 * len(data) + 4096, shape
    # each character of text searched by a small number of passes, not once per block
    assert stream.scanned <= 3 * len(data), shape


class CountedLines(table.LineBlocks):
    made: list["CountedLines"] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        CountedLines.made.append(self)


@pytest.mark.parametrize(
    "fmt, data",
    [
        ("CSV", b'text,label\n"' + b"a" * 1_000_000 + b'",x\n'),
        ("TSV", b"text\tlabel\n" + b"a" * 1_000_000 + b"\tx\n"),
        ("TSV", b"text\tlabel\r" + b"a" * 1_000_000 + b"\tx\r"),
    ],
)
def test_table_reading_is_linear(tmp_path, monkeypatch, fmt, data):
    monkeypatch.setattr(table, "_BLOCK_BYTES", 512)
    monkeypatch.setattr(table, "LineBlocks", CountedLines)
    CountedLines.made = []
    source = tmp_path / f"shape.{fmt.lower()}"
    source.write_bytes(data)
    (document,) = labelport.load(source, from_format=fmt, label_columns=["label"]).documents()
    assert [len(row.cells[0]) for row in document.rows] == [1_000_000]
    assert CountedLines.made, "the table reader no longer reads through LineBlocks"
    for lines in CountedLines.made:  # the header's read, then the rows'
        assert lines.work <= 2 * len(data) + 512


@pytest.mark.parametrize("name, content, args", [
    ("long.conll", b"Ada B-PER\nmet O\n" + b"x" * 300_000 + b" O\nParis B-LOC\n", ()),
    ("long.conll", b"Ada B-PER\r\nmet O\r\n" + b"x" * 300_000 + b" O\r\n", ()),
    ("long.tsv", b"text\tlabel\nhi\tham\n" + b"a" * 40_000 + b"\tspam\n", ("--label-column", "label")),
    ("long.csv", b"text,label\nhi,ham\n" + b"a" * 40_000, ("--label-column", "label")),
], ids=["conll", "conll-crlf", "tsv", "csv-unended"])
def test_a_line_past_the_limit_is_refused_with_its_line(places, monkeypatch, name, content, args):
    # a line is held whole while it is read: one endless line (60 MB: 315 MB of memory) is refused past
    # LABELPORT_MAX_LINE_BYTES (16 MiB; 1,000 here), naming its line, before anything is written. (A line
    # within one block read, 256 KiB for CoNLL, 32 KiB for tables, is held anyway: these lines are longer.)
    inputs, work, out = places
    monkeypatch.setenv("LABELPORT_MAX_LINE_BYTES", "1000")
    source = inputs / name
    source.write_bytes(content)
    message = assert_refused(*run_cli("convert", source, "-f", "JSON", "-o", out, *args), work, out)
    assert message == (f"labelport: error: {source}:3: a line of more than 1,000 bytes "
                       "(the limit, LABELPORT_MAX_LINE_BYTES)"), message
    monkeypatch.setenv("LABELPORT_MAX_LINE_BYTES", "many")
    message = assert_refused(*run_cli("convert", source, "-f", "JSON", "-o", out, *args), work, out)
    assert message == "labelport: error: LABELPORT_MAX_LINE_BYTES must be a positive whole number, not 'many'"


# -- --jobs ----------------------------------------------------------------------

def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_jobs_above_the_cpus_are_capped_with_a_notice(places):
    inputs, work, out = places
    project = EXAMPLES / "newsroom-export.zip"
    code, _, stderr = run_cli("convert", project, "-f", "TSV_IOB", "-o", work / "one")
    assert code == 0, stderr
    code, _, stderr = run_cli("convert", project, "-f", "TSV_IOB", "-o", out, "--jobs", "1000")
    assert code == 0, stderr
    cpus = parallel.usable_cpus()
    notices = [line for line in stderr.splitlines() if "--jobs" in line]
    assert notices == [f"labelport: --jobs 1000: this process may use {cpus} CPUs; converting in {cpus}"], stderr
    assert files(out) == files(work / "one")


@pytest.mark.parametrize("jobs", [0, -2, 1.5, "2", True, None])
def test_api_refuses_a_jobs_that_is_not_a_count(tmp_path, jobs):
    source = tmp_path / "ok.conll"
    source.write_bytes(b"John\tB-PER\n")
    with pytest.raises(UsageError, match="--jobs"):
        labelport.convert(labelport.load(source), "TSV_IOB", tmp_path / "out", jobs=jobs)
    assert not (tmp_path / "out").exists()


def test_api_caps_jobs(tmp_path, capsys):
    report = labelport.convert(labelport.load(EXAMPLES / "newsroom-export.zip"), "TSV_IOB", tmp_path / "out",
                               jobs=10_000)
    assert report.counts["documents"] >= 2
    assert capsys.readouterr().err.count("--jobs 10000:") == 1
    assert json.loads((tmp_path / "out" / "labelport-report.json").read_text())["counts"] == report.counts
