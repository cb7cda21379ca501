"""CSV, TSV and XLSX tables: one file is one row-labeling document.

CSV is RFC 4180 (strict: a malformed quote is an error, not silently
rewritten); TSV is split on tabs with no quoting, so quote characters are
data; XLSX is the first sheet of the workbook. The first row is the header
unless ``--columns`` names the columns. ``--label-column`` columns become
questions and their cells the rows' answers; the other columns stay, in order.

Cell text is never stripped or normalised: only the line terminator goes.
Rows stream: the file is read a block at a time as ``Document.rows`` is
consumed, and read again for each pass over the project.
"""

from __future__ import annotations

import csv
import datetime
import io
import sys
from dataclasses import dataclass
from itertools import repeat
from typing import IO, Any, Callable, Generator, Iterable, Iterator, Sequence

from ..errors import InputError, UsageError
from ..guards.archives import BROKEN_ZIP, Archive
from ..model import ROW_BASED, AnswerSet, Document, Project, Question, Row
from . import ReadOptions, Source
from .lines import LineBlocks

#: The non-blank rows of a file in blocks: (each row's physical line or sheet
#: row number, each row's cells). Rows are checked and made a block at a time,
#: mostly at C speed, which costs far less per row than one at a time.
RowBlocks = Generator[tuple[Sequence[int], list[list[str]]], None, None]
RawRows = Callable[[Source], RowBlocks]

#: Text files are read and decoded this many bytes at a time (in whole lines).
_BLOCK_BYTES = 1 << 15
#: CSV and XLSX rows, parsed one at a time, are handed on this many at a time.
_BLOCK_ROWS = 1024

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
    blocks = raw(source)
    try:
        first = next(blocks, None)
    finally:
        blocks.close()  # close the file now, not when the generator is collected
    if first is None:
        raise InputError("empty: no header row (name the columns with --columns)", source.label)
    return first[1][0]


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
    """The file's rows, made a block at a time: each checked against the
    number of columns, its label cells taken out as its answers."""
    width = len(layout.names)
    answer_sets = _AnswerSets(separator)
    header = has_header  # still to skip: the first row of the first block
    index = 0
    for numbers, rows in raw(source):
        if header:
            numbers, rows, header = numbers[1:], rows[1:], False
        misfit = None
        if set(map(len, rows)) != {width}:
            fit = _fit(rows, width, pad)
            if fit < len(rows):
                names = "the header has" if has_header else "--columns names"
                misfit = InputError(f"{len(rows[fit])} cells where {names} {width}", source.label, numbers[fit])
                rows = rows[:fit]  # the rows before it are handed on first, as when read one by one
        label_cells = _take_label_cells(rows, layout.labels)
        yield from map(Row, range(index, index + len(rows)), rows, map(answer_sets.__getitem__, label_cells))
        index += len(rows)
        if misfit is not None:
            raise misfit


def _fit(rows: list[list[str]], width: int, pad: bool) -> int:
    """How many rows, from the first, have ``width`` cells; short rows are
    padded on the way when ``pad`` (a sheet leaves out trailing empty cells;
    a text file has no excuse)."""
    for position, cells in enumerate(rows):
        if pad and len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        elif len(cells) != width:
            return position
    return len(rows)


def _take_label_cells(rows: list[list[str]], labels: list[int]) -> Iterable[tuple[str, ...]]:
    """Each row's label cells (in question order), taken out of the row: what
    is left is its kept cells. The last column goes first, so that the
    positions still to take stay put."""
    taken = {p: list(map(list.pop, rows, repeat(p))) for p in sorted(labels, reverse=True)}
    return zip(*[taken[p] for p in labels]) if labels else repeat((), len(rows))


class _AnswerSets(dict[tuple[str, ...], list[AnswerSet]]):
    """A row's answer sets by its label cells (in question order), made once
    for all the rows holding the same cells, which share them read-only."""

    #: label cells remembered at most: the first ones met (labels from a set
    #: show up early; free-text ones are not worth remembering)
    LIMIT = 4096

    def __init__(self, separator: str | None):
        super().__init__()
        self.separator = separator

    def __missing__(self, label_cells: tuple[str, ...]) -> list[AnswerSet]:
        answers: dict[str, Any] = {}
        for i, value in enumerate(label_cells):
            if self.separator is not None:
                parts = [part for part in value.split(self.separator) if part]
                if parts:
                    answers[str(i)] = parts
            elif value:
                answers[str(i)] = value
        answer_sets = [AnswerSet(answers=answers)] if answers else []
        if len(self) < self.LIMIT:
            self[label_cells] = answer_sets
        return answer_sets


def _text_blocks(lines: LineBlocks, normalise: bool) -> Iterator[tuple[int, str]]:
    """(number of its first line, text) of each block of whole lines, decoded;
    with ``normalise``, every line ending in "\n".

    A bad byte names its line, and is raised once the lines before it are
    handed on, so that a problem earlier in the file is still the one reported.
    """
    for block in lines:
        number = lines.lines_before + 1
        if normalise:
            block = lines.normalised(block)
        error = None
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as exc:
            start = lines.line_start(block, exc.start)
            line = number + lines.count_line_ends(block[:start])
            error = InputError(f"not valid UTF-8 (byte {exc.start - start + 1} of the line)", lines.label, line)
            text = block[:start].decode("utf-8")
        if number == 1:
            # a byte-order mark (Excel's "CSV UTF-8") is not part of the first cell
            text = text.removeprefix("\ufeff")
        if text:
            yield number, text
        if error is not None:
            raise error


