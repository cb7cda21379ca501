"""CSV: the table (see :mod:`._table`) as RFC 4180, UTF-8, ``\\n`` line ends."""

from __future__ import annotations

import csv

from ..model import DOCUMENT_BASED, ROW_BASED, TOKEN_BASED
from ._table import TableOptions, TableWriter
from .base import CONFLICTS, LABEL_SETS, OVERLAPS, Format


class CsvWriter(TableWriter):
    def start(self) -> None:
        self.csv = csv.writer(self.fh, lineterminator="\n")
        # QUOTE_MINIMAL quotes only the characters of the line terminator, so
        # a cell holding a bare "\r" would be written unquoted and split when
        # read back: such rows are written with every cell quoted.
        self.csv_quoted = csv.writer(self.fh, lineterminator="\n", quoting=csv.QUOTE_ALL)
        super().start()

    def write_values(self, values: list[str]) -> None:
        line = ",".join(values)
        if line.count(",") == len(values) - 1 and '"' not in line and "\n" not in line and "\r" not in line and line:
            # No cell holds what csv quotes (a comma, a quote, a line break)
            # and the row is not one empty cell (csv writes ""): csv would
            # write the line as it is. Most rows are like this, and writing
            # them here costs about a third less than csv does.
            self.fh.write(line + "\n")
        elif "\r" in line:
            self.csv_quoted.writerow(values)
        else:
            self.csv.writerow(values)


FORMAT = Format(
    id="CSV",
    kinds=frozenset({ROW_BASED, DOCUMENT_BASED, TOKEN_BASED}),
    extension=".csv",
    writer=CsvWriter,
    one_table=True,
    # the span table has a row per span and a status column
    carries=frozenset({OVERLAPS, LABEL_SETS, CONFLICTS}),
    options=TableOptions,
)
