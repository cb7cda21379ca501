"""Row and document labeling as classification examples: a text and its
labels, for the formats that train classifiers (Comprehend, Azure, Vertex,
Hugging Face, the tuning transformers).

The labels come from one question: ``--question NAME``, else the project's
first (row questions for row labeling, document questions for document
labeling). The text of a row is the project's text column; of a document, its
text, or its lines joined by newlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ..errors import UsageError
from ..model import DOCUMENT_BASED, ROW_BASED, Document, Project, Question, Row
from ..report import Report
from .base import TEXT_ONLY, Context, Format, items

UNLABELED = "examples without an answer (not written)"
OTHER_QUESTIONS = "answers to questions other than the label question"


@dataclass(slots=True)
class Example:
    split: str
    text: str
    labels: list[str]
    document: str  # its name
    row: int | None  # None for a whole document
    document_id: str = ""

    @property
    def unit(self) -> str:
        """What the example is of what was read (Report.drop's unit)."""
        return "documents" if self.row is None else "rows"


def label_question(project: Project, kind: str, name: str | None) -> Question:
    questions = project.questions if kind == ROW_BASED else project.document_questions
    if name is not None:
        for question in questions:
            if question.name == name:
                return question
        there = ", ".join(repr(q.name) for q in questions) or "none"
        raise UsageError(f"--question: no question {name!r}; the project's are {there}", file=project.source)
    if not questions:
        hint = no_label_column_hint(project) if kind == ROW_BASED else None
        raise UsageError(hint or "the project has no question whose answers could be labels", file=project.source)
    return questions[0]


def no_label_column_hint(project: Project) -> str | None:
    """For a table read without ``--label-column`` (no questions, so no
    labels): what to give, with the columns there are; else None."""
    if project.questions or project.text_column is None:  # only the table reader names a text column
        return None
    first = next(project.documents(), None)
    columns = ", ".join(repr(c) for c in first.columns) if first is not None else "none"
    return (f"no label column was read: name the column that holds the labels with --label-column "
            f"(the columns are {columns})")


def classification_kind(project: Project) -> str:
    return ROW_BASED if ROW_BASED in project.kinds else DOCUMENT_BASED


def examples(fmt: Format, project: Project, ctx: Context, question: Question) -> Iterator[Example]:
    """Every row (or document) the format serves as an Example, in order."""
    text_index: dict[str, int] = {}
    for entry in items(fmt, project, ctx):
        document, item = entry.document, entry.item
        if item is None:
            continue
        if isinstance(item, Row):
            column = text_index.get(document.id)
            if column is None:
                column = text_index[document.id] = _text_column(document, project)
            text, answers, row = item.cells[column], item.answers, item.index
        else:
            text, answers, row = document_text(document, ctx.report), document.answers, None
        value = answers.get(question.id)
        labels = [] if value in (None, "") else [str(v) for v in value] if isinstance(value, list) else [str(value)]
        yield Example(entry.split, text, labels, document.name, row, document.id)


def _text_column(document: Document, project: Project) -> int:
    if not document.columns:  # every column is a label column: nothing to train on
        raise UsageError(
            f"document {document.name!r} has no text column, only label columns; "
            "a classifier needs a text to learn from",
            file=project.source,
        )
    if project.text_column is None:  # a column named text, else the first
        lowered = [column.lower() for column in document.columns]
        return lowered.index("text") if "text" in lowered else 0
    try:
        return document.columns.index(project.text_column)
    except ValueError:
        raise UsageError(f"document {document.name!r} has no column {project.text_column!r}", file=project.source) from None


def drop_other_answers(project: Project, kind: str, question: Question, report: Report) -> None:
    """List the answers to the questions other than ``question`` (of ``kind``'s
    questions): a classifier learns one. Call after :func:`examples` counted them."""
    others = project.questions if kind == ROW_BASED else project.document_questions
    for other in others:
        n = report.answers_per_question.get(other.id, 0)
        if other.id != question.id and n:
            report.drop(OTHER_QUESTIONS, {"question": other.name, "labels_from": question.name}, n)


def document_text(document: Document, report: Report) -> str:
    """A document's text; a token document's is its lines joined by
    newlines, and its spans, which a text does not carry, are listed."""
    if document.text is not None:
        return document.text
    lines = list(document.lines)  # (read once: they may stream)
    n_spans = sum(len(line.spans) for line in lines)
    if n_spans:
        # (no unit: a document served whole has its text counted, not its lines or spans)
        report.drop(TEXT_ONLY, {"document": document.name}, n_spans)
    return "\n".join(line.text for line in lines)
