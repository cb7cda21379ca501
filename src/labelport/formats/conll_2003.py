"""CONLL_2003: ``-DOCSTART- -X- -X- O``, a blank line, then ``token -X- _ tag``
per token, IOB2 tags, a blank line between sentences."""

from __future__ import annotations

from typing import IO

from ..model import TOKEN_BASED, Document, Line
from ._tokens import iob_tags, whole_token_spans, writable_tokens
from .base import Context, DocumentWriter, Format
from .parts import Pieces

DOCSTART_LINE = "-DOCSTART- -X- -X- O\n"


class Conll2003Writer(DocumentWriter):
    def __init__(self, fh: IO[str], document: Document, ctx: Context, fmt: Format):
        super().__init__(fh, document, ctx, fmt)
        fh.write(DOCSTART_LINE)

    def line(self, line: Line) -> None:
        tokens = writable_tokens(line, True, self.report, self.document.name)
        if line.spans:
            spans = whole_token_spans(line, self.spans(line), self.report, self.document.name)
            tags = iob_tags(len(tokens), spans)
            self.fh.write("\n" + "".join([f"{token} -X- _ {tag}\n" for token, tag in zip(tokens, tags)]))
        else:
            self.fh.write("\n" + " -X- _ O\n".join(tokens) + " -X- _ O\n")


FORMAT = Format(
    id="CONLL_2003",
    kinds=frozenset({TOKEN_BASED}),
    extension=".conll",
    writer=Conll2003Writer,
    pieces=Pieces(head=DOCSTART_LINE.encode()),
)
