"""Adversarial splitting options (issue 13, item 1): a unit that is not
there, a stratification with nothing to stratify by, the split options
without ``--split``: refused before anything is written. Awkward but valid
units (an empty cell, a unit's name in capitals) give the result their plain
spelling gives.

Every refusal goes through tests/hostile.py's ``assert_refused``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import ROOT, SMS_SLICE, run_cli
from hostile import assert_refused
from sources import read_csv_rows

import labelport
from labelport.errors import UsageError

CONLL = ROOT / "examples" / "wnut17-sample.conll"
TICKETS = ROOT / "examples" / "tickets.csv"
NEWSROOM = ROOT / "tests" / "fixtures" / "datasaur" / "newsroom-p8Xk2Lq9"
SPLIT = ["--split", "train=0.8,test=0.2"]

# (input, extra arguments, words the one-line message must hold)
REFUSED = {
    "no-such-column": (TICKETS, ["-f", "CSV", "--label-column", "intent", *SPLIT, "--split-by", "nosuchcolumn"],
                       ["--split-by nosuchcolumn", "'text'"]),
    "no-such-field-of-a-conll-file": (CONLL, ["-f", "TSV_IOB", *SPLIT, "--split-by", "speaker"],
                                      ["--split-by speaker", "wnut17-sample.conll"]),
    "no-such-field-of-datasaur-documents": (NEWSROOM, ["-f", "TSV_IOB", *SPLIT, "--split-by", "nosuchfield"],
                                            ["--split-by nosuchfield"]),
    "empty-unit": (CONLL, ["-f", "TSV_IOB", *SPLIT, "--split-by", " "], ["--split-by"]),
    "stratify-a-table-without-labels": (TICKETS, ["-f", "CSV", *SPLIT, "--stratify"],
                                        ["--stratify", "no labels", "tickets.csv"]),
    "split-by-without-split": (CONLL, ["-f", "TSV_IOB", "--split-by", "document"], ["--split-by needs --split"]),
    "stratify-without-split": (CONLL, ["-f", "TSV_IOB", "--stratify"], ["--stratify needs --split"]),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused(places, case):
    _, work, out = places
    source, arguments, words = REFUSED[case]
    message = assert_refused(*run_cli("convert", source, "-o", out, *arguments), work, out)
    for word in words:
        assert word in message, message


def test_stratify_a_conll_file_without_entities(places):
    """Every tag O: nothing to stratify by."""
    inputs, work, out = places
    source = inputs / "plain.conll"
    source.write_text("just\tO\nwords\tO\n\nmore\tO\n\n", encoding="utf-8")
    message = assert_refused(*run_cli("convert", source, "-f", "TSV_IOB", "-o", out, *SPLIT, "--stratify"), work, out)
    assert "--stratify" in message and "plain.conll" in message


def test_python_api_refuses_before_writing(tmp_path):
    out = tmp_path / "OUT"
    with pytest.raises(UsageError, match="--split-by nosuchcolumn"):
        labelport.convert(labelport.load(TICKETS, label_columns=["intent"]), "CSV", out,
                          split={"train": 0.8, "test": 0.2}, split_by="nosuchcolumn")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def _tree(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file() and p.name != "labelport-report.json"}


def test_unit_names_are_case_blind_and_row_is_line(tmp_path):
    outs = []
    for unit in ("line", "ROW", " Line "):
        outs.append(tmp_path / f"OUT{len(outs)}")
        code, _, stderr = run_cli("convert", SMS_SLICE, "--from", "TSV", "--columns", "label,text", "-f", "CSV",
                                  "-o", outs[-1], *SPLIT, "--split-by", unit)
        assert code == 0, stderr
    assert _tree(outs[0]) == _tree(outs[1]) == _tree(outs[2])


def test_empty_cells_are_one_group(tmp_path):
    """Rows whose grouping cell is empty share one unit: all in one split."""
    source = tmp_path / "t.csv"
    source.write_text("team,text,label\n" + "".join(f"{'' if i % 3 else 'x' + str(i)},t{i},{'ab'[i % 2]}\n"
                                                     for i in range(60)), encoding="utf-8")
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", source, "--label-column", "label", "-f", "CSV", "-o", out, *SPLIT,
                              "--split-by", "team")
    assert code == 0, stderr
    splits_of_empty = set()
    for split in ("train", "test"):
        path = out / split / "t.csv"
        if path.exists():
            header, *rows = read_csv_rows(path)
            if any(r[0] == "" for r in rows):
                splits_of_empty.add(split)
    assert len(splits_of_empty) == 1
