"""TSV_NON_IOB: as TSV_IOB with the bare label (``X``) or ``O``."""

from __future__ import annotations

from dataclasses import replace

from ..model import Line, Span
from ._tokens import io_tags
from .tsv_iob import FORMAT as TSV_IOB
from .tsv_iob import TsvIobWriter


class TsvNonIobWriter(TsvIobWriter):
    def tags(self, n_tokens: int, spans: list[Span], line: Line) -> list[str]:
        return io_tags(n_tokens, spans, self.report, self.document.name, line)


FORMAT = replace(TSV_IOB, id="TSV_NON_IOB", writer=TsvNonIobWriter)
