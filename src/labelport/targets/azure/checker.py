"""Azure Machine Learning AutoML NLP: the rules of its data validators, checked
on files (AZURE_AUTOML_CSV; docs/azure-automl.md lists the rules).

The folder may hold labelport's output or another tool's, or zips of them (read
as :mod:`labelport.validate.walk` says). Data files are found through the
``paths`` of each ``MLTable`` and, in folders without one, by name (``train``,
``training``, ``valid``, ``validation``, ``val``, ``dev``, ``test`` in the file
or folder name). A ``.csv``/``.tsv`` file is classification data, any other
(``.txt``, ``.conll``) NER data; a ``label`` column holds one class per row
(multi-class), a ``labels`` column Python list literals when its first value
starts with ``[`` (multi-label, as AutoML decides) and single classes
otherwise. The split of a file comes from its folder's name, else its own;
files whose folder names a split are grouped with the other splits under the
same parent (``OUT/train/``, ``OUT/validation/``), for the checks across
splits.

Hard findings are what AutoML's validators reject (the job fails); soft ones
are its minimums (50 training sentences or rows, 2 labels, a validation set),
and what it accepts but likely not as meant (an ``I-X`` that starts an
entity). Every finding names the file (relative to the folder) and, when it is
about one line, its 1-based line number. Files stream: NER files a block of
lines at a time (checked whole, line by line only where a rule may be
broken), CSV files a row at a time; findings are capped per rule and file
(:mod:`labelport.validate.findings`).
"""

from __future__ import annotations

import ast
import csv
import fnmatch
import io
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ...report import Finding
from ...validate.findings import Findings
from ...validate.walk import Folder, walk
from .rules import (
    CSV_SUFFIXES,
    DOCSTART,
    LABEL_COLUMN,
    LABELS_COLUMN,
    MIN_LABELS,
    MIN_TRAINING_SAMPLES,
    MIN_VALIDATION_SAMPLES,
    MLTABLE,
    NER_SUFFIXES,
    SPLIT_WORDS,
    TAG,
    TAG_RULE,
    TEST,
    TOKEN_WHITESPACE_RULE,
    TRAIN,
    VALIDATION,
)

#: MLTable ``encoding`` values and Python's names for them
ENCODINGS = {"utf8": "utf-8", "utf-8": "utf-8", "utf8bom": "utf-8-sig", "iso88591": "iso-8859-1",
             "latin1": "latin-1", "ascii": "ascii", "utf16": "utf-16", "utf32": "utf-32",
             "windows1252": "cp1252"}
USE_SPLIT = "with labelport, convert with --split train=0.8,validation=0.2"


def check(folder: Path) -> list[Finding]:
    out = Findings()
    walk(Path(folder), lambda files: _Checker(files, out).run(),
         "train/train.txt (NER) or train/train.csv (classification) beside an MLTable file")
    return out.done()


# -- MLTable -------------------------------------------------------------------------------

@dataclass
class _MLTable:
    rel: str
    paths: list[dict[str, Any]] = field(default_factory=list)
    read_delimited: dict[str, Any] | None = None
    error: str | None = None


def _parse_mltable(path: Path, rel: str) -> _MLTable:
    table = _MLTable(rel)
    try:
        data = _load_yaml(path.read_bytes().decode("utf-8-sig"))
    except Exception as exc:  # noqa: BLE001 -- any YAML or decoding error: the job cannot read it either
        table.error = f"not a readable MLTable (YAML): {exc}".splitlines()[0]
        return table
    if not isinstance(data, dict):
        table.error = "not an MLTable: expected a YAML mapping with `paths`"
        return table
    paths = data.get("paths")
    table.paths = [p for p in paths if isinstance(p, dict)] if isinstance(paths, list) else []
    for step in data.get("transformations") or []:
        if isinstance(step, dict) and "read_delimited" in step:
            options = step["read_delimited"]
            table.read_delimited = options if isinstance(options, dict) else {}
    return table


def _load_yaml(text: str) -> Any:
    try:
        import yaml  # type: ignore[import-untyped]  # (extra: PyYAML where installed; else the small reader below)
    except ImportError:
        return _mini_yaml(text)
    return yaml.safe_load(text)


