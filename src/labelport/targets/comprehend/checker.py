"""Amazon Comprehend's rules (AMAZON_COMPREHEND_CSV; docs/amazon-comprehend.md),
checked on the files in a folder: labelport's output or another tool's.

What is checked is found from the files alone:

* every ``entity_recognizer.json`` (an InputDataConfig of CreateEntityRecognizer)
  names its documents and annotations (relative paths or s3:// URIs, looked up
  below the JSON's folder);
* every ``document_classifier.json`` (``Mode`` and ``InputDataConfig``) names
  its classifier CSVs;
* any other CSV is an annotations file when its first line looks like the
  annotations header (its documents are the files its ``File`` column names,
  the nearest of that name), else a classifier CSV; ``test`` in its path makes
  it a test set.

Hard findings break a rule the service enforces (training would fail); soft
ones miss a minimum (not ready for training). Files are streamed: what is
kept per documents file is its lines' lengths, per annotations file the
annotations of one line at a time and the highest line started per documents
file (plus a key per line whose annotations are out of line order), per set a
count per type or class.

Documents and annotations files are read in blocks of whole lines, checked
with C-level operations over a block (str methods, map over its lines); a
line is looked at on its own only to say what is wrong with it. What the
blocks cannot read exactly (quoted CSV fields, CR line ends, bytes that are
not UTF-8) is read again line by line, as it always was.
"""

from __future__ import annotations

import csv
import re
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import compress, count, islice, repeat
from operator import ge, le, lt, ne, not_, or_
from pathlib import Path
from typing import Any

import orjson

from ...report import Finding
from ...validate.findings import Findings
from ...validate.walk import Folder, files_below, walk
from .rules import (
    CLASSIFIER_JSON,
    DATA_FORMAT,
    DEFAULT_DELIMITER,
    DELIMITERS,
    HEADER,
    HEADER_PER_FILE,
    MAX_CLASSES,
    MAX_CORPUS_BYTES,
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENTS,
    MAX_LABEL_LENGTH,
    MAX_TYPE_LENGTH,
    MAX_TYPES,
    MIN_CORPUS_BYTES,
    MIN_DOCUMENTS,
    MIN_MULTI_LABEL_DOCUMENTS,
    MIN_PER_CLASS,
    MIN_PER_TYPE,
    MULTI_CLASS,
    MULTI_LABEL,
    ONE_DOC_PER_FILE,
    ONE_DOC_PER_LINE,
    RECOGNIZER_JSON,
)

_INT = re.compile(r"[0-9]+")
#: Characters read at a time from a documents file, an annotations file (small
#: blocks: what is made of one block is several times its size; the memory used
#: must not grow with the files).
_BLOCK = 1 << 16
_ROWS_BLOCK = 1 << 15
_TYPE_FORBIDDEN = ("\n", "\r", "\t", " ", ",", "\\n", "\\r", "\\t")


# -- entry point ------------------------------------------------------------------


def check(folder: Path) -> list[Finding]:
    out = Findings()
    walk(Path(folder), lambda files: _check_folder(files, out),
         "entity_recognizer.json, document_classifier.json, annotations CSV or classifier CSV")
    return out.done()


def _export_root(path: Path, folder: Path) -> bool:
    """Whether ``path`` is in the ROOT folder of an export-all tree (the
    source without labels, never training data)."""
    for parent in path.relative_to(folder).parents:
        name = parent.name
        if (name == "ROOT" or name.startswith("ROOT-")) and (folder / parent.parent / "project-data.json").is_file():
            return True
    return False


def _check_folder(folder: Folder, out: Findings) -> bool:
    """Check the training files in ``folder``; whether there were any."""
    out.name = folder.name
    files = [p for p in folder.files if not _export_root(p, folder.path)]
    claimed: set[Path] = set()
    found = False
    for config in (p for p in files if p.name == RECOGNIZER_JSON):
        found = True
        _check_recognizer_config(config, folder, out, claimed)
    for config in (p for p in files if p.name == CLASSIFIER_JSON):
        found = True
        _check_classifier_config(config, folder, out, claimed)
    loose = [p for p in files if p not in claimed and p.suffix.lower() == ".csv"]
    if loose:
        found = True
        by_name: dict[str, list[Path]] = {}
        for path in files:
            by_name.setdefault(path.name, []).append(path)
        annotations, tables = [], []
        for path in loose:
            (annotations if _looks_like_annotations(path) else tables).append(path)
        if annotations:
            _check_loose_entities(annotations, by_name, folder.path, out)
        if tables:
            parts = [Part(_split_of(p, folder.path)) for p in tables]
            for part, path in zip(parts, tables):
                part.files.append(path)
            mode = MULTI_LABEL if any(_has_pipe_label(p) for p in tables) else MULTI_CLASS
            _check_classifier(_merge(parts), mode, DEFAULT_DELIMITER, out, None)
    return found


def _split_of(path: Path, folder: Path) -> str:
    parts = [part.lower() for part in path.relative_to(folder).parts]
    return "test" if any("test" in part for part in parts) else "train"


