"""Vertex AI text dataset import files, checked on disk (GCP_VERTEX_AI_CSV;
docs/vertex-ai.md lists the rules).

Reads only the files: every ``vertex_dataset.json`` (an ImportDataConfig:
``importSchemaUri`` and ``gcsSource.uris``), every ``*.jsonl`` (import lines:
``textContent`` or ``textGcsUri``, ``textSegmentAnnotations`` or
``classificationAnnotation(s)``, ``dataItemResourceLabels``) and every
``*.csv`` (classification rows ``[ml_use],"text",label[,label...]``, or a list
of JSONL files to import) under the folder, labelport's or another tool's
(or in its zips, as :mod:`labelport.validate.walk` says).

Each file is streamed; what is kept across lines is bounded (label counts,
findings capped per rule and file), so memory does not grow with
the size of the dataset. JSONL files are read in blocks of whole lines: a
block of extraction lines is checked with C-level operations over all its
lines (map, set, itemgetter), and a line is looked at on its own only to say
what is wrong with it (or when its offsets' unit or a long entity needs a
closer look); CSV files are read row by row.

Hard findings break a rule the import enforces; soft ones miss a minimum or a
recommendation (not ready for training). Minimums are checked per dataset:
what a ``vertex_dataset.json`` names, else each import file (a CSV listing
JSONL files counts them together).
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, compress, count, islice, pairwise, repeat
from operator import ge, itemgetter, le, lt, ne, not_, or_, sub
from pathlib import Path
from typing import Any

import orjson

from ...report import Finding
from ...validate.findings import CAP, Findings
from ...validate.walk import Folder, walk
from .rules import (
    CLASSIFICATION,
    CLASSIFICATION_MAX_DOCUMENTS,
    CLASSIFICATION_MAX_LABELS,
    CLASSIFICATION_MIN_DOCUMENTS,
    CLASSIFICATION_MIN_LABELS,
    CLASSIFICATION_MIN_PER_LABEL,
    ENTITY_MAX_WORDS,
    EXTRACTION,
    EXTRACTION_LABEL_CHARS,
    EXTRACTION_MAX_DOCUMENTS,
    EXTRACTION_MAX_LABELS,
    EXTRACTION_MIN_DOCUMENTS,
    IMPORT_SUFFIXES,
    MANIFEST,
    ML_USE_KEY,
    ML_USES,
    MULTI,
    SCHEMAS,
    SINGLE,
)

#: Distinct labels counted; past this a dataset is far over any limit anyway.
LABEL_CAP = 10_000

# Words a first CSV column holds when it was meant as ml_use.
_ML_USE_LIKE = {
    "train", "training", "validation", "validate", "valid", "val", "dev", "test", "testing",
    "eval", "evaluation", "unassigned", "ml_use", "mluse",
}
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: Bytes read at a time from a JSONL file.
_BLOCK = 1 << 16
_BOM = b"\xef\xbb\xbf"
_RESOURCE_LABELS = "dataItemResourceLabels"
_ML_USE_OR_NONE = {None, *ML_USES}


def check(folder: Path) -> list[Finding]:
    out = Findings(caps={"vertex.extraction.entity_words": 5})  # a recommendation says less
    walk(Path(folder), lambda files: _Checker(files, out).run(), f"{MANIFEST}, *.jsonl or *.csv import file")
    return out.done()


# -- what a file holds (for the dataset minimums) ---------------------------------


@dataclass
class _Stats:
    kind: str | None = None  # EXTRACTION or CLASSIFICATION, from the lines
    documents: int = 0
    label_documents: Counter[str] = field(default_factory=Counter)  # label -> documents it is on
    labels_overflow: bool = False
    unresolved: int = 0  # sources that are not local files (gs:// without a local copy)

    def add_labels(self, labels: set[str]) -> None:
        for label in labels:
            if label in self.label_documents or len(self.label_documents) < LABEL_CAP:
                self.label_documents[label] += 1
            else:
                self.labels_overflow = True

    def merge(self, other: _Stats) -> None:
        self.kind = self.kind or other.kind
        self.documents += other.documents
        self.unresolved += other.unresolved
        self.labels_overflow |= other.labels_overflow
        for label, n in other.label_documents.items():
            if label in self.label_documents or len(self.label_documents) < LABEL_CAP:
                self.label_documents[label] += n
            else:
                self.labels_overflow = True


@dataclass
class _FileResult:
    stats: _Stats
    #: a CSV that lists files to import: the local files it names
    listed: list[Path] | None = None


# -- the checker -------------------------------------------------------------------


class _Checker:
    def __init__(self, folder: Folder, out: Findings):
        self.folder = folder
        self.f = out
        self.results: dict[Path, _FileResult] = {}
        self.schema_of_dir: dict[Path, str | None] = {}
        self.schema_of_file: dict[Path, str] = {}  # what a manifest declares for its sources

    def rel(self, path: Path) -> str:
        return self.folder.name(path)

    def run(self) -> bool:
        """Check the import files; whether there were any."""
        manifests, data = [], []
        for path in self.folder.files:
            if path.name == MANIFEST:
                manifests.append(path)
            elif path.suffix.lower() in IMPORT_SUFFIXES:
                data.append(path)
        if not manifests and not data:
            return False

        manifest_sources: dict[Path, list[Path | None]] = {}
        for manifest in manifests:
            manifest_sources[manifest] = self.check_manifest(manifest)
        for path in data:
            self.result(path)

        # Datasets: what a manifest names; in a folder without one, each listing
        # CSV with what it lists, and each data file nothing lists.
        managed_dirs = {m.parent for m in manifests}
        listed: set[Path] = {source for sources in manifest_sources.values() for source in sources if source}
        for path in data:
            result = self.results[path]
            if result.listed is not None:
                listed.update(result.listed)
        for manifest, sources in manifest_sources.items():
            if sources:
                self.minimums(self.schema_of_dir.get(manifest.parent), self.dataset(sources), self.rel(manifest))
        for path in data:
            if path.parent in managed_dirs or path in listed:
                continue
            self.minimums(self.schema(path), self.dataset([path]), self.rel(path))
        return True

    def result(self, path: Path) -> _FileResult:
        result = self.results.get(path)
        if result is None:
            # mark first, so a CSV that lists itself does not loop
            result = self.results[path] = _FileResult(_Stats())
            checked = self.check_csv(path) if path.suffix.lower() == ".csv" else self.check_jsonl(path)
            result.stats, result.listed = checked.stats, checked.listed
        return result

    def dataset(self, sources: list[Path | None]) -> _Stats:
        total = _Stats()
        seen: set[Path] = set()
        for source in sources:
            if source is None:
                total.unresolved += 1
                continue
            if source in seen:
                continue
            seen.add(source)
            result = self.result(source)
            if result.listed is not None:
                for listed in result.listed:
                    if listed not in seen:
                        seen.add(listed)
                        total.merge(self.result(listed).stats)
            total.merge(result.stats)
        return total

    # -- vertex_dataset.json -----------------------------------------------------
    def check_manifest(self, path: Path) -> list[Path | None]:
        rel = self.rel(path)
        self.schema_of_dir[path.parent] = None
        try:
            data = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            self.f.add("vertex.manifest.json", f"not valid JSON: {exc}", hard=True, file=rel)
            return []
        if not isinstance(data, dict):
            self.f.add("vertex.manifest.json", "must be a JSON object (an ImportDataConfig)", hard=True, file=rel)
            return []
        schema = data.get("importSchemaUri")
        if schema not in SCHEMAS:
            self.f.add(
                "vertex.manifest.schema",
                f"importSchemaUri {schema!r} is not a text classification or extraction import schema "
                f"({', '.join(SCHEMAS)})",
                hard=True,
                file=rel,
            )
        else:
            self.schema_of_dir[path.parent] = SCHEMAS[schema]
        source = data.get("gcsSource")
        uris = source.get("uris") if isinstance(source, dict) else None
        if not isinstance(uris, list) or not uris or not all(isinstance(u, str) and u for u in uris):
            self.f.add("vertex.manifest.source", "gcsSource.uris must be a non-empty list of URIs", hard=True, file=rel)
            return []
        sources = [self.resolve(uri, path, rel, None, "vertex.manifest.source") for uri in uris]
        declared = self.schema_of_dir[path.parent]
        if declared is not None:
            for source in sources:
                if source is not None:
                    self.schema_of_file.setdefault(source, declared)
        return sources

    def schema(self, path: Path) -> str | None:
        return self.schema_of_file.get(path) or self.schema_of_dir.get(path.parent)

    def resolve(self, uri: str, base: Path, rel: str, line: int | None, rule: str) -> Path | None:
        """The local file an import source names: a relative path (labelport
        writes these until the files are uploaded), or the local copy of a
        gs:// URI's file; None when it is only on Cloud Storage."""
        folder = base.parent
        if uri.startswith("gs://"):
            name = uri.rstrip("/").rsplit("/", 1)[-1]
            local = folder / name
            return local if name and local.is_file() and local.resolve() != base.resolve() else None
        if _URI_SCHEME.match(uri) or uri.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", uri):
            self.f.add(rule, f"{uri!r}: Vertex AI imports from gs:// URIs only", hard=True, file=rel, line=line)
            return None
        local = Path(os.path.normpath(folder / uri))
        if not local.is_file():
            self.f.add(rule, f"{uri!r} is neither a file beside {base.name} nor a gs:// URI", hard=True, file=rel, line=line)
            return None
        if local.resolve() == base.resolve():
            self.f.add(rule, f"{uri!r} names this file itself", hard=True, file=rel, line=line)
            return None
        return local

    # -- JSONL ------------------------------------------------------------------
    def check_jsonl(self, path: Path) -> _FileResult:
        """Read in blocks of whole lines (:meth:`_LineState.block`)."""
        state = _LineState(self.f, self.rel(path), self.schema(path))
        with open(path, "rb") as fh:
            number = 1  # the line number of the block's first line
            head: list[bytes] = []  # the line not ended yet, in pieces (a long one in many)
            while True:
                chunk = fh.read(_BLOCK)
                if not chunk:
                    break
                head.append(chunk)
                if b"\n" not in chunk:
                    continue
                data = b"".join(head)
                lines = data.split(b"\n")
                head = [lines.pop()]
                state.block(lines, number, _plain(data))
                number += len(lines)
            carry = b"".join(head)
            if carry:
                state.block([carry], number, _plain(carry))
        state.finish()
        return _FileResult(state.stats)

    # -- CSV --------------------------------------------------------------------
    def check_csv(self, path: Path) -> _FileResult:
        rel = self.rel(path)
        schema = self.schema(path)
        stats = _Stats()
        listed: list[Path] = []
        file_kind: str | None = None  # "listing" or CLASSIFICATION
        by_reference: list[int] = []
        reference_count = 0
        add = self.f.add
        with _csv_field_limit(), open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
            reader = csv.reader(fh, strict=True)
            end = 0
            while True:
                start = end + 1
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    add("vertex.csv.syntax", f"not valid CSV: {exc} (the rest of the file is not checked)", hard=True,
                        file=rel, line=reader.line_num or start)
                    break
                end = reader.line_num
                if start == 1 and row and row[0].startswith("\ufeff"):
                    add("vertex.csv.syntax", "the file starts with a byte-order mark", hard=True, file=rel, line=1)
                    row[0] = row[0][1:]
                if not row or row == [""]:
                    add("vertex.csv.syntax", "empty line", hard=True, file=rel, line=start)
                    continue
                if any(_has_surrogate(cell) for cell in row):
                    add("vertex.csv.encoding", "not UTF-8", hard=True, file=rel, line=start)
                    continue
                if start == 1 and _is_header(row):
                    add("vertex.csv.header", "a header row: Vertex AI import CSV files have none", hard=True,
                        file=rel, line=1)
                    continue

                if _is_listing_row(row):
                    if file_kind == CLASSIFICATION:
                        add("vertex.csv.kind", "lists a file among classification rows", hard=True, file=rel, line=start)
                        continue
                    file_kind = "listing"
                    if schema is not None and schema != EXTRACTION:
                        add("vertex.csv.kind", f"lists JSONL files, but {MANIFEST} declares {schema}: list files "
                            "for extraction, write classification rows inline", hard=False, file=rel, line=start)
                    if len(row) == 2:
                        self.ml_use_cell(row[0], rel, start)
                    local = self.resolve(row[-1], path, rel, start, "vertex.csv.source")
                    if local is not None:
                        listed.append(local)
                    elif row[-1].startswith("gs://"):
                        stats.unresolved += 1
                    continue

                if file_kind == "listing":
                    add("vertex.csv.kind", "a classification row in a CSV that lists files", hard=True, file=rel, line=start)
                    continue
                file_kind = CLASSIFICATION
                stats.kind = CLASSIFICATION
                if schema == EXTRACTION:
                    add("vertex.csv.kind", f"a classification row, but {MANIFEST} declares extraction", hard=True,
                        file=rel, line=start)
                cells = row
                first = cells[0]
                if first == "" or first in ML_USES:
                    cells = cells[1:]
                elif first.strip().lower() in _ML_USE_LIKE and len(cells) >= 3:
                    self.ml_use_cell(first, rel, start)
                    cells = cells[1:]
                if not cells:
                    add("vertex.classification.text", "no text", hard=True, file=rel, line=start)
                    continue
                text, labels = cells[0], cells[1:]
                if _is_gcs_reference(text):
                    reference_count += 1
                    if len(by_reference) < 1:
                        by_reference.append(start)
                elif not text.strip():
                    add("vertex.classification.text", "the text is empty", hard=True, file=rel, line=start)
                if not labels:
                    add("vertex.classification.label", "no label (a row is [ml_use,]\"text\",label[,label...])",
                        hard=True, file=rel, line=start)
                elif any(not label.strip() for label in labels):
                    add("vertex.classification.label", "an empty label", hard=True, file=rel, line=start)
                if schema == SINGLE and len(set(labels)) > 1:
                    add("vertex.classification.single", f"{len(labels)} labels, but {MANIFEST} declares single-label "
                        "classification", hard=True, file=rel, line=start)
                stats.documents += 1
                stats.add_labels({label for label in labels if label.strip()})
        if reference_count:
            add("vertex.text.reference", f"{reference_count:,} rows name their text by a gs:// URI: labelport cannot "
                "check it (labelport checks inline text only)", hard=False, file=rel, line=by_reference[0])
        return _FileResult(stats, listed if file_kind == "listing" else None)

    def ml_use_cell(self, value: str, rel: str, line: int) -> None:
        if value not in ("",) + ML_USES:
            self.f.add("vertex.ml_use", f"ml_use {value!r} must be one of {', '.join(ML_USES)} or empty",
                       hard=True, file=rel, line=line)

    # -- dataset minimums -------------------------------------------------------
    def minimums(self, schema: str | None, stats: _Stats, where: str) -> None:
        kind = EXTRACTION if schema == EXTRACTION else CLASSIFICATION if schema in (SINGLE, MULTI) else stats.kind
        if stats.unresolved:
            # part of the data is only on Cloud Storage: counts would mislead
            return
        add = self.f.add
        documents, labels = stats.documents, len(stats.label_documents)
        more = "more than " if stats.labels_overflow else ""
        if kind is None:
            if documents == 0:
                add("vertex.documents", "no documents", hard=False, file=where)
            return
        if kind == EXTRACTION:
            if documents < EXTRACTION_MIN_DOCUMENTS:
                add("vertex.extraction.documents", f"{documents:,} documents; entity extraction needs at least "
                    f"{EXTRACTION_MIN_DOCUMENTS}", hard=False, file=where)
            elif documents > EXTRACTION_MAX_DOCUMENTS:
                add("vertex.extraction.documents", f"{documents:,} documents; entity extraction takes at most "
                    f"{EXTRACTION_MAX_DOCUMENTS:,}", hard=True, file=where)
            if labels == 0:
                add("vertex.extraction.labels", "no entity annotated; entity extraction needs 1 to "
                    f"{EXTRACTION_MAX_LABELS} labels", hard=False, file=where)
            elif labels > EXTRACTION_MAX_LABELS or stats.labels_overflow:
                add("vertex.extraction.labels", f"{more}{labels:,} labels; entity extraction takes at most "
                    f"{EXTRACTION_MAX_LABELS}", hard=True, file=where)
            return
        if documents < CLASSIFICATION_MIN_DOCUMENTS:
            add("vertex.classification.documents", f"{documents:,} documents; classification needs at least "
                f"{CLASSIFICATION_MIN_DOCUMENTS}", hard=False, file=where)
        elif documents > CLASSIFICATION_MAX_DOCUMENTS:
            add("vertex.classification.documents", f"{documents:,} documents; classification takes at most "
                f"{CLASSIFICATION_MAX_DOCUMENTS:,}", hard=True, file=where)
        if labels > CLASSIFICATION_MAX_LABELS or stats.labels_overflow:
            add("vertex.classification.labels", f"{more}{labels:,} labels; classification takes at most "
                f"{CLASSIFICATION_MAX_LABELS:,}", hard=True, file=where)
            return
        if labels < CLASSIFICATION_MIN_LABELS:
            add("vertex.classification.labels", f"{labels} label(s); classification needs at least "
                f"{CLASSIFICATION_MIN_LABELS}", hard=False, file=where)
        few = sorted(
            ((label, n) for label, n in stats.label_documents.items() if n < CLASSIFICATION_MIN_PER_LABEL),
            key=lambda item: (item[1], item[0]),
        )
        if few:
            shown = ", ".join(f"{label!r} ({n})" for label, n in few[:10])
            rest = f" and {len(few) - 10:,} more" if len(few) > 10 else ""
            add("vertex.classification.per_label", f"{len(few):,} label(s) on fewer than "
                f"{CLASSIFICATION_MIN_PER_LABEL} documents: {shown}{rest}", hard=False, file=where)


