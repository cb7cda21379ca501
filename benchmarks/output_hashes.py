"""The sha256 of every output file, for refactors that must keep bytes.

Converts the shipped examples, the test fixtures and the benchmark inputs
(at K=1: the WNUT-17 train file as one CoNLL document and as a
DATASAUR_SCHEMA project of 100-sentence documents, the SMS Spam Collection
as a table) to every format they serve — plain, with ``--split``, and for
the project also with ``--jobs 2``, ``--zip`` and ``--role LABELER`` — and
prints one line per output file: ``case<TAB>file<TAB>sha256`` (a case that
fails prints its exit code instead). The report's own paths are replaced by
placeholders, so the hashes do not depend on where the run happens.

    python benchmarks/output_hashes.py > before.tsv     # on the commit before the change
    python benchmarks/output_hashes.py > after.tsv      # after it
    diff before.tsv after.tsv                           # must print nothing

``--datasets DIR`` as for run.py; without the datasets the benchmark cases
are left out (and a line says so).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

import run  # benchmarks/run.py: the datasets and the DATASAUR_SCHEMA project, built as the benchmark builds them

ROOT = Path(__file__).resolve().parent.parent
TOKEN = ["DATASAUR_SCHEMA", "JSON_ADVANCED", "JSON", "TSV_IOB", "TSV_NON_IOB", "CONLL_2003", "PLAIN", "CSV", "TSV",
         "AMAZON_COMPREHEND_CSV", "AZURE_AUTOML_CSV", "GCP_VERTEX_AI_CSV", "HF_DATASET"]
ROW = ["DATASAUR_SCHEMA", "JSON", "CSV", "TSV", "XLSX", "JSON_TABULAR", "AMAZON_COMPREHEND_CSV", "AZURE_AUTOML_CSV",
       "GCP_VERTEX_AI_CSV", "HF_DATASET"]
SPLIT = ["--split", "train=0.7,test=0.3", "--seed", "3"]


def cases(benchmark: dict | None) -> list[tuple[str, str, list[str]]]:
    found: list[tuple[str, str, list[str]]] = []
    for source in ["examples/newsroom-export.zip", "examples/wnut17-sample.conll",
                   "tests/fixtures/datasaur/newsroom-p8Xk2Lq9", "tests/fixtures/wnut17/emerging.dev.slice.conll"]:
        for fmt in TOKEN:
            found += [(source, fmt, []), (source, fmt, SPLIT)]
    found += [("examples/newsroom-export.zip", "JSON_ADVANCED", ["--zip", "all"]),
              ("examples/newsroom-export.zip", "TSV_IOB", ["--role", "LABELER"])]
    for source, options in [("examples/tickets.csv", ["--label-column", "intent"]),
                            ("tests/fixtures/tables/sms_slice.tsv", ["--from", "TSV", "--columns", "label,text"]),
                            ("tests/fixtures/datasaur/support-tickets-r7Tt", [])]:
        for fmt in ROW:
            found += [(source, fmt, options), (source, fmt, options + SPLIT)]
    if benchmark:
        for fmt in TOKEN:
            found += [(benchmark["conll"]["path"], fmt, []), (benchmark["conll"]["path"], fmt, SPLIT),
                      (benchmark["datasaur"]["path"], fmt, []), (benchmark["datasaur"]["path"], fmt, SPLIT),
                      (benchmark["datasaur"]["path"], fmt, ["--jobs", "2"])]
        found += [(benchmark["datasaur"]["path"], "JSON_ADVANCED", ["--zip", "all"])]
        for fmt in ROW:
            found += [(benchmark["sms"]["path"], fmt, ["--from", "TSV", "--columns", "label,text"]),
                      (benchmark["sms"]["path"], fmt, ["--from", "TSV", "--columns", "label,text", *SPLIT])]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", help="folder holding wnut17/ and sms_spam/ (default ../shared/datasets)")
    args = parser.parse_args()
    try:
        benchmark = run.build(run.find_datasets(args.datasets), 1)
        names = {benchmark[shape]["path"]: f"benchmark:{shape}" for shape in ("conll", "datasaur", "sms")}
    except SystemExit as missing:
        print(f"# benchmark inputs left out: {missing}", file=sys.stderr)
        benchmark, names = None, {}
    with tempfile.TemporaryDirectory(prefix="labelport-hashes-") as tmp:
        for n, (source, fmt, options) in enumerate(cases(benchmark)):
            path = Path(source) if Path(source).is_absolute() else ROOT / source
            out = Path(tmp) / f"out{n}"
            done = subprocess.run([sys.executable, "-m", "labelport", "convert", str(path), "-f", fmt, "-o", str(out),
                                   *options], cwd=tmp, stdin=subprocess.DEVNULL, capture_output=True)
            case = " ".join([names.get(source, source), fmt, *options])
            if done.returncode != 0:
                print(f"{case}\texit\t{done.returncode}")
            if not out.is_dir():
                continue
            for file in sorted(p for p in out.rglob("*") if p.is_file()):
                data = file.read_bytes()
                if file.name == "labelport-report.json":
                    data = data.replace(str(path).encode(), b"<SOURCE>").replace(str(out).encode(), b"<OUT>")
                print(f"{case}\t{file.relative_to(out).as_posix()}\t{hashlib.sha256(data).hexdigest()}", flush=True)


if __name__ == "__main__":
    main()
