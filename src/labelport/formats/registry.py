"""Format names: the one table of every format labelport writes and reads.

``-f``, ``--from``, the Python API (``convert``, ``export``,
``load(from_format=...)``), the service's ``format`` and ``labelport formats``
(whose Markdown rendering is the README's table) all look names up here. An
entry names its writer and its reader by dotted module path, so resolving a
name or listing the formats imports no format or reader module; a format
module imports its heavy dependencies (pyarrow, datasets, openpyxl) only when
it writes.

A name is matched without regard to ASCII case, with ``-`` read as ``_``; an alias gives
the same format on both sides (``conll`` is CONLL_2003 for ``-f`` and
``--from``). What ``-f X`` writes, ``--from X`` reads, for every format that
has a reader; ``reads_back`` says which kinds of project come back whole.
Adding a format is one module defining ``FORMAT`` plus one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from importlib import import_module
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..errors import UsageError
from ..model import DOCUMENT_BASED, KIND_LETTER, KINDS, ROW_BASED, TOKEN_BASED

if TYPE_CHECKING:
    from .base import Format, FormatOptions

T, R, D = TOKEN_BASED, ROW_BASED, DOCUMENT_BASED


@dataclass(frozen=True)
class FormatEntry:
    id: str
    #: dotted path of the module defining ``FORMAT`` (labelport.formats.base.Format)
    writer: str
    #: the project kinds the format serves (the writer's FORMAT.kinds, tests/test_format_names.py)
    kinds: frozenset[str]
    #: what it makes, as Markdown (backticks are dropped on the terminal)
    files: str
    #: dotted path of the module whose ``read(source, options, format_id)`` reads it, if any
    reader: str | None = None
    #: the kinds whose output ``--from ID`` reads back to the same content
    reads_back: frozenset[str] = frozenset()
    #: other names for it, upper case
    aliases: tuple[str, ...] = ()
    #: file extensions (lower case) detection reads as this format when no --from is given
    extensions: tuple[str, ...] = ()
    #: for a format without a reader: what a user asking to read it probably means
    #: (``--from JSON`` once read DATASAUR_SCHEMA: the hint says so, in place of a
    #: second meaning of the name)
    read_hint: str | None = None


_ENTRIES = (
    FormatEntry("DATASAUR_SCHEMA", "labelport.formats.datasaur_schema", frozenset({T, R, D}),
                "`<document>.json`, Datasaur's own, lossless",
                "labelport.readers.datasaur_file", frozenset({T, R, D}), extensions=(".json",)),
    FormatEntry("JSON_ADVANCED", "labelport.formats.json_advanced", frozenset({T}),
                "`<document>.json`: sentences, labelSets, labels (spans and arrows)",
                "labelport.readers.datasaur_file", frozenset({T}), extensions=(".json",)),
    FormatEntry("JSON", "labelport.formats.json_simple", frozenset({T, R, D}),
                "`<document>.json`: T one object per line `{id, text, tokens, spans, relations}`; R one per row; "
                "D one object",
                read_hint="Did you mean DATASAUR_SCHEMA (a Datasaur export's .json, also detected without --from)?"),
    FormatEntry("TSV_IOB", "labelport.formats.tsv_iob", frozenset({T}),
                "`<document>.tsv`: `token<TAB>tag`, IOB2, blank line between sentences",
                "labelport.readers.long_document", frozenset({T}), aliases=("IOB",)),
    FormatEntry("TSV_NON_IOB", "labelport.formats.tsv_non_iob", frozenset({T}),
                "`<document>.tsv`: `token<TAB>label` or `O`",
                "labelport.readers.long_document", frozenset({T}), aliases=("NON_IOB", "IO")),
    FormatEntry("CONLL_2003", "labelport.formats.conll_2003", frozenset({T}),
                "`<document>.conll`: `-DOCSTART- -X- -X- O`, then `token -X- _ tag`",
                "labelport.readers.long_document", frozenset({T}), aliases=("CONLL", "CONLL2003")),
    FormatEntry("PLAIN", "labelport.formats.plain", frozenset({T}),
                "`<document>.txt`: one line of text per line, what offsets point into; its spans are listed as not carried"),
    FormatEntry("CSV", "labelport.formats.csv_table", frozenset({R, D, T}),
                "`<document>.csv`: R columns then one per question; D `documents.csv`; "
                "T span table `File,Line,Begin Offset,End Offset,Type,Label Status`",
                "labelport.readers.table", frozenset({R}), extensions=(".csv",)),
    FormatEntry("TSV", "labelport.formats.tsv_table", frozenset({R, D, T}),
                "as CSV, tab-separated, no quoting",
                "labelport.readers.table", frozenset({R})),
    FormatEntry("XLSX", "labelport.formats.xlsx", frozenset({R, D}),
                "`<document>.xlsx`: the CSV table; `=`, `+`, `-`, `@` cells stay text",
                "labelport.readers.table", frozenset({R}), extensions=(".xlsx",)),
    FormatEntry("JSON_TABULAR", "labelport.formats.json_tabular", frozenset({R, D}),
                "`<document>.json`: a list of row objects keyed as the CSV header"),
    FormatEntry("AMAZON_COMPREHEND_CSV", "labelport.targets.comprehend.writer", frozenset({T, R, D}),
                "T: `train/documents/documents.txt` + `train/annotations/annotations.csv` (+ `test/`), "
                "`entity_recognizer.json`; R D: `train/classifier.csv`, `document_classifier.json`"),
    FormatEntry("AZURE_AUTOML_CSV", "labelport.targets.azure.writer", frozenset({T, R, D}),
                "T: `train/train.txt` (strict CoNLL) + `MLTable`, `validation/` likewise; "
                "R D: `train/train.csv` + `MLTable`"),
    FormatEntry("GCP_VERTEX_AI_CSV", "labelport.targets.vertex.writer", frozenset({T, R, D}),
                "T: `vertex_dataset.jsonl` + `vertex_import.csv`; R D: `vertex_import.csv` + `vertex_import.jsonl`; "
                "`vertex_dataset.json`"),
    FormatEntry("HF_DATASET", "labelport.targets.hf.writer", frozenset({T, R, D}),
                "`data/<split>-00000-of-0000N.parquet` + `README.md` dataset card (ClassLabel features)"),
    FormatEntry("CUSTOM", "labelport.formats.custom", frozenset({T, R, D}),
                "what `--transformer NAME` (or a `.py` file) makes: `converters/` ships Gemini tuning, "
                "OpenAI chat fine-tuning and spaCy DocBin"),
)

FORMATS: dict[str, FormatEntry] = {entry.id: entry for entry in _ENTRIES}
#: every other accepted name -> its id
ALIASES: dict[str, str] = {alias: entry.id for entry in _ENTRIES for alias in entry.aliases}
#: extension -> the formats of that extension; detection hands the file to the
#: first one's reader (DATASAUR_SCHEMA's tells JSON_ADVANCED by its structure)
EXTENSIONS: dict[str, tuple[str, ...]] = {
    extension: tuple(entry.id for entry in _ENTRIES if extension in entry.extensions)
    for extension in dict.fromkeys(extension for entry in _ENTRIES for extension in entry.extensions)
}
#: what detection reads a file of any other extension as: CoNLL/IOB lines, or a
#: tab-separated table when table options (--text-column, --label-column, --columns) are given
OTHER_EXTENSIONS, OTHER_EXTENSIONS_TABULAR = "TSV_IOB", "TSV"
READABLE: tuple[str, ...] = tuple(entry.id for entry in _ENTRIES if entry.reader)


def _key(name: str) -> str:
    key = str(name).strip()
    # Only ASCII is folded: str.upper() makes "ıob" IOB and "ﬁ" FI.
    return key.upper().replace("-", "_") if key.isascii() else key


def _suggestion(key: str, ids: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the id or alias of ``ids`` closest to ``key``, or ''."""
    import difflib  # (start-up: difflib ~1 ms; only a wrong name needs it)

    names = {name: name for name in ids}
    names.update((alias, target) for alias, target in ALIASES.items() if target in names)
    close = difflib.get_close_matches(key, list(names), n=1)
    return f" (did you mean {names[close[0]]}?)" if close else ""


