"""What the table formats (CSV, TSV, XLSX, JSON_TABULAR) share: one table.

Row labeling: the document's columns in order, then one column per question
named by the question's name. Document labeling: ``name``, ``text``, then
one column per document question. Token labeling (CSV and TSV only): the span
table ``File,Line,Begin Offset,End Offset,Type,Label Status``. Every value is
a string, so the four formats hold exactly the same table; each format only
says how a row of strings is written (:meth:`TableWriter.write_values`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

import orjson

from ..errors import UsageError
from ..model import CONFLICT, DOCUMENT_BASED, TOKEN_BASED, AnswerSet, Document, Line, Project, Row, final_answers
from ._classify import document_text
from .base import CONFLICTS, Context, DocumentWriter, Format, FormatOptions, options_of, served_kind

SPAN_HEADER = ["File", "Line", "Begin Offset", "End Offset", "Type", "Label Status"]
DOCUMENT_COLUMNS = ["name", "text"]

SEPARATOR_IN_ANSWER = "answers that contain the label separator (read back as several)"
UNKNOWN_QUESTIONS = "answers to questions the project does not list"
EXTRA_CELLS = "cells beyond the document's columns"

#: answer sets whose cells a writer keeps at most (free-text labels are not worth it)
_KNOWN_ANSWERS = 4096


def unique(names: list[str]) -> list[str]:
    """Column names made unique (``x``, ``x_2``): JSON keys cannot repeat, and
    a reader looking a column up by name would only ever find the first."""
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate)
        out.append(candidate)
    return out


def table_header(document: Document, project: Project) -> list[str]:
    return unique([*document.columns, *(q.name for q in project.questions)])


def document_header(project: Project) -> list[str]:
    return unique([*DOCUMENT_COLUMNS, *(q.name for q in project.document_questions)])


@dataclass(frozen=True)
class TableOptions(FormatOptions):
    """The one option of the formats that write answers as table cells (CSV, TSV,
    XLSX, JSON_TABULAR, and JSON for row labeling)."""

    #: joins several answers in one cell (--output-separator)
    label_separator: str = "|"

    def __post_init__(self) -> None:
        if not self.label_separator:  # "a" and "b" joined by "" read back as the one answer "ab"
            raise UsageError("--output-separator (label_separator) must not be empty: "
                             "several answers in one cell could not be told apart")


class TableWriter(DocumentWriter):
    """One table file; subclasses write one row of strings at a time."""

    fh: IO[Any]  # text for CSV and TSV, binary (Format.binary) for XLSX and JSON_TABULAR

    def __init__(self, fh: IO[Any], document: Document, ctx: Context, fmt: Format):
        super().__init__(fh, document, ctx, fmt)
        self.separator = options_of(ctx, TableOptions).label_separator
        self.kind = served_kind(fmt, document)
        project = ctx.project
        self.questions = project.document_questions if self.kind == DOCUMENT_BASED else project.questions
        self.question_ids = [q.id for q in self.questions]
        self.listed = set(self.question_ids)
        self.known_answers: dict[int, tuple[list[AnswerSet], list[str]]] = {}  # see row_answers
        self.width = len(document.columns)
        if self.kind == TOKEN_BASED:
            self.header = SPAN_HEADER
        elif self.kind == DOCUMENT_BASED:  # one table for every document of a split
            self.header = document_header(project)
        else:
            self.header = table_header(document, project)
        self.start()

    # -- what a format defines ------------------------------------------------
    def start(self) -> None:
        """Begin the file; by default with the header row."""
        self.write_values(self.header)

    def write_values(self, values: list[str]) -> None:
        raise NotImplementedError

    # -- the driver's calls -----------------------------------------------------
    def row(self, row: Row) -> None:
        cells = row.cells
        if len(cells) != self.width:
            if len(cells) > self.width:
                where = _where(self.document.name, row.index)
                self.report.drop(EXTRA_CELLS, where, len(cells) - self.width)
            cells = (cells + [""] * self.width)[: self.width]
        self.write_values(cells + self.row_answers(row))

    def document_answers(self, document: Document) -> None:
        answers = self.answers(document.answer_sets, document.name)
        # a token document's text as a classifier's example has it
        self.write_values([document.name, document_text(document, self.report), *answers])

    def line(self, line: Line) -> None:
        name = self.document.name
        for span in self.spans(line):
            status = CONFLICT if span.labeled_by == CONFLICT else span.status or "RESOLVED"
            self.write_values([name, str(line.index), str(span.start), str(span.end), span.label, status])

    # -- answers ------------------------------------------------------------------
    def row_answers(self, row: Row) -> list[str]:
        """The row's answer cells. A table reader's rows with the same label
        cells share one list of answer sets, whose cells are then worked out
        once, when working them out dropped nothing: then there is nothing to
        report again for the next row."""
        answer_sets = row.answer_sets
        known = self.known_answers.get(id(answer_sets))
        if known is not None:
            return known[1]
        drops = self.report.drops
        values = self.answers(answer_sets, self.document.name, row.index)
        if self.report.drops == drops and len(self.known_answers) < _KNOWN_ANSWERS:
            # the list is kept with its cells, so that its id stays its own
            self.known_answers[id(answer_sets)] = (answer_sets, values)
        return values

    def answers(self, answer_sets: list[AnswerSet], name: str, row: int | None = None) -> list[str]:
        """One cell per question from the final answers; what a table cannot
        hold besides them (unresolved sets, unlisted questions) is reported."""
        if not answer_sets:
            return [""] * len(self.question_ids)
        if len(answer_sets) > 1 or answer_sets[0].labeled_by == CONFLICT:
            conflicts = sum(s.labeled_by == CONFLICT for s in answer_sets)
            if conflicts:
                self.report.drop(CONFLICTS, _where(name, row), conflicts)
        final = final_answers(answer_sets)
        if not final.keys() <= self.listed:
            for question_id in sorted(final.keys() - self.listed):
                self.report.drop(UNKNOWN_QUESTIONS, {**_where(name, row), "question": question_id})
        values = []
        for question_id in self.question_ids:
            value = final.get(question_id)
            values.append(value if type(value) is str else self.cell_text(value, name, row))
        return values

    def cell_text(self, value: Any, name: str, row: int | None) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            items = [self.cell_text(item, name, row) for item in value]
            if any(self.separator in item for item in items):
                self.report.drop(SEPARATOR_IN_ANSWER, {**_where(name, row), "answer": items})
            return self.separator.join(items)
        if isinstance(value, dict):  # nested answers: kept as JSON, not a Python repr
            return orjson.dumps(value).decode()
        return str(value)


def _where(name: str, row: int | None) -> dict[str, Any]:
    """A report example's place: the document, and the row if there is one."""
    return {"document": name} if row is None else {"document": name, "row": row}
