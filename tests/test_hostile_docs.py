"""Errors that name their fix: a table converted to a classifier format
without ``--label-column`` is refused naming the option and the columns
there are; ``labelport inspect`` of such a table says why it shows no answers.
"""

from __future__ import annotations

import pytest
from conftest import run_cli
from hostile import PREFIX, assert_refused

TABLE = b"ticket_id,text,intent\nT-1,refund me please,billing\nT-2,the app crashes,bug\n"
HINT = ("no label column was read: name the column that holds the labels with --label-column "
        "(the columns are 'ticket_id', 'text', 'intent')")

# every format that trains a classifier from a row-labeling project's answers
CLASSIFIERS = ["AMAZON_COMPREHEND_CSV", "AZURE_AUTOML_CSV", "GCP_VERTEX_AI_CSV", "HF_DATASET"]


@pytest.mark.parametrize("format_id", CLASSIFIERS)
@pytest.mark.parametrize("name,extra", [("tickets.csv", []), ("tickets.tsv", ["--text-column", "text"])])
def test_a_table_without_label_column_names_the_option(places, format_id, name, extra):
    inputs, work, out = places
    source = inputs / name
    source.write_bytes(TABLE if name.endswith(".csv") else TABLE.replace(b",", b"\t"))
    message = assert_refused(*run_cli("convert", source, "-f", format_id, "-o", out, *extra), work, out)
    assert message == f"{PREFIX}{source}: {HINT}"


def test_with_the_label_column_the_same_table_converts(places):
    inputs, _, out = places
    source = inputs / "tickets.csv"
    source.write_bytes(TABLE)
    code, _, stderr = run_cli("convert", source, "--label-column", "intent", "-f", "AMAZON_COMPREHEND_CSV", "-o", out)
    assert code in (0, 1), stderr  # 1: below Comprehend's minimums, written
    assert (out / "train" / "classifier.csv").read_text().splitlines() == ['billing,"refund me please"',
                                                                         'bug,"the app crashes"']


def test_inspect_of_a_table_without_label_column_says_why_there_are_no_answers(tmp_path):
    source = tmp_path / "tickets.csv"
    source.write_bytes(TABLE)
    code, stdout, stderr = run_cli("inspect", source)
    assert code == 0 and "answers per value" not in stdout
    assert stderr == f"labelport: no answers: {HINT}\n"
    code, stdout, stderr = run_cli("inspect", source, "--label-column", "intent")
    assert code == 0 and "answers per value" in stdout and "billing" in stdout
    assert stderr == ""


def test_a_project_without_questions_that_is_not_a_table_gets_no_table_hint(tmp_path):
    """A CoNLL file has no questions either; --label-column would be refused for it."""
    source = tmp_path / "ner.conll"
    source.write_bytes(b"John\tB-person\nruns\tO\n\n")
    code, _, stderr = run_cli("inspect", source)
    assert code == 0 and stderr == ""
