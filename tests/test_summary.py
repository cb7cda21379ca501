"""The summary adds up: what was read and what was written, side by side, on
stderr and in labelport-report.json; one of a thing is singular; questions
are named. The written counts are checked against the files written, read
back here independently of labelport's readers."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from pathlib import Path

import contract_fixture
import pytest

ROOT = Path(__file__).resolve().parent.parent
NEWSROOM = ROOT / "examples" / "newsroom-export.zip"
WNUT = ROOT / "examples" / "wnut17-sample.conll"


def _report(out: Path) -> dict:
    return json.loads((out / "labelport-report.json").read_text(encoding="utf-8"))


def _iob_spans(out: Path, suffix: str) -> Counter[str]:
    """Spans per label in IOB files: one a B- tag (IOB2 writers open every span with one)."""
    found: Counter[str] = Counter()
    for path in sorted(out.rglob(f"*{suffix}")):
        for line in path.read_text(encoding="utf-8").splitlines():
            tag = line.rsplit("\t" if suffix == ".tsv" else " ", 1)[-1]
            if tag.startswith("B-"):
                found[tag[2:]] += 1
    return found


def test_newsroom_read_and_written_side_by_side(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "OUT"
    code, stdout, stderr = run_cli("convert", NEWSROOM, "-f", "TSV_IOB", "-o", out)
    assert code == 0 and stdout == "", stderr
    lines = stderr.splitlines()
    assert lines[0] == ("labelport: TSV_IOB: read 2 documents, 6 lines, 37 tokens, 12 spans; "
                        "wrote 2 documents, 6 lines, 7 spans in 2 files")
    assert lines[1] == ("labelport: spans per label (read -> written when fewer): "
                        "DATE 1 -> 0, EVENT 1 -> 0, LOC 2, ORG 4 -> 2, PER 3, TRAVEL 1 -> 0")
    written = _iob_spans(out, ".tsv")
    assert sum(written.values()) == 7
    report = _report(out)
    assert report["written"] == {"documents": 2, "lines": 6, "spans": 7}
    assert report["counts"]["spans"] == 12
    assert {label: n for label, n in report["spans_per_label_written"].items() if n} == dict(written)
    assert set(report["spans_per_label_written"]) == set(report["spans_per_label"])
    # what was read less what was written is what the report lists as not carried
    span_losses = sum(loss["count"] for what, loss in report["not_carried"].items()
                      if what in ("overlapping spans", "spans of a second label set", "spans across lines",
                                  "unresolved (CONFLICT) entries"))
    assert report["counts"]["spans"] - report["written"]["spans"] == span_losses


def test_report_keys_keep_their_order(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "OUT"
    assert run_cli("convert", NEWSROOM, "-f", "JSON", "-o", out)[0] == 0
    keys = list(_report(out))
    assert keys[:10] == ["labelport", "source", "format", "options", "counts", "written", "spans_per_label",
                         "spans_per_label_written", "answers_per_question", "splits"]
    assert keys[-1] == "files"


@pytest.mark.parametrize("fmt, suffix", [("TSV_IOB", ".tsv"), ("CONLL_2003", ".conll")])
def test_written_spans_are_the_tags_in_the_files(tmp_path: Path, run_cli, fmt: str, suffix: str) -> None:
    """The hard cases (overlaps, a second label set, a span across lines, one
    inside a token, a conflict): each dropped span is not counted as written."""
    source = contract_fixture.build(tmp_path / "hard-cases")
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", source, "-f", fmt, "-o", out)
    assert code == 0, stderr
    report = _report(out)
    found = _iob_spans(out, suffix)
    assert report["written"]["spans"] == sum(found.values()) < report["counts"]["spans"] == len(contract_fixture.SPANS)
    assert {label: n for label, n in report["spans_per_label_written"].items() if n} == dict(found)


def test_comprehend_written_spans_are_its_annotation_rows(tmp_path: Path, run_cli) -> None:
    source = contract_fixture.build(tmp_path / "hard-cases")
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", source, "-f", "AMAZON_COMPREHEND_CSV", "-o", out)
    assert code == 0, stderr
    rows = []
    for path in out.rglob("annotations.csv"):
        with open(path, encoding="utf-8", newline="") as fh:
            rows += list(csv.DictReader(fh))
    report = _report(out)
    assert report["written"]["spans"] == len(rows) > 0
    assert f"wrote 1 document, {len(contract_fixture.LINES)} lines, {len(rows)} spans in" in stderr


def test_plain_writes_no_span(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", NEWSROOM, "-f", "PLAIN", "-o", out)
    assert code == 0, stderr
    report = _report(out)
    assert report["written"] == {"documents": 2, "lines": 6, "spans": 0}
    assert set(report["spans_per_label_written"].values()) == {0}


def test_one_of_a_thing_is_singular(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", WNUT, "-f", "TSV_IOB", "-o", out)
    assert code == 0, stderr
    first = stderr.splitlines()[0]
    assert first.startswith("labelport: TSV_IOB: read 1 document, ") and first.endswith(" in 1 file"), first
    assert "1 documents" not in stderr and "1 files" not in stderr
    # a loss named before its count: no "1 comments"
    source = contract_fixture.build(tmp_path / "hard-cases")
    code, _, stderr = run_cli("convert", source, "-f", "TSV_IOB", "-o", tmp_path / "OUT2")
    assert code == 0, stderr
    assert "labelport: warning: not carried by TSV_IOB: spans across lines: 1\n" in stderr


def test_dropped_document_answers_name_their_question(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "OUT"
    assert run_cli("convert", NEWSROOM, "-f", "TSV_IOB", "-o", out)[0] == 0
    examples = _report(out)["not_carried"]["document answers"]["examples"]
    assert examples == [{"document": "chat.txt", "answers": {"topic": "sport"}},
                        {"document": "news.txt", "answers": {"topic": "politics"}}]


def test_unlabeled_rows_are_not_counted_as_written(tmp_path: Path, run_cli) -> None:
    table = tmp_path / "tickets.csv"
    table.write_text("text,intent\nmy card is lost,card\nhello,\nrefund please,refund\n", encoding="utf-8")
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", table, "--label-column", "intent", "-f", "AMAZON_COMPREHEND_CSV",
                              "-o", out)
    assert code == 0, stderr
    report = _report(out)
    assert report["counts"]["rows"] == 3 and report["written"]["rows"] == 2
    assert "read 1 document, 3 rows" in stderr and "wrote 1 document, 2 rows" in stderr
    with open(next(out.rglob("*.csv")), encoding="utf-8", newline="") as fh:
        assert len(list(csv.reader(fh))) == 2


def test_jobs_add_up_the_same(tmp_path: Path, run_cli) -> None:
    folder = tmp_path / "hard"
    for n in range(4):
        source = contract_fixture.build(tmp_path / f"hard-{n}")
        shutil.copytree(source / "REVIEW", folder, dirs_exist_ok=True)
        (folder / "hard.txt.json").rename(folder / f"hard-{n}.json")
    reports = []
    for jobs in (1, 2):
        out = tmp_path / f"OUT{jobs}"
        code, _, stderr = run_cli("convert", folder, "-f", "TSV_IOB", "-o", out, "--jobs", jobs)
        assert code == 0, stderr
        reports.append(_report(out))
    assert reports[0]["written"] == reports[1]["written"]
    assert reports[0]["spans_per_label_written"] == reports[1]["spans_per_label_written"]
    assert reports[1]["written"]["spans"] == sum(_iob_spans(tmp_path / "OUT2", ".tsv").values()) > 0
