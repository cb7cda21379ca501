"""XLSX: the table (see :mod:`._table`) as the one sheet of a workbook.

openpyxl's write-only mode streams rows to a temporary file, so memory stays
flat; the workbook is saved into the output file when the writer closes.
Every cell is text: a cell starting with ``=``, ``+``, ``-`` or ``@`` is stored
as a string, never as a formula (spreadsheet formula injection), and the
control characters XML cannot hold are left out and counted.
"""

from __future__ import annotations

import datetime
import re
import shutil
import zipfile
from typing import IO, Any

from ..model import DOCUMENT_BASED, ROW_BASED, Document
from ._table import TableOptions, TableWriter
from .base import Context, Format, served_kind

ILLEGAL_CHARACTERS = "characters XLSX cannot hold"
#: One date for the workbook's properties and every zip entry: the same table
#: gives the same bytes (openpyxl would stamp the time of writing).
_FIXED_TIME = datetime.datetime(1980, 1, 1)
_FORMULA_START = ("=", "+", "-", "@")
_BAD_TITLE = re.compile(r"[\\*?:/\[\]\x00-\x1f]")


class XlsxWriter(TableWriter):
    def __init__(self, fh: IO[bytes], document: Document, ctx: Context, fmt: Format):
        from openpyxl import Workbook  # (start-up: openpyxl ~120 ms; only XLSX output needs it)
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        self._cell = WriteOnlyCell
        self._illegal: re.Pattern[str] = ILLEGAL_CHARACTERS_RE
        self.workbook = Workbook(write_only=True)
        # the driver gives a document-labeling table the split's first document
        title = "documents" if served_kind(fmt, document) == DOCUMENT_BASED else document.name
        self.sheet = self.workbook.create_sheet(title=sheet_title(title))
        super().__init__(fh, document, ctx, fmt)

    def write_values(self, values: list[str]) -> None:
        if self._illegal.search("".join(values)) is not None:
            values = [self.legal(value) for value in values]
        self.sheet.append([self.text_cell(value) for value in values])

    def text_cell(self, value: str) -> Any:
        if not value.startswith(_FORMULA_START):
            return value  # openpyxl stores any other string as text already
        cell = self._cell(self.sheet, value=value)
        cell.data_type = "s"  # openpyxl would take "=..." for a formula
        return cell

    def legal(self, value: str) -> str:
        if self._illegal.search(value) is None:
            return value
        self.report.drop(ILLEGAL_CHARACTERS, {"document": self.document.name, "cell": value[:200]})
        return self._illegal.sub("", value)

    def close(self) -> None:
        # what Workbook.save runs, minus the clock
        from openpyxl.writer.excel import ExcelWriter  # (start-up: openpyxl, as in XlsxWriter.__init__)

        properties = self.workbook.properties
        properties.created = properties.modified = _FIXED_TIME
        with _FixedTimeZip(self.fh, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            ExcelWriter(self.workbook, archive).write_data()


class _FixedTimeZip(zipfile.ZipFile):
    """A zip whose entries all carry :data:`_FIXED_TIME`."""

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, _FIXED_TIME.timetuple()[:6])
        info.compress_type = self.compression
        info.external_attr = 0o600 << 16
        return info

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
        # the write-only sheet's temporary file: copied in chunks, never whole in memory
        with open(filename, "rb") as src, self.open(self._info(arcname or str(filename)), "w", force_zip64=True) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


def sheet_title(name: str) -> str:
    """A sheet title Excel accepts: no ``\\*?:/[]``, at most 31 characters."""
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    return _BAD_TITLE.sub("_", stem)[:31] or "Sheet1"


FORMAT = Format(
    id="XLSX",
    kinds=frozenset({ROW_BASED, DOCUMENT_BASED}),
    extension=".xlsx",
    writer=XlsxWriter,
    binary=True,
    one_table=True,
    options=TableOptions,
)