def _mini_yaml(text: str) -> dict[str, Any]:
    """The block YAML MLTable files use (``paths:`` list of ``- file: X``,
    ``transformations:`` list of ``- name:`` with nested ``key: value``), for
    when PyYAML is not installed."""
    data: dict[str, Any] = {}
    section: str | None = None
    current: dict[str, Any] | None = None
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if raw[0] not in " \t-":
            key, _, value = stripped.partition(":")
            section, current = key.strip(), None
            data[section] = _scalar(value) if value.strip() else []
            continue
        if stripped.startswith("- "):
            key, sep, value = stripped[2:].partition(":")
            entry: dict[str, Any] = {key.strip(): (_scalar(value) if value.strip() else {}) if sep else None}
            if section is not None and isinstance(data.get(section), list):
                data[section].append(entry)
            nested = entry[key.strip()]
            current = nested if isinstance(nested, dict) else None
            continue
        key, _, value = stripped.partition(":")
        if current is not None:
            current[key.strip()] = _scalar(value)
    return data


def _scalar(value: str) -> Any:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


# -- data files -----------------------------------------------------------------------------

@dataclass
class _DataFile:
    rel: str
    kind: str  # "ner" or "csv"
    split: str | None
    group: str
    mltable: _MLTable | None


@dataclass
class _Stats:
    samples: int = 0  # sentences (NER) or rows (classification)
    header: list[str] | None = None
    label_column: str | None = None
    multi: bool | None = None
    labels: set[str] = field(default_factory=set)  # at most MIN_LABELS of them
    all_single: bool = True  # multi-label: every row has exactly one label
    column_kinds: dict[str, str] = field(default_factory=dict)
    infer_types: bool = False
    ok: bool = True  # read to the end


def _split_of(name: str) -> str | None:
    for word in re.findall(r"[a-z]+", name.lower()):
        if word in SPLIT_WORDS:
            return SPLIT_WORDS[word]
    return None


def _place(rel: str) -> tuple[str | None, str]:
    """(split, group) of a data file."""
    folder = posixpath.dirname(rel)
    split = _split_of(posixpath.basename(folder)) if folder else None
    if split is not None:
        return split, posixpath.dirname(folder)
    stem = posixpath.splitext(posixpath.basename(rel))[0]
    return _split_of(stem), folder


def _kind(rel: str, mltable: _MLTable | None) -> str:
    suffix = posixpath.splitext(rel)[1].lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in NER_SUFFIXES:
        return "ner"
    return "csv" if mltable is not None and mltable.read_delimited is not None else "ner"


