"""Adversarial options (issue 12, item 4): options that a format, or the
reader of an input, would have ignored are refused, not dropped; awkward but
valid spellings still give the result their plain spelling gives.

Every refusal goes through tests/hostile.py's ``assert_refused``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, run_cli
from hostile import assert_refused

import labelport
from labelport.errors import UsageError

CONLL = ROOT / "examples" / "wnut17-sample.conll"
EXPORT_ZIP = ROOT / "examples" / "newsroom-export.zip"
TICKETS = ROOT / "examples" / "tickets.csv"
NEWSROOM = ROOT / "tests" / "fixtures" / "datasaur" / "newsroom-p8Xk2Lq9"

# (input, extra arguments, words the one-line message must hold)
REFUSED = {
    # read-side table options given for an input no table reader reads
    "label-column-for-a-datasaur-zip": (EXPORT_ZIP, ["-f", "TSV_IOB", "--label-column", "intent"],
                                        ["--label-column", "DATASAUR_SCHEMA", "newsroom-export.zip"]),
    "label-separator-for-conll": (CONLL, ["-f", "TSV_IOB", "--label-separator", ";"],
                                  ["--label-separator", "TSV_IOB", "wnut17-sample.conll"]),
    "text-column-with-from-conll": (CONLL, ["--from", "CONLL_2003", "-f", "TSV_IOB", "--text-column", "text"],
                                    ["--text-column", "CONLL_2003"]),
    "columns-for-a-datasaur-folder": (NEWSROOM, ["-f", "TSV_IOB", "--columns", "label,text"],
                                      ["--columns", "DATASAUR_SCHEMA"]),
    "every-table-option-at-once": (CONLL, ["--from", "TSV_IOB", "-f", "TSV_IOB", "--text-column", "t", "--label-column",
                                           "l", "--label-separator", ";", "--columns", "t,l"],
                                   ["--text-column, --label-column, --label-separator, --columns"]),
    # write-side: given is given, whatever the value
    "empty-output-separator-for-tsv-iob": (CONLL, ["-f", "TSV_IOB", "--output-separator", ""],
                                           ["--output-separator", "TSV_IOB does not take this option"]),
    "empty-question-for-conll": (CONLL, ["-f", "CONLL_2003", "--question", ""], ["--question", "AZURE_AUTOML_CSV"]),
    "transformer-path-for-json": (CONLL, ["-f", "JSON", "--transformer", "/dev/null"],
                                  ["--transformer", "formats that take it: CUSTOM"]),
    "offset-unit-for-azure": (CONLL, ["-f", "AZURE_AUTOML_CSV", "--offset-unit", "utf16"],
                              ["--offset-unit", "AZURE_AUTOML_CSV does not take this option"]),
    "output-separator-for-hf": (TICKETS, ["-f", "HF_DATASET", "--label-column", "intent", "--output-separator", ";"],
                                ["--output-separator", "HF_DATASET does not take this option"]),
    # an empty separator: answers "a" and "b" in one cell would read back as "ab"
    "empty-output-separator-for-csv": (TICKETS, ["-f", "CSV", "--label-column", "intent", "--output-separator", ""],
                                       ["--output-separator", "must not be empty"]),
    "empty-output-separator-for-json-tabular": (CONLL, ["-f", "JSON_TABULAR", "--output-separator", ""],
                                                ["--output-separator", "must not be empty"]),
    "question-for-row-csv": (TICKETS, ["-f", "CSV", "--label-column", "intent", "--question", "intent"],
                             ["--question", "CSV does not take this option"]),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused(places, case):
    source, extra, words = REFUSED[case]
    _, work, out = places
    message = assert_refused(*run_cli("convert", source, *extra, "-o", out), work, out)
    for word in words:
        assert word in message, message


def test_a_folder_of_a_table_and_a_datasaur_file_is_refused_whole(places):
    """The table is read first; the table options cannot apply to the
    DATASAUR_SCHEMA file read next, and nothing is written."""
    inputs, work, out = places
    folder = inputs / "mixed"
    folder.mkdir()
    shutil.copy(TICKETS, folder / "a.csv")
    shutil.copy(NEWSROOM / "REVIEW" / "news.txt.json", folder / "b.json")
    message = assert_refused(*run_cli("convert", folder, "-f", "CSV", "--label-column", "intent", "-o", out), work, out)
    assert "b.json" in message and "--label-column" in message, message


def test_inspect_refuses_table_options_for_conll(places):
    _, work, out = places
    message = assert_refused(*run_cli("inspect", CONLL, "--label-separator", ";"), work, out)
    assert "--label-separator" in message


def test_api_refuses_an_unknown_offset_unit(tmp_path):
    with pytest.raises(UsageError, match="offset unit must be one of codepoint, utf16, not 'UTF-16'"):
        labelport.convert(CONLL, "AMAZON_COMPREHEND_CSV", tmp_path / "out", offset_unit="UTF-16")
    assert list(tmp_path.iterdir()) == []


def test_api_refuses_an_empty_label_separator(tmp_path):
    with pytest.raises(UsageError, match=r"\(label_separator\) must not be empty"):
        labelport.convert(CONLL, "XLSX", tmp_path / "out", label_separator="")
    assert list(tmp_path.iterdir()) == []


def test_offset_unit_in_capitals_is_the_same_unit(tmp_path):
    """--offset-unit UTF16 is --offset-unit utf16: the same bytes."""
    outs = []
    for spelling in ("UTF16", "utf16"):
        out = tmp_path / spelling
        code, _, stderr = run_cli("convert", CONLL, "-f", "GCP_VERTEX_AI_CSV", "--offset-unit", spelling, "-o", out)
        assert code == 0, stderr
        outs.append(out)
    upper, lower = ({p.relative_to(o).as_posix(): p.read_bytes() for p in o.rglob("*") if p.is_file()} for o in outs)
    assert upper == lower
    notes = json.loads(upper["labelport-report.json"])["vertex"]
    assert notes["offset_unit"] == "UTF-16 code units"