def _looks_like_annotations(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            first = fh.readline(4096)
    except OSError:
        return False
    names = [name.strip().lower() for name in first.rstrip("\r\n").split(",")]
    return bool(names) and names[0].lstrip("\ufeff") == "file" and ("begin offset" in names or "type" in names)


def _has_pipe_label(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            for n, row in enumerate(csv.reader(fh)):
                if row and DEFAULT_DELIMITER in row[0]:
                    return True
                if n >= 1000:
                    break
    except (OSError, csv.Error):
        pass
    return False


# -- where a config points ------------------------------------------------------------


def _resolve(folder: Folder, base: Path, uri: str) -> list[Path]:
    """The files an S3Uri (or a relative path) names below ``base``: a folder's
    files, a file, or the files whose path starts with it (S3 prefix); the
    visible ones of ``folder``."""
    key = uri
    if key.startswith("s3://"):
        key = key[5:].partition("/")[2]
    parts = [part for part in key.split("/") if part]
    folder_only = key.endswith("/")
    for start in range(len(parts) + 1):
        candidate = base.joinpath(*parts[start:]) if parts[start:] else None
        if candidate is None:
            break
        if candidate.is_dir():
            return list(files_below(folder, candidate))
        if candidate.is_file() and not folder_only:
            return [candidate]
        if candidate.parent.is_dir() and not folder_only:
            prefix = [p for p in folder.files if p.parent == candidate.parent and p.name.startswith(candidate.name)]
            if prefix:
                return prefix
    return []


def _load_config(path: Path, out: Findings) -> dict[str, Any] | None:
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        out.add("comprehend.config.json", f"not valid JSON: {exc}", hard=True, file=path)
        return None
    if not isinstance(data, dict):
        out.add("comprehend.config.json", "not a JSON object", hard=True, file=path)
        return None
    return data


def _comprehend_csv(inputs: dict[str, Any], config: Path, out: Findings, what: str) -> bool:
    """Whether the config's DataFormat is COMPREHEND_CSV, the one labelport checks."""
    data_format = inputs.get("DataFormat", DATA_FORMAT)
    if data_format == DATA_FORMAT:
        return True
    out.add(
        "comprehend.config.format",
        f"DataFormat {data_format!r}: labelport checks {DATA_FORMAT}{what} only",
        hard=data_format != "AUGMENTED_MANIFEST",
        file=config,
    )
    return False


def _uri(data: Any, key: str, config: Path, out: Findings, *, required: bool) -> str | None:
    value = data.get(key) if isinstance(data, dict) else None
    if value is None:
        if required:
            out.add("comprehend.config.uri", f"{key} is missing", hard=True, file=config)
        return None
    if not isinstance(value, str) or not value:
        out.add("comprehend.config.uri", f"{key} must be a non-empty string, not {value!r}", hard=True, file=config)
        return None
    return value


def _files(folder: Folder, config: Path, key: str, uri: str | None, out: Findings, claimed: set[Path]) -> list[Path] | None:
    if uri is None:
        return None
    files = _resolve(folder, config.parent, uri)
    if not files:
        out.add("comprehend.config.uri", f"{key} {uri!r}: no such file or folder here", hard=True, file=config)
    claimed.update(files)
    return files


# -- entity recognizer -------------------------------------------------------------------


@dataclass
class DocumentsFile:
    """What is kept of a documents file: each document's length in code
    points (two bytes each while no document is longer than 65,535), and in
    UTF-16 units where that differs."""

    path: Path
    lengths: array = field(default_factory=lambda: array("H"))
    wide: dict[int, int] = field(default_factory=dict)
    bytes: int = 0

    def append(self, length: int) -> None:
        if length > 0xFFFF and self.lengths.typecode == "H":
            self.lengths = array("I", self.lengths)
        self.lengths.append(length)

    def extend(self, lengths: list[int]) -> None:
        if self.lengths.typecode == "H" and max(lengths, default=0) > 0xFFFF:
            self.lengths = array("I", self.lengths)
        self.lengths.extend(lengths)


@dataclass
class Part:
    """One split of a set: its documents and annotations (or classifier) files."""

    split: str
    files: list[Path] = field(default_factory=list)
    documents: dict[str, Path] = field(default_factory=dict)  # bare name -> path


class EntitySet:
    """One recognizer's data: train and optionally test, checked together."""

    def __init__(self, out: Findings, per_file: bool, config: Path | None, entity_types: list[str] | None):
        self.out = out
        self.per_file = per_file
        self.config = config
        self.entity_types = entity_types
        self.scanned: dict[Path, DocumentsFile] = {}
        self.counts: dict[str, Counter[str]] = {}
        self.documents: dict[str, set[Path]] = {}

    # documents ----------------------------------------------------------------
    def scan(self, path: Path, split: str) -> DocumentsFile:
        info = self.scanned.get(path)
        if info is None:
            info = self.scanned[path] = (_scan_file if self.per_file else _scan_lines)(path, self.out)
        self.documents.setdefault(split, set()).add(path)
        return info

    # annotations --------------------------------------------------------------
    def annotations(self, path: Path, split: str, find: Callable[[str], Path | None]) -> None:
        counts = self.counts.setdefault(split, Counter())
        if not self.per_file:
            # Blocks of lines at a time; anything the blocks cannot take exactly
            # (quotes, CR, undecodable bytes, ...) and the file is read again row
            # by row, as if the block reading had never happened.
            mark = self.out.mark(), counts.copy(), {k: set(v) for k, v in self.documents.items()}, set(self.scanned)
            try:
                self._annotation_blocks(path, split, find, counts)
                return
            except _Fallback:
                findings, saved, documents, scanned = mark
                self.out.restore(findings)
                counts.clear()
                counts.update(saved)
                self.documents = documents
                for key in [key for key in self.scanned if key not in scanned]:
                    del self.scanned[key]
        self._annotation_rows(path, split, find, counts)

    def _header(self, path: Path, first: str) -> tuple[str, list[int]]:
        expected = HEADER_PER_FILE if self.per_file else HEADER
        header = first.rstrip("\r\n")
        if header != expected:
            self.out.add(
                "comprehend.annotations.header",
                f"header is {header!r}; Comprehend needs exactly {expected!r} (no spaces after commas)",
                hard=True,
                file=path,
                line=1,
            )
        return expected, _columns(header, expected)

    def _annotation_rows(self, path: Path, split: str, find: Callable[[str], Path | None], counts: Counter[str]) -> None:
        """The file row by row (csv.reader): any CSV, either layout."""
        out = self.out
        try:
            with open(path, encoding="utf-8", newline="") as fh:
                expected, index = self._header(path, fh.readline())
                rows = _Rows(self, path, split, find, counts, expected, index)
                reader = csv.reader(fh)
                end_line = 1
                for row in reader:
                    number, end_line = end_line + 1, reader.line_num + 1
                    if row:
                        rows.row(row, number)
                rows.close()
        except UnicodeDecodeError as exc:
            out.add("comprehend.annotations.encoding", f"not UTF-8: {exc.reason} at byte {exc.start}", hard=True, file=path)
            return
        except csv.Error as exc:
            out.add("comprehend.annotations.csv", f"not a CSV file: {exc}", hard=True, file=path)
            return
        if rows.suspects:
            self._scattered(path, index, rows.suspects, rows.reported, find)

    def _annotation_blocks(self, path: Path, split: str, find: Callable[[str], Path | None], counts: Counter[str]) -> None:
        """A ONE_DOC_PER_LINE annotations file read in blocks of whole lines,
        each checked with C-level operations over the block (:meth:`_Rows.block`);
        a block with something to say goes row by row. Raises :class:`_Fallback`
        for what only csv.reader over the file reads exactly."""
        limit = csv.field_size_limit()
        try:
            with open(path, encoding="utf-8", newline="") as fh:
                expected, index = self._header(path, fh.readline())
                rows = _Rows(self, path, split, find, counts, expected, index)
                number = 2  # the CSV line of the block's first row
                carry = ""
                while True:
                    chunk = fh.read(_ROWS_BLOCK)
                    if not chunk:
                        break
                    if '"' in chunk or "\r" in chunk or "\0" in chunk:
                        raise _Fallback  # quoted fields, CR line ends: csv.reader's own reading
                    lines = (carry + chunk).split("\n")
                    carry = lines.pop()
                    if len(carry) >= limit:
                        raise _Fallback
                    if lines:
                        rows.block(lines, number, limit)
                        number += len(lines)
                if carry:
                    rows.block([carry], number, limit)
                rows.close()
        except (UnicodeDecodeError, csv.Error):
            raise _Fallback from None
        if rows.suspects:
            self._scattered(path, index, rows.suspects, rows.reported, find)

    def _type(self, kind: str, path: Path, number: int, bad: set[str]) -> bool:
        problem = _type_problem(kind)
        if problem is None:
            return True
        if kind not in bad:
            bad.add(kind)
            self.out.add("comprehend.annotations.type", f"Type {kind!r} {problem}", hard=True, file=path, line=number)
        return False

    def _span(
        self,
        path: Path,
        number: int,
        split: str,
        name: str,
        line_text: str,
        begin_text: str,
        end_text: str,
        find: Callable[[str], Path | None],
        missing: set[str],
    ) -> tuple[int, int, int] | None:
        out = self.out
        for column, value in (("Line", line_text), ("Begin Offset", begin_text), ("End Offset", end_text)):
            if not _INT.fullmatch(value):
                out.add("comprehend.annotations.number", f"{column} {value!r} is not a whole number >= 0", hard=True, file=path, line=number)
                return None
        line, begin, end = int(line_text), int(begin_text), int(end_text)
        if "/" in name or "\\" in name:
            out.add(
                "comprehend.annotations.file",
                f"File {name!r} must be the bare file name of a documents file (like documents.txt), not a path",
                hard=True,
                file=path,
                line=number,
            )
            return None
        documents = find(name)
        if documents is None:
            if name not in missing:
                missing.add(name)
                out.add(
                    "comprehend.annotations.file",
                    f"File {name!r} is not among the documents",
                    hard=True,
                    file=path,
                    line=number,
                )
            return None
        info = self.scan(documents, split)
        if line >= len(info.lengths):
            what = "document" if self.per_file else f"Line {line}: {name} has {len(info.lengths):,} lines (Line counts from 0)"
            out.add("comprehend.annotations.line", f"{what}", hard=True, file=path, line=number)
            return None
        if begin >= end:
            out.add(
                "comprehend.annotations.offsets",
                f"Begin Offset {begin} is not before End Offset {end} (the end is exclusive)",
                hard=True,
                file=path,
                line=number,
            )
            return None
        length = info.lengths[line]
        wide = info.wide.get(line, length)
        if end > wide:
            units = f"{length} code points" + (f", {wide} UTF-16 units" if wide != length else "")
            where = f"line {line} of {name}" if not self.per_file else name
            out.add(
                "comprehend.annotations.offsets",
                f"End Offset {end} is past the end of {where} ({units})",
                hard=True,
                file=path,
                line=number,
            )
            return None
        return line, begin, end

    def _overlap(self, path: Path, number: int, key: tuple[str, int]) -> None:
        name, line = key
        where = f"line {line} of {name}" if not self.per_file else name
        self.out.add(
            "comprehend.annotations.overlap",
            f"overlaps an earlier annotation on {where}; Comprehend does not take overlapping annotations",
            hard=True,
            file=path,
            line=number,
        )

    def _scattered(
        self,
        path: Path,
        index: list[int],
        keys: set[tuple[str, int]],
        reported: set[int],
        find: Callable[[str], Path | None],
    ) -> None:
        """Annotations of one document spread over the file: read again,
        keeping only those documents' annotations."""
        groups: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
        with open(path, encoding="utf-8", newline="") as fh:
            fh.readline()
            reader = csv.reader(fh)
            end_line = 1
            for row in reader:
                number, end_line = end_line + 1, reader.line_num + 1
                if len(row) != len(index):
                    continue
                values = [row[i] for i in index]
                if self.per_file:
                    values.insert(1, "0")
                if not all(_INT.fullmatch(value) for value in values[1:4]):
                    continue
                key = (values[0], int(values[1]))
                if key not in keys:
                    continue
                begin, end = int(values[2]), int(values[3])
                info = self.scanned[find(key[0])]  # type: ignore[index]
                if begin < end <= info.wide.get(key[1], info.lengths[key[1]]):  # the ones found valid before
                    groups.setdefault(key, []).append((begin, end, number))
        for key, group in groups.items():
            for number in _overlapping(group):
                if number not in reported:
                    self._overlap(path, number, key)

    # the set as a whole -----------------------------------------------------------------
    def finish(self, first_annotations: Path | None) -> None:
        out = self.out
        train = self.counts.get("train", Counter())
        test = self.counts.get("test")
        used = set(train) | set(test or ())
        where = self.config or first_annotations
        if self.entity_types is not None:
            listed = set(self.entity_types)
            for kind in sorted(used - listed):
                out.add(
                    "comprehend.types.listed",
                    f"Type {kind} is in the annotations but not in EntityTypes (Comprehend would ignore it)",
                    hard=True,
                    file=self.config,
                )
            types = listed | used
        else:
            types = used
        if len(types) > MAX_TYPES:
            out.add(
                "comprehend.types.count",
                f"{len(types)} entity types; Comprehend trains at most {MAX_TYPES}",
                hard=True,
                file=where,
            )
        documents = sum(len(self.scanned[p].lengths) for p in self.documents.get("train", ()))
        corpus = sum(self.scanned[p].bytes for p in self.documents.get("train", ()))
        if documents > MAX_DOCUMENTS:
            out.add("comprehend.documents.count", f"{documents:,} training documents; at most {MAX_DOCUMENTS:,}", hard=True, file=where)
        if corpus > MAX_CORPUS_BYTES:
            out.add("comprehend.documents.corpus", f"{corpus:,} bytes of training text; at most 200 MB", hard=True, file=where)
        if documents < MIN_DOCUMENTS:
            out.add(
                "comprehend.minimum.documents",
                f"{documents} training documents; Comprehend needs at least {MIN_DOCUMENTS}",
                hard=False,
                file=where,
            )
        if corpus < MIN_CORPUS_BYTES:
            out.add(
                "comprehend.minimum.corpus",
                f"{corpus:,} bytes of training text; Comprehend needs at least 5 KB ({MIN_CORPUS_BYTES:,} bytes)",
                hard=False,
                file=where,
            )
        for kind in sorted(types):
            if train[kind] < MIN_PER_TYPE:
                out.add(
                    "comprehend.minimum.annotations",
                    f"{train[kind]} training annotations of type {kind}; Comprehend needs at least {MIN_PER_TYPE} per type",
                    hard=False,
                    file=where,
                )
        if test is not None:
            for kind in sorted(types):
                if not test[kind]:
                    out.add(
                        "comprehend.minimum.test",
                        f"the test set has no annotation of type {kind}; Comprehend needs at least one of each type",
                        hard=False,
                        file=where,
                    )


class _Fallback(Exception):
    """A block reading met what only the row-by-row reading handles exactly."""


class _Rows:
    """The checks of one annotations file's rows, in order.

    Annotations of one document (File and Line) are a group, checked for
    overlaps when the next group starts. A group that starts again after
    others (annotations of a document scattered through the file) is found
    again in a second reading (:meth:`EntitySet._scattered`). What is kept to
    find them is bounded: per File the highest Line started so far; a group
    starting at or below it is a *suspect* (it may have been seen before) and
    goes to the second reading. Files written in line order (labelport's)
    have no suspect; others keep one key per group out of order.
    """

    def __init__(
        self,
        entity_set: EntitySet,
        path: Path,
        split: str,
        find: Callable[[str], Path | None],
        counts: Counter[str],
        expected: str,
        index: list[int],
    ):
        self.set = entity_set
        self.out = entity_set.out
        self.path = path
        self.split = split
        self.find = find
        self.counts = counts
        self.per_file = entity_set.per_file
        self.width = expected.count(",") + 1
        self.index = index
        self.bad_types: set[str] = set()
        self.good_types: set[str] = set()
        self.missing: set[str] = set()
        self.key: tuple[str, int] | None = None
        self.group: list[tuple[int, int, int]] = []  # (begin, end, csv line) of the open group
        self.high: dict[str, int] = {}  # File -> highest Line a group started at
        self.suspects: set[tuple[str, int]] = set()
        self.reported: set[int] = set()  # csv lines found overlapping

    def row(self, row: list[str], number: int) -> None:
        """One non-empty row."""
        entity_set = self.set
        if len(row) != self.width:
            expected = HEADER_PER_FILE if self.per_file else HEADER
            self.out.add(
                "comprehend.annotations.fields",
                f"{len(row)} fields; a row has {self.width} ({expected})",
                hard=True,
                file=self.path,
                line=number,
            )
            return
        values = [row[i] for i in self.index]
        if self.per_file:
            name, line_text, begin_text, end_text, kind = values[0], "0", *values[1:]
        else:
            name, line_text, begin_text, end_text, kind = values
        if entity_set._type(kind, self.path, number, self.bad_types):
            self.counts[kind] += 1
        span = entity_set._span(self.path, number, self.split, name, line_text, begin_text, end_text, self.find, self.missing)
        if span is None:
            return
        line, begin, end = span
        if (name, line) != self.key:
            self.close()
            self.start(name, line)
        self.group.append((begin, end, number))

    def start(self, name: str, line: int) -> None:
        high = self.high.get(name, -1)
        if line <= high:
            self.suspects.add((name, line))
        else:
            self.high[name] = line
        self.key, self.group = (name, line), []

    def close(self) -> None:
        """Check the open group for overlaps."""
        if self.key is None or len(self.group) < 2:
            return
        for number in _overlapping(self.group):
            self.reported.add(number)
            self.set._overlap(self.path, number, self.key)

    def block(self, lines: list[str], first: int, limit: int) -> None:
        """Whole lines (no quote, CR or NUL in them) from CSV line ``first`` on."""
        if max(map(len, lines)) >= limit:
            raise _Fallback  # csv.reader's field limit: its error, its way
        if not self.fast(lines, first):
            for number, row in enumerate(csv.reader(lines), first):  # without quotes: one line, one row
                if row:
                    self.row(row, number)

    def fast(self, lines: list[str], first: int) -> bool:
        """The block checked as a whole: True when every row is a valid
        annotation of one documents file, in line order, without overlaps
        (nothing to report), and counted; else False, and nothing done.
        (Blocks come from one-document-per-line annotations only: see
        EntitySet.annotations.)"""
        n = len(lines)
        if set(map(str.count, lines, repeat(","))) != {4}:
            return False
        fields = ",".join(lines).split(",")
        names, line_texts, begin_texts, end_texts, kinds = (fields[i::5] for i in self.index)
        name = names[0]
        if names.count(name) != n or "/" in name or "\\" in name:
            return False
        lines_, begins, ends = _whole_numbers(line_texts), _whole_numbers(begin_texts), _whole_numbers(end_texts)
        if lines_ is None or begins is None or ends is None:
            return False
        types = set(kinds)
        if not types <= self.good_types:
            if any(_type_problem(kind) for kind in types):
                return False
            self.good_types |= types
        documents = self.find(name)
        if documents is None or documents not in self.set.scanned:
            return False  # (a file first named here is scanned where the row by row reading would)
        info = self.set.scan(documents, self.split)
        if not all(map(le, lines_, islice(lines_, 1, None))) or lines_[-1] >= len(info.lengths):
            return False
        if not all(map(lt, begins, ends)):
            return False
        limits = map(info.lengths.__getitem__, lines_)
        if info.wide:
            limits = map(info.wide.get, lines_, limits)
        if not all(map(le, ends, limits)):
            return False
        # one document's annotations in order, each after the one before
        if not all(map(or_, map(ne, lines_, islice(lines_, 1, None)), map(ge, islice(begins, 1, None), ends))):
            return False
        head = lines_[0]
        cont = self.key == (name, head)  # the open group goes on
        p = bisect_right(lines_, head) if cont else 0
        if p < n and lines_[p] <= self.high.get(name, -1):
            return False  # out of order: the row by row bookkeeping
        # nothing to report: count, and carry the last group on
        self.counts.update(kinds)
        if cont:
            self.group.extend(zip(begins[:p], ends[:p], range(first, first + p)))
            if p == n:
                return True
        self.close()
        last = lines_[-1]
        q = bisect_left(lines_, last)
        self.key = (name, last)
        self.group = list(zip(begins[q:], ends[q:], range(first + q, first + n)))
        self.high[name] = last
        return True


def _whole_numbers(texts: list[str]) -> list[int] | None:
    """``texts`` as numbers when each is digits only (``_INT``), in one
    orjson.loads; None when one is not (or has a leading zero, which JSON
    does not take: the row by row reading says what it is)."""
    joined = ",".join(texts)
    if "-" in joined or " " in joined or "\t" in joined:  # what JSON takes in a number, or around it
        return None
    try:
        numbers = orjson.loads("[" + joined + "]")
    except orjson.JSONDecodeError:
        return None
    if len(numbers) != len(texts) or set(map(type, numbers)) != {int}:  # not 1.5, 1e3, true, [1] or 2**64
        return None
    return numbers


def _columns(header: str, expected: str) -> list[int]:
    """Where each expected column is in a (possibly misspelt) header: by
    name, spaces and case ignored; else in the expected order."""
    want = [name.lower() for name in expected.split(",")]
    names = [name.strip().lower().lstrip("\ufeff") for name in next(csv.reader([header]), [])]
    if sorted(names) == sorted(want):
        return [names.index(name) for name in want]
    return list(range(len(want)))


def _type_problem(kind: str) -> str | None:
    if not kind:
        return "is empty"
    if len(kind) > MAX_TYPE_LENGTH:
        return f"is {len(kind)} characters long; at most {MAX_TYPE_LENGTH}"
    for bad in _TYPE_FORBIDDEN:
        if bad in kind:
            return f"holds {_NAMES[bad]}; a type cannot hold a space, comma, tab, CR or newline"
    return None


_NAMES = {
    "\n": "a newline",
    "\r": "a carriage return",
    "\t": "a tab",
    " ": "a space",
    ",": "a comma",
    "\\n": "an escaped newline (\\n)",
    "\\r": "an escaped carriage return (\\r)",
    "\\t": "an escaped tab (\\t)",
}


def _overlapping(group: list[tuple[int, int, int]]) -> Iterator[int]:
    """CSV line numbers of the annotations that overlap an earlier one."""
    if len(group) < 2:
        return
    reach = -1
    for begin, end, number in sorted(group):
        if begin < reach:
            yield number
        reach = max(reach, end)


def _scan_lines(path: Path, out: Findings) -> DocumentsFile:
    """A ONE_DOC_PER_LINE documents file: each line 1 to 5,000 UTF-8 bytes.
    Lines end with LF, CR or CRLF.

    Read in blocks of whole lines; a line is looked at on its own only when
    it is not ASCII or the block has an empty or long line. A file that is
    not UTF-8 is read again line by line (:func:`_scan_lines_by_line`), as
    if the block reading had never happened."""
    mark = out.mark()
    try:
        return _scan_line_blocks(path, out)
    except UnicodeDecodeError:
        out.restore(mark)
        return _scan_lines_by_line(path, out)


def _scan_line_blocks(path: Path, out: Findings) -> DocumentsFile:
    info = DocumentsFile(path)
    total = 0
    head: list[str] = []  # the line not ended yet, in pieces (a long one in many)
    with open(path, encoding="utf-8", newline=None) as fh:
        while True:
            chunk = fh.read(_BLOCK)
            if not chunk:
                break
            head.append(chunk)
            if "\n" not in chunk:
                continue
            text = "".join(head)
            lines = text.split("\n")
            head = [lines.pop()]
            total += _documents_block(lines, text.isascii(), info, out)
    carry = "".join(head)
    if carry:
        total += _documents_block([carry], carry.isascii(), info, out)
    info.bytes = total
    return info


def _documents_block(lines: list[str], ascii: bool, info: DocumentsFile, out: Findings) -> int:
    """Record the lengths of some lines (documents) of ``info``'s file; report
    the empty and the long ones; return their size in UTF-8 bytes. ``ascii``:
    whether all the lines are ASCII."""
    base = len(info.lengths)
    sizes = list(map(len, lines))
    info.extend(sizes)
    total = sum(sizes)
    longest = max(sizes)
    long_other = False  # a line that is not ASCII and may be more than 5,000 bytes
    for i in () if ascii else compress(count(), map(not_, map(str.isascii, lines))):
        text = lines[i]
        length = sizes[i]
        size = len(text.encode("utf-8"))
        total += size - length
        if size > MAX_DOCUMENT_BYTES:
            long_other = True
        if max(text) > "\uffff":
            units = len(text.encode("utf-16-le", "surrogatepass")) // 2
            if units != length:
                info.wide[base + i] = units
    if min(sizes) == 0 or longest > MAX_DOCUMENT_BYTES or long_other:
        for i, text in enumerate(lines):
            _document_size(sizes[i] if text.isascii() else len(text.encode("utf-8")), info.path, base + i + 1, out)
    return total


def _document_size(size: int, path: Path, line: int, out: Findings) -> None:
    """Report a document (line) of ``size`` UTF-8 bytes that Comprehend refuses."""
    if size == 0:
        out.add("comprehend.documents.empty", f"empty line: each line is a document of 1 to {MAX_DOCUMENT_BYTES:,} bytes", hard=True,
                file=path, line=line)
    elif size > MAX_DOCUMENT_BYTES:
        out.add("comprehend.documents.size",
                f"line of {size:,} UTF-8 bytes; a document is at most {MAX_DOCUMENT_BYTES:,} bytes", hard=True,
                file=path, line=line)


def _scan_lines_by_line(path: Path, out: Findings) -> DocumentsFile:
    """:func:`_scan_lines` one line at a time (for a file that is not UTF-8:
    what comes before the bad bytes is reported as it always was)."""
    info = DocumentsFile(path)
    wide = info.wide
    total = 0
    try:
        with open(path, encoding="utf-8", newline=None) as fh:
            for n, text in enumerate(fh):
                text = text.removesuffix("\n")
                if text.isascii():
                    size = length = len(text)
                else:
                    length = len(text)
                    size = len(text.encode("utf-8"))
                    units = len(text.encode("utf-16-le", "surrogatepass")) // 2
                    if units != length:
                        wide[n] = units
                info.append(length)
                total += size
                _document_size(size, path, n + 1, out)
    except UnicodeDecodeError as exc:
        out.add(
            "comprehend.documents.encoding",
            f"not UTF-8: {exc.reason} after line {len(info.lengths)}",
            hard=True,
            file=path,
            line=len(info.lengths) + 1,
        )
    info.bytes = total
    return info


def _scan_file(path: Path, out: Findings) -> DocumentsFile:
    """A ONE_DOC_PER_FILE document: the whole file, 1 to 5,000 bytes."""
    info = DocumentsFile(path)
    length = units = 0
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            while chunk := fh.read(1 << 20):
                length += len(chunk)
                units += len(chunk.encode("utf-16-le", "surrogatepass")) // 2 if not chunk.isascii() else len(chunk)
    except UnicodeDecodeError as exc:
        out.add("comprehend.documents.encoding", f"not UTF-8: {exc.reason}", hard=True, file=path)
    info.append(length)
    if units != length:
        info.wide[0] = units
    info.bytes = size = path.stat().st_size
    if size == 0 or size > MAX_DOCUMENT_BYTES:
        out.add(
            "comprehend.documents.size",
            f"{size:,} bytes; a document is 1 to {MAX_DOCUMENT_BYTES:,} bytes",
            hard=True,
            file=path,
        )
    return info


def _check_recognizer_config(config: Path, folder: Folder, out: Findings, claimed: set[Path]) -> None:
    data = _load_config(config, out)
    if data is None:
        return
    data = data.get("InputDataConfig", data)  # the whole request, or just its InputDataConfig
    if not isinstance(data, dict):
        out.add("comprehend.config.json", "InputDataConfig is not an object", hard=True, file=config)
        return
    if not _comprehend_csv(data, config, out, " (annotations CSV and documents)"):
        return
    entity_types = _entity_types(data.get("EntityTypes"), config, out)
    documents = data.get("Documents")
    annotations = data.get("Annotations")
    if not isinstance(documents, dict):
        out.add("comprehend.config.uri", "Documents {S3Uri, InputFormat} is missing", hard=True, file=config)
        return
    if annotations is None and data.get("EntityList") is not None:
        out.add("comprehend.config.format", "an EntityList is not checked; labelport checks annotations", hard=False, file=config)
        return
    if not isinstance(annotations, dict):
        out.add("comprehend.config.uri", "Annotations {S3Uri} is missing", hard=True, file=config)
        return
    input_format = documents.get("InputFormat", ONE_DOC_PER_LINE)
    if input_format not in (ONE_DOC_PER_LINE, ONE_DOC_PER_FILE):
        out.add(
            "comprehend.config.input_format",
            f"InputFormat {input_format!r}: {ONE_DOC_PER_LINE} or {ONE_DOC_PER_FILE}",
            hard=True,
            file=config,
        )
        return
    entity_set = EntitySet(out, input_format == ONE_DOC_PER_FILE, config, entity_types)
    first: Path | None = None
    for split, key in (("train", "S3Uri"), ("test", "TestS3Uri")):
        doc_files = _files(folder, config, f"Documents.{key}", _uri(documents, key, config, out, required=key == "S3Uri"), out, claimed)
        ann_files = _files(folder, config, f"Annotations.{key}", _uri(annotations, key, config, out, required=key == "S3Uri"), out, claimed)
        if doc_files is None and ann_files is None:
            continue
        if (doc_files is None) != (ann_files is None):
            given, lacking = ("Documents", "Annotations") if ann_files is None else ("Annotations", "Documents")
            out.add(
                "comprehend.config.uri",
                f"{given}.{key} is given but {lacking}.{key} is not",
                hard=True,
                file=config,
            )
        by_name: dict[str, Path] = {}
        for path in doc_files or ():
            by_name.setdefault(path.name, path)
            entity_set.scan(path, split)
        if split == "test":
            entity_set.counts.setdefault("test", Counter())
        for path in ann_files or ():
            first = first or path
            entity_set.annotations(path, split, by_name.get)
    entity_set.finish(first)


def _entity_types(value: Any, config: Path, out: Findings) -> list[str] | None:
    if not isinstance(value, list) or not value:
        out.add("comprehend.config.types", "EntityTypes must list the types to train: [{\"Type\": ...}]", hard=True, file=config)
        return None
    types = []
    for item in value:
        kind = item.get("Type") if isinstance(item, dict) else None
        if not isinstance(kind, str):
            out.add("comprehend.config.types", f"EntityTypes entry {item!r} has no Type", hard=True, file=config)
            continue
        problem = _type_problem(kind)
        if problem:
            out.add("comprehend.config.types", f"EntityTypes: Type {kind!r} {problem}", hard=True, file=config)
        types.append(kind)
    return types


def _check_loose_entities(annotations: list[Path], by_name: dict[str, list[Path]], folder: Path, out: Findings) -> None:
    """Annotations CSVs no config names: each ``File`` is the nearest file of
    that name (most path in common with the CSV)."""
    entity_set = EntitySet(out, False, None, None)
    for path in annotations:
        split = _split_of(path, folder)
        nearest: dict[str, Path | None] = {}

        def find(name: str, path: Path = path, nearest: dict[str, Path | None] = nearest) -> Path | None:
            if name not in nearest:
                candidates = by_name.get(name, [])
                nearest[name] = max(candidates, key=lambda c: _common(c, path), default=None)
            return nearest[name]

        if split == "test":
            entity_set.counts.setdefault("test", Counter())
        entity_set.annotations(path, split, find)
    entity_set.finish(annotations[0])


def _common(a: Path, b: Path) -> int:
    n = 0
    for x, y in zip(a.parts, b.parts):
        if x != y:
            break
        n += 1
    return n


# -- classifier ----------------------------------------------------------------------------


def _check_classifier_config(config: Path, folder: Folder, out: Findings, claimed: set[Path]) -> None:
    data = _load_config(config, out)
    if data is None:
        return
    mode = data.get("Mode", MULTI_CLASS)
    if mode not in (MULTI_CLASS, MULTI_LABEL):
        out.add("comprehend.config.mode", f"Mode {mode!r}: MULTI_CLASS or MULTI_LABEL", hard=True, file=config)
        mode = MULTI_CLASS
    inputs = data.get("InputDataConfig")
    if not isinstance(inputs, dict):
        out.add("comprehend.config.uri", "InputDataConfig {DataFormat, S3Uri, ...} is missing", hard=True, file=config)
        return
    if not _comprehend_csv(inputs, config, out, ""):
        return
    delimiter = inputs.get("LabelDelimiter", DEFAULT_DELIMITER)
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter not in DELIMITERS:
        out.add(
            "comprehend.config.delimiter",
            f"LabelDelimiter {delimiter!r}: one character of {DELIMITERS!r}",
            hard=True,
            file=config,
        )
        delimiter = DEFAULT_DELIMITER
    parts = []
    for split, key in (("train", "S3Uri"), ("test", "TestS3Uri")):
        files = _files(folder, config, key, _uri(inputs, key, config, out, required=key == "S3Uri"), out, claimed)
        if files is not None:
            parts.append(Part(split, files))
    _check_classifier(parts, mode, delimiter, out, config)


def _merge(parts: list[Part]) -> list[Part]:
    merged: dict[str, Part] = {}
    for part in parts:
        merged.setdefault(part.split, Part(part.split)).files.extend(part.files)
    return list(merged.values())


def _check_classifier(parts: list[Part], mode: str, delimiter: str, out: Findings, config: Path | None) -> None:
    counts: Counter[str] = Counter()
    documents = 0
    first: Path | None = None
    for part in parts:
        for path in part.files:
            first = first or path
            n = _classifier_file(path, mode, delimiter, out, counts if part.split == "train" else None)
            if part.split == "train":
                documents += n
    where = config or first
    if len(counts) > MAX_CLASSES[mode]:
        out.add(
            "comprehend.classifier.classes",
            f"{len(counts):,} classes; a {mode} classifier has at most {MAX_CLASSES[mode]:,}",
            hard=True,
            file=where,
        )
    if mode == MULTI_CLASS and len(counts) < 2:
        out.add(
            "comprehend.minimum.classes",
            f"{len(counts)} class(es) in the training data; a classifier needs at least 2",
            hard=False,
            file=where,
        )
    least = MIN_PER_CLASS[mode]
    for label, n in sorted(counts.items()):
        if n < least:
            out.add(
                "comprehend.minimum.class",
                f"{n} training documents of class {label!r}; Comprehend needs at least {least} per class ({mode})",
                hard=False,
                file=where,
            )
    if mode == MULTI_LABEL and documents < MIN_MULTI_LABEL_DOCUMENTS:
        out.add(
            "comprehend.minimum.documents",
            f"{documents} training documents; a multi-label classifier needs at least {MIN_MULTI_LABEL_DOCUMENTS}",
            hard=False,
            file=where,
        )


def _classifier_file(path: Path, mode: str, delimiter: str, out: Findings, counts: Counter[str] | None) -> int:
    """Check one classifier CSV; count its classes into ``counts``; return its documents."""
    documents = 0
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            end_line = 0
            for row in reader:
                number, end_line = end_line + 1, reader.line_num
                if not row:
                    continue
                if number == 1 and [cell.strip().lower().lstrip("\ufeff") for cell in row] in (["label", "text"], ["labels", "text"]):
                    out.add(
                        "comprehend.classifier.header",
                        f"a header row {','.join(row)!r}: the classifier CSV has none (the row would be a document)",
                        hard=True,
                        file=path,
                        line=number,
                    )
                    continue
                if len(row) != 2:
                    out.add(
                        "comprehend.classifier.fields",
                        f"{len(row)} fields; a row is label,text (quote text that holds a comma)",
                        hard=True,
                        file=path,
                        line=number,
                    )
                    continue
                documents += 1
                cell, text = row
                labels = cell.split(delimiter) if mode == MULTI_LABEL else [cell]
                for label in labels:
                    if not label.strip():
                        message = "an empty label" + (
                            f" (a label that holds the delimiter {delimiter!r}, or a stray one)" if mode == MULTI_LABEL and cell else ""
                        )
                        out.add("comprehend.classifier.label", message, hard=True, file=path, line=number)
                    elif len(label) > MAX_LABEL_LENGTH:
                        out.add(
                            "comprehend.classifier.label",
                            f"a label of {len(label):,} characters; at most {MAX_LABEL_LENGTH:,}",
                            hard=True,
                            file=path,
                            line=number,
                        )
                    elif counts is not None:
                        counts[label] += 1
                if not text.strip():
                    out.add("comprehend.classifier.text", "empty text", hard=False, file=path, line=number)
    except UnicodeDecodeError as exc:
        out.add("comprehend.classifier.encoding", f"not UTF-8: {exc.reason} at byte {exc.start}", hard=True, file=path)
    except csv.Error as exc:
        out.add("comprehend.classifier.csv", f"not a CSV file: {exc}", hard=True, file=path)
    return documents
