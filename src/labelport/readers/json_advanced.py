"""JSON_ADVANCED: Datasaur's per-document JSON of sentences and a flat list
of labels (``type`` SPAN or ARROW), character indices inside tokens, end
inclusive. Real Datasaur exports use it. Its shape is declared in
:mod:`labelport.datasaur.types`; top-level keys labelport does not model are
kept in ``Document.extra``."""

from __future__ import annotations

from typing import Iterator

from ..datasaur import pieces as dj
from ..datasaur.types import JSON_ADVANCED, AdvancedArrow, AdvancedFile, Decoded, decode_datasaur
from ..model import TOKEN_BASED, Document, Project
from . import Source


def project(source: Source, first: Decoded) -> Project:
    cached = [first]
    content = first.content
    assert isinstance(content, AdvancedFile)

    def documents() -> Iterator[Document]:
        yield document_from(cached.pop() if cached else decode_datasaur(source.read_bytes(), source.label, JSON_ADVANCED, True), source)

    return Project(
        id=source.stem,
        name=source.stem,
        kinds=(TOKEN_BASED,),
        documents_factory=documents,
        label_sets=dj.label_sets_from(content.labelSets),
        source=source.label,
    )


def document_name(file_name: str) -> str:
    """Datasaur appends .json to the original name (``lorem.txt.json``)."""
    stem = file_name[: -len(".json")] if file_name.lower().endswith(".json") else file_name
    return stem if "." in stem[1:] else file_name


def document_from(decoded: Decoded, source: Source) -> Document:
    where = source.label
    content = decoded.content
    assert isinstance(content, AdvancedFile)
    extras = decoded.entry_extras
    names = dj.LabelNames(dj.label_sets_from(content.labelSets))
    lines = dj.lines_from(content.sentences, where, "$.sentences")
    labels = content.labels or []
    path = dj.located("$.labels", labels)
    # (the type of each label was told apart as it was decoded)
    arrows = [entry for entry in labels if isinstance(entry, AdvancedArrow)]
    spans = labels if not arrows else [entry for entry in labels if not isinstance(entry, AdvancedArrow)]
    dj.place_spans(spans, dj.lines_by_index(lines, content.sentences, where, "$.sentences"), names, where, path, extras)
    name = document_name(source.name)
    return Document(
        id=name,
        name=name,
        kinds=(TOKEN_BASED,),
        lines=lines,
        arrows=[dj.arrow_from(entry, names, where, path, extras) for entry in arrows],
        comments=list(content.comments or ()),
        labeler=dj.labeler_from(content.labelerInfo),
        extra=decoded.extra,
    )