# -- one JSONL file's lines --------------------------------------------------------


class _LineState:
    """Checks import lines one at a time; keeps counts, not lines."""

    def __init__(self, findings: Findings, rel: str, schema: str | None):
        self.f = findings
        self.rel = rel
        self.schema = schema
        self.stats = _Stats()
        self.line = 0
        self.unannotated: list[int] = []  # first few lines with no annotation
        self.unannotated_count = 0
        self.by_reference = 0
        self.by_reference_line = 0
        # offset unit evidence: lines whose offsets only make sense in one unit
        self.codepoint_lines = 0
        self.codepoint_first = 0
        self.utf16_lines = 0
        self.utf16_first = 0

    def add(self, rule: str, message: str, hard: bool = True) -> None:
        self.f.add(rule, message, hard=hard, file=self.rel, line=self.line)

    def block(self, lines: list[bytes], first: int, plain: bool = False) -> None:
        """Lines ``first``, ``first + 1``, ... (without their newlines): all
        parsed at once, checked as a whole when they are extraction lines
        (:meth:`extraction_block`), else one by one (:meth:`lines`).
        ``plain``: the lines are ASCII without escapes (so are their strings)."""
        objs = None
        if first != 1 or not lines[0].startswith(_BOM):
            try:
                objs = list(map(orjson.loads, lines))
            except orjson.JSONDecodeError:
                pass
        if objs is None or not self.extraction_block(objs, first, plain):
            self.lines(lines, first, objs)

    def lines(self, lines: list[bytes], first: int, objs: list[Any] | None) -> None:
        """Lines one by one (``objs``: when they all parsed, what they hold)."""
        f, rel = self.f, self.rel
        for i, raw in enumerate(lines):
            number = self.line = first + i
            if objs is not None:
                obj = objs[i]
            else:
                if number == 1 and raw.startswith(_BOM):
                    f.add("vertex.jsonl.json", "the file starts with a byte-order mark", hard=True, file=rel, line=1)
                    raw = raw[3:]
                if not raw.strip():
                    f.add("vertex.jsonl.json", "empty line (every line must be a JSON object)", hard=True, file=rel, line=number)
                    continue
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    f.add("vertex.jsonl.json", f"not valid JSON: {exc}", hard=True, file=rel, line=number)
                    continue
            if not isinstance(obj, dict):
                f.add("vertex.jsonl.json", "not a JSON object", hard=True, file=rel, line=number)
                continue
            self.item(obj)

    def extraction_block(self, objs: list[Any], first: int, plain: bool = False) -> bool:
        """Extraction lines checked as a whole, with C-level operations over
        all of them: True when there is nothing to report but on lines with
        characters outside the BMP or with a long entity (those are checked
        one by one, in order); False when something is not as labelport
        writes it (nothing is done then, :meth:`lines` does it all)."""
        stats = self.stats
        if stats.kind not in (None, EXTRACTION) or self.schema not in (None, EXTRACTION):
            return False
        # (X.__len__ and the like take an X only: they check the types too)
        try:
            sizes = set(map(dict.__len__, objs))
            if not sizes <= {2, 3}:
                return False
            texts = list(map(itemgetter("textContent"), objs))
            segments = list(map(itemgetter("textSegmentAnnotations"), objs))
            per_line = list(map(list.__len__, segments))
            if "" in texts or any(map(str.isspace, texts)):
                return False
        except (KeyError, TypeError):
            return False
        if 3 in sizes:  # dataItemResourceLabels
            labels = [obj.get(_RESOURCE_LABELS) for obj in objs if len(obj) == 3]
            if (
                set(map(type, labels)) != {dict}
                or not set(map(type, chain.from_iterable(map(dict.values, labels)))) <= {str}
                or not set(map(dict.get, labels, repeat(ML_USE_KEY))) <= _ML_USE_OR_NONE
            ):
                return False
        n = len(objs)
        # lines with characters outside the BMP: one by one (the offsets' unit)
        special = set() if plain else {
            i for i in compress(count(), map(not_, map(str.isascii, texts))) if max(texts[i]) > "\uffff"
        }
        given = segments
        if special:
            segments = segments.copy()
            for i in special:
                segments[i] = []
                per_line[i] = 0
        flat = list(chain.from_iterable(segments))
        found: Counter[str] = Counter()
        if flat:
            try:
                if set(map(dict.__len__, flat)) != {3}:
                    return False
                names = list(map(itemgetter("displayName"), flat))
                starts = list(map(itemgetter("startOffset"), flat))
                ends = list(map(itemgetter("endOffset"), flat))
                name_lengths = set(map(str.__len__, names))
            except (KeyError, TypeError):
                return False
            low, high = EXTRACTION_LABEL_CHARS
            if min(name_lengths) < low or max(name_lengths) > high or set(map(type, chain(starts, ends))) != {int}:
                return False
            if min(starts) < 0 or not all(map(lt, starts, ends)):
                return False
            # annotation -> its line (a repeat for each line with annotations)
            owner = list(chain.from_iterable(map(repeat, compress(range(n), per_line), compress(per_line, per_line))))
            if not all(map(le, ends, map(len, map(texts.__getitem__, owner)))):
                return False
            # a line's annotations in order, each after the one before
            if not all(map(or_, map(ne, owner, islice(owner, 1, None)), map(ge, islice(starts, 1, None), ends))):
                return False
            # an entity of more than 10 words is more than 20 characters long
            for k in compress(count(), map(lt, repeat(2 * ENTITY_MAX_WORDS), map(sub, ends, starts))):
                if len(texts[owner[k]][starts[k] : ends[k]].split()) > ENTITY_MAX_WORDS:
                    special.add(owner[k])
            pairs = set(zip(owner, names))  # each label once per line
            if special:
                pairs = {pair for pair in pairs if pair[0] not in special}
            found.update(map(itemgetter(1), pairs))
        # at most this many labels new to the file: past LABEL_CAP, which are counted depends on the order
        if len(stats.label_documents) + len(found) + sum(len(given[i]) for i in special) > LABEL_CAP:
            return False
        stats.kind = EXTRACTION
        stats.documents += n - len(special)
        stats.label_documents.update(found)
        for i in sorted(special):
            self.line = first + i
            self.item(objs[i])
        return True

    def item(self, obj: dict[str, Any]) -> None:
        text = obj.get("textContent")
        uri = obj.get("textGcsUri")
        if text is None and uri is None:
            self.add("vertex.text.missing", "no textContent (nor textGcsUri)")
        elif text is not None and not isinstance(text, str):
            self.add("vertex.text.missing", "textContent is not a string")
            text = None
        elif text is None:
            if not isinstance(uri, str) or not uri.startswith("gs://"):
                self.add("vertex.text.reference", f"textGcsUri {uri!r} is not a gs:// URI")
            self.by_reference += 1
            self.by_reference_line = self.by_reference_line or self.line
        elif not text.strip():
            self.add("vertex.text.empty", "textContent is empty")
        self.ml_use(obj.get("dataItemResourceLabels"))

        segments = obj.get("textSegmentAnnotations")
        single = obj.get("classificationAnnotation")
        several = obj.get("classificationAnnotations")
        classified = single is not None or several is not None
        if segments is not None and classified:
            self.add("vertex.jsonl.kind", "both textSegmentAnnotations and classificationAnnotation(s)")
            return
        kind = EXTRACTION if segments is not None else CLASSIFICATION if classified else None
        if kind is not None:
            if self.stats.kind is not None and kind != self.stats.kind:
                self.add("vertex.jsonl.kind", f"{kind} annotations in a file of {self.stats.kind} lines")
                return
            self.stats.kind = kind
            if self.schema is not None and (kind == EXTRACTION) != (self.schema == EXTRACTION):
                self.add("vertex.jsonl.kind", f"{kind} annotations, but {MANIFEST} declares {self.schema}")
        if kind == EXTRACTION:
            labels = self.segments(segments, text if isinstance(text, str) else None)
        elif kind == CLASSIFICATION:
            labels = self.classification(single, several)
        else:
            labels = set()
            self.unannotated_count += 1
            if len(self.unannotated) < CAP:
                self.unannotated.append(self.line)
        self.stats.documents += 1
        self.stats.add_labels(labels)

    def ml_use(self, labels: Any) -> None:
        if labels is None:
            return
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            self.add("vertex.ml_use", "dataItemResourceLabels must be an object of strings")
            return
        value = labels.get(ML_USE_KEY)
        if value is not None and value not in ML_USES:
            self.add("vertex.ml_use", f"ml_use {value!r} must be one of {', '.join(ML_USES)} (or absent)")

    def classification(self, single: Any, several: Any) -> set[str]:
        annotations = []
        if single is not None:
            annotations.append(single)
        if several is not None:
            if not isinstance(several, list):
                self.add("vertex.classification.label", "classificationAnnotations must be a list")
                return set()
            annotations.extend(several)
        labels: list[str] = []
        for annotation in annotations:
            name = annotation.get("displayName") if isinstance(annotation, dict) else None
            if not isinstance(name, str) or not name.strip():
                self.add("vertex.classification.label", "a classification annotation without a displayName")
            else:
                labels.append(name)
        if not annotations:
            self.add("vertex.classification.label", "no label")
        if self.schema == SINGLE and len(set(labels)) > 1:
            self.add("vertex.classification.single", f"{len(labels)} labels, but {MANIFEST} declares single-label "
                     "classification")
        return set(labels)

    def segments(self, segments: Any, text: str | None) -> set[str]:
        if not isinstance(segments, list):
            self.add("vertex.extraction.annotations", "textSegmentAnnotations must be a list")
            return set()
        labels: set[str] = set()
        spans: list[tuple[int, int, str]] = []
        low, high = EXTRACTION_LABEL_CHARS
        for annotation in segments:
            if not isinstance(annotation, dict):
                self.add("vertex.extraction.annotations", "an annotation that is not an object")
                continue
            name = annotation.get("displayName")
            if not isinstance(name, str):
                self.add("vertex.extraction.label", "an annotation without a displayName")
                continue
            if not low <= len(name) <= high:
                self.add("vertex.extraction.label", f"label {name!r} has {len(name)} character{'' if len(name) == 1 else 's'}; "
                         f"extraction labels have {low} to {high}")
            labels.add(name)
            start = _integer(annotation.get("startOffset", 0))
            end = _integer(annotation.get("endOffset"))
            if start is None or end is None:
                self.add("vertex.extraction.offsets", f"{name!r}: startOffset and endOffset must be integers "
                         f"(got {annotation.get('startOffset')!r}, {annotation.get('endOffset')!r})")
                continue
            if not 0 <= start < end:
                self.add("vertex.extraction.offsets", f"{name!r}: needs 0 <= startOffset < endOffset "
                         f"(got {start}, {end}; endOffset is exclusive)")
                continue
            spans.append((start, end, name))
        if not spans:
            return labels
        spans.sort()
        for (s1, e1, n1), (s2, e2, n2) in pairwise(spans):
            if s2 < e1:
                self.add("vertex.extraction.overlap", f"{n1!r} [{s1}, {e1}) and {n2!r} [{s2}, {e2}) overlap")
        if text is not None:
            self.offsets(spans, text)
        return labels

    def offsets(self, spans: list[tuple[int, int, str]], text: str) -> None:
        """Offsets within the text, in code points (accepted in UTF-16 code
        units too: the unit is told apart on lines with characters outside
        the BMP, and the file's unit is reported when it is not code points)."""
        length = len(text)
        astral = not text.isascii() and max(text) > "\uffff"
        if not astral:
            for start, end, name in spans:
                if end > length:
                    self.add("vertex.extraction.offsets", f"{name!r}: endOffset {end} is past the text "
                             f"({length} characters)")
                else:
                    self.words(text[start:end], name)
            return
        units = text.encode("utf-16-le")
        units_length = len(units) // 2
        as_codepoints, as_utf16 = [], []
        for start, end, name in spans:
            as_codepoints.append(text[start:end] if end <= length else None)
            as_utf16.append(_utf16_slice(units, start, end) if end <= units_length else None)
        cp_ok = all(s is not None for s in as_codepoints)
        u16_ok = all(s is not None for s in as_utf16)
        unit = None
        if cp_ok and u16_ok and as_codepoints != as_utf16:
            cp_tidy = sum(_tidy(text, s, e) for s, e, _ in spans)
            u16_tidy = sum(_tidy_utf16(units, s, e) for s, e, _ in spans)
            unit = "codepoint" if cp_tidy > u16_tidy else "utf16" if u16_tidy > cp_tidy else None
        elif cp_ok and not u16_ok:
            unit = "codepoint"
        elif u16_ok and not cp_ok:
            unit = "utf16"
        elif not cp_ok and not u16_ok:
            for (start, end, name), a, b in zip(spans, as_codepoints, as_utf16):
                if a is None and b is None:
                    self.add("vertex.extraction.offsets", f"{name!r}: [{start}, {end}) is past the text "
                             f"({length} characters, {units_length} UTF-16 code units)")
                elif a is None or b is None:
                    self.add("vertex.extraction.offsets", f"{name!r}: [{start}, {end}) fits the text only in "
                             f"{'UTF-16 code units' if a is None else 'code points'}, other annotations of the "
                             "line only in the other unit")
            return
        if unit == "codepoint":
            self.codepoint_lines += 1
            self.codepoint_first = self.codepoint_first or self.line
        elif unit == "utf16":
            self.utf16_lines += 1
            self.utf16_first = self.utf16_first or self.line
        slices = as_utf16 if unit == "utf16" else as_codepoints
        for (start, end, name), piece in zip(spans, slices):
            self.words(piece, name)

    def words(self, piece: str | None, name: str) -> None:
        if piece is not None and len(piece.split()) > ENTITY_MAX_WORDS:
            self.add("vertex.extraction.entity_words", f"{name!r} spans {len(piece.split())} words; Vertex AI "
                     f"recommends entities of 1 to {ENTITY_MAX_WORDS}", hard=False)

    def finish(self) -> None:
        f, rel = self.f, self.rel
        kind = EXTRACTION if self.schema == EXTRACTION else CLASSIFICATION if self.schema else self.stats.kind
        if kind == CLASSIFICATION and self.unannotated_count:
            for line in self.unannotated:
                f.add("vertex.classification.label", "no classificationAnnotation", hard=True, file=rel, line=line)
            f.count_more("vertex.classification.label", rel, self.unannotated_count - len(self.unannotated))
        if self.by_reference:
            f.add("vertex.text.reference", f"{self.by_reference:,} lines name their text by textGcsUri: labelport "
                  "cannot check their offsets or text (labelport checks inline textContent only)",
                  hard=False, file=rel, line=self.by_reference_line)
        if self.utf16_lines and self.codepoint_lines:
            f.add("vertex.extraction.offset_unit", f"offsets mix units: in code points on {self.codepoint_lines:,} "
                  f"lines with characters outside the BMP (first: line {self.codepoint_first}), in UTF-16 code "
                  f"units on {self.utf16_lines:,} (first: line {self.utf16_first})", hard=True, file=rel,
                  line=self.utf16_first if self.utf16_lines <= self.codepoint_lines else self.codepoint_first)
        elif self.utf16_lines:
            f.add("vertex.extraction.offset_unit", f"offsets count UTF-16 code units ({self.utf16_lines:,} lines "
                  "with characters outside the BMP tell); Vertex AI counts characters (code points): those "
                  "lines' entities would shift", hard=False, file=rel, line=self.utf16_first)


