"""Agreement in every export on awkward-but-valid input: labelers and labels
whose names break Markdown tables, and a labeler's version that has fewer
lines than REVIEW. Nothing here is refused (the section parses nothing of
its own: it is made of what the readers already decoded); each case checks
the result against the source independently."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli


def test_names_that_break_a_markdown_table_stay_in_their_cells(tmp_path: Path) -> None:
    # a labeler folder and a label holding "|" and "`": the card's table keeps one cell each, and the
    # Hub checker reads the card as before (no rule broken)
    tags = {"REVIEW": ["B-a|b", "O"], "DOCUMENT-x|`y`": ["B-a|b", "O"], "DOCUMENT-z": ["O", "B-a|b"]}
    for folder, (first, second) in tags.items():
        (tmp_path / "in" / folder).mkdir(parents=True)
        (tmp_path / "in" / folder / "d.conll").write_text(f"w0 {first}\nw1 {second}\n", encoding="utf-8")
    code, _, stderr = run_cli("convert", tmp_path / "in", "-f", "HF_DATASET", "-o", tmp_path / "out")
    assert code == 0, stderr
    report = json.loads((tmp_path / "out" / "labelport-report.json").read_text(encoding="utf-8"))
    assert report["ready_for_training"] is False and not [c for c in report["checks"] if c["hard"]]
    # x|`y` marked REVIEW's one span (F1 1), z another token (F1 0): a|b's agreement .5
    assert report["agreement"]["labels"] == [{"label": "a|b", "agreement": 0.5, "f1": {"x|`y`": 1.0, "z": 0.0},
                                              "support": 1}]
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    table = card.split("## Annotation agreement", 1)[1]
    header = next(line for line in table.splitlines() if line.startswith("| label |"))
    row = next(line for line in table.splitlines() if line.startswith("| `a\\|b` |"))
    # cells split on the pipes that are not escaped: 5 cells each (label, agreement, F1 x2, support)
    assert [len(_cells(line)) for line in (header, row)] == [5, 5]
    assert _cells(row)[1:] == ["0.500", "1.000", "0.000", "1"]
    assert "lowest label a|b 0.50 (F1 against REVIEW, mean over 2 labelers)" in stderr


def _cells(line: str) -> list[str]:
    cells, cell, escaped = [], "", False
    for char in line.strip()[1:-1]:
        if char == "|" and not escaped:
            cells.append(cell.strip())
            cell = ""
        else:
            cell += char
        escaped = char == "\\"
    return cells + [cell.strip()]


def test_a_version_with_fewer_lines_counts_on_the_lines_it_has(tmp_path: Path) -> None:
    # REVIEW and alice: two sentences, PER then LOC; bob's version stops after the first (PER as REVIEW's).
    # Per label against REVIEW: PER alice 1, bob 1; LOC alice 1, bob 0 (REVIEW's LOC he never saw is missed)
    first, second = "Ada B-PER\nran O\n", "Paris B-LOC\n"
    for folder, text in (("REVIEW", first + "\n" + second), ("DOCUMENT-alice", first + "\n" + second),
                         ("DOCUMENT-bob", first)):
        (tmp_path / "in" / folder).mkdir(parents=True)
        (tmp_path / "in" / folder / "d.conll").write_text(text, encoding="utf-8")
    code, _, stderr = run_cli("convert", tmp_path / "in", "-f", "CONLL_2003", "-o", tmp_path / "out")
    assert code == 0, stderr
    found = json.loads((tmp_path / "out" / "labelport-report.json").read_text(encoding="utf-8"))["agreement"]
    assert [(e["label"], e["agreement"], e["f1"]) for e in found["labels"]] == [
        ("LOC", 0.5, {"alice": 1.0, "bob": 0.0}), ("PER", 1.0, {"alice": 1.0, "bob": 1.0})]
    # tokens: alice-bob compared on the 2 tokens bob saw, alice-REVIEW on all 3
    assert [(e["a"], e["b"], e["items"]) for e in found["kappa"]] == [
        ("alice", "bob", 2), ("alice", "REVIEW", 3), ("bob", "REVIEW", 2)]
    # the output still holds REVIEW's both sentences, whole (the tally read the streamed lines first)
    written = next((tmp_path / "out").glob("*.conll")).read_text(encoding="utf-8")
    assert [line.split()[0] for line in written.splitlines() if line.strip() and not line.startswith("-DOCSTART-")] \
        == ["Ada", "ran", "Paris"]
