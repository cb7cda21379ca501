"""Awkward but valid token projects at the edges of what a format carries
(issue 12: nothing lost silently): spans that end, or only start, inside a
token; tokens apart by more than one space; a CONFLICT arrow to a span the
format drops anyway; a token document with no span; --strict on a text-only
format.

Nothing here is refused (every input is valid): each case checks the written
file against the source, re-parsed here, and the report's not_carried.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from sources import report_of

OFF_TOKEN_BOUNDARIES = "spans that do not start and end on token boundaries"
TEXT_ONLY = "spans (the format writes the text without them)"
CONFLICTS = "unresolved (CONFLICT) entries"
UNLINKED_ARROWS = "arrows between lines, or to spans the format does not carry"


def _span(sid: str, label: str, t0: int, c0: int, t1: int, c1: int, by: str = "REVIEWER") -> dict[str, Any]:
    """A Datasaur span on line 0: token and character index (inside the
    token) of its first and last character, both inclusive."""
    return {"id": sid, "layer": 0, "labelSetItemId": "1", "labelName": label, "startCellLine": 0,
            "startTokenIndex": t0, "startCharIndex": c0, "endCellLine": 0, "endTokenIndex": t1,
            "endCharIndex": c1, "labeledBy": by, "labeledByUserId": None if by == "CONFLICT" else 3,
            "status": "LABELED" if by == "CONFLICT" else "ACCEPTED"}


def _datasaur(path: Path, content: str, tokens: list[str], spans: list[dict[str, Any]],
              arrows: list[dict[str, Any]] | None = None, kinds: tuple[str, ...] = ("TOKEN_BASED",),
              answers: list[dict[str, Any]] | None = None) -> Path:
    """A DATASAUR_SCHEMA file of one document of one line."""
    path.write_text(json.dumps({"version": "1", "data": {
        "project": {"id": "p", "name": "p"},
        "document": {"id": "d", "name": "d.txt"},
        "kinds": list(kinds),
        "labelerInfo": None,
        "labelSets": [{"index": 0, "id": "ner", "name": "NER", "labelItems": [
            {"id": "1", "labelName": label} for label in ("X", "Y", "R")]}],
        "questions": [],
        "documentQuestions": [{"id": 0, "name": "era", "label": "Era", "type": "TEXT", "required": False,
                               "config": {}}],
        "cells": [{"line": 0, "content": content, "tokens": tokens, "metadata": []}],
        "spanLabels": spans,
        "arrowLabels": arrows or [],
        "documentAnswers": answers or [],
        "comments": [],
    }}), encoding="utf-8")
    return path


def _convert(source: Path, fmt: str, out: Path, *options: str) -> tuple[dict[str, Any], str]:
    code, _, stderr = run_cli("convert", source, "-f", fmt, "-o", out, *options)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    return report_of(out), stderr


def _tags(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("\t")) for line in path.read_text(encoding="utf-8").split("\n") if line]  # type: ignore[misc]


@pytest.mark.parametrize(
    "span,text",
    [
        pytest.param(_span("s", "X", 2, 2, 3, 0), "43 .", id="starts-inside-a-token"),
        pytest.param(_span("s", "X", 1, 0, 2, 2), "in 184", id="ends-inside-a-token"),
        pytest.param(_span("s", "X", 2, 1, 2, 3), "843", id="inside-a-token-to-its-end"),
    ],
)
def test_a_span_not_on_token_boundaries_is_not_tagged(tmp_path: Path, span: dict[str, Any], text: str) -> None:
    source = _datasaur(tmp_path / "d.json", "met in 1843 .", ["met", "in", "1843", "."],
                       [span, _span("w", "Y", 0, 0, 0, 2)])
    report, stderr = _convert(source, "TSV_IOB", tmp_path / "OUT")
    assert _tags(tmp_path / "OUT" / "d.txt.tsv") == [("met", "B-Y"), ("in", "O"), ("1843", "O"), (".", "O")]
    assert report["not_carried"] == {
        OFF_TOKEN_BOUNDARIES: {"count": 1, "examples": [{"document": "d.txt", "line": 0, "label": "X", "text": text}]}}
    assert f"not carried by TSV_IOB: {OFF_TOKEN_BOUNDARIES}: 1\n" in stderr


def test_tokens_apart_by_several_spaces_are_still_whole_tokens(tmp_path: Path) -> None:
    """The token starts come from the text, not from single spaces: a span on
    "New   York" (three spaces) covers its two tokens exactly."""
    content = "New   York\tis big"
    source = _datasaur(tmp_path / "d.json", content, ["New", "York", "is", "big"],
                       [_span("s", "X", 0, 0, 1, 3), _span("t", "Y", 3, 0, 3, 2)])
    report, _ = _convert(source, "CONLL_2003", tmp_path / "OUT")
    rows = [line.split(" ") for line in (tmp_path / "OUT" / "d.txt.conll").read_text(encoding="utf-8").split("\n")[2:]
            if line]
    assert [(row[0], row[3]) for row in rows] == [("New", "B-X"), ("York", "I-X"), ("is", "O"), ("big", "B-Y")]
    assert report["not_carried"] == {}


def test_a_conflict_arrow_to_a_dropped_span_is_counted_once(tmp_path: Path) -> None:
    """JSON: every arrow is a relation, an unresolved entry or an unlinked
    arrow, never two of them."""
    spans = [_span("a", "X", 0, 0, 0, 2), _span("b", "X", 2, 0, 2, 6),
             _span("c", "Y", 2, 0, 2, 6, by="CONFLICT")]
    arrows = [
        {"id": "r1", "layer": 0, "labelSetItemId": "1", "labelName": "R", "originId": "a", "targetId": "b",
         "labeledBy": "REVIEWER", "labeledByUserId": 3, "status": "ACCEPTED"},
        {"id": "r2", "layer": 0, "labelSetItemId": "1", "labelName": "R", "originId": "a", "targetId": "c",
         "labeledBy": "CONFLICT", "labeledByUserId": None, "status": "LABELED"},  # to the CONFLICT span
        {"id": "r3", "layer": 0, "labelSetItemId": "1", "labelName": "R", "originId": "b", "targetId": "a",
         "labeledBy": "CONFLICT", "labeledByUserId": None, "status": "LABELED"},  # between carried spans
        {"id": "r4", "layer": 0, "labelSetItemId": "1", "labelName": "R", "originId": "c", "targetId": "a",
         "labeledBy": "REVIEWER", "labeledByUserId": 3, "status": "ACCEPTED"},  # from the CONFLICT span
    ]
    source = _datasaur(tmp_path / "d.json", "Ada met Babbage", ["Ada", "met", "Babbage"], spans, arrows)
    report, _ = _convert(source, "JSON", tmp_path / "OUT")
    (line,) = json.loads((tmp_path / "OUT" / "d.txt.json").read_text(encoding="utf-8"))
    assert [line["text"][s["start"]:s["end"]] for s in line["spans"]] == ["Ada", "Babbage"]
    assert line["relations"] == [{"label": "R", "from": 0, "to": 1}]
    counts = {what: loss["count"] for what, loss in report["not_carried"].items()}
    assert counts == {CONFLICTS: 3, UNLINKED_ARROWS: 1}  # the span c, r2, r3; r4
    assert len(line["relations"]) + counts[CONFLICTS] - 1 + counts[UNLINKED_ARROWS] == len(arrows)


@pytest.mark.parametrize("fmt,table", [("XLSX", "documents.xlsx"), ("JSON_TABULAR", "documents.json")])
def test_a_token_document_without_spans_lists_nothing(tmp_path: Path, fmt: str, table: str) -> None:
    answers = [{"answers": {"0": "victorian"}, "labeledBy": "REVIEWER", "labeledByUserId": 3, "status": "ACCEPTED"}]
    source = _datasaur(tmp_path / "d.json", "Ada met Babbage", ["Ada", "met", "Babbage"], [],
                       kinds=("TOKEN_BASED", "DOCUMENT_BASED"), answers=answers)
    report, _ = _convert(source, fmt, tmp_path / "OUT")
    assert report["not_carried"] == {}
    if fmt == "JSON_TABULAR":
        rows = json.loads((tmp_path / "OUT" / table).read_text(encoding="utf-8"))
    else:
        from openpyxl import load_workbook

        header, *body = load_workbook(tmp_path / "OUT" / table).worksheets[0].iter_rows(values_only=True)
        rows = [dict(zip(header, values)) for values in body]
    assert rows == [{"name": "d.txt", "text": "Ada met Babbage", "era": "victorian"}]


def test_strict_plain_fails_on_a_labeled_project_and_still_writes_the_text(tmp_path: Path) -> None:
    """PLAIN carries no span by design; --strict makes that an error (exit 1,
    the output kept), as for every loss."""
    source = _datasaur(tmp_path / "d.json", "Ada met Babbage", ["Ada", "met", "Babbage"],
                       [_span("a", "X", 0, 0, 0, 2)])
    code, _, stderr = run_cli("convert", source, "-f", "PLAIN", "-o", tmp_path / "OUT", "--strict")
    assert code == 1, stderr
    assert f"not carried by PLAIN: {TEXT_ONLY}: 1\n" in stderr
    assert "--strict" in stderr.splitlines()[-1]
    assert (tmp_path / "OUT" / "d.txt").read_text(encoding="utf-8") == "Ada met Babbage\n"


@pytest.mark.parametrize("split", [(), ("--split", "a=0.5,b=0.5", "--split-by", "line", "--seed", "1")])
def test_json_counts_an_arrow_from_no_span_once(tmp_path: Path, split: tuple[str, ...]) -> None:
    """JSON writes an arrow with the line of its origin span: one whose origin
    names no span of the document is counted (once, whichever split gets the
    document's first line), a CONFLICT one under unresolved entries."""
    from test_hf_relations import arrow, schema_file, span

    lines = [["Ada", "met", "Charles"]] * 6
    arrows = [arrow("r1", "KNOWS", "s1", "s2"), arrow("r2", "KNOWS", "nowhere", "s2"),
              arrow("r3", "KNOWS", "nowhere", "s1", by="CONFLICT"), arrow("r4", "KNOWS", "s2", "nowhere")]
    source = tmp_path / "doc.json"
    source.write_text(json.dumps(schema_file("doc", lines, [span("s1", "PER", 0, 0, 0), span("s2", "PER", 0, 2, 2)],
                                             arrows)), encoding="utf-8")
    report, stderr = _convert(source, "JSON", tmp_path / "OUT", *split)
    written = [line for path in sorted((tmp_path / "OUT").rglob("doc.txt.json"))
               for line in json.loads(path.read_text(encoding="utf-8"))]
    if split:
        assert len(list((tmp_path / "OUT").rglob("doc.txt.json"))) == 2  # the document's lines in both splits
    assert sorted(line["id"] for line in written) == list(range(6))
    assert [line["relations"] for line in written if line["id"] == 0] == [[{"label": "KNOWS", "from": 0, "to": 1}]]
    counts = {what: loss["count"] for what, loss in report["not_carried"].items()}
    assert counts == {UNLINKED_ARROWS: 2, CONFLICTS: 1}  # r2 and r4; r3
    assert f"{UNLINKED_ARROWS}: 2" in stderr
