"""What a conversion's splitter splits by (``--split-by``, ``--stratify``).

The unit is worked out before anything is written, so a bad ``--split-by``
or a ``--stratify`` with nothing to stratify by is refused with nothing
written. By default a project of several documents is split by document (no
document in two splits); a project of one document (a CoNLL file, a table)
by line or row. ``--stratify`` reads the project once more first: each
unit's labels (the span labels of a token unit, the answers of a row or
document) go to :func:`labelport.formats.splits.stratified_plan`.
"""

from __future__ import annotations

import zipfile
from itertools import islice
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..formats.base import Format, FormatOptions, QuestionOption, answer_values, served_kind
from ..formats.splits import DOCUMENT, LINE, Splitter, stratified_plan, unit_name
from ..model import DOCUMENT_BASED, ROW_BASED, TOKEN_BASED, Document, Project
from ..readers.conll import DOCSTART

#: bytes read at a time when a file is searched for CoNLL's document marker
SEARCH_BLOCK = 1 << 20


def make_splitter(
    project: Project,
    fmt: Format,
    options: FormatOptions,
    shares: dict[str, float] | None,
    seed: int,
    split_by: str | None,
    stratify: bool,
) -> tuple[Splitter, dict[str, Any] | None]:
    """The splitter, and the report's ``split`` section (None without shares)."""
    if not shares:
        if split_by is not None or stratify:
            raise UsageError(f"{'--split-by' if split_by is not None else '--stratify'} needs --split")
        return Splitter(shares, seed), None
    unit, why = _unit(project, split_by)
    shown = unit if unit != LINE else ("row" if project.kinds == (ROW_BASED,) else LINE)
    why = why.format(unit=shown)
    splitter = Splitter(shares, seed, unit)
    if stratify:
        units = unit_labels(project, fmt, options, splitter)
        if not any(units.values()):
            hint = "" if project.questions or ROW_BASED not in project.kinds else " (a table's labels: --label-column)"
            raise UsageError(f"--stratify: the project holds no labels to stratify by{hint}", file=project.source)
        splitter.plan = stratified_plan(units, splitter.shares, seed)
    return splitter, {"unit": shown, "why": why, "seed": seed, "stratify": stratify}


def _unit(project: Project, split_by: str | None) -> tuple[str, str]:
    if split_by is not None:
        unit = unit_name(split_by)
        if unit not in (DOCUMENT, LINE):
            _check_field(project, unit)
        return unit, "asked for with --split-by"
    if documents_up_to(project, 2) > 1:
        return DOCUMENT, "the project holds several documents: no document is in two splits"
    return LINE, "the project holds one document: each {unit} goes to a split of its own"


def documents_up_to(project: Project, most: int) -> int:
    """How many documents the project holds, counting no further than ``most``
    (a project of many files is not read to find out, nor one long file)."""
    if len(project.parts or ()) >= most:
        return most
    if _one_document_file(project.source):
        return 1
    return sum(1 for _ in islice(project.documents(), most))


def _one_document_file(source: str | None) -> bool:
    """A plain file (not a zip, a folder or an URL) without CoNLL's document
    marker: every reader makes one document of it, and only a CoNLL file's
    -DOCSTART- lines make more. Found by a byte search, so a long file is not
    parsed twice; a file holding the marker is counted by reading it."""
    path = Path(source) if source else None
    if path is None or not path.is_file() or zipfile.is_zipfile(path):
        return False
    # Read in blocks, not mapped: a mapped file's pages count in the process's
    # resident memory, which would then grow with the file.
    marker = DOCSTART.encode()
    carried = b""  # the end of the block before, where a marker may begin
    with open(path, "rb") as fh:
        while block := fh.read(SEARCH_BLOCK):
            window = carried + block
            if marker in window:
                return False
            carried = window[1 - len(marker):]
    return True


def _check_field(project: Project, field: str) -> None:
    """A field to split by is a column of the table or a field of the first document."""
    first: Document | None = next(project.documents(), None)
    if first is not None and (field in first.columns or field in first.extra):
        return
    have = [*(first.columns if first else []), *(first.extra if first else {})]
    there = ", ".join(repr(name) for name in have) or "none"
    raise UsageError(
        f"--split-by {field}: not document, line or a column or document field; the project's are {there}",
        file=project.source,
    )


def unit_labels(project: Project, fmt: Format, options: FormatOptions, splitter: Splitter) -> dict[str, frozenset[str]]:
    """Each unit's labels: the span labels of its lines, or the answers of its
    rows or documents (to ``--question`` when given, else to any question)."""
    question_ids = _question_ids(project, options)
    labels: dict[str, set[str]] = {}

    def answers_of(answers: dict[str, Any]) -> list[str]:
        if question_ids is not None:
            answers = {q: v for q, v in answers.items() if q in question_ids}
        return answer_values(answers)

    for document in project.documents():
        kind = served_kind(fmt, document)
        if kind is None:
            continue
        if kind == DOCUMENT_BASED:
            labels.setdefault(splitter.document_unit(document) or document.id, set()).update(answers_of(document.answers))
            continue
        whole = splitter.document_unit(document)
        if kind == TOKEN_BASED:
            for line in document.lines:
                unit = whole if whole is not None else f"{document.id}:{line.index}"
                labels.setdefault(unit, set()).update(span.label for span in line.spans)
        else:
            unit_of = splitter.row_units(document) if whole is None else None
            for row in document.rows:
                unit = whole if unit_of is None else unit_of(row)
                labels.setdefault(unit, set()).update(answers_of(row.answers))  # type: ignore[arg-type]
    return {unit: frozenset(found) for unit, found in labels.items()}


def _question_ids(project: Project, options: FormatOptions) -> set[str] | None:
    name = options.question if isinstance(options, QuestionOption) else None
    if name is None:
        return None
    return {q.id for q in [*project.questions, *project.document_questions] if q.name == name}
