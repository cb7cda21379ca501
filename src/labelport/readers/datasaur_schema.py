"""DATASAUR_SCHEMA: one JSON file per document version, ``{"version", "data"}``.

The layout of ``data`` for text projects is given key by key in the README
("DATASAUR_SCHEMA layout") and declared in :mod:`labelport.datasaur.types`;
keys labelport does not model are kept in ``Document.extra`` and written back
unchanged.

Files are decoded (and told apart from JSON_ADVANCED) by
:mod:`labelport.readers.datasaur_file`; :func:`project` makes the Project.
"""

from __future__ import annotations

from typing import Iterator

from msgspec import UNSET

from ..datasaur import pieces as dj
from ..datasaur.types import DATASAUR_SCHEMA, Decoded, SchemaData, decode_datasaur
from ..errors import InputError
from ..model import DOCUMENT_BASED, ROW_BASED, TOKEN_BASED, Document, Project, Row
from . import Source


def project(source: Source, first: Decoded) -> Project:
    cached = [first]
    data = first.content
    assert isinstance(data, SchemaData)

    def documents() -> Iterator[Document]:
        decoded = cached.pop() if cached else decode_datasaur(source.read_bytes(), source.label, DATASAUR_SCHEMA, True)
        yield document_from(decoded, source.label)

    project_info = data.project
    project_id = project_info.id if project_info else None
    project_name = project_info.name if project_info else None
    return Project(
        id=str(project_id or source.stem),
        name=str(project_name or source.stem),
        kinds=_kinds(data),
        documents_factory=documents,
        label_sets=dj.label_sets_from(data.labelSets),
        questions=_questions(data.questions, source.label, "$.data.questions"),
        document_questions=_questions(data.documentQuestions, source.label, "$.data.documentQuestions"),
        source=source.label,
        id_from_data=bool(project_id),
    )


def _questions(entries: list | None, where: str, path: str) -> list:
    return [dj.question_from(q, where, f"{path}[{n}]") for n, q in enumerate(entries or ())]


def _kinds(data: SchemaData) -> tuple[str, ...]:
    if data.kinds:
        return tuple(data.kinds)
    # inferred from the content the file has
    present = ((TOKEN_BASED, data.cells), (ROW_BASED, data.rows), (DOCUMENT_BASED, data.text))
    return tuple(kind for kind, content in present if content is not UNSET)


def document_from(decoded: Decoded, where: str) -> Document:
    data = decoded.content
    assert isinstance(data, SchemaData)
    extras = decoded.entry_extras
    names = dj.LabelNames(dj.label_sets_from(data.labelSets))
    cells = data.cells or []
    lines = dj.lines_from(cells, where, "$.data.cells")
    spans = data.spanLabels or []
    by_index = dj.lines_by_index(lines, cells, where, "$.data.cells")
    dj.place_spans(spans, by_index, names, where, dj.located("$.data.spanLabels", spans), extras)
    row_answers: dict[int, list] = {}
    for entry in data.rowAnswers or ():
        row_answers.setdefault(entry.rowIndex, []).append(dj.answer_set_from(entry, extras))
    rows = []
    columns = data.columns or []
    for n, row in enumerate(data.rows or ()):
        index, cells_given = (n, row) if type(row) is list else (n if row.index is None else row.index, row.cells)
        if columns and len(cells_given) != len(columns):  # the writers take a row's cells by column
            at = f"$.data.rows[{n}]" + ("" if type(row) is list else ".cells")
            raise InputError(f"{at}: {len(cells_given)} cells for the {len(columns)} columns", where)
        rows.append(Row(index, [("" if c is None else c) for c in cells_given], row_answers.pop(index, [])))
    if row_answers:
        missing = min(row_answers)
        n = next(n for n, e in enumerate(data.rowAnswers or ()) if e.rowIndex == missing)
        raise InputError(f"$.data.rowAnswers[{n}].rowIndex: row {missing} does not exist", where)
    arrows = data.arrowLabels or []
    arrow_path = dj.located("$.data.arrowLabels", arrows)
    document_info = data.document
    doc_id = str((document_info and (document_info.id or document_info.name)) or where)
    return Document(
        id=doc_id,
        name=str((document_info and document_info.name) or doc_id),
        kinds=_kinds(data),
        lines=lines,
        columns=columns,
        rows=rows,
        text=None if data.text is UNSET else data.text,
        answer_sets=[dj.answer_set_from(e, extras) for e in data.documentAnswers or ()],
        arrows=[dj.arrow_from(e, names, where, arrow_path, extras) for e in arrows],
        comments=list(data.comments or ()),
        labeler=dj.labeler_from(data.labelerInfo),
        extra=decoded.extra,
    )
