"""AMAZON_COMPREHEND_CSV: training data for Amazon Comprehend (docs/amazon-comprehend.md).

Token labeling (custom entity recognizer)::

    OUT/train/documents/documents.txt      one document per line (ONE_DOC_PER_LINE)
    OUT/train/annotations/annotations.csv  File,Line,Begin Offset,End Offset,Type
    OUT/test/...                           the same, when a test (or validation) share is asked
    OUT/entity_recognizer.json             InputDataConfig for CreateEntityRecognizer

Row and document labeling (custom classifier)::

    OUT/train/classifier.csv               no header; label,text (multi-label: a|b,text)
    OUT/test/classifier.csv                when a test (or validation) share is asked
    OUT/document_classifier.json           Mode and InputDataConfig for CreateDocumentClassifier

The JSON files name the data by paths relative to OUT; uploading renders them
as s3:// URIs. Everything streams: one line (or row) in, one line out. The
written files are then checked by :mod:`labelport.targets.comprehend.checker`.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from contextlib import ExitStack
from dataclasses import dataclass, replace
from itertools import accumulate, filterfalse
from pathlib import Path
from typing import IO, Any, BinaryIO, Iterable, Iterator

import orjson

from ...errors import UsageError
from ...formats._classify import UNLABELED, classification_kind, drop_other_answers, examples, label_question
from ...formats.base import Context, Format, OffsetUnitOption, QuestionOption, items, kept_spans, options_of
from ...formats.parts import COPY_BLOCK, Part, concatenate, merge_reports
from ...model import DOCUMENT_BASED, ROW_BASED, TOKEN_BASED, Line, Project
from ...offsets import CODEPOINT, converter, has_astral
from ...progress import Progress
from ...report import Report
from .rules import (
    ANNOTATIONS,
    CLASSIFIER,
    CLASSIFIER_JSON,
    DATA_FORMAT,
    DEFAULT_DELIMITER,
    DOCUMENTS,
    HEADER,
    MAX_DOCUMENT_BYTES,
    MAX_TYPE_LENGTH,
    MULTI_CLASS,
    MULTI_LABEL,
    ONE_DOC_PER_LINE,
    RECOGNIZER_JSON,
)

TRAIN, TEST, VALIDATION = "train", "test", "validation"
SPLITS = (TRAIN, TEST, VALIDATION)

#: The annotations CSV's first line.
HEADER_LINE = HEADER + "\n"

#: What ends a line for Comprehend or for a reader of the file (Python's
#: str.splitlines breaks on all of these); each becomes one space, so every
#: offset stays where it was.
_BREAKS = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
LINE_BREAKS = "line breaks inside a line (written as spaces)"
EMPTY_LINES = f"empty lines (a Comprehend document is 1 to {MAX_DOCUMENT_BYTES:,} bytes; not written)"
EMPTY_SPANS = "empty spans (no characters; not written)"
VALIDATION_TO_TEST = "validation share (Comprehend has no validation set; written to test/)"
EXTRA_ANSWERS = "answers beyond the first of a multi-class example (not written)"
ASTRAL = "lines with characters outside the BMP"
#: Lines of documents.txt kept before they are written, in one piece.
_PENDING = 1024

#: LabelDelimiter candidates (rules.DELIMITERS), in the writer's order of
#: preference: the first that occurs in no label is chosen, so this order, not
#: the API's, decides the bytes written (the default ``|`` first; white space,
#: which a reader may strip, last). tests/test_comprehend.py checks it holds
#: the same characters as rules.DELIMITERS.
PREFERRED_DELIMITERS = "|~^;:#!@$%*+=?/\\>-_\t "

_TYPE_BAD = re.compile(r"[^A-Z0-9_]+")


def entity_type(label: str) -> str:
    """AWS's recommended form of an entity type, ``^[A-Z0-9_]+$``, at most
    MAX_TYPE_LENGTH (64) characters: accents dropped, upper case, every run of other characters
    one ``_`` (``creative-work`` -> ``CREATIVE_WORK``), a letter or symbol
    with no ASCII form its code point (``人物`` -> ``U4EBA_U7269``). Two labels can
    meet (``a-b``, ``a_b``), which the writer reports as an error."""
    text = unicodedata.normalize("NFKD", label)
    text = "".join(c for c in text if not unicodedata.combining(c)).upper()
    if not text.isascii():
        text = "".join(f" U{ord(c):04X} " if not c.isascii() and unicodedata.category(c)[0] in "LNS" else c for c in text)
    return (_TYPE_BAD.sub("_", text).strip("_") or "ENTITY")[:MAX_TYPE_LENGTH]


def _check_splits(ctx: Context) -> None:
    unknown = [name for name in ctx.splitter.names if name not in SPLITS]
    if unknown:
        raise UsageError(
            f"--split: AMAZON_COMPREHEND_CSV has no {', '.join(repr(n) for n in unknown)} share; "
            "use train, test and validation (written to test/)"
        )


def _file_split(split: str) -> str:
    return TEST if split == VALIDATION else split


def _file_splits(ctx: Context) -> list[str]:
    """The splits written: train, and test when a test or validation share is asked."""
    names = {_file_split(name) for name in ctx.splitter.names}
    return [name for name in (TRAIN, TEST) if name == TRAIN or name in names]


def _one_line(text: str, report: Report, where: dict[str, Any]) -> str:
    """``text`` with every line break as a space (counted)."""
    if _BREAKS.search(text) is None:
        return text
    report.drop(LINE_BREAKS, where)
    return _BREAKS.sub(" ", text)


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")


def recognizer_config(types: Iterable[str], *, test: bool) -> dict[str, Any]:
    """entity_recognizer.json: the InputDataConfig naming train/ (and test/) by
    paths relative to OUT, with the entity types sorted."""
    config: dict[str, Any] = {
        "DataFormat": DATA_FORMAT,
        "EntityTypes": [{"Type": kind} for kind in sorted(types)],
        "Documents": {"S3Uri": "train/documents/", "InputFormat": ONE_DOC_PER_LINE},
        "Annotations": {"S3Uri": f"train/annotations/{ANNOTATIONS}"},
    }
    if test:
        config["Documents"] = {"S3Uri": "train/documents/", "TestS3Uri": "test/documents/", "InputFormat": ONE_DOC_PER_LINE}
        config["Annotations"]["TestS3Uri"] = f"test/annotations/{ANNOTATIONS}"
    return config


def classifier_config(delimiter: str | None, *, test: bool) -> dict[str, Any]:
    """document_classifier.json: Mode (MULTI_LABEL when a ``delimiter`` joins
    the labels) and the InputDataConfig naming train/ (and test/)."""
    data: dict[str, Any] = {"DataFormat": DATA_FORMAT, "S3Uri": f"train/{CLASSIFIER}"}
    if test:
        data["TestS3Uri"] = f"test/{CLASSIFIER}"
    if delimiter is not None:
        data["LabelDelimiter"] = delimiter
    return {"Mode": MULTI_CLASS if delimiter is None else MULTI_LABEL, "InputDataConfig": data}


def write_project(project: Project, out: Path, ctx: Context) -> None:
    _check_splits(ctx)
    out.mkdir(parents=True, exist_ok=True)
    if TOKEN_BASED in project.kinds:
        write_entities(project, out, ctx)
    else:
        write_classifier(project, out, ctx)


# -- custom entity recognizer ---------------------------------------------------


class _EntitySplit:
    """The documents and annotations files of one split. Lines and rows are
    kept in lists and written a block at a time."""

    def __init__(self, out: Path, name: str, files: ExitStack):
        self.documents: IO[str] = files.enter_context(_create(out / name / "documents" / DOCUMENTS))
        self.annotations: IO[str] = files.enter_context(_create(out / name / "annotations" / ANNOTATIONS))
        self.annotations.write(HEADER_LINE)
        self.line = 0  # lines written to documents.txt
        self.pending: list[str] = []  # the next lines of documents.txt
        self.rows: list[str] = []  # the next rows of annotations.csv
        self.astral = 0  # lines written with characters outside the BMP

    def flush(self) -> None:
        pending = self.pending
        if pending:
            block = "\n".join(pending)
            if not block.isascii():
                self.astral += sum(map(has_astral, filterfalse(str.isascii, pending)))
            self.documents.write(block + "\n")
            self.line += len(pending)
            pending.clear()
        if self.rows:
            self.annotations.write("".join(self.rows))
            self.rows.clear()


def _create(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "w", encoding="utf-8", newline="")


def write_entities(project: Project, out: Path, ctx: Context) -> None:
    report, unit = ctx.report, options_of(ctx, ComprehendOptions).offset_unit
    types: dict[str, str] = {}  # label -> type
    labels_of: dict[str, str] = {}  # type -> first label mapped to it
    moved = 0
    fmt = replace(FORMAT, kinds=frozenset({TOKEN_BASED}))
    carries: frozenset[str] = frozenset()
    with ExitStack() as stack:
        files = {name: _EntitySplit(out, name, stack) for name in _file_splits(ctx)}
        targets = {name: files[_file_split(name)] for name in ctx.splitter.names}
        for entry in items(fmt, project, ctx):
            line: Line | None = entry.item  # type: ignore[assignment]  (a T format's items are lines)
            if line is None:  # a document starts
                continue
            split = entry.split
            if split == VALIDATION:
                moved += 1
            text = line.text
            if not text:
                report.drop(EMPTY_LINES, {"document": entry.document.name, "line": line.index}, unit="lines")
                continue
            if not text.isprintable():  # (every line break is unprintable; most lines are printable)
                text = _one_line(text, report, {"document": entry.document.name, "line": line.index})
            target = targets[split]
            pending = target.pending
            if not line.spans:
                pending.append(text)
                if len(pending) >= _PENDING:
                    target.flush()
                continue
            # a line with spans: its number in documents.txt, its annotations
            number = target.line + len(pending)
            pending.append(text)
            document = entry.document.name
            offset = None
            if unit != CODEPOINT and not text.isascii() and has_astral(text):
                offset = converter(text, unit)
            rows = target.rows
            for span in kept_spans(line, carries, report, document):
                if span.end <= span.start:
                    report.drop(EMPTY_SPANS, {"document": document, "line": line.index, "label": span.label},
                                unit="spans", labels=(span.label,))
                    continue
                kind = types.get(span.label)
                if kind is None:
                    kind = types[span.label] = entity_type(span.label)
                    first = labels_of.setdefault(kind, span.label)
                    if first != span.label:
                        report.find(
                            "comprehend.types.mapping",
                            f"labels {first!r} and {span.label!r} both map to entity type {kind}; "
                            "rename one of them",
                            hard=True,
                            file=RECOGNIZER_JSON,
                        )
                begin, end = (span.start, span.end) if offset is None else (offset(span.start), offset(span.end))
                rows.append(f"{DOCUMENTS},{number},{begin},{end},{kind}\n")
            if len(pending) >= _PENDING:
                target.flush()
        for target in files.values():
            target.flush()
    _finish_entities(out, ctx, types, moved, sum(target.astral for target in files.values()))


def _finish_entities(out: Path, ctx: Context, types: dict[str, str], moved: int, astral: int) -> None:
    """What follows the lines, once for the whole project: the validation
    lines written to test/, entity_recognizer.json and the report's notes.

    ``types`` maps each label to its entity type; ``moved`` counts the
    validation lines, ``astral`` the lines outside the BMP."""
    report, unit = ctx.report, options_of(ctx, ComprehendOptions).offset_unit
    if moved:
        report.drop(VALIDATION_TO_TEST, {"split": VALIDATION, "lines": moved, "written to": TEST}, moved)
    write_json(out / RECOGNIZER_JSON, recognizer_config(set(types.values()), test=TEST in _file_splits(ctx)))
    # one report for every version an export-all writes: merge, never replace
    mapping = report.notes.setdefault("entity_types", {})
    mapping.update(types)
    report.notes["entity_types"] = dict(sorted(mapping.items()))
    offsets = report.notes.setdefault("offsets", {"unit": unit, ASTRAL: 0})
    offsets[ASTRAL] += astral


def merge_entities(parts: list[Part], out: Path, ctx: Context) -> bool:
    """--jobs (Format.merge_parts): the chunks' entity files as one process
    writes them. Each chunk numbered the lines its annotations name from 0:
    the numbers grow by the lines of the chunks before it."""
    types: dict[str, str] = {}
    for part in parts:
        types.update(part.notes["entity_types"])
    if len(set(types.values())) < len(types):
        return False  # two labels of one type: the finding names them in the order one process meets them
    for split in _file_splits(ctx):
        documents, annotations = Path(split, "documents", DOCUMENTS), Path(split, "annotations", ANNOTATIONS)
        lines = concatenate([part.folder / documents for part in parts], out / documents)
        shifts = accumulate(lines, initial=0)  # the lines of the chunks before each
        _merge_annotations([part.folder / annotations for part in parts], shifts, out / annotations)
    moved = 0
    for part in parts:  # the validation lines written to test/: counted once, after the rest, as one process does
        loss = part.report.losses.pop(VALIDATION_TO_TEST, None)
        moved += loss.count if loss else 0
    merge_reports(ctx.report, parts)
    _finish_entities(out, ctx, types, moved, sum(part.notes["offsets"][ASTRAL] for part in parts))
    return True


def _merge_annotations(sources: list[Path], shifts: Iterable[int], target: Path) -> None:
    """The chunks' annotations.csv under one header, its shift added to
    each of a chunk's line numbers."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as fh:
        fh.write(HEADER_LINE.encode())
        for source, shift in zip(sources, shifts):
            with open(source, "rb") as rows:
                rows.readline()  # the chunk's header
                if shift:
                    fh.writelines(_renumbered(rows, shift))
                else:
                    shutil.copyfileobj(rows, fh, COPY_BLOCK)


