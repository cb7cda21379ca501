#!/usr/bin/env python3
"""What measuring the labelers' agreement costs, as whole processes.

    python benchmarks/agreement.py --datasets ../shared/datasets            # 500 documents, 3 labelers, 3 runs
    python benchmarks/agreement.py --datasets ../shared/datasets --quick    # 10 documents, 1 run: a smoke check

Builds, from the WNUT-17 train set, an export-all zip as a Datasaur export
of a project with labelers would be: ``--docs`` documents of 20 sentences,
REVIEW holding WNUT-17's tags and ``--labelers`` labelers whose versions
deviate from it, seeded (of the entity spans, 10% dropped and 10% given
another WNUT-17 type, each labeler on their own). The versions are
written as CoNLL folders (``REVIEW/doc0001.conll``,
``DOCUMENT-labeler1/doc0001.conll``, ...) and made into the zip by
labelport itself (DATASAUR_SCHEMA, ``zip=``). The baseline is the same zip
without the labelers' folders: the same REVIEW documents, read by the same
reader, with no versions to read and no agreement to measure.

Timed alternately, median of ``--runs``, each command against its baseline:

- ``convert ZIP -f TSV_IOB`` (and HF_DATASET) against ``convert REVIEW-only``:
  what an export of a project with labelers costs more, reading the
  versions and the report's "agreement" section together;
- ``inspect ZIP`` against ``inspect REVIEW-only``: reading the versions
  alone (inspect reads every version and measures nothing);
- ``inspect ZIP --agreement`` (and ``--json``) against ``inspect ZIP``:
  measuring, the versions read in both.

Peak RSS of every command is also taken at ``--memory-docs`` documents
(default 100), to show it does not grow with the documents. Prints a
Markdown table; ``--json`` writes every run. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from run import (
    OUT,
    REPO,
    WNUT,
    WORK,
    fresh,
    labelport_stamp,
    log,
    machine,
    measure,
    median,
    precompile,
    sentences_of,
)

SENTENCES_PER_DOCUMENT = 20
DROPPED = 0.10  # of each labeler's entity spans, the share left out
RELABELED = 0.10  # and the share given another type
SEED = 15
ZIP_NAME = "agreement-export"
PROJECT_FOLDER = "wnut17 agreement-15"  # the export-all's top folder: project "wnut17 agreement", id 15


# -- the inputs ----------------------------------------------------------------------------


def find_wnut(given: str | None) -> Path:
    folder = Path(given) if given else REPO.parent / "shared" / "datasets"
    if not (folder / WNUT).is_file():
        sys.exit(f"benchmarks/agreement.py: the dataset is not in {folder}: it needs {folder / WNUT} "
                 "(WNUT-17 train); give its folder with --datasets DIR")
    return folder / WNUT


def entity_types(sentences: list[list[tuple[str, str]]]) -> list[str]:
    return sorted({tag[2:] for sentence in sentences for _, tag in sentence if tag[:2] in ("B-", "I-")})


def spans_of(tags: list[str]) -> list[tuple[int, int]]:
    """The (start, end) token ranges of the IOB2 spans; a stray I- starts one."""
    spans, start = [], None
    for i, tag in enumerate(tags + ["O"]):
        continues = tag.startswith("I-") and start is not None and tag[2:] == tags[start][2:]
        if start is not None and not continues:
            spans.append((start, i))
            start = None
        if tag != "O" and start is None and i < len(tags):
            start = i
    return spans


def deviate(tags: list[str], rng: random.Random, types: list[str]) -> list[str]:
    """A labeler's tags: each span dropped with DROPPED's chance, else given another type with RELABELED's."""
    ours = list(tags)
    for start, end in spans_of(tags):
        draw = rng.random()
        if draw < DROPPED:
            ours[start:end] = ["O"] * (end - start)
        elif draw < DROPPED + RELABELED:
            other = rng.choice([t for t in types if t != tags[start][2:]])
            ours[start:end] = [f"B-{other}"] + [f"I-{other}"] * (end - start - 1)
    return ours


