"""TSV_NON_IOB: as TSV_IOB with the bare label (``X``) or ``O``."""

from __future__ import annotations

from ..model import TOKEN_BASED, Line
from ._tokens import io_tags, writable_tokens
from .base import DocumentWriter, Format


class TsvNonIobWriter(DocumentWriter):
    first = True

    def line(self, line: Line) -> None:
        tokens = writable_tokens(line, False, self.report, self.document.name)
        tags = io_tags(len(tokens), self.spans(line), self.report, self.document.name, line)
        body = "\n".join([f"{token}\t{tag}" for token, tag in zip(tokens, tags)])
        self.fh.write(body + "\n" if self.first else "\n" + body + "\n")
        self.first = False


FORMAT = Format(
    id="TSV_NON_IOB",
    kinds=frozenset({TOKEN_BASED}),
    files="<document>.tsv",
    extension=".tsv",
    writer=TsvNonIobWriter,
)
