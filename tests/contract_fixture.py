"""Builds the "hard cases" Datasaur export-all folder the contract test
(tests/test_contract.py) converts to every format: one token-labeling
document whose spans each stand alone in what some format cannot carry,
where the newsroom fixture has them tangled (its span across lines is also of
the second label set; its span inside a token also overlaps others).

Written by hand from Datasaur's coordinate rules (line, token index,
character index inside the token, end inclusive), as
tests/fixtures/build_datasaur_fixtures.py does, not with labelport's writers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LABEL_SETS = [
    {"index": 0, "id": "ls-ner", "name": "NER", "labelItems": [
        {"id": "1", "labelName": "PER", "parentId": None, "color": None},
        {"id": "2", "labelName": "LOC", "parentId": None, "color": None},
        {"id": "3", "labelName": "ORG", "parentId": None, "color": None},
        {"id": "4", "labelName": "DATE", "parentId": None, "color": None},
        {"id": "10", "labelName": "MET", "parentId": None, "color": None},
    ]},
    {"index": 1, "id": "ls-work", "name": "Works", "labelItems": [
        {"id": "20", "labelName": "WORK", "parentId": None, "color": None},
    ]},
]
_IDS = {item["labelName"]: item["id"] for ls in LABEL_SETS for item in ls["labelItems"]}

LINES = [
    "Ada Lovelace met Charles Babbage in London .",
    "They wrote to the Royal Society in 1843 .",
    "Babbage 's Analytical Engine was shown in Marylebone",
    "High Street by Ada .",
]
NAME = "hard.txt"
ALICE = {"id": 11, "email": "alice.w@example.com", "displayName": "Alice W"}


def _span(sid: str, label: str, line: int, t0: int, t1: int, *, end_line: int | None = None, layer: int = 0,
          by: str = "REVIEWER", c0: int = 0, c1: int | None = None) -> dict[str, Any]:
    end_line = line if end_line is None else end_line
    last_token = LINES[end_line].split(" ")[t1]
    return {
        "id": sid, "layer": layer, "labelSetItemId": _IDS[label], "labelName": label,
        "startCellLine": line, "startTokenIndex": t0, "startCharIndex": c0,
        "endCellLine": end_line, "endTokenIndex": t1,
        "endCharIndex": len(last_token) - 1 if c1 is None else c1,
        "labeledBy": by, "labeledByUserId": None if by == "CONFLICT" else 3,
        "status": "LABELED" if by == "CONFLICT" else "ACCEPTED",
    }


def _arrow(aid: str, origin: str, target: str, by: str = "REVIEWER") -> dict[str, Any]:
    return {"id": aid, "layer": 0, "labelSetItemId": _IDS["MET"], "labelName": "MET", "originId": origin,
            "targetId": target, "labeledBy": by, "labeledByUserId": None if by == "CONFLICT" else 3,
            "status": "ACCEPTED"}


SPANS = [
    _span("h1", "PER", 0, 0, 1),  # Ada Lovelace
    _span("h2", "PER", 0, 3, 3),  # Charles } two spans of one label side by side
    _span("h3", "PER", 0, 4, 4),  # Babbage }
    _span("h4", "LOC", 0, 6, 6, by="CONFLICT"),  # London, unresolved ...
    _span("h5", "ORG", 0, 6, 6),  # ... and resolved otherwise on the same token
    _span("h6", "ORG", 1, 3, 5),  # the Royal Society
    _span("h7", "ORG", 1, 4, 5),  # Royal Society: inside h6
    _span("h8", "DATE", 1, 7, 7, c0=2, c1=3),  # "43", inside the token 1843
    _span("h9", "PER", 2, 0, 0),  # Babbage
    _span("h10", "WORK", 2, 2, 3, layer=1),  # Analytical Engine, the second label set
    _span("h11", "LOC", 2, 7, 1, end_line=3),  # Marylebone / High Street, across lines
    _span("h12", "PER", 3, 3, 3),  # Ada
]
ARROWS = [
    _arrow("a1", "h1", "h2"),  # within a line, both spans carried by every span format
    _arrow("a2", "h9", "h10"),  # to a span of the second label set
    _arrow("a3", "h12", "h1"),  # across lines
    _arrow("a4", "h1", "h3", by="CONFLICT"),
]
COMMENTS = [{"id": "c1", "message": "Which street?", "cellLine": 2, "userId": 3},
            {"id": "c2", "message": "DATE or year?", "cellLine": 1, "userId": 3}]
DOCUMENT_QUESTIONS = [{"id": 0, "name": "era", "label": "Era", "type": "DROPDOWN", "required": False,
                       "config": {"options": [{"id": "victorian", "label": "victorian"}], "multiple": False}}]


def _file(labeler: dict[str, Any] | None, spans: list[dict[str, Any]], arrows: list[dict[str, Any]],
          answers: list[dict[str, Any]], comments: list[dict[str, Any]]) -> dict[str, Any]:
    return {"version": "1", "data": {
        "project": {"id": "h4rd", "name": "hard-cases"},
        "document": {"id": "hard-1", "name": NAME},
        "kinds": ["TOKEN_BASED", "DOCUMENT_BASED"],
        "labelerInfo": labeler,
        "labelSets": LABEL_SETS,
        "questions": [],
        "documentQuestions": DOCUMENT_QUESTIONS,
        "cells": [{"line": i, "content": text, "tokens": text.split(" "), "metadata": []}
                  for i, text in enumerate(LINES)],
        "spanLabels": spans,
        "arrowLabels": arrows,
        "documentAnswers": answers,
        "comments": comments,
    }}


def build(folder: Path) -> Path:
    """Write the export-all folder (REVIEW, one labeler's DOCUMENT-, ROOT) into ``folder``."""
    review_answers = [
        {"answers": {"0": "victorian"}, "labeledBy": "CONFLICT", "labeledByUserId": None, "status": "LABELED"},
    ]
    alice = [{**span, "labeledBy": "LABELER", "labeledByUserId": 11, "status": "LABELED"} for span in SPANS[:3]]
    files = {
        f"REVIEW/{NAME}.json": _file(None, SPANS, ARROWS, review_answers, COMMENTS),
        f"DOCUMENT-alice_w_example_com/{NAME}.json": _file(ALICE, alice, [], [], []),
        f"ROOT-olga_example_com/{NAME}.json": _file(None, [], [], [], []),
    }
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "project-data.json").write_text(json.dumps({"project": {"id": "h4rd", "title": "hard-cases"}}) + "\n")
    return folder