def conll(sentences: list[tuple[list[str], list[str]]]) -> str:
    return "\n".join("".join(f"{tok}\t{tag}\n" for tok, tag in zip(tokens, tags)) for tokens, tags in sentences)


def build(wnut: Path, docs: int, labelers: int, work: Path) -> dict:
    """<work>/agreement-d<docs>-l<labelers>/: the export-all zip and its REVIEW-only copy."""
    folder = work / f"agreement-d{docs}-l{labelers}"
    key = (f"{labelport_stamp()} {wnut.stat().st_size} {SEED} {DROPPED} {RELABELED} {SENTENCES_PER_DOCUMENT} "
           f"{PROJECT_FOLDER}")
    stamp, export, review_only = folder / "stamp", folder / f"{ZIP_NAME}.zip", folder / f"{ZIP_NAME}-review-only.zip"
    info = {"documents": docs, "labelers": labelers, "sentences_per_document": SENTENCES_PER_DOCUMENT,
            "dropped": DROPPED, "relabeled": RELABELED, "seed": SEED,
            "zip": str(export), "review_only": str(review_only)}
    if stamp.is_file() and stamp.read_text() == key and export.is_file() and review_only.is_file():
        return info | json.loads((folder / "counts.json").read_text())

    log(f"building the export-all zip of {docs} documents, {labelers} labelers ...")
    fresh(folder)
    tree = folder / "conll" / PROJECT_FOLDER
    sentences = [[tuple(line.rsplit("\t", 1)) for line in s.rstrip("\n").split("\n")]
                 for s in sentences_of(wnut.read_bytes())]
    types = entity_types(sentences)
    rngs = [random.Random(f"{SEED}-{n}") for n in range(1, labelers + 1)]
    spans = tokens = 0
    for d in range(docs):
        picked = [sentences[(d * SENTENCES_PER_DOCUMENT + j) % len(sentences)] for j in range(SENTENCES_PER_DOCUMENT)]
        review = [([tok for tok, _ in s], [tag for _, tag in s]) for s in picked]
        spans += sum(len(spans_of(tags)) for _, tags in review)
        tokens += sum(len(toks) for toks, _ in review)
        name = f"doc{d + 1:04d}.conll"
        versions = {"REVIEW": review}
        for n, rng in enumerate(rngs, 1):
            versions[f"DOCUMENT-labeler{n}"] = [(toks, deviate(tags, rng, types)) for toks, tags in review]
        for version, content in versions.items():
            (tree / version).mkdir(parents=True, exist_ok=True)
            (tree / version / name).write_text(conll(content), encoding="utf-8")

    # The zip as a Datasaur export-all: written by labelport from the folders.
    made = subprocess.run(
        [sys.executable, "-c", ("import labelport, sys; labelport.convert(labelport.load(sys.argv[1]), "
                                "'DATASAUR_SCHEMA', sys.argv[2], zip=sys.argv[3])"),
         str(tree.parent), str(folder / "made"), ZIP_NAME],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False,
    )
    if made.returncode != 0:
        sys.exit(f"benchmarks/agreement.py: making the export-all zip failed:\n{made.stderr}")
    (folder / "made" / export.name).replace(export)
    shutil.rmtree(folder / "made")
    with zipfile.ZipFile(export) as whole, zipfile.ZipFile(review_only, "w", zipfile.ZIP_DEFLATED) as review:
        for entry in whole.infolist():
            if not any(part.startswith(("DOCUMENT-", "ROOT")) for part in entry.filename.split("/")):
                review.writestr(entry, whole.read(entry))
    counts = {"tokens": tokens, "spans": spans, "zip_bytes": export.stat().st_size,
              "review_only_bytes": review_only.stat().st_size}
    (folder / "counts.json").write_text(json.dumps(counts))
    stamp.write_text(key)
    return info | counts


# -- the commands ----------------------------------------------------------------------------