class _Checker:
    def __init__(self, folder: Folder, out: Findings):
        #: the files by the names findings give them
        self.files = {folder.name(path): path for path in folder.files}
        self.out = out

    def run(self) -> bool:
        """Check the data files; whether there were any."""
        data_files = self.find_data_files()
        stats: dict[str, _Stats] = {}
        for df in data_files:
            stats[df.rel] = self.check_ner(df) if df.kind == "ner" else self.check_csv(df)
        self.check_groups(data_files, stats)
        return bool(data_files)

    # -- finding the data ---------------------------------------------------------------
    def find_data_files(self) -> list[_DataFile]:
        files = self.files
        found: dict[str, _DataFile] = {}
        mltable_folders: set[str] = set()
        for rel in files:
            if posixpath.basename(rel) != MLTABLE:
                continue
            folder = posixpath.dirname(rel)
            mltable_folders.add(folder)
            table = _parse_mltable(files[rel], rel)
            if table.error:
                self.out.add("azure.mltable.syntax", table.error, True, rel)
                continue
            if not table.paths:
                self.out.add("azure.mltable.paths", "no `paths` (e.g. `paths:\\n  - file: ./train.txt`)", True, rel)
                continue
            for entry in table.paths:
                for target in self.resolve(folder, entry, table):
                    if target not in found:
                        split, group = _place(target)
                        found[target] = _DataFile(target, _kind(target, table), split, group, table)
        for rel in files:
            folder = posixpath.dirname(rel)
            suffix = posixpath.splitext(rel)[1].lower()
            if rel in found or folder in mltable_folders or suffix not in NER_SUFFIXES | CSV_SUFFIXES:
                continue
            split, group = _place(rel)
            if split is None:
                continue
            found[rel] = _DataFile(rel, _kind(rel, None), split, group, None)
            self.out.add("azure.mltable.missing", "no MLTable file in this folder: AutoML jobs take their data "
                         "as an MLTable folder (`type: mltable`)", True, rel)
        return sorted(found.values(), key=lambda d: d.rel)

    def resolve(self, folder: str, entry: dict[str, Any], table: _MLTable) -> list[str]:
        files = self.files
        for key in ("file", "folder", "pattern"):
            value = entry.get(key)
            if value is None:
                continue
            value = str(value)
            if "://" in value:
                return []  # a cloud path: not on disk, not checked
            if key == "pattern":
                pattern = posixpath.normpath(posixpath.join(folder, value))
                return sorted(r for r in files if fnmatch.fnmatchcase(r, pattern) and not r.endswith("/" + MLTABLE))
            target = posixpath.normpath(posixpath.join(folder, value))
            if key == "file":
                if target in files:
                    return [target]
                self.out.add("azure.mltable.missing_file", f"`paths` names {value!r}, which is not there", True,
                             table.rel)
                return []
            inside = sorted(r for r in files if r.startswith(target + "/") and posixpath.basename(r) != MLTABLE)
            if not inside:
                self.out.add("azure.mltable.missing_file", f"`paths` names the folder {value!r}, which holds no "
                             "file", True, table.rel)
            return inside
        self.out.add("azure.mltable.paths", f"a `paths` entry without file, folder or pattern: {entry!r}", True,
                     table.rel)
        return []

    # -- NER ------------------------------------------------------------------------------
    def check_ner(self, df: _DataFile) -> _Stats:
        """AutoML's ner_validator: exactly one space, a token, an
        ``O``/``B-``/``I-`` tag; no blank first line, no two blank lines, one
        ``\\n`` after the last token line.

        The file is read a block of whole lines at a time; a block that
        breaks no rule (the usual case) is checked as a whole by
        :meth:`ner_block`, with a few C-level operations. Any other block is
        read a line at a time by :meth:`ner_lines`, which finds and
        describes what is wrong."""
        rel = df.rel
        st = _NerState()
        add = self.out.add
        with self.files[rel].open("rb") as fh:
            blocks = _Blocks(fh)
            for text, bad in blocks:
                if not bad:
                    while st.number < 2 and text:  # a first -DOCSTART- line and the line after it
                        cut = text.find("\n") + 1 or len(text)
                        self.ner_lines(rel, st, text[:cut], False)
                        text = text[cut:]
                    if not text or self.ner_block(st, text):
                        continue
                self.ner_lines(rel, st, text, bad)
        number, stats = st.number, _Stats(samples=st.samples)
        if number == 0 or (st.skip or st.blank is None) and not st.in_sentence:
            add("azure.ner.empty", "no sentence: the file is empty", True, rel)
            return stats
        if not blocks.ended:
            add("azure.ner.final_newline", "the last line does not end with a line break (\\n)", True, rel, number)
        elif st.blank:
            add("azure.ner.trailing_blank_line", "blank line at the end: the file must end with one \\n after the "
                "last token line", True, rel, number)
        if st.in_sentence:
            stats.samples += 1
        return stats

    def ner_block(self, st: _NerState, text: str) -> bool:
        """Whole lines (after the first two) that break no rule: counted, and
        True; False, with nothing counted, when one of them may break one."""
        if text[-1] != "\n":
            return False  # the last line, cut
        m = _GOOD_LINES.fullmatch(text)
        if m is None:
            return False  # a line that is not `token tag`, two blank lines in a row, an I-X after no X
        if text[0] == "\n" and st.blank is not False:
            return False  # a blank first line, or two blank lines across blocks
        if m.group(1) is not None and m.group(1) != st.previous[2:]:
            return False  # the first line's I-X does not follow an X
        lines = text.count("\n")
        st.number += lines
        st.samples += lines - text.count(" ")  # one space a token line; each blank line ends a sentence
        last = text[text.rfind("\n", 0, -1) + 1 : -1]
        if last:
            st.blank, st.in_sentence, st.previous = False, True, last[last.index(" ") + 1 :]
        else:
            st.blank, st.in_sentence, st.previous = True, False, "O"
        return True

    def ner_lines(self, rel: str, st: _NerState, block: str, bad: bool) -> None:
        """The lines of ``block`` one at a time: a line that passes is handled
        by one regular expression, any other by :meth:`ner_line`, which says
        why."""
        fullmatch = _GOOD_LINE.fullmatch
        add = self.out.add
        lines = block.split("\n")
        if block.endswith("\n"):
            lines.pop()  # after the last "\n"
        for text in lines:
            st.number += 1
            if not bad and st.number > 2:
                if text:
                    m = fullmatch(text)
                    if m is not None:
                        tag = m.group(1)
                        if tag[0] == "I" and st.previous[2:] != tag[2:]:
                            add("azure.ner.iob2", f"{tag} follows {st.previous}: AutoML accepts it, but an "
                                f"entity should start with B-{tag[2:]} (IOB2)", False, rel, st.number)
                        st.previous = tag
                        st.blank = False
                        st.in_sentence = True
                        continue
                elif st.blank is False:
                    st.blank, st.in_sentence, st.previous = True, False, "O"
                    st.samples += 1
                    continue
            self.ner_line(rel, st, text, bad)

    def ner_line(self, rel: str, st: _NerState, text: str, bad: bool) -> None:
        """One line, every rule, with the reason for each it breaks."""
        add, number = self.out.add, st.number
        if bad and _SURROGATE.search(text):
            add("azure.encoding", "not valid UTF-8", True, rel, number)
            text = _SURROGATE.sub("\ufffd", text)
        text = text.removesuffix("\r")  # CRLF: Python's text mode, as AutoML reads, makes it "\n"
        if number == 1 and text.startswith(DOCSTART):
            st.skip = True  # AutoML skips a first -DOCSTART- line and the line after it
            return
        if st.skip:
            st.skip = False
            return
        if "\r" in text:
            add("azure.ner.carriage_return", "a carriage return (\\r) inside the line: AutoML reads it as a line "
                "break", True, rel, number)
        if not text:
            if st.blank is None:
                add("azure.ner.blank_first_line", "the file starts with a blank line", True, rel, number)
            elif st.blank:
                add("azure.ner.consecutive_blank_lines", "two blank lines in a row: exactly one blank line separates "
                    "sentences", True, rel, number)
            if st.in_sentence:
                st.samples += 1
            st.blank, st.in_sentence, st.previous = True, False, "O"
            return
        st.blank, st.in_sentence = False, True
        spaces = text.count(" ")
        if spaces != 1:
            add("azure.ner.single_space", _space_message(text, spaces), True, rel, number)
            st.previous = "O"
            return
        token, tag = text.split(" ")
        if not token:
            add("azure.ner.empty_token", "empty token: the line starts with the space", True, rel, number)
        elif any(c.isspace() for c in token):
            add(TOKEN_WHITESPACE_RULE, f"token {token!r} holds white space", True, rel, number)
        if not TAG.match(tag) or any(c.isspace() for c in tag):
            add(TAG_RULE, _tag_message(tag), True, rel, number)
            st.previous = "O"
            return
        if tag[0] == "I" and st.previous[2:] != tag[2:]:
            add("azure.ner.iob2", f"{tag} follows {st.previous}: AutoML accepts it, but an entity should start with "
                f"B-{tag[2:]} (IOB2)", False, rel, number)
        st.previous = tag

    # -- classification -------------------------------------------------------------------
    def check_csv(self, df: _DataFile) -> _Stats:
        add, rel = self.out.add, df.rel
        stats = _Stats()
        options = (df.mltable.read_delimited if df.mltable else None) or {}
        if df.mltable is not None and df.mltable.read_delimited is None:
            add("azure.mltable.read_delimited", "a classification MLTable needs a `read_delimited` transformation "
                "(delimiter, encoding, header)", True, df.mltable.rel)
        delimiter = str(options.get("delimiter", "\t" if rel.lower().endswith(".tsv") else ","))
        if len(delimiter) != 1:
            add("azure.csv.not_checked", f"delimiter {delimiter!r} is not one character: not checked", False, rel)
            stats.ok = False
            return stats
        if str(options.get("header", "all_files_same_headers")).lower() == "no_header":
            add("azure.csv.header", "the MLTable says `header: no_header`: AutoML needs column names "
                "(target_column_name)", True, df.mltable.rel if df.mltable else rel)
        multi_line = df.mltable is None or _truthy(options.get("support_multi_line", False))
        stats.infer_types = not (options.get("infer_column_types") is False
                                 or str(options.get("infer_column_types", "")).lower() == "false")
        encoding = ENCODINGS.get(str(options.get("encoding", "utf8")).lower().replace("-", ""), "utf-8")
        with self.files[rel].open("rb") as raw:
            stream = io.TextIOWrapper(raw, encoding=encoding, newline="")
            reader = csv.reader(stream, delimiter=delimiter, strict=True)
            rows = _records(reader)
            try:
                self.csv_rows(rel, rows, stats, multi_line)
            except csv.Error as exc:
                add("azure.csv.syntax", f"not CSV: {exc}", True, rel, reader.line_num)
                stats.ok = False
            except UnicodeDecodeError:
                add("azure.encoding", f"not valid {encoding}", True, rel, reader.line_num + 1)
                stats.ok = False
        return stats

    def csv_rows(self, rel: str, rows: Iterator[tuple[int, int, list[str]]], stats: _Stats, multi_line: bool) -> None:
        add = self.out.add
        header_row = next(rows, None)
        if header_row is None:
            add("azure.csv.empty", "empty file: no header row", True, rel)
            stats.ok = False
            return
        number, _, header = header_row
        stats.header = header
        if len(set(header)) != len(header):
            dupes = sorted({name for name in header if header.count(name) > 1})
            add("azure.csv.duplicate_columns", f"column names repeat: {', '.join(map(repr, dupes))}", True, rel,
                number)
        label_column = LABELS_COLUMN if LABELS_COLUMN in header else LABEL_COLUMN if LABEL_COLUMN in header else None
        if label_column is None:
            add("azure.csv.label_column", f"no `label` or `labels` column in the header {header!r} (is the header "
                "row missing?)", True, rel, number)
            stats.ok = False
            return
        stats.label_column = label_column
        label_at = header.index(label_column)
        texts = [i for i, name in enumerate(header) if i != label_at]
        if not texts:
            add("azure.csv.no_text_column", "no text column beside the label column", True, rel, number)
        kinds: dict[int, str | None] = {i: None for i in range(len(header))}
        int_labels: set[int] = set()
        digit_labels: set[str] = set()
        for number, last, cells in rows:
            if not cells:
                add("azure.csv.blank_line", "blank line: read as a row without text or label", False, rel, number)
                continue
            if last > number and not multi_line:
                add("azure.csv.multi_line", "a cell holds a line break, but the MLTable does not set "
                    "`support_multi_line: true`: the row would be cut in two", True, rel, number)
            if len(cells) != len(header):
                add("azure.csv.field_count", f"{len(cells)} cells, the header has {len(header)}", True, rel, number)
                continue
            stats.samples += 1
            for i in texts:
                if not cells[i]:
                    add("azure.csv.empty_text", f"empty {header[i]!r}: read as a missing value", False, rel, number)
            if stats.infer_types:
                for i, cell in enumerate(cells):
                    kinds[i] = _merge_kind(kinds[i], cell)
            value = cells[label_at]
            if not value:
                add("azure.csv.empty_label", "empty label: AutoML drops the row (a multi-label row without labels "
                    "is written [])", True, rel, number)
                continue
            if stats.multi is None:
                # `label` is one class; `labels` a list when its first value looks like one, as AutoML decides
                stats.multi = label_column == LABELS_COLUMN and value.lstrip().startswith("[")
            if stats.multi:
                labels = self.label_list(rel, number, value)
                if labels is None:
                    continue
                if len(labels) != 1:
                    stats.all_single = False
                for label in labels:
                    if isinstance(label, int):
                        int_labels.add(label)
                    elif label.isdigit():
                        digit_labels.add(label)
                    if len(stats.labels) < MIN_LABELS:
                        stats.labels.add(str(label))
            elif len(stats.labels) < MIN_LABELS:
                stats.labels.add(value)
        clash = sorted(str(n) for n in int_labels if str(n) in digit_labels)
        if clash:
            add("azure.csv.label_types", f"labels both as numbers and as strings: {', '.join(clash[:5])}", True, rel)
        if stats.infer_types:
            stats.column_kinds = {header[i]: kind or "empty" for i, kind in kinds.items()}
            label_kind = stats.column_kinds.get(label_column)
            if not stats.multi and label_kind == "float":
                add("azure.csv.label_types", "every label reads as a decimal number; AutoML takes string, integer "
                    "or boolean classes (set `infer_column_types: false` in the MLTable)", True, rel)

    def label_list(self, rel: str, number: int, value: str) -> list[Any] | None:
        try:
            labels = ast.literal_eval(value)
        except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
            self.out.add("azure.csv.labels_literal", f"{value[:80]!r} is not a Python list literal like ['a', 'b'] "
                         "(AutoML parses every cell with ast.literal_eval)", True, rel, number)
            return None
        if not isinstance(labels, list):
            self.out.add("azure.csv.labels_literal", f"{value[:80]!r} is a {type(labels).__name__}, not a list",
                         True, rel, number)
            return None
        for label in labels:
            if isinstance(label, bool) or not isinstance(label, (str, int)):
                self.out.add("azure.csv.labels_literal", f"label {label!r} is neither a string nor an integer",
                             True, rel, number)
                return None
        return labels

    # -- across splits ------------------------------------------------------------------------
    def check_groups(self, data_files: list[_DataFile], stats: dict[str, _Stats]) -> None:
        groups: dict[str, list[_DataFile]] = {}
        for df in data_files:
            groups.setdefault(df.group, []).append(df)
        add = self.out.add
        for members in groups.values():
            for kind in ("ner", "csv"):
                files = [df for df in members if df.kind == kind]
                train = [df for df in files if df.split == TRAIN]
                if not train:
                    continue
                validation = [df for df in files if df.split == VALIDATION]
                first = train[0].rel
                samples = sum(stats[df.rel].samples for df in train)
                what = "sentences" if kind == "ner" else "rows"
                if all(stats[df.rel].ok for df in train) and samples < MIN_TRAINING_SAMPLES:
                    add(f"azure.{kind}.min_training", f"{samples:,} training {what}: AutoML NLP needs at least "
                        f"{MIN_TRAINING_SAMPLES}", False, first)
                if not validation:
                    add("azure.validation.missing", "no validation data: AutoML NLP requires validation_data "
                        f"(it validates on a held-out set only); {USE_SPLIT}", False, first)
                if kind == "csv":
                    self.check_csv_group(train, validation, [df for df in files if df.split == TEST], stats)

    def check_csv_group(self, train: list[_DataFile], validation: list[_DataFile], test: list[_DataFile],
                        stats: dict[str, _Stats]) -> None:
        add = self.out.add
        base = stats[train[0].rel]
        if base.header is None or base.label_column is None:
            return
        labels: set[str] = set()
        for df in train:
            labels |= stats[df.rel].labels
        if all(stats[df.rel].ok for df in train) and len(labels) < MIN_LABELS:
            add("azure.csv.min_labels", f"{len(labels)} label(s) in the training data: AutoML needs at least "
                f"{MIN_LABELS}", False, train[0].rel)
        if base.multi and all(stats[df.rel].all_single for df in train) and base.samples:
            add("azure.csv.single_labels", "every training row has exactly one label: AutoML advises multi-class "
                "(a `label` column) for that", False, train[0].rel)
        if validation and all(stats[df.rel].ok for df in validation):
            rows = sum(stats[df.rel].samples for df in validation)
            if rows < MIN_VALIDATION_SAMPLES:
                add("azure.csv.min_validation", f"{rows} validation rows: AutoML needs at least "
                    f"{MIN_VALIDATION_SAMPLES}", False, validation[0].rel)
        for df in [*train[1:], *validation, *test]:
            other = stats[df.rel]
            if other.header is None:
                continue
            if other.header != base.header:
                how = "the same columns in another order" if sorted(other.header) == sorted(base.header) else \
                    "other columns"
                add("azure.csv.columns_mismatch", f"header {other.header!r} has {how} than {train[0].rel} "
                    f"{base.header!r}: every split needs the same columns in the same order", True, df.rel, 1)
                continue
            if base.infer_types or other.infer_types:
                for name in base.header:
                    if name == base.label_column:
                        continue
                    a, b = base.column_kinds.get(name, "string"), other.column_kinds.get(name, "string")
                    if "empty" not in (a, b) and a != b:
                        add("azure.csv.column_types", f"column {name!r} reads as {b} here and as {a} in "
                            f"{train[0].rel}: AutoML rejects splits whose column types differ (set "
                            "`infer_column_types: false` in the MLTable)", True, df.rel)


