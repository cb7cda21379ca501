"""Input formats: which reader reads a file, and the options of reading.

A reader module defines ``read(source, options, format_id) -> Project`` for a
single file; the formats it reads, their aliases and the extensions detection
goes by are entries of :mod:`labelport.formats.registry`.
:func:`labelport.readers.layout.load_path` adds folders, zips and the
Datasaur export-all layout on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable

from ..errors import UsageError
from ..formats.registry import EXTENSIONS, OTHER_EXTENSIONS, OTHER_EXTENSIONS_TABULAR, reader_id


@dataclass(frozen=True)
class Source:
    """One input file, in a folder or a zip; ``label`` names it in errors."""

    name: str
    label: str
    opener: Callable[[], IO[bytes]] = field(repr=False, compare=False)
    #: the plain local file that is the whole input (not a folder's or a zip's):
    #: a reader may share its one long document out in byte ranges (readers.long_document)
    path: Path | None = field(default=None, compare=False)

    def open(self) -> IO[bytes]:
        return self.opener()

    def read_bytes(self) -> bytes:
        with self.open() as fh:
            return fh.read()

    @property
    def stem(self) -> str:
        return self.name.rsplit(".", 1)[0] if "." in self.name[1:] else self.name


@dataclass
class ReadOptions:
    format: str | None = None  # --from: overrides detection
    text_columns: list[str] = field(default_factory=list)
    label_columns: list[str] = field(default_factory=list)
    label_separator: str | None = None
    columns: list[str] | None = None  # names of a header-less table's columns

    @property
    def tabular(self) -> bool:
        return bool(self.text_columns or self.label_columns or self.columns)

    def refuse_table_options(self, format_id: str, file: str) -> None:
        """What a reader of anything but a table calls first: the table
        options would be ignored, so any given is a UsageError naming it."""
        given = [flag for flag, value in (("--text-column", self.text_columns), ("--label-column", self.label_columns),
                                          ("--label-separator", self.label_separator), ("--columns", self.columns))
                 if value]
        if given:
            raise UsageError(f"{', '.join(given)}: read as {format_id}, not as a table; these options are for CSV, "
                             "TSV and XLSX input (--from TSV reads a tab-separated file as a table)", file)


def detect(source: Source, options: ReadOptions) -> str:
    """The format of one file: --from, else its extension (the registry's
    EXTENSIONS; for ``.json`` the DATASAUR_SCHEMA reader tells JSON_ADVANCED
    by the file's structure as it decodes it, once), else CoNLL/IOB lines or,
    with table options, a tab-separated table."""
    if options.format:
        return reader_id(options.format)
    formats = EXTENSIONS.get(Path(source.name).suffix.lower())
    if formats:
        return formats[0]
    return OTHER_EXTENSIONS_TABULAR if options.tabular else OTHER_EXTENSIONS

