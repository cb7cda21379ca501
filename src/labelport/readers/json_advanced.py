"""JSON_ADVANCED: Datasaur's per-document JSON of sentences and a flat list
of labels (``type`` SPAN or ARROW), character indices inside tokens, end
inclusive. Real Datasaur exports use it."""

from __future__ import annotations

from typing import Any, Iterator

from .. import datasaur_json as dj
from ..errors import InputError
from ..model import TOKEN_BASED, Document, Project
from . import ReadOptions, Source

#: Top-level keys read into the model; any other goes to Document.extra.
KEYS = ("sentences", "labelerInfo", "labelSets", "labels", "comments")


def read(source: Source, options: ReadOptions, format_id: str) -> Project:
    first = _parse(source)
    cached = [first]

    def documents() -> Iterator[Document]:
        yield document_from(cached.pop() if cached else _parse(source), source)

    return Project(
        id=source.stem,
        name=source.stem,
        kinds=(TOKEN_BASED,),
        documents_factory=documents,
        label_sets=dj.label_sets_from(first.get("labelSets")),
        source=source.label,
    )


def _parse(source: Source) -> dict[str, Any]:
    parsed = dj.parse(source.label, source.read_bytes())
    if not isinstance(parsed, dict) or not isinstance(parsed.get("sentences"), list):
        raise InputError('not JSON_ADVANCED: expected {"sentences": [...], ...}', source.label)
    return parsed


def document_name(file_name: str) -> str:
    """Datasaur appends .json to the original name (``lorem.txt.json``)."""
    stem = file_name[: -len(".json")] if file_name.lower().endswith(".json") else file_name
    return stem if "." in stem[1:] else file_name


def document_from(data: dict[str, Any], source: Source) -> Document:
    where = source.label
    names = dj.LabelNames(dj.label_sets_from(data.get("labelSets")))
    lines = dj.lines_from(data["sentences"], where)
    by_index = {line.index: line for line in lines}
    spans: list[dict[str, Any]] = []  # span entries met since the last other label, placed a run at a time
    arrows = []
    for entry in data.get("labels") or []:
        kind = entry.get("type", "SPAN")
        if kind == "SPAN":
            spans.append(entry)
            continue
        dj.place_spans(spans, by_index, names, where)  # (first, so that errors come in the labels' order)
        spans.clear()
        if kind == "ARROW":
            arrows.append(dj.arrow_from(entry, names, where))
        else:
            raise InputError(f"label {entry.get('id')!r}: type {kind!r} is not a text label (SPAN or ARROW)", where)
    dj.place_spans(spans, by_index, names, where)
    name = document_name(source.name)
    return Document(
        id=name,
        name=name,
        kinds=(TOKEN_BASED,),
        lines=lines,
        arrows=arrows,
        comments=list(data.get("comments") or []),
        labeler=dj.labeler_from(data.get("labelerInfo")),
        extra={k: v for k, v in data.items() if k not in KEYS},
    )