#: a token line that breaks no rule: a token without white space, one space, a tag
_GOOD_LINE = re.compile(r"\S+ (O|[BI]-\S+)")


def _good_lines(possessive: str) -> re.Pattern[str]:
    """Lines that break no rule, each ending with "\\n": an optional blank
    line (it must follow a token line: checked apart) or token lines tagged
    I-X (group 1: X, which the line before must end, checked apart), then
    sentences: token lines, each B-X followed by its I-X lines, and a blank
    line; then token lines. Each of its parts can match only one way, so a
    text it does not match fails in linear time."""
    p = possessive

    def token_line(group: int) -> str:
        return rf"\S+{p} (?:O\n|B-(\S+{p})\n(?:\S+{p} I-\{group}\n)*{p})"

    inside = rf"\S+{p} I-(\S+{p})\n(?:\S+{p} I-\1\n)*{p}"
    return re.compile(rf"(?:{inside}\n?|\n)?(?:(?:{token_line(2)})+{p}\n)*{p}(?:{token_line(3)})*{p}")


try:
    _GOOD_LINES = _good_lines("+")
except re.error:  # Python 3.10: no possessive quantifiers
    _GOOD_LINES = _good_lines("")
_SURROGATE = re.compile("[\udc80-\udcff]")
_BLOCK = 1 << 18