def _text_lines(fh: IO[bytes], label: str) -> Iterator[str]:
    """Each physical line, decoded a block at a time, its line end kept as it is."""
    lines = LineBlocks(fh, _BLOCK_BYTES, label=label)
    for _, text in _text_blocks(lines, normalise=False):
        # split on "\n" only, or on "\r" too in a file whose lines end so
        yield from io.StringIO(text, newline="" if lines.cr_only else "\n")


def _tsv_rows(source: Source) -> RowBlocks:
    with source.open() as fh:
        for number, text in _text_blocks(LineBlocks(fh, _BLOCK_BYTES, label=source.label), normalise=True):
            lines = text.split("\n")
            unended = lines.pop()  # "" unless the file's last line has no line end
            if unended:
                lines.append(unended)
            if "" in lines:  # a blank line holds no row
                numbers: Sequence[int] = [n for n, line in enumerate(lines, number) if line]
                lines = list(filter(None, lines))
            else:
                numbers = range(number, number + len(lines))
            if lines:
                yield numbers, list(map(str.split, lines, repeat("\t")))


def _in_blocks(read_rows: Callable[[Source], Iterator[tuple[int, list[str]]]]) -> RawRows:
    """A reader of rows one at a time (CSV, XLSX: parsed so) made a reader of
    blocks; an error is raised once the rows before it are handed on."""

    def read_blocks(source: Source) -> RowBlocks:
        numbers: list[int] = []
        rows: list[list[str]] = []
        try:
            for number, cells in read_rows(source):
                numbers.append(number)
                rows.append(cells)
                if len(rows) == _BLOCK_ROWS:
                    yield numbers, rows
                    numbers, rows = [], []
        except Exception:
            if rows:
                yield numbers, rows
            raise
        if rows:
            yield numbers, rows

    return read_blocks


def _csv_rows(source: Source) -> Iterator[tuple[int, list[str]]]:
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


#: Excel's own row limit; a sheet whose rows are numbered past it (openpyxl
#: fills the gap with empty rows, one at a time) is refused there.
_XLSX_MAX_ROWS = 1_048_576

#: What openpyxl raises on a broken workbook: the archive layer's broken-zip
#: exceptions (a member's deflate stream is found corrupt only when openpyxl
#: reads it) and those of broken sheet XML.
_XLSX_BROKEN = (*BROKEN_ZIP, SyntaxError, IndexError, KeyError, TypeError)


def _xlsx_rows(source: Source) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # (start-up: openpyxl ~120 ms; only XLSX input needs it)
    from openpyxl.utils.exceptions import InvalidFileException

    with source.open() as fh:
        # openpyxl needs random access; a zip member is read into memory (it
        # is small: XLSX is compressed, and the archive it came from was
        # vetted) and only a plain file is used in place.
        stream: IO[bytes] = fh if fh.seekable() else io.BytesIO(fh.read())
        # The workbook is itself a zip: vetted before openpyxl opens these
        # same bytes. zipfile never unpacks an entry past the size the
        # vetted directory declares, so openpyxl's reads stay within limits.
        Archive(stream, source.label).close()
        stream.seek(0)
        try:
            workbook = load_workbook(stream, read_only=True, data_only=True)
        except (*_XLSX_BROKEN, InvalidFileException) as exc:
            raise InputError(f"not an XLSX workbook ({exc})", source.label) from None
        try:
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # the stored size is not trusted: it may cut rows short, or claim a billion
            # openpyxl (3.1) keeps the table the sheet's parser indexes here;
            # tests/test_hostile_archives.py fails if that changes
            sheet._shared_strings = _SharedStrings(sheet._shared_strings)
            for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
                if number > _XLSX_MAX_ROWS:
                    raise InputError(f"the first sheet has rows past Excel's last, {_XLSX_MAX_ROWS:,}", source.label)
                cells = [_cell_text(value) for value in values]
                while cells and not cells[-1]:
                    cells.pop()  # formatting can make empty cells trail any row
                if cells:
                    yield number, cells
        except _XLSX_BROKEN as exc:
            raise InputError(f"the first sheet cannot be read ({type(exc).__name__}: {exc})", source.label) from None
        finally:
            workbook.close()


class _SharedStrings(list):
    """The workbook's shared strings as openpyxl looks them up by a cell's
    index, which Python would read from the end when negative."""

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        if isinstance(index, int) and index < 0:
            raise IndexError(f"shared string index {index} is negative")
        return super().__getitem__(index)


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


_RAW: dict[str, RawRows] = {"CSV": _in_blocks(_csv_rows), "TSV": _tsv_rows, "XLSX": _in_blocks(_xlsx_rows)}
