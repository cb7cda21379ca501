"""JSON_ADVANCED: ``{"sentences", "labelerInfo", "labelSets", "labels", "comments"}``
per document; labels hold spans and arrows in Datasaur's cell/token/char
coordinates (character indices inside tokens, end inclusive)."""

from __future__ import annotations

from typing import IO

from ..datasaur import pieces as dj
from ..model import TOKEN_BASED, Document, Line
from ._datasaur import SpanEntries, dumps, with_project_label_sets, write_document_tail
from .base import ARROWS, COMMENTS, CONFLICTS, LABEL_SETS, MULTILINE, OVERLAPS, Context, DocumentWriter, Format


class JsonAdvancedWriter(DocumentWriter):
    def __init__(self, fh: IO[bytes], document: Document, ctx: Context, fmt: Format):
        super().__init__(fh, document, ctx, fmt)
        self.names = dj.LabelNames(ctx.project.label_sets)
        self.labels = SpanEntries(self.names, with_type=True)
        self.count = 0
        fh.write(b'{"sentences":[')

    def line(self, line: Line) -> None:
        sentence = {"id": line.index, "content": line.text, "tokens": line.tokens, "metadata": line.metadata or []}
        self.fh.write((b",\n" if self.count else b"\n") + dumps(sentence))
        self.count += 1
        self.labels.add_line(line)

    def close(self) -> None:
        fh, document = self.fh, self.document
        fh.write(b"\n]" if self.count else b"]")
        fh.write(b',\n"labelerInfo":' + dumps(dj.labeler_to(document.labeler)))
        arrows = [dj.arrow_to(arrow, self.names, with_type=True) for arrow in document.arrows]
        fh.write(b',\n"labels":')
        self.labels.finish(fh, self.report, document.name, arrows)
        fh.write(b',\n"labelSets":' + dumps(dj.label_sets_to(self.names.label_sets())))
        write_document_tail(fh, document)
        fh.write(b"}\n")


FORMAT = Format(
    id="JSON_ADVANCED",
    kinds=frozenset({TOKEN_BASED}),
    extension=".json",
    writer=JsonAdvancedWriter,
    binary=True,  # orjson gives bytes
    first_pass=with_project_label_sets,
    carries=frozenset({OVERLAPS, LABEL_SETS, CONFLICTS, MULTILINE, ARROWS, COMMENTS}),
)