class _NerState:
    __slots__ = ("blank", "in_sentence", "number", "previous", "samples", "skip")

    def __init__(self) -> None:
        self.number = 0
        self.blank: bool | None = None  # was the previous line blank; None before the first
        self.skip = False  # the next line follows a first -DOCSTART- line
        self.in_sentence = False
        self.previous = "O"  # the previous token's tag
        self.samples = 0


class _Blocks:
    """A binary stream's text, a block of whole lines at a time: (text, bad),
    bad when the block is not valid UTF-8 (its text then holds surrogate
    escapes). Every block but the last ends with "\\n"; ``ended`` says
    whether the last does."""

    def __init__(self, fh: IO[bytes]):
        self.fh = fh
        self.ended = True

    def __iter__(self) -> Iterator[tuple[str, bool]]:
        rest = b""
        while True:
            block = self.fh.read(_BLOCK)
            if not block:
                break
            block = rest + block
            cut = block.rfind(b"\n") + 1
            block, rest = block[:cut], block[cut:]
            if block:
                yield _decode(block)
        if rest:
            self.ended = False
            yield _decode(rest)


def _decode(block: bytes) -> tuple[str, bool]:
    try:
        return block.decode("utf-8"), False
    except UnicodeDecodeError:
        return block.decode("utf-8", "surrogateescape"), True


