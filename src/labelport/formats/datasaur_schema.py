"""DATASAUR_SCHEMA: lossless, one ``.json`` per document (layout in the README).

Lines and rows stream into the file as they come; span labels and row
answers, which follow them in the file, wait in a spill file that stays in
memory while small, so memory does not grow with the document.
"""

from __future__ import annotations

from typing import IO, Any

from ..datasaur import pieces as dj
from ..model import DOCUMENT_BASED, ROW_BASED, TOKEN_BASED, Document, Line, Row
from ._datasaur import JsonArraySpill, SpanEntries, dumps, with_project_label_sets, write_document_tail
from .base import (
    ARROWS,
    COMMENTS,
    CONFLICTS,
    DOCUMENT_ANSWERS,
    LABEL_SETS,
    MULTILINE,
    OVERLAPS,
    Context,
    DocumentWriter,
    Format,
)


class DatasaurSchemaWriter(DocumentWriter):
    def __init__(self, fh: IO[bytes], document: Document, ctx: Context, fmt: Format):
        super().__init__(fh, document, ctx, fmt)
        project = ctx.project
        self.names = dj.LabelNames(project.label_sets)
        self.span_entries = SpanEntries(self.names, with_type=False)
        self.answer_entries = JsonArraySpill()
        self.open_array: str | None = None
        data = {
            "project": {"id": project.id, "name": project.name},
            "document": {"id": document.id, "name": document.name},
            "kinds": list(document.kinds),
            "labelerInfo": dj.labeler_to(document.labeler),
            "questions": [dj.question_to(q) for q in project.questions],
            "documentQuestions": [dj.question_to(q) for q in project.document_questions],
        }
        if ROW_BASED in document.kinds:
            data["columns"] = document.columns
        if document.text is not None:
            data["text"] = document.text
        fh.write(b'{"version":"1","data":{\n' + b",\n".join(dumps(k) + b":" + dumps(v) for k, v in data.items()))

    def _item(self, array: str, entry: Any) -> None:
        if self.open_array != array:
            self.fh.write(b',\n"' + array.encode() + b'":[\n')
            self.open_array = array
        else:
            self.fh.write(b",\n")
        self.fh.write(dumps(entry))

    def line(self, line: Line) -> None:
        self._item("cells", dj.line_to(line))
        self.span_entries.add_line(line)

    def row(self, row: Row) -> None:
        self._item("rows", {"index": row.index, "cells": row.cells})
        for answer_set in row.answer_sets:
            self.answer_entries.add(dj.answer_set_to(answer_set, rowIndex=row.index))

    def document_answers(self, document: Document) -> None:
        pass  # written with the document's other document-level parts in close()

    def close(self) -> None:
        fh, document = self.fh, self.document
        if self.open_array:
            fh.write(b"\n]")
        if TOKEN_BASED in document.kinds:
            if self.open_array != "cells":
                fh.write(b',\n"cells":[]')
            fh.write(b',\n"spanLabels":')
            self.span_entries.finish(fh, self.report, document.name)
            arrows = [dj.arrow_to(a, self.names, with_type=False) for a in document.arrows]
            fh.write(b',\n"arrowLabels":' + dumps(arrows))
        if ROW_BASED in document.kinds:
            if self.open_array != "rows":
                fh.write(b',\n"rows":[]')
            fh.write(b',\n"rowAnswers":')
            self.answer_entries.copy_to(fh)
        # After the labels: a project without label sets gets those the labels name.
        fh.write(b',\n"labelSets":' + dumps(dj.label_sets_to(self.names.label_sets())))
        fh.write(b',\n"documentAnswers":' + dumps([dj.answer_set_to(a) for a in document.answer_sets]))
        write_document_tail(fh, document)
        fh.write(b"\n}}\n")


FORMAT = Format(
    id="DATASAUR_SCHEMA",
    kinds=frozenset({TOKEN_BASED, ROW_BASED, DOCUMENT_BASED}),
    extension=".json",
    writer=DatasaurSchemaWriter,
    binary=True,  # orjson gives bytes
    first_pass=with_project_label_sets,
    carries=frozenset({OVERLAPS, LABEL_SETS, CONFLICTS, MULTILINE, ARROWS, DOCUMENT_ANSWERS, COMMENTS}),
)
