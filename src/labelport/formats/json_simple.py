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

from ..model import CONFLICT, DOCUMENT_BASED, ROW_BASED, TOKEN_BASED, Arrow, Document, Line
from ._table import TableOptions, document_header
from .base import ARROWS, CONFLICTS, OVERLAPS, Context, Format
from .json_tabular import JsonTabularWriter

UNLINKED_ARROWS = "arrows between lines, or to spans the format does not carry"


class JsonWriter(JsonTabularWriter):
    def __init__(self, fh: IO[bytes], document: Document, ctx: Context, fmt: Format):
        self.arrows_from: dict[str, list[Arrow]] = {}
        for arrow in document.arrows:
            self.arrows_from.setdefault(arrow.origin, []).append(arrow)
        # An arrow is written (or counted) with the line of the span it starts
        # from; one whose origin is no span of the document is counted with the
        # document's first line, by whichever split's writer gets that line.
        self.first_line: int | None = None
        if document.arrows and isinstance(document.lines, list) and document.lines:
            self.first_line = document.lines[0].index
        super().__init__(fh, document, ctx, fmt)

    def start(self) -> None:
        if self.kind != DOCUMENT_BASED:  # a document is one object, not a list
            super().start()

    def line(self, line: Line) -> None:
        if line.index == self.first_line:
            self._count_arrows_from_no_span()
        spans = self.spans(line)
        index = {span.id: i for i, span in enumerate(spans) if span.id is not None}
        relations = []
        for span in line.spans:
            for arrow in self.arrows_from.get(span.id, ()) if span.id is not None else ():
                if span.id in index and arrow.target in index and not self._left_out_conflict(arrow):
                    relations.append({"label": arrow.label, "from": index[span.id], "to": index[arrow.target]})
                else:
                    self._drop(arrow, {"document": self.document.name, "line": line.index, "label": arrow.label})
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

    def _count_arrows_from_no_span(self) -> None:
        ids = {span.id for line in self.document.lines for span in line.spans if span.id is not None}
        for origin, arrows in self.arrows_from.items():
            if origin not in ids:
                for arrow in arrows:
                    self._drop(arrow, {"document": self.document.name, "label": arrow.label,
                                       "origin": arrow.origin, "target": arrow.target})

    def _left_out_conflict(self, arrow: Arrow) -> bool:
        return arrow.labeled_by == CONFLICT and CONFLICTS not in self.carries  # as kept_spans does spans

    def _drop(self, arrow: Arrow, where: dict[str, Any]) -> None:
        self.report.drop(CONFLICTS if self._left_out_conflict(arrow) else UNLINKED_ARROWS, where)

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
