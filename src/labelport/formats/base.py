"""What every format module defines, and the driver for per-document formats.

A format module exposes ``FORMAT = Format(...)``. A *per-document* format
gives a :class:`DocumentWriter` subclass: the driver opens one writer per
document and split, feeds it lines (token labeling) or rows (row labeling) as
they stream from the reader, and closes it. A *project-wide* format gives a
``write_project(project, out, ctx)`` function that lays out its own tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable

from ..model import CONFLICT, DOCUMENT_BASED, ROW_BASED, TOKEN_BASED, Document, Line, Project, Row, Span
from ..output import FileNamer
from ..report import Report
from ..splits import Splitter

if TYPE_CHECKING:
    from ..progress import Progress


@dataclass
class WriteOptions:
    label_separator: str = "|"
    offset_unit: str = "codepoint"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What a writer needs besides the data: where to count, how to split."""

    project: Project
    report: Report
    splitter: Splitter
    options: WriteOptions
    progress: "Progress"


# What a format can carry beyond plain spans and answers (Format.carries).
OVERLAPS = "overlapping spans"
LABEL_SETS = "spans of a second label set"
CONFLICTS = "unresolved (CONFLICT) entries"
MULTILINE = "spans across lines"
ARROWS = "arrows"
DOCUMENT_ANSWERS = "document answers"
COMMENTS = "comments"


class DocumentWriter:
    """Writes one file: one document's items of one split.

    Subclasses override :meth:`line` (token labeling), :meth:`row` (row
    labeling) and :meth:`document_answers` (document labeling), as their
    format serves them, and may extend :meth:`close` to write a closing part.
    """

    def __init__(self, fh: IO[str], document: Document, ctx: Context, fmt: "Format"):
        self.fh = fh
        self.document = document
        self.ctx = ctx
        self.report = ctx.report
        self.carries = fmt.carries

    def spans(self, line: Line) -> list[Span]:
        """The line's spans this format can carry, in order; the rest are
        recorded in the report as not carried."""
        return kept_spans(line, self.carries, self.report, self.document.name)

    def line(self, line: Line) -> None:
        raise NotImplementedError

    def row(self, row: Row) -> None:
        raise NotImplementedError

    def document_answers(self, document: Document) -> None:
        """Write a document-labeling document (its text and answers); with
        ``Format.one_table`` one writer gets every document of a split."""
        raise NotImplementedError

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Format:
    id: str
    kinds: frozenset[str]
    files: str  # what it makes, for `labelport formats`
    extension: str = ""
    writer: type[DocumentWriter] | None = None
    write_project: Callable[[Project, Path, Context], None] | None = None
    carries: frozenset[str] = frozenset()
    #: per-document files are opened in binary mode
    binary: bool = False
    #: document-labeling documents go to one table per split, ``documents<ext>``
    one_table: bool = False

    def write(self, project: Project, out: Path, ctx: Context) -> None:
        if self.write_project is not None:
            self.write_project(project, out, ctx)
        else:
            write_per_document(self, project, out, ctx)


def served_kind(fmt: Format, document: Document) -> str | None:
    for kind in (TOKEN_BASED, ROW_BASED, DOCUMENT_BASED):
        if kind in document.kinds and kind in fmt.kinds:
            return kind
    return None


def write_per_document(fmt: Format, project: Project, out: Path, ctx: Context) -> None:
    """Stream each document into ``out/[<split>/]<document><ext>``."""
    assert fmt.writer is not None
    splitter, report = ctx.splitter, ctx.report
    namers: dict[str, FileNamer] = {}
    tables: dict[str, DocumentWriter] = {}  # one_table: split -> writer

    def open_writer(document: Document, split: str, name: str | None = None) -> DocumentWriter:
        folder = out / split if splitter.active else out
        folder.mkdir(parents=True, exist_ok=True)
        namer = namers.setdefault(split, FileNamer())
        path = folder / namer.name(name or document.name, fmt.extension)
        fh = open(path, "w", encoding="utf-8", newline="") if not fmt.binary else open(path, "wb")
        report.split_count(split, "files")
        return fmt.writer(fh, document, ctx, fmt)  # type: ignore[misc]

    try:
        for document in project.documents():
            _write_document(fmt, document, ctx, open_writer, tables)
    finally:
        for writer in tables.values():
            writer.close()
            writer.fh.close()


