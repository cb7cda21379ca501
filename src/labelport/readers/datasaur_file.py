"""A Datasaur JSON file, DATASAUR_SCHEMA or JSON_ADVANCED: the reader of both.

Decoding tells the two apart by their structure (a ``data`` object or a
``sentences`` list, :mod:`labelport.datasaur.types`), so a ``.json`` file is
decoded once and handed to the module that makes a Project of its shape:
:mod:`~labelport.readers.datasaur_schema` or
:mod:`~labelport.readers.json_advanced`.
"""

from __future__ import annotations

from ..datasaur.types import JSON_ADVANCED, Decoded, decode_datasaur
from ..model import Project
from . import ReadOptions, Source, datasaur_schema, json_advanced


def decode(source: Source, format_id: str, forced: bool) -> Decoded:
    """The file decoded; ``format_id`` is tried first, and is the only one
    accepted when ``forced`` (--from, or a file read again)."""
    return decode_datasaur(source.read_bytes(), source.label, format_id, forced)


def read(source: Source, options: ReadOptions, format_id: str) -> Project:
    options.refuse_table_options(format_id, source.label)
    decoded = decode(source, format_id, forced=options.format is not None)
    shape = json_advanced if decoded.format == JSON_ADVANCED else datasaur_schema
    return shape.project(source, decoded)
