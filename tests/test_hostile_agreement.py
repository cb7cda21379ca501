"""``inspect --agreement`` on input it cannot measure: refused in one line,
exit 2, nothing written; and awkward-but-valid versions measured right."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ROOT, run_cli
from hostile import assert_refused

import labelport

NEWSROOM = ROOT / "examples" / "projects" / "newsroom-p8Xk2Lq9"
NO_VERSIONS = "no labelers' versions to compare"


@pytest.mark.parametrize("source", [
    ROOT / "examples" / "wnut17-sample.conll",  # CoNLL: no labelers at all
    ROOT / "examples" / "tickets.csv",  # a table
    NEWSROOM / "REVIEW" / "news.txt.json",  # one Datasaur file: the final version alone
], ids=["conll", "table", "datasaur-file"])
def test_input_without_versions_is_refused(places, source: Path) -> None:
    _, work, out = places
    message = assert_refused(*run_cli("inspect", source, "--agreement", "--json"), work, out)
    assert message.startswith(f"labelport: error: {source}: {NO_VERSIONS}"), message


def test_an_export_all_folder_with_review_only_is_refused(places) -> None:
    inputs, work, out = places
    shutil.copytree(NEWSROOM / "REVIEW", inputs / "REVIEW")
    message = assert_refused(*run_cli("inspect", inputs, "--agreement"), work, out)
    assert NO_VERSIONS in message


def test_a_version_with_fewer_lines_is_compared_on_the_tokens_both_saw(tmp_path: Path) -> None:
    # alice and REVIEW: "Ada Lovelace met them ." (PER 0-1) and "Paris" (LOC); bob's version stops after line 0,
    # labeled as alice's. alice-bob: the 5 tokens of line 0, all alike -> po 1; alice PER 2, O 3, bob the same
    # -> pe = (2*2 + 3*3) / 25 = .52, kappa = (1 - .52) / (1 - .52) = 1. Paris has one labeler's value: no alpha unit.
    first = "Ada B-PER\nLovelace I-PER\nmet O\nthem O\n. O\n"
    for folder, text in (("REVIEW", first + "\nParis B-LOC\n"), ("DOCUMENT-alice", first + "\nParis B-LOC\n"),
                         ("DOCUMENT-bob", first)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "d.conll").write_text(text, encoding="utf-8")
    result = labelport.agreement(tmp_path)
    pair = next(e for e in result["kappa"] if (e["a"], e["b"]) == ("alice", "bob"))
    assert (pair["kappa"], pair["items"]) == (1.0, 5)
    # alice-REVIEW saw all 6 tokens; bob-REVIEW the 5 of line 0
    assert [(e["a"], e["b"], e["items"]) for e in result["kappa"][1:]] == [("alice", "REVIEW", 6), ("bob", "REVIEW", 5)]
    # span F1 alice against bob: bob has no LOC -> LOC precision 0 of 1, recall undefined; PER 1 of 1
    loc = next(e for e in result["span_f1"] if (e["a"], e["b"], e["label"]) == ("alice", "bob", "LOC"))
    assert (loc["precision"], loc["recall"], loc["support_b"]) == (0.0, None, 0)
    alpha = result["alpha"][0]
    assert (alpha["alpha"], alpha["items"], alpha["full_agreement"]) == (1.0, 5, 1.0)


def test_hundreds_of_labelers_are_measured_against_review_not_two_by_two(tmp_path: Path) -> None:
    # every two of n labelers are n(n-1)/2 pairs counted on every token: a 230 KB zip of 1,500 labelers'
    # versions of a 5-token document ran for more than 5 minutes. Past MOST_PAIRED labelers, each is measured
    # against REVIEW and alpha over all, and the figures say so
    import zipfile

    from labelport.iaa import MOST_PAIRED

    count = MOST_PAIRED + 5
    with zipfile.ZipFile(tmp_path / "many.zip", "w") as archive:
        archive.writestr("p-1/REVIEW/d.conll", "a B-X\nb O\nc B-Y\n")
        for n in range(count):
            archive.writestr(f"p-1/DOCUMENT-l{n:03}/d.conll", f"a {'B-X' if n % 2 else 'O'}\nb O\nc B-Y\n")
    found = labelport.agreement(tmp_path / "many.zip")
    assert [(e["a"], e["b"]) for e in found["kappa"]] == [(f"l{n:03}", "REVIEW") for n in range(count)]
    assert {e["b"] for e in found["span_f1"]} == {"REVIEW"}
    assert found["not_paired"] == (f"{count} labelers: pairs of labelers are measured up to {MOST_PAIRED}; "
                                   "each is measured against REVIEW, alpha over all")
    # alpha over all: token a is X for the odd labelers, O for the even; b and c agreed by all
    alpha = found["alpha"][0]
    assert (alpha["items"], alpha["full_agreement"]) == (3, 2 / 3)
    report = labelport.convert(tmp_path / "many.zip", "TSV_IOB", tmp_path / "out")
    assert report.agreement_section()["not_paired"] == found["not_paired"]