# -- helpers -----------------------------------------------------------------------


def _plain(data: bytes) -> bool:
    """Whether JSON text is ASCII without \\u escapes: then so are its strings."""
    return data.isascii() and b"\\u" not in data


def _integer(value: Any) -> int | None:
    """An int64 as JSON gives it: a number, or (proto3 JSON) a string of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    return None


def _utf16_slice(units: bytes, start: int, end: int) -> str | None:
    """``units[start:end]`` (UTF-16 code units), or None when that cuts a
    surrogate pair."""
    for i in (start, end):
        if 0 < i < len(units) // 2 and 0xDC00 <= int.from_bytes(units[2 * i : 2 * i + 2], "little") <= 0xDFFF:
            return None
    return units[2 * start : 2 * end].decode("utf-16-le")


def _tidy(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] looks like an entity: no white space at its
    edges, no word cut in two."""
    piece = text[start:end]
    if not piece or piece != piece.strip():
        return False
    if start > 0 and text[start - 1].isalnum() and piece[0].isalnum():
        return False
    return not (end < len(text) and text[end].isalnum() and piece[-1].isalnum())


def _tidy_utf16(units: bytes, start: int, end: int) -> bool:
    before = units[: 2 * start].decode("utf-16-le")
    piece = units[2 * start : 2 * end].decode("utf-16-le")
    return _tidy(before + piece + units[2 * end :].decode("utf-16-le"), len(before), len(before) + len(piece))


