"""Tables in and out: CSV, TSV, XLSX readers; CSV, TSV, XLSX, JSON_TABULAR writers.

Written files are checked with csv, openpyxl and json directly, never with
labelport's own code, and sources are read independently by tests/sources.py
(SMS Spam: split on "\\n", each line ``label<TAB>text``).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

import labelport
from labelport.errors import InputError
from labelport.formats._table import SEPARATOR_IN_ANSWER
from labelport.model import (
    CONFLICT,
    DOCUMENT_BASED,
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

from sources import sms_pairs

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures" / "tables"
SLICE = FIXTURES / "sms_slice.tsv"

EXT = {"CSV": ".csv", "TSV": ".tsv", "XLSX": ".xlsx", "JSON_TABULAR": ".json"}


# -- independent readers (the shared ones are in sources.py) ---------------------

def read_table(path: Path) -> list[dict[str, str]]:
    """A written table as a list of {header: cell}, read without labelport."""
    if path.suffix == ".csv":
        with open(path, encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    if path.suffix == ".tsv":
        lines = path.read_text(encoding="utf-8").split("\n")
        assert lines[-1] == ""
        header, *body = [line.split("\t") for line in lines[:-1]]
        return [dict(zip(header, cells, strict=True)) for cells in body]
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path).worksheets[0]
        rows = [["" if v is None else v for v in values] for values in sheet.iter_rows(values_only=True)]
        header, *body = rows
        return [dict(zip(header, cells, strict=True)) for cells in body]
    assert path.suffix == ".json"
    data = json.loads(path.read_bytes())
    assert isinstance(data, list)
    return data


def only_file(folder: Path, ext: str) -> Path:
    files = sorted(p for p in folder.glob("*" + ext) if p.name != "labelport-report.json")
    assert len(files) == 1, files
    return files[0]


def check_sms(rows: list[dict[str, str]], expected: list[tuple[str, str]]) -> None:
    got = [(row["label"], row["text"]) for row in rows]
    assert len(got) == len(expected)
    # compare one by one: a failure then names the first differing row
    for i, (pair, want) in enumerate(zip(got, expected, strict=True)):
        assert pair == want, f"row {i}"
    written = {text for _, text in got}
    spaced = [text for _, text in expected if text != text.strip()]
    assert spaced and all(text in written for text in spaced)  # white space survives


# -- 1. SMS Spam: the full set, and a slice that ships with the tests -----------

@pytest.mark.parametrize("fmt", ["CSV", "TSV", "XLSX", "JSON_TABULAR"])
def test_sms_slice_round_trip(tmp_path: Path, fmt: str) -> None:
    project = labelport.load(SLICE, columns=["label", "text"])
    assert [q.name for q in project.questions] == ["label"]
    assert project.text_column == "text"
    labelport.convert(project, fmt, tmp_path / "out")
    rows = read_table(only_file(tmp_path / "out", EXT[fmt]))
    expected = sms_pairs(SLICE)
    check_sms(rows, expected)
    assert list(rows[0]) == ["text", "label"]  # the columns, then the questions
    assert sum(t != t.strip() for _, t in expected) == 12


@pytest.mark.parametrize("fmt", ["CSV", "XLSX", "JSON_TABULAR"])
def test_sms_full_round_trip(tmp_path: Path, fmt: str, sms_spam: Path) -> None:
    # sms_spam (conftest.py): the full set beside the repository; skips when absent
    expected = sms_pairs(sms_spam)
    assert len(expected) == 5574
    project = labelport.load(sms_spam, columns=["label", "text"])
    report = labelport.convert(project, fmt, tmp_path / "out")
    assert report.counts["rows"] == 5574
    assert not report.losses
    rows = read_table(only_file(tmp_path / "out", EXT[fmt]))
    assert Counter(row["label"] for row in rows) == {"ham": 4827, "spam": 747}
    assert sum(row["text"] != row["text"].strip() for row in rows) == 187
    check_sms(rows, expected)
    assert (tmp_path / "out" / "labelport-report.json").is_file()


# -- 2. the same data as a CSV with a header -------------------------------------

def dataset_path(request: pytest.FixtureRequest, dataset: str) -> Path:
    """The slice that ships with the tests, or the full set (skips when absent)."""
    return SLICE if dataset == "slice" else request.getfixturevalue("sms_spam")


@pytest.mark.parametrize("dataset", ["slice", "full"])
@pytest.mark.parametrize("fmt", ["CSV", "XLSX", "JSON_TABULAR"])
def test_csv_with_header(tmp_path: Path, dataset: str, fmt: str, request: pytest.FixtureRequest) -> None:
    expected = sms_pairs(dataset_path(request, dataset))
    path = tmp_path / "sms.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)  # \r\n line ends, as Excel and most tools write
        writer.writerow(["label", "text"])
        writer.writerows(expected)
    project = labelport.load(path, label_columns=["label"])
    assert project.id == project.name == "sms"
    labelport.convert(project, fmt, tmp_path / "out")
    # a document keeps its file's name: sms.csv -> sms.csv.xlsx (README, "Formats")
    rows = read_table(only_file(tmp_path / "out", EXT[fmt]))
    check_sms(rows, expected)
    if dataset == "full":
        assert Counter(row["label"] for row in rows) == {"ham": 4827, "spam": 747}
        assert sum(row["text"] != row["text"].strip() for row in rows) == 187


def test_rows_stream_and_reread() -> None:
    project = labelport.load(SLICE, columns=["label", "text"])
    (document,) = project.documents()
    assert document.id == document.name == "sms_slice.tsv"
    assert document.kinds == (ROW_BASED,)
    assert document.columns == ["text"]
    assert iter(document.rows) is document.rows  # a generator, not a list
    first = [(r.index, r.cells, r.answers) for r in document.rows]
    again = [(r.index, r.cells, r.answers) for d in project.documents() for r in d.rows]
    assert first == again
    assert first[0] == (0, [sms_pairs(SLICE)[0][1]], {"0": "ham"})


# -- 3. XLSX: text, never formulas; what XML cannot hold ----------------------------

def test_xlsx_formula_injection_and_illegal_characters(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    texts = ["=1+1", "+x", "-y", "@z", '=HYPERLINK("http://x","y")', "plain", "a\x01b\x1fc"]
    path = tmp_path / "in.tsv"
    path.write_text("".join(f"ham\t{t}\n" for t in texts), encoding="utf-8")
    project = labelport.load(path, columns=["label", "text"])
    report = labelport.convert(project, "XLSX", tmp_path / "out")
    for read_only in (False, True):
        sheet = load_workbook(tmp_path / "out" / "in.tsv.xlsx", read_only=read_only).worksheets[0]
        cells = [row[0] for row in sheet.iter_rows(min_row=2)]
        assert [c.value for c in cells] == [*texts[:-1], "abc"]
        assert all(c.data_type == "s" for c in cells)
    loss = report.to_dict()["not_carried"]["characters XLSX cannot hold"]
    assert loss["count"] == 1


def test_xlsx_reader(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["text", "label", "score", None])  # an empty trailing header cell
    sheet.append(["  first ", "a", 3.0])
    sheet.append([])  # a blank row holds no row
    sheet.append(["second", None, 2.5, None])
    sheet.append(["=not a formula", "b", 7])
    sheet["A5"].data_type = "s"
    workbook.save(tmp_path / "book.xlsx")
    project = labelport.load(tmp_path / "book.xlsx", label_columns=["label"])
    (document,) = project.documents()
    assert document.columns == ["text", "score"]
    rows = [(r.index, r.cells, r.answers) for r in document.rows]
    assert rows == [
        (0, ["  first ", "3"], {"0": "a"}),
        (1, ["second", "2.5"], {}),
        (2, ["=not a formula", "7"], {"0": "b"}),
    ]


# -- 4. multi-label, TSV quotes, bad input ------------------------------------------

def test_multi_label(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text('text,labels\none,a|b\ntwo,\nthree,c\n"four, quoted",a||c\n', encoding="utf-8")
    project = labelport.load(path, label_columns=["labels"], label_separator="|")
    assert project.questions[0].multiple and project.questions[0].name == "labels"
    (document,) = project.documents()
    assert [r.answers for r in document.rows] == [{"0": ["a", "b"]}, {}, {"0": ["c"]}, {"0": ["a", "c"]}]
    for fmt in ("CSV", "JSON_TABULAR"):
        labelport.convert(project, fmt, tmp_path / fmt, label_separator=";")
        rows = read_table(only_file(tmp_path / fmt, EXT[fmt]))
        assert [(r["text"], r["labels"]) for r in rows] == [
            ("one", "a;b"), ("two", ""), ("three", "c"), ("four, quoted", "a;c"),
        ]


def test_tsv_quotes_are_data(tmp_path: Path) -> None:
    project = labelport.load(FIXTURES / "quotes.tsv", from_format="TSV", label_columns=["label"])
    (document,) = project.documents()
    assert document.columns == ["text", "note"]
    expected = [
        (["\"quoted\" at the start", '"'], "ham"),
        (['unbalanced " quote', '""'], "spam"),
        (['  "  spaced  ', " x "], "ham"),
    ]
    assert [(r.cells, r.answers["0"]) for r in document.rows] == expected
    for fmt in ("CSV", "TSV"):
        labelport.convert(project, fmt, tmp_path / fmt)
        rows = read_table(only_file(tmp_path / fmt, EXT[fmt]))
        assert [([r["text"], r["note"]], r["label"]) for r in rows] == expected


def test_tsv_crlf_only_terminator_removed(tmp_path: Path) -> None:
    path = tmp_path / "crlf.tsv"
    path.write_bytes(b"text\tlabel\r\n a\rb \tx\r\nlast\ty")  # no final newline
    (document,) = labelport.load(path, from_format="TSV", label_columns=["label"]).documents()
    assert [r.cells for r in document.rows] == [[" a\rb "], ["last"]]


@pytest.mark.parametrize(
    "name, data, line",
    [
        ("bad.csv", b"text,label\na,b\nc,d,e\n", 3),
        ("bad.csv", b'text,label\n"multi\nline",b\nc\n', 4),  # physical lines, not records
        ("bad.tsv", b"text\tlabel\na\tb\n\nc\n", 4),
        ("bad.csv", b'text,label\na,b\n"never closed,c\nmore\n', 3),
        ("bad.csv", b'text,label\n"ab"c,d\n', 2),
    ],
)
def test_bad_rows(tmp_path: Path, name: str, data: bytes, line: int) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    project = labelport.load(path, from_format=name.rsplit(".", 1)[1].upper(), label_columns=["label"])
    with pytest.raises(InputError) as info:
        for document in project.documents():
            list(document.rows)
    assert info.value.file == str(path) and info.value.line == line
    with pytest.raises(InputError):
        labelport.convert(project, "CSV", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.parametrize("name", ["bad.csv", "bad.tsv"])
def test_invalid_utf8(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    sep = b"," if name.endswith(".csv") else b"\t"
    path.write_bytes(b"text" + sep + b"label\nok" + sep + b"a\nbad \xff byte" + sep + b"b\n")
    project = labelport.load(path, from_format=name[-3:].upper(), label_columns=["label"])
    with pytest.raises(InputError) as info:
        list(next(project.documents()).rows)
    assert info.value.line == 3 and "UTF-8" in str(info.value)


def test_columns_count_and_unknown_columns(tmp_path: Path) -> None:
    path = tmp_path / "plain.tsv"
    path.write_text("ham\thello\nspam\tthere\textra\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        list(next(labelport.load(path, columns=["label", "text"]).documents()).rows)
    assert info.value.line == 2
    with pytest.raises(InputError) as info:
        labelport.load(FIXTURES / "quotes.tsv", from_format="TSV", label_columns=["category"])
    assert "'category'" in str(info.value) and "'note'" in str(info.value)
    assert info.value.file == str(FIXTURES / "quotes.tsv")


# -- 4b. blocks: text files are read a block of lines at a time, CSV and XLSX rows
#        are handed on a block at a time; block ends must make no difference ---------

@pytest.fixture(params=["default blocks", "tiny blocks"])
def blocks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "tiny blocks":  # every line and row crosses a block end
        from labelport.readers import table

        monkeypatch.setattr(table, "_BLOCK_BYTES", 3)
        monkeypatch.setattr(table, "_BLOCK_ROWS", 2)


@pytest.mark.usefixtures("blocks")
def test_block_ends_make_no_difference(tmp_path: Path) -> None:
    long_text = "é" * 70_000  # longer than a block, in bytes and in characters
    data = "\ufefftext\tlabel\r\n\nfirst\tham\n" + long_text + "\tspam\r\n\r\n a\rb \t\nlast\tham\r"
    path = tmp_path / "t.tsv"
    path.write_bytes(data.encode("utf-8"))
    project = labelport.load(path, from_format="TSV", label_columns=["label"])
    (document,) = project.documents()
    got = [(r.index, r.cells, r.answers) for r in document.rows]
    assert got == [
        (0, ["first"], {"0": "ham"}),
        (1, [long_text], {"0": "spam"}),
        (2, [" a\rb "], {}),
        (3, ["last"], {"0": "ham\r"}),  # only a "\r\n" line end loses its "\r"
    ]
    csv_path = tmp_path / "t.csv"
    csv_path.write_bytes(b'\xef\xbb\xbftext,label\r\n"multi\r\nline, quoted",ham\r\n\r\nplain,spam\r\nlast,\r\n')
    (document,) = labelport.load(csv_path, label_columns=["label"]).documents()
    got = [(r.index, r.cells, r.answers) for r in document.rows]
    assert got == [(0, ["multi\r\nline, quoted"], {"0": "ham"}), (1, ["plain"], {"0": "spam"}), (2, ["last"], {})]


@pytest.mark.usefixtures("blocks")
@pytest.mark.parametrize(
    "name, data, line, words",
    [
        # the first problem in the file is the one reported, whatever comes after it
        ("a.tsv", b"text\tlabel\na\tb\nc\nbad \xff\tx\n", 3, "1 cells"),
        ("a.tsv", b"text\tlabel\na\tb\nbad \xff\tx\nc\n", 3, "byte 5 of the line"),
        ("a.tsv", b"\xef\xbb\xbfh\xffam\thi\n", 1, "byte 5 of the line"),  # the byte-order mark counts
        ("a.tsv", b"text\tlabel\n\n\nok\tx\n\xe2\x82", 5, "byte 1 of the line"),  # cut short at the end
        ("a.csv", b'text,label\nc\n"ab"c,d\n', 2, "1 cells"),
        ("a.csv", b'text,label\na,b\n"ab"c,d\nc\n', 3, "RFC 4180"),
        ("a.csv", b'text,label\na,b\n"multi\nli\xffne",b\n', 4, "UTF-8"),
        ("a.csv", b'text,label\na,b\n"never closed,c\nmore\n', 3, "never closed"),
    ],
)
def test_first_problem_is_reported(tmp_path: Path, name: str, data: bytes, line: int, words: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as info:  # from the header on line 1, or from the rows
        project = labelport.load(path, from_format=name[-3:].upper(), label_columns=["label"])
        list(next(project.documents()).rows)
    assert info.value.line == line and words in str(info.value)


@pytest.mark.usefixtures("blocks")
def test_xlsx_short_rows_padded_across_blocks(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    for values in (["text", "label", "note"], ["a", "x"], ["b"], ["c", "y", "n"], ["d", None, "m"], ["e"]):
        workbook.active.append(values)
    workbook.save(tmp_path / "short.xlsx")
    (document,) = labelport.load(tmp_path / "short.xlsx", label_columns=["label"]).documents()
    got = [(r.cells, r.answers) for r in document.rows]
    assert got == [(["a", ""], {"0": "x"}), (["b", ""], {}), (["c", "n"], {"0": "y"}), (["d", "m"], {}), (["e", ""], {})]


def test_shared_answers_are_counted_and_reported_per_row(tmp_path: Path) -> None:
    # rows with the same label cells share their answers: each row still counts,
    # and what a row's answers cannot carry is reported for every row
    path = tmp_path / "multi.tsv"
    path.write_text("text\ttopic\nt1\ta;b|c\nt2\ta;b|c\nt3\t\nt4\ta\nt5\ta;b|c\n", encoding="utf-8")
    project = labelport.load(path, label_columns=["topic"], label_separator=";")
    report = labelport.convert(project, "CSV", tmp_path / "out")
    assert report.counts["rows"] == 5 and report.counts["answers"] == 4
    assert report.answers_per_question == {"0": 4}
    dropped = report.to_dict()["not_carried"][SEPARATOR_IN_ANSWER]
    assert dropped["count"] == 3 and [e["row"] for e in dropped["examples"]] == [0, 1, 4]
    assert [r["topic"] for r in read_table(tmp_path / "out" / "multi.tsv.csv")] == ["a|b|c", "a|b|c", "", "a", "a|b|c"]


def test_rows_are_counted_as_they_are_handed_on(tmp_path: Path) -> None:
    # a consumer that stops early (a transformer may) leaves the counts of
    # the rows it took: answers shared by a run of rows included
    from labelport.formats.base import Context, items
    from labelport.formats.registry import get_format
    from labelport.progress import Progress
    from labelport.report import Report
    from labelport.formats.splits import Splitter

    path = tmp_path / "runs.tsv"
    path.write_text("text\tlabel\na\tx\nb\tx\nc\t\nd\ty\ne\ty\nf\ty\n", encoding="utf-8")
    project = labelport.load(path, label_columns=["label"])
    for taken, answers in [(0, 0), (2, 2), (3, 2), (5, 4), (6, 5)]:
        report = Report(project.source, "CSV")
        ctx = Context(project, report, Splitter(), get_format("CSV").options(), Progress("test", enabled=False))
        entries = items(get_format("CSV"), project, ctx)
        next(entries)  # the document's start
        for _ in range(taken):
            next(entries)
        entries.close()
        assert (report.counts["rows"], report.counts["answers"]) == (taken, answers)
        assert report.answers_per_question == ({"0": answers} if answers else {})


# -- 5. splits -------------------------------------------------------------------------

@pytest.mark.parametrize("dataset", ["slice", "full"])
def test_split(tmp_path: Path, dataset: str, request: pytest.FixtureRequest) -> None:
    path = dataset_path(request, dataset)
    project = labelport.load(path, columns=["label", "text"])
    report = labelport.convert(project, "CSV", tmp_path / "out", split={"train": 0.8, "test": 0.2}, seed=7)
    expected = sms_pairs(path)
    parts = {}
    for split in ("train", "test"):
        parts[split] = [(r["label"], r["text"]) for r in read_table(only_file(tmp_path / "out" / split, ".csv"))]
        assert parts[split], split
        assert report.splits[split]["rows"] == len(parts[split])
        # each split keeps the source order: it is a subsequence of the source
        source = iter(expected)
        assert all(pair in source for pair in parts[split])
    assert Counter(parts["train"] + parts["test"]) == Counter(expected)
    assert 0.7 < len(parts["train"]) / len(expected) < 0.9


# -- writers on other kinds: document tables, span tables, TSV repairs ----------------

def _project(kinds: tuple[str, ...], documents: list[Document], **fields) -> Project:
    return Project(id="p", name="p", kinds=kinds, documents_factory=lambda: iter(documents), **fields)


def test_document_table(tmp_path: Path) -> None:
    questions = [Question(id="q1", name="topic", multiple=True), Question(id="q2", name="ok")]
    documents = [
        Document(id="a", name="a.txt", kinds=(DOCUMENT_BASED,), text="first\ntext",
                 answer_sets=[AnswerSet({"q1": ["x", "y"], "q2": True})]),
        Document(id="b", name="b.txt", kinds=(DOCUMENT_BASED,), text="=second",
                 answer_sets=[AnswerSet({"q1": ["z"]}, labeled_by=CONFLICT)]),
    ]
    project = _project((DOCUMENT_BASED,), documents, document_questions=questions)
    expected = [
        {"name": "a.txt", "text": "first\ntext", "topic": "x|y", "ok": "true"},
        {"name": "b.txt", "text": "=second", "topic": "", "ok": ""},
    ]
    for fmt in ("CSV", "XLSX", "JSON_TABULAR"):
        report = labelport.convert(project, fmt, tmp_path / fmt)
        assert read_table(tmp_path / fmt / f"documents{EXT[fmt]}") == expected
        assert report.to_dict()["not_carried"]["unresolved (CONFLICT) entries"]["count"] == 1


TEXT_ONLY = "spans (the format writes the text without them)"


@pytest.mark.parametrize("fmt", ["XLSX", "JSON_TABULAR"])
def test_a_token_documents_row_holds_its_text_and_lists_its_spans(tmp_path: Path, fmt: str) -> None:
    """A token + document project in a format without span tables: the
    document's row holds its lines' text (joined by newlines, as a
    classifier's example does) and its answers; its spans are listed."""
    lines = [
        Line(0, "Ada met Babbage", ["Ada", "met", "Babbage"], spans=[Span("PER", 0, 0, 3, 0, 0), Span("PER", 0, 8, 15, 2, 2)]),
        Line(1, "in 1843 .", ["in", "1843", "."], spans=[Span("DATE", 1, 3, 7, 1, 1)]),
    ]
    document = Document(id="d", name="hard.txt", kinds=(TOKEN_BASED, DOCUMENT_BASED),
                        lines=iter(lines),  # (a stream: read once)
                        answer_sets=[AnswerSet({"q": "victorian"})])
    project = _project((TOKEN_BASED, DOCUMENT_BASED), [document], document_questions=[Question(id="q", name="era")])
    report = labelport.convert(project, fmt, tmp_path / fmt).to_dict()
    assert read_table(tmp_path / fmt / f"documents{EXT[fmt]}") == [
        {"name": "hard.txt", "text": "Ada met Babbage\nin 1843 .", "era": "victorian"}]
    assert report["not_carried"] == {TEXT_ONLY: {"count": 3, "examples": [{"document": "hard.txt"}]}}


@pytest.mark.parametrize("fmt", ["XLSX", "JSON_TABULAR"])
def test_a_token_documents_spans_are_named_on_stderr(tmp_path: Path, fmt: str, run_cli) -> None:
    import contract_fixture

    source = contract_fixture.build(tmp_path / "hard-cases")
    code, _, stderr = run_cli("convert", source, "-f", fmt, "-o", tmp_path / "OUT")
    assert code == 0, stderr
    assert f"labelport: warning: not carried by {fmt}: {TEXT_ONLY}: {len(contract_fixture.SPANS)}\n" in stderr
    (row,) = read_table(tmp_path / "OUT" / f"documents{EXT[fmt]}")
    assert row["text"] == "\n".join(contract_fixture.LINES)


def test_span_table(tmp_path: Path) -> None:
    line = Line(
        index=0,
        text="Paris, France",
        tokens=["Paris", ",", "France"],
        starts=[0, 5, 7],
        spans=[
            Span("LOC", 0, 0, 13, 0, 2),
            Span("CITY", 0, 0, 5, 0, 0, status="ACCEPTED"),  # overlaps the first
            Span("GPE", 0, 7, 13, 2, 2, labeled_by=CONFLICT),
        ],
    )
    document = Document(id="d", name="doc.conll", kinds=(TOKEN_BASED,), lines=[line])
    report = labelport.convert(_project((TOKEN_BASED,), [document]), "CSV", tmp_path / "out")
    with open(tmp_path / "out" / "doc.conll.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["File", "Line", "Begin Offset", "End Offset", "Type", "Label Status"]
    assert sorted(rows[1:]) == sorted([
        ["doc.conll", "0", "0", "13", "LOC", "RESOLVED"],
        ["doc.conll", "0", "0", "5", "CITY", "ACCEPTED"],
        ["doc.conll", "0", "7", "13", "GPE", "CONFLICT"],
    ])
    assert not report.losses


def test_tsv_and_csv_cells_with_breaks(tmp_path: Path) -> None:
    rows = [Row(0, ["tab\there", "x"]), Row(1, ["cr\ronly", "line\nbreak"]), Row(2, ["", "end\r"])]
    document = Document(id="t", name="t", kinds=(ROW_BASED,), columns=["a", "b"], rows=rows)
    project = _project((ROW_BASED,), [document])
    report = labelport.convert(project, "TSV", tmp_path / "tsv")
    assert read_table(tmp_path / "tsv" / "t.tsv") == [
        {"a": "tab here", "b": "x"}, {"a": "cr only", "b": "line break"}, {"a": "", "b": "end "},
    ]
    assert report.to_dict()["not_carried"]["cells with a tab or newline (TSV)"]["count"] == 4
    report = labelport.convert(project, "CSV", tmp_path / "csv")
    assert not report.losses
    assert read_table(tmp_path / "csv" / "t.csv") == [{"a": r.cells[0], "b": r.cells[1]} for r in rows]


def test_csv_bytes_as_csv_writes_them(tmp_path: Path) -> None:
    # most lines are written without the csv module: the bytes must be its own
    rows = [["plain", "é 𝄞"], ["x,y", "z"], ['say "hi"', ""], ["", ""], ["line\nbreak", "b"], ["cr\ronly", "x"],
            [" spaced ", "nul\x00"], ["", "x,"]]
    wide = Document(id="w", name="w", kinds=(ROW_BASED,), columns=["a", "b"],
                    rows=[Row(i, cells) for i, cells in enumerate(rows)])
    narrow = Document(id="n", name="n", kinds=(ROW_BASED,), columns=["a"], rows=[Row(0, [""]), Row(1, ["x"])])
    labelport.convert(_project((ROW_BASED,), [wide, narrow]), "CSV", tmp_path / "out")
    assert (tmp_path / "out" / "w.csv").read_bytes().decode("utf-8") == (
        'a,b\nplain,é 𝄞\n"x,y",z\n"say ""hi""",\n,\n"line\nbreak",b\n"cr\ronly","x"\n spaced ,nul\x00\n,"x,"\n'
    )
    assert (tmp_path / "out" / "n.csv").read_bytes() == b'a\n""\nx\n'


def test_empty_table_has_header(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("text,label\n", encoding="utf-8")
    project = labelport.load(path, label_columns=["label"])
    for fmt in ("CSV", "XLSX", "JSON_TABULAR"):
        labelport.convert(project, fmt, tmp_path / fmt)
        assert read_table(only_file(tmp_path / fmt, EXT[fmt])) == []
    with open(tmp_path / "CSV" / "empty.csv", encoding="utf-8") as fh:
        assert fh.read() == "text,label\n"


def test_xlsx_is_reproducible(tmp_path: Path) -> None:
    project = labelport.load(SLICE, columns=["label", "text"])
    labelport.convert(project, "XLSX", tmp_path / "a")
    labelport.convert(project, "XLSX", tmp_path / "b")
    assert (tmp_path / "a" / "sms_slice.tsv.xlsx").read_bytes() == (tmp_path / "b" / "sms_slice.tsv.xlsx").read_bytes()


def test_tables_inside_a_zip(tmp_path: Path) -> None:
    import zipfile

    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["text", "label"])
    workbook.active.append([" from xlsx", "b"])
    workbook.save(tmp_path / "book.xlsx")
    with zipfile.ZipFile(tmp_path / "in.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.csv", 'text,label\n"from, csv",a\n')
        archive.write(tmp_path / "book.xlsx", "b.xlsx")
    project = labelport.load(tmp_path / "in.zip", label_columns=["label"])
    got = [(d.name, r.cells, r.answers) for d in project.documents() for r in d.rows]
    assert got == [("a.csv", ["from, csv"], {"0": "a"}), ("b.xlsx", [" from xlsx"], {"0": "b"})]


@pytest.mark.parametrize("fmt", ["JSON", "JSON_TABULAR", "CSV"])
def test_document_answers_name_their_document_in_the_report(tmp_path, fmt):
    """Document labeling: the report's examples of what a table could not
    carry name the document, in JSON as in the table formats (JSON passed the
    question list and a dict where the document's name and row belong)."""
    data = {
        "document": {"id": "d1", "name": "letter.txt"},
        "kinds": ["DOCUMENT_BASED"],
        "documentQuestions": [{"id": 0, "name": "topic", "type": "DROPDOWN",
                               "config": {"options": [{"id": "a", "label": "a"}], "multiple": False}}],
        "text": "Dear Sir",
        "documentAnswers": [
            {"answers": {"0": "a", "7": "x"}, "labeledBy": "REVIEWER", "labeledByUserId": 3, "status": "ACCEPTED"},
            {"answers": {"0": "b"}, "labeledBy": "CONFLICT", "labeledByUserId": None, "status": "LABELED"},
        ],
    }
    source = tmp_path / "letter.json"
    source.write_text(json.dumps({"version": "1", "data": data}), encoding="utf-8")
    report = labelport.convert(labelport.load(source), fmt, tmp_path / "out").to_dict()
    lost = report["not_carried"]
    assert lost["unresolved (CONFLICT) entries"]["examples"] == [{"document": "letter.txt"}]
    assert lost["answers to questions the project does not list"]["examples"] == [
        {"document": "letter.txt", "question": "7"}]
