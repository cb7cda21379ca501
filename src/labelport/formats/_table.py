"""What the table formats (CSV, TSV, XLSX, JSON_TABULAR) share: one table.

Row labeling: the document's columns in order, then one column per question
named by the question's name. Document labeling: ``name``, ``text``, then
one column per document question. Token labeling (CSV and TSV only): the span
table ``File,Line,Begin Offset,End Offset,Type,Label Status``. Every value is
a string, so the four formats hold exactly the same table; each format only
says how a row of strings is written (:meth:`TableWriter.write_values`).
"""

from __future__ import annotations

from typing import IO, Any

import orjson

from ..model import CONFLICT, DOCUMENT_BASED, TOKEN_BASED, AnswerSet, Document, Line, Project, Question, Row
from .base import CONFLICTS, Context, DocumentWriter, Format, served_kind

SPAN_HEADER = ["File", "Line", "Begin Offset", "End Offset", "Type", "Label Status"]
DOCUMENT_COLUMNS = ["name", "text"]

SEPARATOR_IN_ANSWER = "answers that contain the label separator (read back as several)"
UNKNOWN_QUESTIONS = "answers to questions the project does not list"
MISSING_CELLS = "cells beyond the document's columns"


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


class TableWriter(DocumentWriter):
    """One table file; subclasses write one row of strings at a time."""

    def __init__(self, fh: IO[Any], document: Document, ctx: Context, fmt: Format):
        super().__init__(fh, document, ctx, fmt)
        self.separator = ctx.options.label_separator
        self.kind = served_kind(fmt, document)
        project = ctx.project
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
        width = len(self.document.columns)
        if len(cells) != width:
            if len(cells) > width:
                self.report.drop(MISSING_CELLS, {"document": self.document.name, "row": row.index}, len(cells) - width)
            cells = (cells + [""] * width)[:width]
        where = {"document": self.document.name, "row": row.index}
        self.write_values([*cells, *self.answers(row.answer_sets, self.ctx.project.questions, where)])

    def document_answers(self, document: Document) -> None:
        where = {"document": document.name}
        answers = self.answers(document.answer_sets, self.ctx.project.document_questions, where)
        self.write_values([document.name, document.text or "", *answers])

    def line(self, line: Line) -> None:
        name = self.document.name
        for span in self.spans(line):
            status = CONFLICT if span.labeled_by == CONFLICT else span.status or "RESOLVED"
            self.write_values([name, str(line.index), str(span.start), str(span.end), span.label, status])

    # -- answers ------------------------------------------------------------------
    def answers(self, answer_sets: list[AnswerSet], questions: list[Question], where: dict[str, Any]) -> list[str]:
        """One cell per question from the final answers; what a table cannot
        hold besides them (unresolved sets, unlisted questions) is reported."""
        conflicts = sum(s.labeled_by == CONFLICT for s in answer_sets)
        if conflicts:
            self.report.drop(CONFLICTS, where, conflicts)
        final = next((s.answers for s in answer_sets if s.labeled_by != CONFLICT), {})
        listed = {q.id for q in questions}
        for question_id in final:
            if question_id not in listed:
                self.report.drop(UNKNOWN_QUESTIONS, {**where, "question": question_id})
        return [self.cell_text(final.get(q.id), where) for q in questions]

    def cell_text(self, value: Any, where: dict[str, Any]) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            items = [self.cell_text(item, where) for item in value]
            if any(self.separator in item for item in items):
                self.report.drop(SEPARATOR_IN_ANSWER, {**where, "answer": items})
            return self.separator.join(items)
        if isinstance(value, dict):  # nested answers: kept as JSON, not a Python repr
            return orjson.dumps(value).decode()
        return str(value)