def _has_surrogate(cell: str) -> bool:
    return not cell.isascii() and any("\udc80" <= c <= "\udcff" for c in cell)


def _is_header(row: list[str]) -> bool:
    cells = {cell.strip().lower() for cell in row}
    return bool(cells & {"label", "labels", "class"}) and bool(cells & {"text", "ml_use", "content", "textcontent"})


def _looks_like_import_file(cell: str) -> bool:
    return bool(cell) and not any(c.isspace() for c in cell) and cell.lower().endswith(IMPORT_SUFFIXES)


def _is_listing_row(row: list[str]) -> bool:
    if len(row) == 1:
        return _looks_like_import_file(row[0])
    if len(row) == 2:
        return (row[0] == "" or row[0].strip().lower() in _ML_USE_LIKE) and _looks_like_import_file(row[1])
    return False


def _is_gcs_reference(text: str) -> bool:
    return text.startswith("gs://") and not any(c.isspace() for c in text)


@contextmanager
def _csv_field_limit() -> Iterator[None]:
    """Texts longer than the csv module's default field limit (128 KiB) are
    valid; raise it while reading, then put it back."""
    previous = csv.field_size_limit()
    csv.field_size_limit(1 << 30)
    try:
        yield
    finally:
        csv.field_size_limit(previous)
