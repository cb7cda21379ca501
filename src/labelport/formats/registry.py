"""Output formats: a plain dict from format id to the module that writes it.

Adding a format is one module defining ``FORMAT`` plus one line here. Modules
are imported only when their format is used, so heavy dependencies (pyarrow,
datasets, openpyxl) load only for the formats that need them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..model import KIND_LETTER

if TYPE_CHECKING:
    from .base import Format

FORMATS: dict[str, str] = {
    "DATASAUR_SCHEMA": "labelport.formats.datasaur_schema",
    "JSON_ADVANCED": "labelport.formats.json_advanced",
    "JSON": "labelport.formats.json_simple",
    "TSV_IOB": "labelport.formats.tsv_iob",
    "TSV_NON_IOB": "labelport.formats.tsv_non_iob",
    "CONLL_2003": "labelport.formats.conll_2003",
    "PLAIN": "labelport.formats.plain",
    "CSV": "labelport.formats.csv_table",
    "TSV": "labelport.formats.tsv_table",
    "XLSX": "labelport.formats.xlsx",
    "JSON_TABULAR": "labelport.formats.json_tabular",
}

#: What ``labelport formats`` prints without importing every module.
SUMMARY: dict[str, tuple[str, str]] = {
    "DATASAUR_SCHEMA": ("T R D", "<document>.json (lossless)"),
    "JSON_ADVANCED": ("T", "<document>.json"),
    "JSON": ("T R D", "<document>.json"),
    "TSV_IOB": ("T", "<document>.tsv"),
    "TSV_NON_IOB": ("T", "<document>.tsv"),
    "CONLL_2003": ("T", "<document>.conll"),
    "PLAIN": ("T", "<document>.txt"),
    "CSV": ("R D T", "<document>.csv"),
    "TSV": ("R D T", "<document>.tsv"),
    "XLSX": ("R D", "<document>.xlsx"),
    "JSON_TABULAR": ("R D", "<document>.json"),
}


def get_format(format_id: str) -> "Format":
    key = format_id.strip().upper()
    if key not in FORMATS:
        raise UsageError(f"unknown format {format_id!r}; known formats: {', '.join(FORMATS)}")
    return import_module(FORMATS[key]).FORMAT


def formats_for_kinds(kinds: tuple[str, ...] | list[str]) -> list[str]:
    """The formats that can serve a project of ``kinds`` (at least one of them;
    what they cannot carry of the others is reported as not carried)."""
    letters = {KIND_LETTER[k] for k in kinds}
    return [fid for fid, (served, _) in SUMMARY.items() if letters & set(served.split())]
