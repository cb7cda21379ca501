"""benchmarks/agreement.py: its input deviates as it says, and its --quick mode runs end to end.

The end-to-end run uses a small WNUT-17-shaped file made here (the real
dataset is not in the repository): ten documents, three labelers, one run of
every command, a few seconds.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import agreement  # benchmarks/ is not a package

TYPES = ["location", "person", "product"]


def wnut_like(sentences: int) -> str:
    """Sentences of tab-separated tokens and IOB2 tags, a one- or two-token entity in each, WNUT-17's layout."""
    rng = random.Random(1)
    out = []
    for n in range(sentences):
        kind = TYPES[n % len(TYPES)]
        tags = ["O", f"B-{kind}"] + ([f"I-{kind}"] if rng.random() < 0.5 else []) + ["O", "O"]
        out.append("".join(f"w{n}_{i}\t{tag}\n" for i, tag in enumerate(tags)))
    return "\t\n".join(out)  # WNUT-17 ends its sentences with a line holding a tab


def test_labelers_drop_and_relabel_the_shares_said_and_the_same_each_time():
    tags = [f"B-{TYPES[n % 3]}" if n % 2 else "O" for n in range(20_000)]
    spans = agreement.spans_of(tags)
    first = agreement.deviate(tags, random.Random("15-1"), TYPES)
    assert first == agreement.deviate(tags, random.Random("15-1"), TYPES)
    dropped = sum(first[s] == "O" for s, _ in spans) / len(spans)
    relabeled = sum(first[s] not in ("O", tags[s]) for s, _ in spans) / len(spans)
    assert abs(dropped - agreement.DROPPED) < 0.02 and abs(relabeled - agreement.RELABELED) < 0.02
    assert all(tag.startswith("B-") for tag, was in zip(first, tags) if was != "O" and tag != "O")


def test_spans_of_reads_iob2_with_a_stray_inside_tag_starting_a_span():
    assert agreement.spans_of(["B-a", "I-a", "O", "I-b", "I-b", "B-b", "I-a"]) == [(0, 2), (3, 5), (5, 6), (6, 7)]


def test_quick_run_times_every_command_on_a_real_export_all_zip(tmp_path: Path):
    datasets = tmp_path / "datasets"
    (datasets / "wnut17").mkdir(parents=True)
    (datasets / agreement.WNUT).write_text(wnut_like(60), encoding="utf-8")
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "agreement.py"), "--quick", "--datasets", str(datasets),
         "--work", str(tmp_path / "work"), "--json", str(results)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(results.read_text())
    assert [r["command"] for r in found["results"]] == list(agreement.COMMANDS)
    assert all(r["median_s"] > 0 and r["rss_mib"] > 0 and r["rss_mib_memory_docs"] > 0 for r in found["results"])
    for line in ("| `convert ZIP -f TSV_IOB` |", "| `inspect ZIP --agreement --json` |"):
        assert line in done.stdout
    # the zip holds REVIEW and the three labelers' versions, which disagree with it
    with zipfile.ZipFile(found["input"]["zip"]) as whole:
        folders = {name.split("/")[1] for name in whole.namelist() if name.count("/") > 1}
    assert {"REVIEW", "DOCUMENT-labeler1", "DOCUMENT-labeler2", "DOCUMENT-labeler3"} <= folders
    with zipfile.ZipFile(found["input"]["review_only"]) as review:
        assert {name.split("/")[1] for name in review.namelist() if name.count("/") > 1} == {"REVIEW"}
    measured = found["agreement"]
    assert measured["labelers"] == ["labeler1", "labeler2", "labeler3"] and measured["documents"] == 10
    assert 0 < measured["kappa"][0] < 1 and 0 < measured["span_f1"][0] < 1


def test_a_missing_dataset_is_named_without_a_traceback(tmp_path: Path):
    done = subprocess.run([sys.executable, str(BENCHMARKS / "agreement.py"), "--quick", "--datasets", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == (f"benchmarks/agreement.py: the dataset is not in {tmp_path}: it needs "
                                   f"{tmp_path / agreement.WNUT} (WNUT-17 train); give its folder with --datasets DIR")