def format_id(name: str) -> str:
    """The id of the format called ``name`` (an id or an alias, any case), or a
    UsageError that names the closest one and every id."""
    key = _key(name)
    key = ALIASES.get(key, key)
    if key not in FORMATS:
        raise UsageError(f"unknown format {name!r}{_suggestion(key, FORMATS)}; known formats: {', '.join(FORMATS)}")
    return key


def reader_id(name: str) -> str:
    """The id of the readable format called ``name`` (``--from``), or a
    UsageError that says which formats labelport reads."""
    key = _key(name)
    key = ALIASES.get(key, key)
    reads = f"labelport reads {', '.join(READABLE)}"
    entry = FORMATS.get(key)
    if entry is None:
        raise UsageError(f"--from: unknown input format {name!r}{_suggestion(key, READABLE)}; {reads}")
    if entry.reader is None:
        hint = f". {entry.read_hint}" if entry.read_hint else ""
        raise UsageError(f"--from: labelport writes {key} but cannot read it; {reads}{hint}")
    return key


def reader_module(name: str):
    """The module reading the format ``name`` (an id, an alias, any case)."""
    reader = FORMATS[reader_id(name)].reader
    assert reader is not None  # reader_id refuses a format without one
    return import_module(reader)


def get_format(name: str) -> "Format":
    """The writer of the format ``name`` (an id, an alias, any case)."""
    return import_module(FORMATS[format_id(name)].writer).FORMAT