def _renumbered(rows: BinaryIO, shift: int) -> Iterator[bytes]:
    for row in rows:
        file, line, rest = row.split(b",", 2)  # File is documents.txt, Line a number: neither holds a comma
        yield b"%s,%d,%s" % (file, int(line) + shift, rest)


# -- custom classifier ------------------------------------------------------------


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def csv_cell(text: str) -> str:
    """RFC 4180: quoted when it holds a comma, a quote or a line break, or
    begins or ends with white space (so no reader strips it)."""
    if not text or "," in text or '"' in text or "\n" in text or "\r" in text or text != text.strip():
        return _quoted(text) if text else text
    return text


def _delimiter(labels: set[str]) -> str | None:
    for candidate in PREFERRED_DELIMITERS:
        if not any(candidate in label for label in labels):
            return candidate
    return None


def _all_labels(fmt: Format, project: Project, ctx: Context, question: Any) -> set[str]:
    """A first pass over the examples for the label set (multi-label only),
    counted in a report of its own."""
    scratch = Context(project, Report(project.source, fmt.id), ctx.splitter, ctx.options, Progress("", enabled=False))
    labels: set[str] = set()
    for example in examples(fmt, project, scratch, question):
        labels.update(example.labels)
    return labels


def write_classifier(project: Project, out: Path, ctx: Context) -> None:
    report = ctx.report
    kind = classification_kind(project)
    question = label_question(project, kind, options_of(ctx, ComprehendOptions).question)
    multi = question.multiple
    fmt = replace(FORMAT, kinds=frozenset({kind}))
    delimiter = DEFAULT_DELIMITER
    if multi:
        found = _delimiter(_all_labels(fmt, project, ctx, question))
        if found is None:
            report.find(
                "comprehend.classifier.delimiter",
                f"every LabelDelimiter Comprehend accepts ({PREFERRED_DELIMITERS!r}) occurs in some label",
                hard=True,
                file=CLASSIFIER_JSON,
            )
        else:
            delimiter = found
    names = [_file_split(name) for name in ctx.splitter.names]
    asked = [name for name in (TRAIN, TEST) if name == TRAIN or name in names]
    moved = 0
    with ExitStack() as stack:
        handles = {name: stack.enter_context(_create(out / name / CLASSIFIER)) for name in asked}
        for example in examples(fmt, project, ctx, question):
            where: dict[str, Any] = {"document": example.document}
            if example.row is not None:
                where["row"] = example.row
            labels = list(dict.fromkeys(label for label in example.labels if label != ""))
            if not labels:
                report.drop(UNLABELED, where, unit=example.unit)
                continue
            if not multi and len(labels) > 1:
                report.drop(EXTRA_ANSWERS, {**where, "answers": labels}, len(labels) - 1)
                labels = labels[:1]
            if example.split == VALIDATION:
                moved += 1
            text = _one_line(example.text, report, where)
            label = delimiter.join(labels) if multi else labels[0]
            label = _one_line(label, report, where)
            handles[_file_split(example.split)].write(f"{csv_cell(label)},{_quoted(text)}\n")
    drop_other_answers(project, kind, question, report)
    if moved:
        report.drop(VALIDATION_TO_TEST, {"split": VALIDATION, "examples": moved, "written to": TEST}, moved)
    write_json(out / CLASSIFIER_JSON, classifier_config(delimiter if multi else None, test=TEST in handles))
    report.notes["classifier"] = {"question": question.name, "mode": MULTI_LABEL if multi else MULTI_CLASS}


@dataclass(frozen=True)
class ComprehendOptions(OffsetUnitOption, QuestionOption):
    """--offset-unit for the entity offsets, --question for a classifier's labels."""


FORMAT = Format(
    id="AMAZON_COMPREHEND_CSV",
    kinds=frozenset({TOKEN_BASED, ROW_BASED, DOCUMENT_BASED}),
    write_project=write_project,
    target="comprehend",
    merge_parts=merge_entities,
    merges_pieces=True,  # (a row per line: a document's pieces merge as documents do)
    options=ComprehendOptions,
)