#: name -> (labelport's arguments, with ZIP / REVIEW standing for the inputs and an output folder added to
#: convert; the name of the baseline it is compared with)
COMMANDS: dict[str, tuple[list[str], str | None]] = {
    "convert REVIEW-only -f TSV_IOB": (["convert", "REVIEW", "-f", "TSV_IOB"], None),
    "convert ZIP -f TSV_IOB": (["convert", "ZIP", "-f", "TSV_IOB"], "convert REVIEW-only -f TSV_IOB"),
    "convert REVIEW-only -f HF_DATASET": (["convert", "REVIEW", "-f", "HF_DATASET"], None),
    "convert ZIP -f HF_DATASET": (["convert", "ZIP", "-f", "HF_DATASET"], "convert REVIEW-only -f HF_DATASET"),
    "inspect REVIEW-only": (["inspect", "REVIEW"], None),
    "inspect ZIP": (["inspect", "ZIP"], "inspect REVIEW-only"),
    "inspect ZIP --agreement": (["inspect", "ZIP", "--agreement"], "inspect ZIP"),
    "inspect ZIP --agreement --json": (["inspect", "ZIP", "--agreement", "--json"], "inspect ZIP"),
}


def command(name: str, data: dict, out: Path) -> list[str]:
    args = [{"ZIP": data["zip"], "REVIEW": data["review_only"]}.get(a, a) for a in COMMANDS[name][0]]
    if args[0] == "convert":
        args += ["-o", str(out), "--quiet"]
    return [sys.executable, "-m", "labelport", *args]


def run_once(name: str, data: dict) -> tuple[float, float | None, float | None, str]:
    out = fresh(OUT / "out")
    run = measure(command(name, data, out))
    if run.code != 0:
        sys.exit(f"benchmarks/agreement.py: {name} failed (exit {run.code}):\n{run.stderr[-2000:]}")
    if name.startswith("convert"):
        report = json.loads((out / "labelport-report.json").read_text(encoding="utf-8"))
        if ("agreement" in report) != ("ZIP" in name):
            sys.exit(f"benchmarks/agreement.py: {name}: the report's agreement section is "
                     f"{'missing' if 'ZIP' in name else 'there'}")
    return run.seconds, run.rss_mib, run.cpu, run.stdout


def time_all(data: dict, runs: int) -> tuple[dict[str, list], str | None]:
    """Every command ``runs`` times, alternately; also the agreement JSON the last --json run printed."""
    times: dict[str, list] = {name: [] for name in COMMANDS}
    printed = None
    for n in range(runs):
        for name in COMMANDS:
            seconds, rss, cpu, stdout = run_once(name, data)
            times[name].append({"seconds": seconds, "rss_mib": rss, "cpu_s": cpu})
            if name.endswith("--json"):
                printed = stdout
        log(f"  run {n + 1}/{runs}: " + ", ".join(f"{times[c][-1]['seconds']:.2f}" for c in COMMANDS))
    return times, printed


