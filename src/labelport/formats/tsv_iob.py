"""TSV_IOB: ``token<TAB>tag`` per line, IOB2 tags, a blank line between sentences."""

from __future__ import annotations

from ..model import TOKEN_BASED, Line, Span
from ._tokens import iob_tags, whole_token_spans, writable_tokens
from .base import DocumentWriter, Format
from .parts import Pieces


class TsvIobWriter(DocumentWriter):
    first = True

    def tags(self, n_tokens: int, spans: list[Span], line: Line) -> list[str]:
        return iob_tags(n_tokens, spans)

    def line(self, line: Line) -> None:
        tokens = writable_tokens(line, False, self.report, self.document.name)
        if line.spans:
            spans = whole_token_spans(line, self.spans(line), self.report, self.document.name)
            body = "\n".join(map("\t".join, zip(tokens, self.tags(len(tokens), spans, line))))
        else:
            body = "\tO\n".join(tokens) + "\tO"
        self.fh.write(body + "\n" if self.first else "\n" + body + "\n")
        self.first = False


FORMAT = Format(
    id="TSV_IOB",
    kinds=frozenset({TOKEN_BASED}),
    extension=".tsv",
    writer=TsvIobWriter,
    pieces=Pieces(separator=b"\n"),  # (a piece starts with its sentence: the writer's "first")
)
