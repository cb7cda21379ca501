"""CSV, TSV and XLSX tables: one file is one row-labeling document.

CSV is RFC 4180 (strict: a malformed quote is an error, not silently
rewritten); TSV is split on tabs with no quoting, so quote characters are
data; XLSX is the first sheet of the workbook. The first row is the header
unless ``--columns`` names the columns. ``--label-column`` columns become
questions and their cells the rows' answers; the other columns stay, in order.

Cell text is never stripped or normalised: only the line terminator goes.
Rows stream: the file is read as ``Document.rows`` is consumed, and read
again for each pass over the project.
"""

from __future__ import annotations

import csv
import datetime
import io
import sys
import zipfile
from dataclasses import dataclass
from typing import IO, Any, Callable, Generator, Iterator

from ..errors import InputError, UsageError
from ..model import ROW_BASED, AnswerSet, Document, Project, Question, Row
from . import ReadOptions, Source

#: (physical line or sheet row number, cells) of each non-blank row of a file.
RowStream = Generator[tuple[int, list[str]], None, None]
RawRows = Callable[[Source], RowStream]

#: Column names taken as the label column when ``--columns`` names one.
_LABEL_NAMES = ("label", "labels")

# A long text in one cell (document labeling) easily passes csv's default
# limit of 131,072 characters; the limit guards nothing labelport needs.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def read(source: Source, options: ReadOptions, format_id: str) -> Project:
    raw = _RAW.get(format_id)
    if raw is None:
        raise UsageError(f"the table reader reads CSV, TSV or XLSX, not {format_id}")
    has_header = not options.columns
    names = list(options.columns) if options.columns else _header(source, raw)
    layout = _layout(names, options, source.label)
    separator = options.label_separator or None
    questions = [
        Question(id=str(i), name=names[column], type="DROPDOWN", multiple=bool(separator))
        for i, column in enumerate(layout.labels)
    ]

    def documents() -> Iterator[Document]:
        yield Document(
            id=source.name,
            name=source.name,
            kinds=(ROW_BASED,),
            columns=[names[i] for i in layout.kept],
            # a generator: the file is opened when the first row is asked for
            rows=_rows(source, raw, layout, has_header, format_id == "XLSX", separator),
        )

    return Project(
        id=source.stem,
        name=source.stem,
        kinds=(ROW_BASED,),
        documents_factory=documents,
        questions=questions,
        source=source.label,
        text_column=layout.text,
    )


# -- columns ------------------------------------------------------------------

@dataclass(frozen=True)
class _Layout:
    names: list[str]
    labels: list[int]  # label columns' positions, in the order the options give
    kept: list[int]  # the other columns' positions, in file order
    text: str | None


def _header(source: Source, raw: RawRows) -> list[str]:
    rows = raw(source)
    try:
        first = next(rows, None)
    finally:
        rows.close()  # close the file now, not when the generator is collected
    if first is None:
        raise InputError("empty: no header row (name the columns with --columns)", source.label)
    return first[1]


def _layout(names: list[str], options: ReadOptions, label: str) -> _Layout:
    position: dict[str, int] = {}
    for i, name in enumerate(names):
        position.setdefault(name, i)  # a repeated name means its first column
    label_names = list(dict.fromkeys(options.label_columns))
    if not label_names and options.columns:
        # `--columns label,text` declares the label column by its name
        label_names = [name for name in names if name in _LABEL_NAMES][:1]
    for name in (*label_names, *options.text_columns):
        if name not in position:
            there = ", ".join(repr(n) for n in names)
            raise InputError(f"no column {name!r}; the columns are {there}", label)
    labels = [position[name] for name in label_names]
    taken = set(labels)
    kept = [i for i in range(len(names)) if i not in taken]
    kept_names = [names[i] for i in kept]
    if options.text_columns:
        text: str | None = options.text_columns[0]
        if text in label_names:
            raise UsageError(f"column {text!r} is given both as --text-column and as --label-column")
    elif "text" in kept_names:
        text = "text"
    else:
        text = kept_names[0] if kept_names else None
    return _Layout(names, labels, kept, text)


# -- rows -----------------------------------------------------------------------

def _rows(
    source: Source, raw: RawRows, layout: _Layout, has_header: bool, pad: bool, separator: str | None
) -> Iterator[Row]:
    width = len(layout.names)
    rows = raw(source)
    if has_header:
        next(rows, None)
    all_kept = not layout.labels
    for index, (number, cells) in enumerate(rows):
        if len(cells) != width:
            # a sheet leaves out trailing empty cells; a text file has no excuse
            if pad and len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            else:
                names = "the header has" if has_header else "--columns names"
                raise InputError(f"{len(cells)} cells where {names} {width}", source.label, number)
        answers: dict[str, Any] = {}
        for i, column in enumerate(layout.labels):
            value = cells[column]
            if separator is not None:
                parts = [part for part in value.split(separator) if part]
                if parts:
                    answers[str(i)] = parts
            elif value:
                answers[str(i)] = value
        yield Row(
            index=index,
            cells=cells if all_kept else [cells[i] for i in layout.kept],
            answer_sets=[AnswerSet(answers=answers)] if answers else [],
        )


def _text_lines(fh: IO[bytes], label: str) -> Iterator[str]:
    """Each physical line, decoded on its own so a bad byte names its line."""
    for number, raw in enumerate(fh, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"not valid UTF-8 (byte {exc.start + 1} of the line)", label, number) from None
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]  # a byte-order mark (Excel's "CSV UTF-8") is not part of the first cell
        yield text


def _csv_rows(source: Source) -> RowStream:
    with source.open() as fh:
        # The lines keep their terminators, as with open(newline=""), so a
        # quoted cell's own line breaks come back exactly.
        reader = csv.reader(_text_lines(fh, source.label), strict=True)
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "unexpected end of data" in str(exc):
                    raise InputError("a quoted cell is never closed", source.label, start) from None
                raise InputError(f"not RFC 4180 CSV: {exc}", source.label, reader.line_num) from None
            if cells:  # a blank line holds no row
                yield start, cells


def _tsv_rows(source: Source) -> RowStream:
    with source.open() as fh:
        for number, text in enumerate(_text_lines(fh, source.label), 1):
            if text.endswith("\n"):
                text = text[:-2] if text.endswith("\r\n") else text[:-1]
            if text:  # a blank line holds no row
                yield number, text.split("\t")


def _xlsx_rows(source: Source) -> RowStream:
    from openpyxl import load_workbook  # only XLSX input pays for openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    with source.open() as fh:
        # openpyxl needs random access; a zip member seeks back by unpacking
        # again from its start, so it is read into memory (it is small: XLSX
        # is compressed) and only a plain file is used in place.
        stream: IO[bytes] = fh if isinstance(fh, io.BufferedReader) else io.BytesIO(fh.read())
        try:
            workbook = load_workbook(stream, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
            raise InputError(f"not an XLSX workbook ({exc})", source.label) from None
        try:
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # a wrong stored size would cut rows short
            for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
                cells = [_cell_text(value) for value in values]
                while cells and not cells[-1]:
                    cells.pop()  # formatting can make empty cells trail any row
                if cells:
                    yield number, cells
        finally:
            workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # as Excel shows it
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores every number as a float: 3 not 3.0
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


_RAW: dict[str, RawRows] = {"CSV": _csv_rows, "TSV": _tsv_rows, "XLSX": _xlsx_rows}
