"""A small token-labeling project with relations, written by hand as a
DATASAUR_SCHEMA file, and its relations read straight from that JSON (no
labelport): the source the relation tests compare each target with.

Three lines. Arrows: two within line 0, one to a CONFLICT span (line 1),
one across lines (1 -> 0), one from a span that overlaps a longer one
(line 2: kept by the chat variants, which keep overlapping entities, left
out by spaCy, which cannot), one to a span of the second label set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

LINES = [
    "Ada Lovelace worked with Charles Babbage in London .",
    "She wrote notes on the Analytical Engine .",
    "Babbage designed it .",
]

# reasons, as labelport-report.json's not_carried names them
CONFLICT_END = "relations to an unresolved (CONFLICT) span"
ACROSS_LINES = "relations across lines (an example, or a spaCy Doc, is one line)"
OTHER_SET = "relations to a span of a second label set"
LEFT_OUT = "relations to an entity left out (it overlaps one kept)"
UNKNOWN_END = "relations to a span the document does not have"
TWICE = "relations given twice (the same head, label and tail)"


def span(id: str, line: int, first: int, last: int, label: str, layer: int = 0, by: str = "REVIEWER") -> dict:
    return {"id": id, "layer": layer, "labelName": label, "startCellLine": line, "startTokenIndex": first,
            "startCharIndex": 0, "endCellLine": line, "endTokenIndex": last,
            "endCharIndex": len(LINES[line].split(" ")[last]) - 1, "labeledBy": by}


def arrow(id: str, label: str, origin: str, target: str) -> dict:
    return {"id": id, "layer": 0, "labelName": label, "originId": origin, "targetId": target, "labeledBy": "REVIEWER"}


SPANS = [
    span("s1", 0, 0, 1, "PER"), span("s2", 0, 4, 5, "PER"), span("s3", 0, 7, 7, "LOC"),
    span("s4", 1, 0, 0, "PER"), span("s5", 1, 5, 6, "MACHINE", by="CONFLICT"),
    span("s6", 2, 0, 0, "PER"), span("s8", 2, 0, 1, "ORG"), span("s9", 2, 2, 2, "MACHINE"),
    span("s10", 2, 2, 2, "MACHINE", layer=1),
]
ARROWS = [
    arrow("a1", "WORKED_WITH", "s1", "s2"), arrow("a2", "LIVED_IN", "s2", "s3"),
    arrow("a3", "WROTE_ABOUT", "s4", "s5"), arrow("a4", "SAME_AS", "s4", "s1"),
    arrow("a5", "DESIGNED", "s6", "s9"), arrow("a6", "DESIGNED", "s8", "s10"),
]


def write_project(folder: Path, spans: list[dict] = SPANS, arrows: list[dict] = ARROWS,
                  lines: list[str] = LINES, name: str = "story.txt") -> Path:
    data = {
        "project": {"id": "p-rel", "name": "relations"},
        "document": {"id": "d-" + name, "name": name},
        "kinds": ["TOKEN_BASED"],
        "cells": [{"line": i, "content": text, "tokens": text.split(" "), "metadata": []}
                  for i, text in enumerate(lines)],
        "spanLabels": spans,
        "arrowLabels": arrows,
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"version": "1", "data": data}), encoding="utf-8")
    return path


@dataclass(frozen=True)
class SourceRelation:
    id: str
    line: int  # the head's
    head: str
    label: str
    tail: str
    why_not_chat: str | None  # why the chat variants cannot carry it (None: they do)
    why_not_spacy: str | None


def _text(cells: list[dict], entry: dict) -> str:
    content, tokens = cells[entry["startCellLine"]]["content"], cells[entry["startCellLine"]]["tokens"]
    starts, at = [], 0
    for token in tokens:
        at = content.index(token, at)
        starts.append(at)
        at += len(token)
    start = starts[entry["startTokenIndex"]] + entry["startCharIndex"]
    return content[start : starts[entry["endTokenIndex"]] + entry["endCharIndex"] + 1]


def source_relations(path: Path) -> list[SourceRelation]:
    """Every arrow of the file, its ends' text and why each kind of target
    cannot carry it: the rules converters/README.md states, applied here."""
    data = json.loads(path.read_text("utf-8"))["data"]
    cells = {cell["line"]: cell for cell in data["cells"]}
    spans = {}
    for entry in data["spanLabels"]:
        spans.setdefault(entry["id"], entry)

    def overlapped(entry: dict) -> bool:  # spaCy keeps, in order of start, the longest; later overlapping ones go
        same_line = sorted((s for s in data["spanLabels"] if s["layer"] == 0 and s["labeledBy"] != "CONFLICT"
                            and s["startCellLine"] == entry["startCellLine"]),
                           key=lambda s: (s["startTokenIndex"], -s["endTokenIndex"]))
        last, kept = -1, []
        for s in same_line:
            if s["startTokenIndex"] > last:
                kept.append(s["id"])
                last = s["endTokenIndex"]
        return entry["id"] not in kept

    relations, seen = [], set()
    for a in data["arrowLabels"]:
        ends = [spans.get(a["originId"]), spans.get(a["targetId"])]
        why = None
        for end in ends:
            if end is None:
                why = UNKNOWN_END
            elif end["labeledBy"] == "CONFLICT":
                why = CONFLICT_END
            elif end["layer"] != 0:
                why = OTHER_SET
            if why:
                break
        if why is None and ends[0]["startCellLine"] != ends[1]["startCellLine"]:  # type: ignore[index]
            why = ACROSS_LINES
        key = (a["originId"], a["labelName"], a["targetId"])
        if why is None and key in seen:
            why = TWICE
        seen.add(key)
        why_spacy = why
        if why is None and any(overlapped(end) for end in ends):  # type: ignore[arg-type]
            why_spacy = LEFT_OUT
        head = _text(cells, ends[0]) if ends[0] else None  # type: ignore[arg-type]
        tail = _text(cells, ends[1]) if ends[1] else None  # type: ignore[arg-type]
        line = ends[0]["startCellLine"] if ends[0] else -1
        relations.append(
            SourceRelation(a["id"], line, head, a["labelName"], tail, why, why_spacy))  # type: ignore[arg-type]
    return relations


def reasons(relations: list[SourceRelation], spacy: bool) -> dict[str, int]:
    counted: dict[str, int] = {}
    for r in relations:
        why = r.why_not_spacy if spacy else r.why_not_chat
        if why:
            counted[why] = counted.get(why, 0) + 1
    return counted