def _records(reader: Any) -> Iterator[tuple[int, int, list[str]]]:
    """(first line, last line, cells) of each record."""
    before = 0
    for cells in reader:
        yield before + 1, reader.line_num, cells
        before = reader.line_num


_INT = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|inf|nan)\Z", re.IGNORECASE)
_BOOL = {"true", "false"}
_ORDER = {"int": 0, "float": 1}


def _merge_kind(kind: str | None, cell: str) -> str | None:
    """The type a column reads as, by type inference, so far (None: only
    empty cells so far)."""
    if not cell or kind == "string":
        return kind
    value = cell.strip()
    if _INT.match(value):
        this = "int"
    elif _FLOAT.match(value):
        this = "float"
    elif value.lower() in _BOOL:
        this = "boolean"
    else:
        return "string"
    if kind is None or kind == this:
        return this
    if kind in _ORDER and this in _ORDER:
        return "float"
    return "string"


def _space_message(text: str, spaces: int) -> str:
    if spaces == 0:
        if "\t" in text:
            return "token and tag are separated by a tab: AutoML needs exactly one space"
        if text.isspace():
            return "a line of only white space: a sentence break must be an empty line"
        return "no space: a line is `token tag`, with exactly one space"
    if text.endswith(" "):
        return f"{spaces} spaces (one at the end of the line): exactly one space, between token and tag"
    return (f"{spaces} spaces: exactly one space, between token and tag (a token holding a space, or more than two "
            "columns)")


def _tag_message(tag: str) -> str:
    if tag == "o":
        return "tag 'o': the outside tag is an uppercase O"
    if any(c.isspace() for c in tag):
        return f"tag {tag!r} holds white space"
    if tag in ("B-", "I-"):
        return f"tag {tag!r} has no label"
    if tag[:2] in ("b-", "i-"):
        return f"tag {tag!r}: the prefixes are uppercase B- and I-"
    if tag[:2] in ("E-", "S-", "L-", "U-"):
        return f"tag {tag!r}: BIOES/BILOU prefixes are not accepted, only B-, I- and O (IOB2)"
    return f"tag {tag!r} is neither O nor B-/I- and a label"