def all_formats() -> list["Format"]:
    """Every writer (this imports every format module; listing names does not need it)."""
    return [get_format(fid) for fid in FORMATS]


def make_options(fmt: "Format", given: Mapping[str, Any], spelling: Mapping[str, str] | None = None) -> "FormatOptions":
    """``fmt``'s options from what the user gave (a None value is not given).

    An option ``fmt`` does not take is a UsageError naming it, as ``spelling``
    spells it for the caller (``--offset-unit``, ``fileTransformerId``), and
    the formats that take it: an option is never silently dropped."""
    given = {name: value for name, value in given.items() if value is not None}
    refused = [name for name in given if name not in option_names(fmt)]
    if refused:
        everyone = all_formats()
        spelled = spelling or {}
        raise UsageError("; ".join(
            f"{spelled.get(name, name)}: {fmt.id} does not take this option; formats that take it: "
            + (", ".join(f.id for f in everyone if name in option_names(f)) or "none")
            for name in refused))
    return fmt.options(**given)


def option_names(fmt: "Format | None" = None) -> frozenset[str]:
    """The options ``fmt`` takes; without it, those any format takes."""
    if fmt is None:
        return frozenset().union(*(option_names(f) for f in all_formats()))
    return frozenset(f.name for f in fields(fmt.options))


def formats_for_kinds(kinds: tuple[str, ...] | list[str]) -> list[str]:
    """The formats that can serve a project of ``kinds`` (at least one of them;
    what they cannot carry of the others is reported as not carried)."""
    return [entry.id for entry in _ENTRIES if entry.kinds & set(kinds)]


# -- the table of `labelport formats` and the README ------------------------------------

TABLE_HEADER = ("id", "aliases", "kinds", "read back", "files")


def _letters(kinds: frozenset[str]) -> str:
    return " ".join(KIND_LETTER[k] for k in KINDS if k in kinds) or "-"


def table_rows() -> list[tuple[str, str, str, str, str]]:
    """One row a format: id, aliases, kinds it serves, kinds ``--from ID`` reads
    back (``-`` when it has no reader), files (Markdown)."""
    return [(entry.id, " ".join(alias.lower() for alias in entry.aliases), _letters(entry.kinds),
             _letters(entry.reads_back), entry.files) for entry in _ENTRIES]


def detection_note() -> str:
    """How a file is read without ``--from``, from EXTENSIONS (Markdown)."""
    rules = "; ".join(f"`{extension}` {' or '.join(ids)}" + (" (told apart by content)" if len(ids) > 1 else "")
                      for extension, ids in EXTENSIONS.items())
    return (f"Without `--from`, a file's extension picks its reader: {rules}; any other {OTHER_EXTENSIONS} "
            f"(CoNLL/IOB lines), or {OTHER_EXTENSIONS_TABULAR} when a table option (`--text-column`, "
            "`--label-column`, `--columns`) is given.")


def markdown() -> str:
    """The README's table and detection note (``labelport formats --markdown``)."""
    rows = [TABLE_HEADER, tuple("---" for _ in TABLE_HEADER), *table_rows()]
    return "".join(f"| {' | '.join(row)} |\n" for row in rows) + f"\n{detection_note()}\n"
