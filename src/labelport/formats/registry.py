"""Output formats: a plain dict from format id to the module that writes it.

Adding a format is one module defining ``FORMAT`` plus one line here. A module
imports its heavy dependencies (pyarrow, datasets, openpyxl) only when it
writes, so listing the formats stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from ..errors import UsageError

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
    "CUSTOM": "labelport.formats.custom",
    "AMAZON_COMPREHEND_CSV": "labelport.formats.amazon_comprehend",
    "AZURE_AUTOML_CSV": "labelport.formats.azure_automl",
    "GCP_VERTEX_AI_CSV": "labelport.formats.gcp_vertex",
    "HF_DATASET": "labelport.formats.hf_dataset",
}

def get_format(format_id: str) -> "Format":
    key = format_id.strip().upper()
    if key not in FORMATS:
        raise UsageError(f"unknown format {format_id!r}; known formats: {', '.join(FORMATS)}")
    return import_module(FORMATS[key]).FORMAT


def all_formats() -> list["Format"]:
    return [get_format(format_id) for format_id in FORMATS]


def formats_for_kinds(kinds: tuple[str, ...] | list[str]) -> list[str]:
    """The formats that can serve a project of ``kinds`` (at least one of them;
    what they cannot carry of the others is reported as not carried)."""
    return [fmt.id for fmt in all_formats() if fmt.kinds & set(kinds)]