def summary(printed: str | None) -> dict:
    """The overall figures of the measured agreement: the deviations must show in them."""
    found = json.loads(printed or "{}")
    overall_kappa = [k["kappa"] for k in found.get("kappa", []) if k["label"] is None and k["question"] is None]
    overall_alpha = [a["alpha"] for a in found.get("alpha", []) if a["label"] is None and a["question"] is None]
    overall_f1 = [f["f1"] for f in found.get("span_f1", []) if f["label"] is None]
    return {"labelers": found.get("labelers"), "documents": found.get("documents"),
            "kappa": [min(overall_kappa, default=None), max(overall_kappa, default=None)],
            "alpha": overall_alpha[0] if overall_alpha else None,
            "span_f1": [min(overall_f1, default=None), max(overall_f1, default=None)]}


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=500, help="documents of 20 sentences (default 500)")
    parser.add_argument("--labelers", type=int, default=3, help="labelers besides REVIEW (default 3)")
    parser.add_argument("--memory-docs", type=int, default=100,
                        help="documents of the smaller project whose peak RSS is compared (default 100)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command; the median counts (default 3)")
    parser.add_argument("--quick", action="store_true", help="10 documents (memory: 5), one run: a smoke check")
    parser.add_argument("--datasets", metavar="DIR", help="folder holding wnut17/ (default ../shared/datasets)")
    parser.add_argument("--json", metavar="FILE", help="write every run's figures to FILE")
    parser.add_argument("--work", metavar="DIR", help="where the inputs are built (default benchmarks/work)")
    args = parser.parse_args(argv)
    if args.quick:
        args.docs, args.memory_docs, args.runs = 10, 5, 1
    if min(args.docs, args.labelers, args.memory_docs, args.runs) < 1 or args.labelers < 2:
        parser.error("--docs, --memory-docs and --runs must be at least 1, --labelers at least 2")
    started = time.perf_counter()
    wnut = find_wnut(args.datasets)

    precompile()
    info = machine()
    log(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; load {info['load_average_at_start']}")
    work = Path(args.work) if args.work else WORK
    data = build(wnut, args.docs, args.labelers, work)
    small = build(wnut, args.memory_docs, args.labelers, work) if args.memory_docs != args.docs else data
    log(f"{data['documents']} documents, {data['tokens']:,} tokens, {data['spans']:,} REVIEW spans; "
        f"zip {data['zip_bytes'] / 2**20:.1f} MiB, REVIEW-only {data['review_only_bytes'] / 2**20:.1f} MiB")
    log(f"timing {len(COMMANDS)} commands, {args.runs} run(s) each, alternately ...")
    times, printed = time_all(data, args.runs)
    if small is not data:
        log(f"peak RSS at {args.memory_docs} documents ...")
        small_times, _ = time_all(small, 1)
    else:
        small_times = times
    measured = summary(printed)

    medians = {name: median([r["seconds"] for r in runs]) for name, runs in times.items()}
    rows = []
    for name, (_, baseline) in COMMANDS.items():
        rss, rss_small = (median([r["rss_mib"] for r in t[name]]) for t in (times, small_times))
        rows.append({"command": name, "median_s": medians[name],
                     "median_cpu_s": median([r["cpu_s"] for r in times[name]]),
                     "rss_mib": rss, "rss_mib_memory_docs": rss_small, "baseline": baseline,
                     "ratio": medians[name] / medians[baseline] if baseline else None})

    print(f"{args.docs} documents of {SENTENCES_PER_DOCUMENT} sentences ({data['tokens']:,} tokens, "
          f"{data['spans']:,} spans), REVIEW + {args.labelers} labelers; median of {args.runs} run(s), "
          f"{info['cores']} cores; `labelport` is `python -m labelport`")
    print()
    print(f"| command | median s (CPU s) | peak RSS MiB at {args.memory_docs} -> {args.docs} docs | "
          "ratio | baseline |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| `{r['command']}` | {fmt(r['median_s'], '.2f')} ({fmt(r['median_cpu_s'], '.2f')}) | "
              f"{fmt(r['rss_mib_memory_docs'], '.0f')} -> {fmt(r['rss_mib'], '.0f')} | "
              f"{fmt(r['ratio'], '.2f') + 'x' if r['ratio'] else '-'} | {r['baseline'] or '-'} |")
    print()
    cost = {
        "export with labelers, over REVIEW-only (TSV_IOB)":
            medians["convert ZIP -f TSV_IOB"] - medians["convert REVIEW-only -f TSV_IOB"],
        "reading the versions (inspect ZIP - inspect REVIEW-only)":
            medians["inspect ZIP"] - medians["inspect REVIEW-only"],
        "measuring and printing the agreement (inspect ZIP --agreement - inspect ZIP)":
            medians["inspect ZIP --agreement"] - medians["inspect ZIP"],
    }
    for what, seconds in cost.items():
        print(f"- {what}: {seconds:+.2f} s")
    print(f"- measured (lowest to highest over the pairs of labelers and of each labeler with REVIEW): "
          f"token kappa {' to '.join(fmt(k, '.3f') for k in measured['kappa'])}, "
          f"span F1 {' to '.join(fmt(f, '.3f') for f in measured['span_f1'])}; "
          f"Krippendorff's alpha over the labelers {fmt(measured['alpha'], '.3f')}")
    elapsed = time.perf_counter() - started
    log(f"took {elapsed:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "input": data, "memory_input": small, "runs": args.runs, "machine": info, "results": rows,
            "every_run": times, "every_run_memory_docs": small_times, "cost_s": cost, "agreement": measured,
            "seconds": elapsed, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }, indent=1))
    fresh(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
