"""TSV: the table (see :mod:`._table`) with tabs and no quoting, UTF-8.

Without quoting a tab or a line break inside a cell cannot be written: it is
written as a space and counted in the report.
"""

from __future__ import annotations

import re

from ..model import DOCUMENT_BASED, ROW_BASED, TOKEN_BASED
from ._table import TableOptions, TableWriter
from .base import CONFLICTS, LABEL_SETS, OVERLAPS, Format

UNWRITABLE_CELLS = "cells with a tab or newline (TSV)"
_BREAKS = re.compile(r"[\t\n\r]")


class TsvWriter(TableWriter):
    def write_values(self, values: list[str]) -> None:
        line = "\t".join(values)
        # a few C-speed scans of the whole line for the common, clean case
        if line.count("\t") != len(values) - 1 or "\n" in line or "\r" in line:
            values = [self.repair(value) for value in values]
            line = "\t".join(values)
        self.fh.write(line + "\n")

    def repair(self, value: str) -> str:
        if _BREAKS.search(value) is None:
            return value
        self.report.drop(UNWRITABLE_CELLS, {"document": self.document.name, "cell": value[:200]})
        return _BREAKS.sub(" ", value)


FORMAT = Format(
    id="TSV",
    kinds=frozenset({ROW_BASED, DOCUMENT_BASED, TOKEN_BASED}),
    extension=".tsv",
    writer=TsvWriter,
    one_table=True,
    carries=frozenset({OVERLAPS, LABEL_SETS, CONFLICTS}),
    options=TableOptions,
)
