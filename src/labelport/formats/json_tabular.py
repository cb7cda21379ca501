"""JSON_TABULAR: the table (see :mod:`._table`) as a JSON list of row
objects keyed by the header, one object per line. Written as it streams:
``[``, the objects, ``]``; the list is never built in memory."""

from __future__ import annotations

import orjson

from ..model import DOCUMENT_BASED, ROW_BASED
from ._table import TableOptions, TableWriter
from .base import Format


class JsonTabularWriter(TableWriter):
    rows = 0

    def start(self) -> None:
        self.fh.write(b"[")

    def write_values(self, values: list[str]) -> None:
        self.fh.write((b"\n" if self.rows == 0 else b",\n") + orjson.dumps(dict(zip(self.header, values, strict=True))))
        self.rows += 1

    def close(self) -> None:
        self.fh.write(b"\n]\n" if self.rows else b"]\n")


FORMAT = Format(
    id="JSON_TABULAR",
    kinds=frozenset({ROW_BASED, DOCUMENT_BASED}),
    extension=".json",
    writer=JsonTabularWriter,
    binary=True,  # orjson gives bytes
    one_table=True,
    options=TableOptions,
)
