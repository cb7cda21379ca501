#!/usr/bin/env python3
"""One large project converted by one process, by ``--jobs 2`` and by ``--engine ray``.

    python benchmarks/scale_out.py --datasets ../shared/datasets            # K=500, 3 runs
    python benchmarks/scale_out.py --datasets ../shared/datasets --k 50 --runs 1 --only TSV_IOB

The input is run.py's DATASAUR_SCHEMA shape (WNUT-17 replicated K times, 100
sentences a document; K=500 is 16,970 documents), built by run.py's
``build``. Each format is converted, as a whole process and alternately:

- ``one``: ``labelport convert`` (one process);
- ``jobs2``: ``--jobs 2`` (two forked processes, the parent merges);
- ``ray``: ``--engine ray --jobs 2`` starting its own local Ray, as a first
  command on a laptop does (Ray's start-up counted);
- ``ray warm``: ``--engine ray --jobs 2 --ray-address`` of a local Ray of 2
  CPUs this script started once, as a job submitted to a running cluster is.

Every output is compared with the one-process output file by file
(sha256 of each file the report lists); HF_DATASET, which the others write
in one Parquet shard per task, by its rows: each split's shards read in
order must make the one-process table. Prints a table of medians and the
ratios to one process; ``--json`` writes every run. Wall times on a
machine doing other work are noisy: the CPU column (user + system of the
command and its children; Ray's workers are not its children, so a Ray
row's CPU is the parent's alone) says how much of that was this command.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from run import OUT, build, find_datasets, fresh, labelport_cmd, log, machine, measure, precompile, report_files

FORMATS = ["TSV_IOB", "CONLL_2003", "DATASAUR_SCHEMA", "AMAZON_COMPREHEND_CSV", "HF_DATASET"]
VARIANTS = ["one", "jobs2", "ray", "ray warm"]


def command(variant: str, fmt: str, project: str, out: Path, ray_address: str | None) -> list[str]:
    cmd = labelport_cmd("datasaur", fmt, project, out, jobs=None if variant == "one" else 2)
    if variant.startswith("ray"):
        cmd += ["--engine", "ray"]
    if variant == "ray warm":
        cmd += ["--ray-address", ray_address]
    return cmd + ["--quiet"]


def rows_by_split(out: Path) -> dict[str, object]:
    """HF_DATASET's rows: each split's Parquet shards, in name order, as one table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    splits: dict[str, list] = {}
    for shard in sorted((out / "data").glob("*.parquet")):
        splits.setdefault(shard.name.split("-", 1)[0], []).append(pq.read_table(shard))
    return {split: pa.concat_tables(tables) for split, tables in splits.items()}


def same_output(fmt: str, out: Path, reference: Path) -> bool:
    if fmt != "HF_DATASET":
        return report_files(out) == report_files(reference)
    ours, theirs = rows_by_split(out), rows_by_split(reference)
    return ours.keys() == theirs.keys() and all(ours[s].equals(theirs[s]) for s in ours)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=500, help="replicate WNUT-17 K times (default 500: 16,970 documents)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command; the median counts (default 3)")
    parser.add_argument("--only", action="append", metavar="FORMAT", help="only this format (repeatable)")
    parser.add_argument("--datasets", metavar="DIR", help="folder holding wnut17/ (default ../shared/datasets)")
    parser.add_argument("--json", metavar="FILE", help="write every run's figures to FILE")
    args = parser.parse_args(argv)
    formats = [f.upper() for f in args.only] if args.only else FORMATS
    try:
        import ray
    except ImportError:
        sys.exit("benchmarks/scale_out.py: needs Ray: pip install -e '.[ray]'")

    precompile()
    info = machine()
    log(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; load {info['load_average_at_start']}")
    project = build(find_datasets(args.datasets), args.k)["datasaur"]
    log(f"DATASAUR_SCHEMA project at K={args.k}: {project['documents']:,} documents, {project['tokens']:,} tokens")
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    address = context.address_info["address"]
    results = []
    try:
        for fmt in formats:
            runs: dict[str, list] = {v: [] for v in VARIANTS}
            same: dict[str, bool] = {}
            reference = OUT / "reference"
            for n in range(args.runs):
                for variant in VARIANTS:
                    out = fresh(OUT / variant.replace(" ", "-"))
                    run = measure(command(variant, fmt, project["path"], out, address))
                    if run.code not in (0, 1):
                        sys.exit(f"{fmt} {variant} failed:\n{run.stderr[-2000:]}")
                    runs[variant].append((run.seconds, run.cpu))
                    if variant == "one" and n == 0:
                        fresh(reference)
                        out.rename(reference)
                    elif n == 0:
                        same[variant] = same_output(fmt, out, reference)
            files = len(report_files(reference))
            medians = {v: statistics.median(s for s, _ in runs[v]) for v in VARIANTS}
            cpus = {v: statistics.median(c for _, c in runs[v]) for v in VARIANTS}
            results.append({"format": fmt, "runs": runs, "median_s": medians, "median_cpu_s": cpus,
                            "same_output": same, "files": files})
            log(f"  {fmt}: " + ", ".join(f"{v} {medians[v]:.2f} s" for v in VARIANTS)
                + f"; identical: {same}")
    finally:
        ray.shutdown()

    print(f"K={args.k} ({project['documents']:,} documents), median of {args.runs} runs, "
          f"{info['cores']} cores; seconds (CPU s of the command), ratio to one process")
    print("| format | " + " | ".join(VARIANTS) + " | same output |")
    print("|---" * (len(VARIANTS) + 2) + "|")
    for r in results:
        one = r["median_s"]["one"]
        cells = [f"{r['median_s'][v]:.2f} ({r['median_cpu_s'][v]:.1f}) {one / r['median_s'][v]:.2f}x" for v in VARIANTS]
        print(f"| {r['format']} | " + " | ".join(cells) + f" | {'yes' if all(r['same_output'].values()) else 'NO'} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"k": args.k, "machine": info, "results": results,
                                               "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=1))
    return 0 if all(all(r["same_output"].values()) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
