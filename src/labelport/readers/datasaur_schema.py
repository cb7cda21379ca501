"""DATASAUR_SCHEMA: one JSON file per document version, ``{"version", "data"}``.

The layout of ``data`` for text projects is given key by key in the README
("DATASAUR_SCHEMA layout"); keys labelport does not model are kept in
``Document.extra`` and written back unchanged.
"""

from __future__ import annotations

from typing import Any, Iterator

from .. import datasaur_json as dj
from ..errors import InputError
from ..model import DOCUMENT_BASED, KINDS, ROW_BASED, TOKEN_BASED, Document, Project, Row
from . import ReadOptions, Source

#: ``data`` keys read into the model; any other key goes to Document.extra.
DATA_KEYS = (
    "project", "document", "kinds", "labelerInfo", "labelSets", "questions", "documentQuestions",
    "cells", "columns", "rows", "text", "spanLabels", "arrowLabels", "rowAnswers", "documentAnswers", "comments",
)  # fmt: skip


def read(source: Source, options: ReadOptions, format_id: str) -> Project:
    first = _data(source)
    cached = [first]

    def documents() -> Iterator[Document]:
        data = cached.pop() if cached else _data(source)
        yield document_from(data, source.label)

    project_info = first.get("project") or {}
    return Project(
        id=str(project_info.get("id") or source.stem),
        name=str(project_info.get("name") or source.stem),
        kinds=_kinds(first, source.label),
        documents_factory=documents,
        label_sets=dj.label_sets_from(first.get("labelSets")),
        questions=[dj.question_from(q) for q in first.get("questions") or []],
        document_questions=[dj.question_from(q) for q in first.get("documentQuestions") or []],
        source=source.label,
        id_from_data=bool(project_info.get("id")),
    )


def _data(source: Source) -> dict[str, Any]:
    parsed = dj.parse(source.label, source.read_bytes())
    if not isinstance(parsed, dict) or not isinstance(parsed.get("data"), dict):
        raise InputError('not DATASAUR_SCHEMA: expected {"version": ..., "data": {...}}', source.label)
    return parsed["data"]


def _kinds(data: dict[str, Any], where: str) -> tuple[str, ...]:
    kinds = tuple(data.get("kinds") or ())
    for kind in kinds:
        if kind not in KINDS:
            raise InputError(f"unknown project kind {kind!r}; labelport reads {', '.join(KINDS)}", where)
    if not kinds:  # infer from the content
        kinds = tuple(k for k, key in ((TOKEN_BASED, "cells"), (ROW_BASED, "rows"), (DOCUMENT_BASED, "text")) if key in data)
    return kinds


def document_from(data: dict[str, Any], where: str) -> Document:
    names = dj.LabelNames(dj.label_sets_from(data.get("labelSets")))
    lines = dj.lines_from(data.get("cells") or (), where)
    dj.place_spans(data.get("spanLabels") or (), {line.index: line for line in lines}, names, where)
    rows = []
    row_answers: dict[int, list] = {}
    for entry in data.get("rowAnswers") or []:
        row_answers.setdefault(int(entry.get("rowIndex", -1)), []).append(dj.answer_set_from(entry))
    for n, row in enumerate(data.get("rows") or []):
        index = int(row.get("index", n)) if isinstance(row, dict) else n
        cells = row.get("cells") if isinstance(row, dict) else row
        rows.append(Row(index, [("" if c is None else str(c)) for c in cells], row_answers.pop(index, [])))
    if row_answers:
        raise InputError(f"rowAnswers for rows that do not exist: {sorted(row_answers)[:5]}", where)
    document_info = data.get("document") or {}
    doc_id = str(document_info.get("id") or document_info.get("name") or where)
    return Document(
        id=doc_id,
        name=str(document_info.get("name") or doc_id),
        kinds=_kinds(data, where),
        lines=lines,
        columns=[str(c) for c in data.get("columns") or []],
        rows=rows,
        text=data.get("text"),
        answer_sets=[dj.answer_set_from(e) for e in data.get("documentAnswers") or []],
        arrows=[dj.arrow_from(e, names, where) for e in data.get("arrowLabels") or []],
        comments=list(data.get("comments") or []),
        labeler=dj.labeler_from(data.get("labelerInfo")),
        extra={k: v for k, v in data.items() if k not in DATA_KEYS},
    )