def _write_document(fmt: Format, document: Document, ctx: Context, open_writer, tables) -> None:
    splitter, report = ctx.splitter, ctx.report
    kind = served_kind(fmt, document)
    count_document(document, kind, fmt, report)
    if kind is None:
        return
    writers: dict[str, DocumentWriter] = {}
    try:
        if kind != DOCUMENT_BASED:
            token_based = kind == TOKEN_BASED
            for item in document.lines if token_based else document.rows:
                split = splitter.assign(document.id, item.index)
                writer = writers.get(split) or writers.setdefault(split, open_writer(document, split))
                if token_based:
                    count_line(item, split, report)
                    writer.line(item)
                else:
                    count_row(item, split, report)
                    writer.row(item)
                ctx.progress.tick()
        else:
            split = splitter.assign(document.id)
            count_answers(document.answers, report)
            report.split_count(split, "documents")
            if fmt.one_table:
                if split not in tables:
                    tables[split] = open_writer(document, split, "documents")
                tables[split].document_answers(document)
            else:
                writers[split] = open_writer(document, split)
                writers[split].document_answers(document)
        if not writers and not (kind == DOCUMENT_BASED and fmt.one_table):
            # an empty document still gets its (empty) file
            writers[splitter.names[0]] = open_writer(document, splitter.names[0])
    finally:
        for writer in writers.values():
            writer.close()
            writer.fh.close()
    for note, n in document.notes.items():
        report.read_notes[note] += n
    ctx.progress.document()


# -- counting what the source holds (the report's "counts") -------------------

def count_document(document: Document, kind: str | None, fmt: Format, report: Report) -> None:
    report.count("documents")
    if document.arrows:
        report.count("arrows", len(document.arrows))
        if ARROWS not in fmt.carries:
            report.drop(ARROWS, _arrow_example(document), len(document.arrows))
    if document.comments and COMMENTS not in fmt.carries:
        report.drop(COMMENTS, {"document": document.name}, len(document.comments))
    if document.answer_sets and kind != DOCUMENT_BASED and DOCUMENT_ANSWERS not in fmt.carries:
        report.drop(DOCUMENT_ANSWERS, {"document": document.name, "answers": document.answers})
    if kind is None:
        report.drop(
            "documents of a kind the format does not serve",
            {"document": document.name, "kinds": list(document.kinds)},
        )
    if document.versions and not report.versions_written:
        report.drop(
            "labelers' versions not written (use --role LABELER or --zip)",
            {"document": document.name, "labelers": sorted(document.versions)},
            len(document.versions),
        )


def _arrow_example(document: Document) -> dict[str, Any]:
    arrow = document.arrows[0]
    return {"document": document.name, "label": arrow.label, "origin": arrow.origin, "target": arrow.target}


def kept_spans(line: Line, carries: frozenset[str], report: Report, document_name: str) -> list[Span]:
    """Filter a line's spans to what a format carries, recording the rest."""
    if not line.spans:
        return []
    kept: list[Span] = []
    for span in sorted(line.spans, key=_span_order):
        reason = None
        if span.label_set != 0 and LABEL_SETS not in carries:
            reason = LABEL_SETS
        elif span.labeled_by == CONFLICT and CONFLICTS not in carries:
            reason = CONFLICTS
        elif span.end_line >= 0 and span.end_line != span.line and MULTILINE not in carries:
            reason = MULTILINE
        elif OVERLAPS not in carries and kept and span.token_start <= kept[-1].token_end:
            reason = OVERLAPS
        if reason is None:
            kept.append(span)
        else:
            report.drop(reason, _span_example(document_name, line, span))
    return kept


def _span_order(span: Span) -> tuple[int, int, int]:
    return (span.token_start, -span.token_end, span.label_set)


def _span_example(document_name: str, line: Line, span: Span) -> dict[str, Any]:
    text = line.text[span.start : span.end] if span.last_line == line.index else line.text[span.start :]
    return {"document": document_name, "line": line.index, "label": span.label, "text": text}


def count_line(line: Line, split: str, report: Report) -> None:
    report.count("lines")
    report.count("tokens", len(line.tokens))
    report.split_count(split, "lines")
    if line.spans:
        report.count("spans", len(line.spans))
        per_label = report.spans_per_label
        for span in line.spans:
            per_label[span.label] += 1


def count_row(row: Row, split: str, report: Report) -> None:
    report.count("rows")
    report.split_count(split, "rows")
    count_answers(row.answers, report)


def count_answers(answers: dict[str, Any], report: Report) -> None:
    for question_id, value in answers.items():
        if value not in (None, "", []):
            report.count("answers")
            report.answers_per_question[question_id] += 1
