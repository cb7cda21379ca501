"""What every format module defines, and the driver for per-document formats.

A format module exposes ``FORMAT = Format(...)``. A *per-document* format
gives a :class:`DocumentWriter` subclass: the driver opens one writer per
document and split, feeds it lines (token labeling) or rows (row labeling) as
they stream from the reader, and closes it. A *project-wide* format gives a
``write_project(project, out, ctx)`` function that lays out its own tree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator, NamedTuple, TypeVar

from ..errors import UsageError
from ..guards.output import FileNamer
from ..model import CONFLICT, DOCUMENT_BASED, ROW_BASED, TOKEN_BASED, Document, Line, Project, Row, Span
from ..offsets import UNITS
from ..report import Report
from .parts import Part, Pieces
from .splits import Splitter

if TYPE_CHECKING:
    from ..progress import Progress


@dataclass(frozen=True)
class FormatOptions:
    """What a format takes from the user besides the data, as a Hugging Face
    datasets ``BuilderConfig``: a format with options declares a frozen
    subclass, one field per option with its default, as ``Format.options``.
    This base takes none. Options for every format (split, seed, role, zip)
    belong to the conversion, not here."""


@dataclass(frozen=True)
class QuestionOption(FormatOptions):
    #: the question whose answers are a classifier's labels (default: the first)
    question: str | None = None


@dataclass(frozen=True)
class OffsetUnitOption(FormatOptions):
    #: "codepoint", or "utf16" for services that count UTF-16 units
    offset_unit: str = "codepoint"

    def __post_init__(self) -> None:
        if self.offset_unit not in UNITS:
            raise UsageError(f"offset unit must be one of {', '.join(UNITS)}, not {self.offset_unit!r}")


OptionsT = TypeVar("OptionsT", bound=FormatOptions)


def options_of(ctx: "Context", kind: type[OptionsT]) -> OptionsT:
    """``ctx.options`` as the options class a writer reads (its format's)."""
    options = ctx.options
    assert isinstance(options, kind), f"{type(options).__name__} given where {kind.__name__} is read"
    return options


@dataclass
class Context:
    """What a writer needs besides the data: where to count, how to split."""

    project: Project
    report: Report
    splitter: Splitter
    options: FormatOptions  # an instance of the format's Format.options
    progress: "Progress"


# What a format can carry beyond plain spans and answers (Format.carries).
OVERLAPS = "overlapping spans"
LABEL_SETS = "spans of a second label set"
CONFLICTS = "unresolved (CONFLICT) entries"
MULTILINE = "spans across lines"
ARROWS = "arrows"
#: the arrows of token documents, which the writer takes one by one and counts
#: those it cannot carry (HF_DATASET: the ones between spans of one line)
ARROWS_IN_LINES = "arrows between spans of a line"
DOCUMENT_ANSWERS = "document answers"
COMMENTS = "comments"
#: The spans of a token document written as its text alone (PLAIN; a
#: documents table's row or a classifier's example of a token document).
TEXT_ONLY = "spans (the format writes the text without them)"


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
    extension: str = ""
    writer: type[DocumentWriter] | None = None
    write_project: Callable[[Project, Path, Context], None] | None = None
    carries: frozenset[str] = frozenset()
    #: per-document files are opened in binary mode
    binary: bool = False
    #: document-labeling documents go to one table per split, ``documents<ext>``
    one_table: bool = False
    #: the service whose rules (labelport.validate) the output is checked against
    target: str | None = None
    #: --jobs for a project-wide format (labelport.conversion.parallel): ``merge_parts(parts,
    #: out, ctx)`` merges what write_project wrote for consecutive chunks of a
    #: token-labeling project into the files and report one process writes;
    #: False, with nothing written, when it cannot do so exactly
    merge_parts: Callable[[list[Part], Path, Context], bool] | None = None
    #: what a chunk of --jobs writes instead of write_project, when that would
    #: write files that only the whole project's merge_parts can make (HF_DATASET's card)
    write_chunk: Callable[[Project, Path, Context], None] | None = None
    #: how a per-document file written in pieces is joined (a long document
    #: shared out by --jobs, labelport.conversion.parallel); None: it is written whole
    pieces: Pieces | None = None
    #: merge_parts also merges chunks that are pieces of one long document (its
    #: rows are the document's lines, numbered across chunks)
    merges_pieces: bool = False
    #: the options it takes (a FormatOptions subclass; the base takes none)
    options: type[FormatOptions] = FormatOptions
    #: a first pass over the whole project for an output of several files
    #: (labelport.conversion.pipeline runs it before writing, before --jobs
    #: forks): the project to write, e.g. with label sets that list every label
    #: it uses, so that every file lists the same ones
    first_pass: Callable[[Project], Project] | None = None

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


class Item(NamedTuple):
    """One unit a writer places: a line (T), a row (R) or a whole document (D),
    with the split it goes to. ``item`` is None at the start of a document."""

    document: Document
    kind: str
    split: str
    item: Line | Row | Document | None


#: ``_new_item(Item, (document, kind, split, item))`` makes an Item as
#: ``Item(...)`` does, at C speed: one is made for every line and row.
_new_item = tuple.__new__


def items(fmt: Format, project: Project, ctx: Context) -> Iterator[Item]:
    """Every line, row or document the format serves, in order, each counted
    in the report and shown in the progress; one ``item=None`` entry opens
    each document (so writers can make a file even for an empty one). A
    document with labelers' versions is counted for agreement here too, in
    this one pass over the project (--jobs: each chunk's, merged)."""
    splitter, report = ctx.splitter, ctx.report
    questions = {question.id: question.name for question in project.document_questions}
    for document in project.documents():
        kind = served_kind(fmt, document)
        count_document(document, kind, fmt, report, questions)
        if document.versions:
            report.count_agreement(document, project)
        if kind is None:
            continue
        if kind == DOCUMENT_BASED:
            split = splitter.whole_document_split(document)
            yield Item(document, kind, split, None)
            count_answers(document.answers, report)
            report.split_count(split, "documents")
            if splitter.active:
                report.split_labels(split, Counter(answer_values(document.answers)))
            yield Item(document, kind, split, document)
        else:
            yield Item(document, kind, splitter.names[0], None)
            yield from _stream(document, kind, ctx)
        for note, n in document.notes.items():
            report.read_notes[note] += n
        ctx.progress.document()


def _stream(document: Document, kind: str, ctx: Context) -> Iterator[Item]:
    """The lines or rows of one document with their splits, counted.

    The hot loop of every conversion: counts are kept in locals and added to
    the report once per document. A document that is one unit (``--split-by
    document``, the default for a project of several documents) has its
    split worked out once; lines or rows that are units of their own, each.
    """
    splitter, report = ctx.splitter, ctx.report
    splitting = splitter.active
    only = splitter.document_split(document) if splitting else splitter.names[0]
    per_split: dict[str, int] = {}
    #: split -> spans per label (token labeling) or rows per answer (row labeling), when splitting
    labels: dict[str, Counter[str]] = {}
    answered: dict[str, int] = {}  # question id -> rows answering it
    n_items = n_tokens = n_spans = 0
    # A table's rows with the same label cells share their answer sets: a run
    # of such rows has its answers counted once, when it ends.
    run_questions: list[str] = []  # the questions the run's answer sets answer
    run_answers: tuple[str, ...] = ()  # and their values, when splitting
    #: (split, a run's answer values) -> rows, when splitting rows
    split_answers: dict[tuple[str, tuple[str, ...]], int] = {}
    run = 0  # rows in the run
    try:
        if kind == TOKEN_BASED:
            assign = splitter.assign if only is None else None
            # (split by line: each line with spans picks its split's counter)
            per_label = labels.setdefault(only, Counter()) if splitting and only is not None else report.spans_per_label
            split = only
            for line in document.lines:
                if assign is not None:
                    split = assign(document.id, line.index)
                    per_split[split] = per_split.get(split, 0) + 1
                n_items += 1
                n_tokens += len(line.tokens)
                spans = line.spans
                if spans:
                    n_spans += len(spans)
                    if assign is not None:
                        per_label = labels.get(split) or labels.setdefault(split, Counter())
                    for span in spans:
                        per_label[span.label] += 1
                yield _new_item(Item, (document, kind, split, line))
                if not n_items & 1023:
                    ctx.progress.tick(1024)
        else:
            # each row a unit (as a line), or the rows grouped by a column's value
            assign = splitter.assign if only is None and splitter.by_field is None else None
            split_of_row = splitter.row_splitter(document) if only is None and assign is None else None
            run_sets: object = None
            split = only
            for row in document.rows:
                n_items += 1
                if row.answer_sets is not run_sets:
                    for question_id in run_questions:
                        answered[question_id] = answered.get(question_id, 0) + run
                    if only is not None and run_answers:
                        key = (only, run_answers)
                        split_answers[key] = split_answers.get(key, 0) + run
                    run_sets, run = row.answer_sets, 0
                    answers = row.answers
                    run_questions = [q for q, value in answers.items() if value not in (None, "", [])]
                    if splitting:
                        run_answers = answer_values(answers)
                if only is None:
                    split = assign(document.id, row.index) if assign is not None else split_of_row(row)  # type: ignore[misc]
                    key = (split, run_answers)
                    split_answers[key] = split_answers.get(key, 0) + 1
                run += 1
                yield _new_item(Item, (document, kind, split, row))
                if not n_items & 1023:
                    ctx.progress.tick(1024)
    finally:
        for question_id in run_questions:  # the last run
            answered[question_id] = answered.get(question_id, 0) + run
        if only is not None and run_answers:
            key = (only, run_answers)
            split_answers[key] = split_answers.get(key, 0) + run
        for (split, values), n in split_answers.items():
            if only is None:
                per_split[split] = per_split.get(split, 0) + n
            if values:
                counter = labels.get(split) or labels.setdefault(split, Counter())
                for value in values:
                    counter[value] += n
        if only is not None and n_items:
            per_split[only] = n_items  # (the loops count per split only when a document is split)
        if n_spans:
            report.count("spans", n_spans)
        if answered:
            report.count("answers", sum(answered.values()))
            report.answers_per_question.update(answered)
        unit = "lines" if kind == TOKEN_BASED else "rows"
        report.count(unit, n_items)
        if n_tokens:
            report.count("tokens", n_tokens)
        for split, n in per_split.items():
            report.split_count(split, unit, n)
            if splitting:
                report.split_count(split, "documents")
        for split, counter in labels.items():
            if counter:
                if kind == TOKEN_BASED:
                    report.spans_per_label.update(counter)
                report.split_labels(split, counter)
        ctx.progress.tick(n_items & 1023)


def answer_values(answers: dict[str, Any]) -> tuple[str, ...]:
    """The answers' values, a list's one by one (the labels a split counts)."""
    values: list[str] = []
    for value in answers.values():
        if isinstance(value, list):
            values.extend(str(v) for v in value)
        elif value not in (None, ""):
            values.append(str(value))
    return tuple(values)


def write_per_document(fmt: Format, project: Project, out: Path, ctx: Context) -> None:
    """Stream each document into ``out/[<split>/]<document><ext>``."""
    assert fmt.writer is not None
    splitter, report = ctx.splitter, ctx.report
    namers: dict[str, FileNamer] = {}
    tables: dict[str, DocumentWriter] = {}  # one_table: split -> writer
    writers: dict[str, DocumentWriter] = {}  # this document's, by split

    def open_writer(document: Document, split: str, name: str | None = None) -> DocumentWriter:
        folder = out / split if splitter.active else out
        folder.mkdir(parents=True, exist_ok=True)
        namer = namers.setdefault(split, FileNamer(report.renamed))
        path = folder / namer.name(name or document.name, fmt.extension)
        fh = open(path, "w", encoding="utf-8", newline="") if not fmt.binary else open(path, "wb")
        report.split_count(split, "files")
        return fmt.writer(fh, document, ctx, fmt)  # type: ignore[misc]

    def close(open_writers: dict[str, DocumentWriter]) -> None:
        for writer in open_writers.values():
            writer.close()
            writer.fh.close()
        open_writers.clear()

    def end_document(start: Item | None) -> None:
        if start is not None and start.kind != DOCUMENT_BASED and not writers:
            # a document with no line or row still gets its (empty) file
            writers[start.split] = open_writer(start.document, start.split)
        close(writers)

    start: Item | None = None
    try:
        for entry in items(fmt, project, ctx):
            document, kind, split, item = entry
            if item is None:
                end_document(start)
                start = entry
            elif kind == DOCUMENT_BASED:
                if not fmt.one_table:
                    writers[split] = open_writer(document, split)
                    writers[split].document_answers(document)
                else:
                    if split not in tables:
                        tables[split] = open_writer(document, split, "documents")
                    tables[split].document_answers(document)
            else:
                writer = writers.get(split)
                if writer is None:
                    writer = writers[split] = open_writer(document, split)
                if kind == TOKEN_BASED:
                    writer.line(item)  # type: ignore[arg-type]
                else:
                    writer.row(item)  # type: ignore[arg-type]
        end_document(start)
    finally:
        close(writers)
        close(tables)


# -- counting what the source holds (the report's "counts") -------------------

def count_document(document: Document, kind: str | None, fmt: Format, report: Report,
                   questions: dict[str, str]) -> None:
    """Count a document as read; list what of it the format drops whole.
    ``questions``: the document questions' names by id."""
    report.count("documents")
    if document.arrows:
        report.count("arrows", len(document.arrows))
        if ARROWS not in fmt.carries and not (kind == TOKEN_BASED and ARROWS_IN_LINES in fmt.carries):
            report.drop(ARROWS, _arrow_example(document), len(document.arrows))
    if document.comments and COMMENTS not in fmt.carries:
        report.drop(COMMENTS, {"document": document.name}, len(document.comments))
    if document.answer_sets and kind != DOCUMENT_BASED and DOCUMENT_ANSWERS not in fmt.carries:
        answers = {questions.get(question_id, question_id): value for question_id, value in document.answers.items()}
        report.drop(DOCUMENT_ANSWERS, {"document": document.name, "answers": answers})
    if kind is None:
        report.drop(
            "documents of a kind the format does not serve",
            {"document": document.name, "kinds": list(document.kinds)},
            unit="documents",
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
    spans = line.spans
    if not spans:
        return []
    kept: list[Span] = []
    # (most lines with spans have one: nothing to sort)
    for span in spans if len(spans) == 1 else sorted(spans, key=_span_order):
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
            report.drop(reason, span_example(document_name, line, span), unit="spans", labels=(span.label,))
    return kept


def _span_order(span: Span) -> tuple[int, int, int]:
    return (span.token_start, -span.token_end, span.label_set)


def span_example(document_name: str, line: Line, span: Span) -> dict[str, Any]:
    text = line.text[span.start : span.end] if span.last_line == line.index else line.text[span.start :]
    return {"document": document_name, "line": line.index, "label": span.label, "text": text}


def count_answers(answers: dict[str, Any], report: Report) -> None:
    for question_id, value in answers.items():
        if value not in (None, "", []):
            report.count("answers")
            report.answers_per_question[question_id] += 1
