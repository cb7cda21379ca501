"""JSON: the simplified per-document JSON.

Token labeling: a list, one object per line, ``{"id", "text", "tokens",
"spans": [{"start", "end", "label", "text"}], "relations": [{"label",
"from", "to"}]}`` (offsets in code points into ``text``, end exclusive;
relations point into ``spans``). Row labeling: one object per row, the row's
columns plus one key per question (as JSON_TABULAR). Document labeling: one
object, the text plus one key per question.
"""

from __future__ import annotations

from typing import IO, Any

import orjson

from ..model import CONFLICT, DOCUMENT_BASED, ROW_BASED, TOKEN_BASED, Document, Line
from ._table import TableOptions, document_header
from .base import ARROWS, CONFLICTS, OVERLAPS, Context, Format
from .json_tabular import JsonTabularWriter

UNLINKED_ARROWS = "arrows between lines, or to spans the format does not carry"


class JsonWriter(JsonTabularWriter):
    def __init__(self, fh: IO[bytes], document: Document, ctx: Context, fmt: Format):
        self.arrows_from: dict[str, list[Any]] = {}
        for arrow in document.arrows:
            self.arrows_from.setdefault(arrow.origin, []).append(arrow)
        super().__init__(fh, document, ctx, fmt)

    def start(self) -> None:
        if self.kind != DOCUMENT_BASED:  # a document is one object, not a list
            super().start()

    def line(self, line: Line) -> None:
        spans = self.spans(line)
        index = {span.id: i for i, span in enumerate(spans) if span.id is not None}
        relations = []
        for span in line.spans:
            for arrow in self.arrows_from.get(span.id, ()) if span.id is not None else ():
                where = {"document": self.document.name, "line": line.index, "label": arrow.label}
                if arrow.labeled_by == CONFLICT and CONFLICTS not in self.carries:  # as kept_spans does spans
                    self.report.drop(CONFLICTS, where)
                elif span.id in index and arrow.target in index:
                    relations.append({"label": arrow.label, "from": index[span.id], "to": index[arrow.target]})
                else:
                    self.report.drop(UNLINKED_ARROWS, where)
        text = line.text
        obj = {
            "id": line.index,
            "text": text,
            "tokens": line.tokens,
            "spans": [{"start": s.start, "end": s.end, "label": s.label, "text": text[s.start : s.end]} for s in spans],
            "relations": relations,
        }
        self.fh.write((b"\n" if self.rows == 0 else b",\n") + orjson.dumps(obj))
        self.rows += 1

    def document_answers(self, document: Document) -> None:
        header = document_header(self.ctx.project)
        values = self.answers(document.answer_sets, document.name)
        obj = {"id": document.id, **dict(zip(header, [document.name, document.text or "", *values]))}
        self.fh.write(orjson.dumps(obj) + b"\n")

    def close(self) -> None:
        if self.kind != DOCUMENT_BASED:
            super().close()


FORMAT = Format(
    id="JSON",
    kinds=frozenset({TOKEN_BASED, ROW_BASED, DOCUMENT_BASED}),
    extension=".json",
    writer=JsonWriter,
    binary=True,
    carries=frozenset({OVERLAPS, ARROWS}),
    options=TableOptions,  # a row's answers are table cells (--output-separator)
)
