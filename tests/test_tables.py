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
    # a document keeps its file's name: sms.csv -> sms.csv.xlsx (formats.md)
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
