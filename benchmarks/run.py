#!/usr/bin/env python3
"""labelport's conversion speed and memory against a floor for each conversion.

    python benchmarks/run.py                 # K=50, 3 runs each (the README's table)
    python benchmarks/run.py --quick         # K=5, 1 run: a smoke check
    python benchmarks/run.py --only TSV_IOB --only XLSX --runs 5

Builds the WNUT-17 train set replicated K times as one CoNLL file (one long
document) and as a DATASAUR_SCHEMA project of 100-sentence documents, and SMS
Spam replicated K times as a table; times ``labelport convert`` as a whole
process against the floor of each conversion (benchmarks/floors/: the
smallest correct program writing the same output), runs alternating, and
checks that both wrote the same output. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FLOORS = HERE / "floors"
WORK = HERE / "work"
OUT = WORK / f"out-{os.getpid()}"  # outputs of this run: two benchmarks at once keep apart

WNUT = "wnut17/wnut17train.conll"
SMS = "sms_spam/SMSSpamCollection"
SENTENCES_PER_DOCUMENT = 100
MEMORY_K = 5  # peak RSS at K is compared with this K's
JOBS_K = 15  # the --jobs check's project: about 500 documents

TOKEN_FORMATS = [
    ("TSV_IOB", "tsv_iob.py"),
    ("CONLL_2003", "conll_2003.py"),
    ("JSON_ADVANCED", "json_advanced.py"),
    ("AMAZON_COMPREHEND_CSV", "amazon_comprehend.py"),
    ("AZURE_AUTOML_CSV", "azure_automl.py"),
    ("GCP_VERTEX_AI_CSV", "gcp_vertex.py"),
    ("HF_DATASET", "hf_dataset.py"),
]
TABLE_FORMATS = [("CSV", "csv_table.py"), ("XLSX", "xlsx_table.py")]
SHAPES = {
    "conll": "WNUT-17 x K, one CoNLL file (one document)",
    "datasaur": "WNUT-17 x K, DATASAUR_SCHEMA folder (100 sentences a document)",
    "sms": "SMS Spam x K, a TSV table (--columns label,text)",
}

# Targets (the issue): time within 1.5x of the floor; peak RSS at K=50 within
# 10% of K=5 (both WNUT shapes) and under 100 MiB (all but HF_DATASET);
# --help and formats under 0.3 s; --jobs 2 at least 1.7x faster than --jobs 1.
MAX_RATIO = 1.5
MAX_GROWTH = 0.10
MAX_RSS_MIB = 100
NO_RSS_LIMIT = {"HF_DATASET"}
GROWTH_SHAPES = {"conll", "datasaur"}
MAX_STARTUP_S = 0.3
MIN_JOBS_SPEEDUP = 1.7
JOBS = 2

TIME = shutil.which("time", path="/usr/bin:/bin") or None


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


# -- data ----------------------------------------------------------------------------


def find_datasets(given: str | None) -> Path:
    candidates = [Path(given)] if given else [REPO.parent / "shared" / "datasets"]
    for folder in candidates:
        if (folder / WNUT).is_file() and (folder / SMS).is_file():
            return folder
    where = candidates[0]
    sys.exit(
        f"benchmarks/run.py: the datasets are not in {where}: it needs {where / WNUT} (WNUT-17 train) and "
        f"{where / SMS} (SMS Spam Collection); give their folder with --datasets DIR"
    )


def sentences_of(data: bytes) -> list[str]:
    """The sentences of a CoNLL text, each its token lines ending in a newline;
    a line that is empty or only white space ends a sentence."""
    sentences, current = [], []
    for line in data.decode("utf-8").split("\n"):
        if not line.strip():
            if current:
                sentences.append("\n".join(current) + "\n")
                current = []
        else:
            current.append(line)
    if current:
        sentences.append("\n".join(current) + "\n")
    return sentences


def write_if_changed(path: Path, chunks, size: int) -> None:
    """Write ``chunks`` to ``path`` unless it already holds ``size`` bytes."""
    if path.is_file() and path.stat().st_size == size:
        return
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        for chunk in chunks:
            fh.write(chunk)
    tmp.replace(path)


def build(datasets: Path, k: int, with_project: bool = True) -> dict:
    """benchmarks/work/k<K>/: wnut17.conll, wnut17_docs.conll -> project/, sms.tsv."""
    folder = WORK / f"k{k}"
    folder.mkdir(parents=True, exist_ok=True)
    wnut = (datasets / WNUT).read_bytes()
    sms = (datasets / SMS).read_bytes()
    if not wnut.endswith(b"\n"):
        wnut += b"\n"
    if not sms.endswith(b"\n"):
        sms += b"\n"
    sentences = sentences_of(wnut)
    tokens = sum(s.count("\n") for s in sentences)
    conll = folder / "wnut17.conll"
    write_if_changed(conll, (wnut for _ in range(k)), len(wnut) * k)
    table = folder / "sms.tsv"
    write_if_changed(table, (sms for _ in range(k)), len(sms) * k)
    info = {
        "k": k,
        "conll": {"path": str(conll), "bytes": conll.stat().st_size, "sentences": len(sentences) * k,
                  "tokens": tokens * k},
        "sms": {"path": str(table), "bytes": table.stat().st_size, "rows": sms.count(b"\n") * k},
    }
    if not with_project:
        return info

    # The DATASAUR_SCHEMA project, made by labelport itself from a CoNLL file
    # with a -DOCSTART- before every 100 sentences.
    docs = folder / "wnut17_docs.conll"

    def docs_chunks():
        n = 0
        for _ in range(k):
            parts = []
            for sentence in sentences:
                if n % SENTENCES_PER_DOCUMENT == 0:
                    parts.append("-DOCSTART- -X- -X- O\n\n")
                parts.append(sentence + "\n")
                n += 1
            yield "".join(parts).encode("utf-8")

    size = sum(len(chunk) for chunk in docs_chunks())
    write_if_changed(docs, docs_chunks(), size)
    project = folder / "project"
    stamp = folder / "project.stamp"
    key = labelport_stamp() + f" {docs.stat().st_size} {docs.stat().st_mtime_ns}"
    if not (project.is_dir() and stamp.is_file() and stamp.read_text() == key):
        log(f"building the DATASAUR_SCHEMA project at K={k} with labelport ...")
        shutil.rmtree(project, ignore_errors=True)
        done = subprocess.run(
            [sys.executable, "-m", "labelport", "convert", str(docs), "-f", "DATASAUR_SCHEMA", "-o", str(project)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        if done.returncode != 0:
            sys.exit(f"benchmarks/run.py: building the DATASAUR_SCHEMA project failed:\n{done.stderr}")
        stamp.write_text(key)
    n_documents = sum(1 for p in project.iterdir() if p.suffix == ".json" and p.name != "labelport-report.json")
    expected = -(-len(sentences) * k // SENTENCES_PER_DOCUMENT)
    if n_documents != expected:
        sys.exit(f"benchmarks/run.py: {project} holds {n_documents} documents, not {expected}")
    info["datasaur"] = {"path": str(project), "documents": n_documents, "sentences": len(sentences) * k,
                        "tokens": tokens * k}
    return info


def precompile() -> None:
    """Byte-compile labelport and the floors, as installing a package does:
    with PYTHONDONTWRITEBYTECODE set (as on some machines) every run would
    otherwise compile labelport's modules again, and be timed doing it."""
    import compileall

    for folder in (REPO / "src" / "labelport", FLOORS):
        compileall.compile_dir(folder, quiet=1)


def labelport_stamp() -> str:
    """Changes whenever labelport's source does (the project is rebuilt then)."""
    src = REPO / "src" / "labelport"
    latest = max((p.stat().st_mtime_ns for p in src.rglob("*.py")), default=0)
    return f"labelport-src-{latest}"


# -- running ---------------------------------------------------------------------------


class Run:
    def __init__(self, seconds: float, rss_kib: int | None, cpu: float | None, code: int, stdout: str, stderr: str):
        self.seconds, self.rss_kib, self.cpu, self.code = seconds, rss_kib, cpu, code
        self.stdout, self.stderr = stdout, stderr

    @property
    def rss_mib(self) -> float | None:
        return None if self.rss_kib is None else self.rss_kib / 1024


# Without /usr/bin/time: a fresh wrapper process runs the command and reports
# its own children's peak RSS and CPU time (only that command's) and the wall
# time around it.
_WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "t = time.perf_counter() - t\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(t, u.ru_maxrss, u.ru_utime + u.ru_stime, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def measure(cmd: list[str], cwd: Path | None = None) -> Run:
    """Run ``cmd`` as a whole process: wall time, peak RSS (KiB) and CPU
    time (user + system, its child processes included)."""
    if TIME:
        with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
            start = time.perf_counter()
            done = subprocess.run([TIME, "-f", "%M %U %S", "-o", rss_file.name, *cmd], cwd=cwd,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            seconds = time.perf_counter() - start
            lines = rss_file.read().strip().splitlines()
        try:  # the last line (a killed command gets a line before it)
            rss, user, system = lines[-1].split()
            return Run(seconds, int(rss), float(user) + float(system), done.returncode, done.stdout, done.stderr)
        except (IndexError, ValueError):
            return Run(seconds, None, None, done.returncode, done.stdout, done.stderr)
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    *stderr, last = done.stderr.rstrip("\n").split("\n")
    seconds, rss, cpu = last.split()
    return Run(float(seconds), int(rss), float(cpu), done.returncode, done.stdout, "\n".join(stderr))


def labelport_cmd(shape: str, fmt: str, source: str, out: Path, jobs: int | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "labelport", "convert", source, "-f", fmt, "-o", str(out)]
    if shape == "sms":
        cmd[5:5] = ["--from", "TSV", "--columns", "label,text"]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    return cmd


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    return path


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# -- comparing outputs -------------------------------------------------------------------


def report_files(out: Path) -> dict[str, str]:
    report = json.loads((out / "labelport-report.json").read_text(encoding="utf-8"))
    return {rel: entry["sha256"] for rel, entry in report["files"].items()}


def compare_bytes(lp_out: Path, floor_stdout: str) -> tuple[bool, str]:
    labelport = report_files(lp_out)
    floor = json.loads(floor_stdout.strip().splitlines()[-1])
    if labelport == floor:
        return True, f"{len(floor)} files byte-identical"
    only_lp = sorted(set(labelport) - set(floor))
    only_floor = sorted(set(floor) - set(labelport))
    differ = sorted(rel for rel in set(labelport) & set(floor) if labelport[rel] != floor[rel])
    parts = []
    if differ:
        parts.append(f"{len(differ)} files differ ({', '.join(differ[:3])})")
    if only_lp:
        parts.append(f"only labelport wrote {', '.join(only_lp[:3])}")
    if only_floor:
        parts.append(f"only the floor wrote {', '.join(only_floor[:3])}")
    return False, "; ".join(parts)


def compare_parquet(lp_out: Path, floor_out: Path) -> tuple[bool, str]:
    """Same schema (with its huggingface metadata) and the same rows."""
    import pyarrow.parquet as pq

    def table(folder: Path):
        import pyarrow as pa

        files = sorted((folder / "data").glob("*.parquet"))
        return pa.concat_tables([pq.read_table(f) for f in files]), len(files)

    a, n_a = table(lp_out)
    b, _ = table(floor_out)
    if not a.schema.equals(b.schema, check_metadata=False):
        return False, f"schemas differ: labelport {a.schema.to_string(show_schema_metadata=False)!r} vs floor {b.schema.to_string(show_schema_metadata=False)!r}"
    if a.num_rows != b.num_rows:
        return False, f"{a.num_rows:,} rows vs the floor's {b.num_rows:,}"
    differ = [name for name in a.column_names if not a.column(name).equals(b.column(name))]
    if differ:
        return False, f"columns differ: {', '.join(differ)}"
    if a.schema.metadata != b.schema.metadata:
        return False, "same rows, but the huggingface schema metadata differs"
    return True, f"same table: {a.num_rows:,} rows, {len(a.column_names)} columns (+ metadata); {n_a} shard(s)"


def compare_xlsx(lp_out: Path, floor_out: Path) -> tuple[bool, str]:
    """Same sheet title and the same cells (value and type), re-read."""
    from itertools import zip_longest

    from openpyxl import load_workbook

    (lp_file,) = sorted(lp_out.glob("*.xlsx"))
    floor_files = sorted(floor_out.glob("*.xlsx"))
    if [f.name for f in floor_files] != [lp_file.name]:
        return False, f"labelport wrote {lp_file.name}, the floor {[f.name for f in floor_files]}"
    a = load_workbook(lp_file, read_only=True)
    b = load_workbook(floor_files[0], read_only=True)
    try:
        sheet_a, sheet_b = a.worksheets, b.worksheets
        if [s.title for s in sheet_a] != [s.title for s in sheet_b]:
            return False, f"sheets {[s.title for s in sheet_a]} vs the floor's {[s.title for s in sheet_b]}"
        rows = 0
        for row_a, row_b in zip_longest(sheet_a[0].iter_rows(), sheet_b[0].iter_rows()):
            cells_a = None if row_a is None else [(c.value, c.data_type) for c in row_a]
            cells_b = None if row_b is None else [(c.value, c.data_type) for c in row_b]
            if cells_a != cells_b:
                return False, f"row {rows + 1} differs: {cells_a!r:.200} vs the floor's {cells_b!r:.200}"
            rows += 1
        return True, f"same cells: {rows:,} rows"
    finally:
        a.close()
        b.close()


def compare(fmt: str, lp_out: Path, floor_out: Path, floor_stdout: str) -> tuple[bool, str]:
    try:
        if fmt == "HF_DATASET":
            return compare_parquet(lp_out, floor_out)
        if fmt == "XLSX":
            return compare_xlsx(lp_out, floor_out)
        return compare_bytes(lp_out, floor_stdout)
    except Exception as exc:  # a comparison that cannot run is a mismatch, said plainly
        return False, f"could not compare: {type(exc).__name__}: {exc}"


# -- the benchmark ----------------------------------------------------------------------


def cases(data: dict, only: set[str] | None) -> list[dict]:
    found = []
    for shape in ("conll", "datasaur"):
        for fmt, floor in TOKEN_FORMATS:
            found.append({"shape": shape, "format": fmt, "floor": floor})
    for fmt, floor in TABLE_FORMATS:
        found.append({"shape": "sms", "format": fmt, "floor": floor})
    if only:
        found = [c for c in found if c["format"] in only]
    return found


def run_case(case: dict, data: dict, small: dict | None, runs: int) -> dict:
    shape, fmt = case["shape"], case["format"]
    source = data[shape]["path"]
    lp_out, floor_out = OUT / "labelport", OUT / "floor"
    floor_cmd = [sys.executable, str(FLOORS / case["floor"]), source]
    lp_runs, floor_runs = [], []
    result = {"shape": shape, "format": fmt, "input": source, "floor": f"benchmarks/floors/{case['floor']}"}
    same, detail = None, ""
    first_hashes, deterministic = None, True
    for n in range(runs):  # A B A B ...: the machine's noise hits both alike
        lp = measure(labelport_cmd(shape, fmt, source, fresh(lp_out)))
        if lp.code not in (0, 1):  # 1: written, but a service would reject it (a finding, not a failure)
            result["error"] = f"labelport exited {lp.code}: {lp.stderr.strip()[-800:]}"
            break
        fl = measure([*floor_cmd, str(fresh(floor_out))])
        if fl.code != 0:
            result["error"] = f"the floor exited {fl.code}: {fl.stderr.strip()[-800:]}"
            break
        lp_runs.append(lp)
        floor_runs.append(fl)
        hashes = report_files(lp_out)
        if n == 0:
            first_hashes = hashes
            same, detail = compare(fmt, lp_out, floor_out, fl.stdout)
            if not same:
                keep = WORK / "mismatch" / f"{shape}-{fmt}"
                shutil.rmtree(keep, ignore_errors=True)
                keep.mkdir(parents=True)
                lp_out.rename(keep / "labelport")
                floor_out.rename(keep / "floor")
                detail += f" (outputs kept in {keep.relative_to(REPO)})"
        elif hashes != first_hashes and deterministic:
            deterministic = False
            detail += f"; labelport's files changed between runs 1 and {n + 1}"
    shutil.rmtree(lp_out, ignore_errors=True)
    shutil.rmtree(floor_out, ignore_errors=True)

    result["labelport"] = {
        "seconds": [r.seconds for r in lp_runs],
        "median_s": median([r.seconds for r in lp_runs]),
        "cpu_s": [r.cpu for r in lp_runs],
        "rss_mib": [r.rss_mib for r in lp_runs],
        "peak_rss_mib": median([r.rss_mib for r in lp_runs]),
        "exit_code": lp_runs[0].code if lp_runs else None,
        "summary": lp_runs[0].stderr.strip().splitlines() if lp_runs else [],
    }
    result["floor_run"] = {
        "seconds": [r.seconds for r in floor_runs],
        "median_s": median([r.seconds for r in floor_runs]),
        "cpu_s": [r.cpu for r in floor_runs],
        "rss_mib": [r.rss_mib for r in floor_runs],
        "peak_rss_mib": median([r.rss_mib for r in floor_runs]),
    }
    lp_s, floor_s = result["labelport"]["median_s"], result["floor_run"]["median_s"]
    result["ratio"] = lp_s / floor_s if lp_s and floor_s else None
    # the same ratio in CPU seconds (user + system): what other load on the machine disturbs least
    lp_cpu, floor_cpu = median(result["labelport"]["cpu_s"]), median(result["floor_run"]["cpu_s"])
    result["cpu_ratio"] = lp_cpu / floor_cpu if lp_cpu and floor_cpu else None
    result["same_output"] = same
    result["deterministic"] = deterministic
    result["comparison"] = detail

    # peak RSS at K=5, labelport only
    rss_small = None
    if small is not None and "error" not in result:
        small_runs = []
        for _ in range(runs):
            r = measure(labelport_cmd(shape, fmt, small[shape]["path"], fresh(lp_out)))
            if r.code in (0, 1):
                small_runs.append(r.rss_mib)
        shutil.rmtree(lp_out, ignore_errors=True)
        rss_small = median(small_runs)
    elif small is None:
        rss_small = result["labelport"]["peak_rss_mib"]  # K is the memory K itself
    result["rss_k5_mib"] = rss_small
    rss = result["labelport"]["peak_rss_mib"]
    result["rss_growth"] = rss / rss_small - 1 if rss and rss_small else None
    result["targets"] = targets(result)
    result["pass"] = all(t["pass"] for t in result["targets"].values()) and "error" not in result
    return result


def targets(result: dict) -> dict:
    fmt, shape = result["format"], result["shape"]
    t = {}
    t["same output"] = {"pass": bool(result["same_output"])}
    if not result["deterministic"]:
        t["same bytes every run"] = {"pass": False}
    ratio = result["ratio"]
    t["time"] = {"limit": f"<= {MAX_RATIO}x floor", "pass": ratio is not None and ratio <= MAX_RATIO}
    rss = result["labelport"]["peak_rss_mib"]
    if fmt not in NO_RSS_LIMIT:
        t["rss"] = {"limit": f"< {MAX_RSS_MIB} MiB", "pass": rss is not None and rss < MAX_RSS_MIB}
    if shape in GROWTH_SHAPES:
        growth = result["rss_growth"]
        t["rss growth"] = {"limit": f"<= {MAX_GROWTH:.0%} over K={MEMORY_K}",
                           "pass": growth is not None and growth <= MAX_GROWTH}
    return t


def startup(runs: int = 10) -> list[dict]:
    exe = Path(sys.executable).parent / "labelport"
    base = [str(exe)] if exe.is_file() else [sys.executable, "-m", "labelport"]
    results = []
    for args in (["--help"], ["formats"]):
        times = []
        for _ in range(runs):
            r = measure([*base, *args])
            times.append(r.seconds)
        m = statistics.median(times)
        results.append({"command": "labelport " + " ".join(args), "seconds": times, "median_s": m,
                        "limit_s": MAX_STARTUP_S, "pass": m < MAX_STARTUP_S})
    return results


def jobs_supported() -> bool:
    done = subprocess.run([sys.executable, "-m", "labelport", "convert", "--help"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True)
    return "--jobs" in done.stdout


def jobs_check(project: dict, formats: list[str], runs: int) -> list[dict]:
    """--jobs 1 vs --jobs 2 on the DATASAUR_SCHEMA project: same files, speedup."""
    results = []
    one, two = OUT / "jobs1", OUT / "jobs2"
    for fmt in formats:
        t1, t2, c1, c2, same, detail = [], [], [], [], True, ""
        error = None
        for n in range(runs):
            a = measure(labelport_cmd("datasaur", fmt, project["path"], fresh(one), jobs=1))
            b = measure(labelport_cmd("datasaur", fmt, project["path"], fresh(two), jobs=JOBS))
            if a.code not in (0, 1) or b.code not in (0, 1):
                error = (a.stderr if a.code not in (0, 1) else b.stderr).strip()[-800:]
                break
            t1.append(a.seconds)
            t2.append(b.seconds)
            c1.append(a.cpu)
            c2.append(b.cpu)
            if n == 0:
                files1, files2 = report_files(one), report_files(two)
                same = files1 == files2
                detail = f"{len(files1)} files byte-identical" if same else (
                    f"{sum(files1.get(k) != files2.get(k) for k in set(files1) | set(files2))} files differ")
        for folder in (one, two):
            shutil.rmtree(folder, ignore_errors=True)
        m1, m2 = median(t1), median(t2)
        speedup = m1 / m2 if m1 and m2 else None
        # CPU seconds per wall second of the --jobs 2 runs: ~1 means one process did the work
        cores = median([c / t for c, t in zip(c2, t2) if c is not None])
        results.append({
            "format": fmt, "documents": project["documents"], "jobs1_s": t1, "jobs2_s": t2,
            "jobs1_cpu_s": c1, "jobs2_cpu_s": c2, "jobs2_cores_busy": cores,
            "jobs1_median_s": m1, "jobs2_median_s": m2, "speedup": speedup, "same_output": same,
            "comparison": detail, "error": error, "limit": f">= {MIN_JOBS_SPEEDUP}x",
            "pass": error is None and same and speedup is not None and speedup >= MIN_JOBS_SPEEDUP,
        })
        log(f"  --jobs {JOBS} {fmt}: {fmt_s(m1)} -> {fmt_s(m2)} s, {fmt_x(speedup)}, "
            f"{fmt_s(cores)} cores busy, {detail or error}")
    return results


# -- reporting ------------------------------------------------------------------------------


def fmt_s(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def fmt_x(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


def fmt_mib(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}"


def growth_text(r: dict) -> str:
    small, big, growth = r["rss_k5_mib"], r["labelport"]["peak_rss_mib"], r["rss_growth"]
    if small is None or big is None:
        return "-"
    return f"{small:.0f} -> {big:.0f} ({growth:+.0%})"


def verdict(r: dict) -> str:
    if "error" in r:
        return "FAIL (error)"
    failed = [name for name, t in r["targets"].items() if not t["pass"]]
    return "PASS" if not failed else "FAIL (" + ", ".join(failed) + ")"


JOBS_HEADER = ["format", "--jobs 1 s", f"--jobs {JOBS} s", "speedup", f"cores busy (--jobs {JOBS})", "output",
               "result"]
HEADER = ["shape", "format", "labelport s", "floor s", "ratio", "CPU ratio", "RSS MiB", f"RSS K={MEMORY_K} -> K",
          "output", "result"]
RSS_COLUMN = HEADER.index(f"RSS K={MEMORY_K} -> K")


def row_cells(r: dict) -> list[str]:
    return [
        r["shape"], r["format"], fmt_s(r["labelport"]["median_s"]), fmt_s(r["floor_run"]["median_s"]),
        fmt_x(r["ratio"]), fmt_x(r["cpu_ratio"]), fmt_mib(r["labelport"]["peak_rss_mib"]), growth_text(r),
        "same" if r["same_output"] else ("DIFFERENT" if r["same_output"] is False else "-"), verdict(r),
    ]


def text_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def markdown_table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory": memory, "os": platform.platform(),
        "python": platform.python_version(), "load_average_at_start": load,
    }


def versions() -> dict:
    found = {}
    for name in ("labelport", "orjson", "pyarrow", "openpyxl"):
        try:
            from importlib.metadata import version

            found[name] = version(name)
        except Exception:
            found[name] = None
    try:
        found["git"] = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                                      capture_output=True, text=True).stdout.strip() or None
    except OSError:
        found["git"] = None
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=50, help="replicate the datasets K times (default 50)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command; the median counts (default 3)")
    parser.add_argument("--only", action="append", metavar="FORMAT",
                        help="only this output format (repeatable, or comma-separated)")
    parser.add_argument("--quick", action="store_true", help="a smoke check: K=5, 1 run")
    parser.add_argument("--datasets", metavar="DIR", help="folder holding wnut17/ and sms_spam/ (default ../shared/datasets)")
    parser.add_argument("--no-jobs", action="store_true", help="skip the --jobs check")
    parser.add_argument("--no-startup", action="store_true", help="skip timing --help and formats")
    args = parser.parse_args(argv)
    if args.quick:
        args.k, args.runs = MEMORY_K, 1
    if args.k < 1 or args.runs < 1:
        parser.error("--k and --runs must be at least 1")
    only = None
    if args.only:
        only = {f.strip().upper() for item in args.only for f in item.split(",") if f.strip()}
        known = {f for f, _ in TOKEN_FORMATS + TABLE_FORMATS}
        if only - known:
            parser.error(f"--only: unknown {', '.join(sorted(only - known))}; the formats are {', '.join(sorted(known))}")

    datasets = find_datasets(args.datasets)
    precompile()
    started = datetime.datetime.now(datetime.timezone.utc)
    command = "python benchmarks/run.py" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    info = machine()
    load = info["load_average_at_start"]
    log(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, Python {info['python']}; "
        f"load average {'-' if load is None else ' '.join(f'{x:.2f}' for x in load)}")
    if load is not None and load[0] > 0.5:
        log("  note: the machine is not idle; other work shows up in the wall times (the CPU ratio minds it less)")
    log(f"building the data at K={args.k} in {WORK.relative_to(REPO)} ...")
    # the project is made only when something reads it (a token format is
    # asked for): a table-only run leaves it alone
    with_project = only is None or any(f in only for f, _ in TOKEN_FORMATS)
    data = build(datasets, args.k, with_project)
    small = build(datasets, MEMORY_K, with_project) if args.k != MEMORY_K else None
    documents = f"{data['datasaur']['documents']:,}" if with_project else "not built"
    log(f"  CoNLL: {data['conll']['sentences']:,} sentences, {data['conll']['tokens']:,} tokens, "
        f"{data['conll']['bytes'] / 2**20:.1f} MiB; DATASAUR_SCHEMA: {documents} documents; "
        f"SMS: {data['sms']['rows']:,} rows")

    results = []
    todo = cases(data, only)
    for i, case in enumerate(todo, 1):
        log(f"[{i}/{len(todo)}] {case['shape']} -> {case['format']} ({args.runs} runs each, alternating) ...")
        r = run_case(case, data, small, args.runs)
        results.append(r)
        log("  " + "  ".join(f"{h}: {c}" for h, c in zip(HEADER[2:], row_cells(r)[2:])))
        if r.get("error"):
            log("  " + r["error"])
        elif not r["same_output"]:
            log("  output: " + r["comparison"])

    start_results = [] if args.no_startup else startup()
    for s in start_results:
        log(f"{s['command']}: {s['median_s']:.3f} s")

    jobs = {"supported": None}
    token_formats = [f for f, _ in TOKEN_FORMATS if only is None or f in only]
    if not args.no_jobs and token_formats:
        jobs["supported"] = jobs_supported()
        if jobs["supported"]:
            k_jobs = min(JOBS_K, args.k)
            project = (data if k_jobs == args.k else small if k_jobs == MEMORY_K else build(datasets, k_jobs))["datasaur"]
            log(f"--jobs {JOBS} vs --jobs 1 on the DATASAUR_SCHEMA project at K={k_jobs} "
                f"({project['documents']} documents) ...")
            jobs.update(k=k_jobs, documents=project["documents"], results=jobs_check(project, token_formats, args.runs))
        else:
            log("`labelport convert --help` lists no --jobs: the --jobs check is skipped")

    # -- the table ----------------------------------------------------------------------
    rows = [row_cells(r) for r in results]
    header = HEADER[:]
    header[RSS_COLUMN] = f"RSS K={MEMORY_K} -> {args.k}"
    print()
    print(f"labelport convert vs floor, K={args.k} (median of {args.runs}; RSS = peak resident set of the process)")
    print(text_table(rows, header))
    if start_results:
        print()
        print(text_table([[s["command"], f"{s['median_s']:.3f}", f"< {MAX_STARTUP_S}",
                           "PASS" if s["pass"] else "FAIL"] for s in start_results],
                         ["command", "median s (10 runs)", "target", "result"]))
    job_rows = []
    if jobs.get("results"):
        job_rows = [[j["format"], fmt_s(j["jobs1_median_s"]), fmt_s(j["jobs2_median_s"]), fmt_x(j["speedup"]),
                     fmt_s(j["jobs2_cores_busy"]), "same" if j["same_output"] else "DIFFERENT",
                     "PASS" if j["pass"] else "FAIL"] for j in jobs["results"]]
        print()
        print(f"--jobs on the DATASAUR_SCHEMA project at K={jobs['k']} ({jobs['documents']} documents), "
              f"target >= {MIN_JOBS_SPEEDUP}x")
        print(text_table(job_rows, JOBS_HEADER))
    elif jobs["supported"] is False:
        print("\n--jobs: not offered by `labelport convert` (skipped)")

    passed = (all(r["pass"] for r in results) and all(s["pass"] for s in start_results)
              and all(j["pass"] for j in jobs.get("results", [])))
    print()
    print("ALL TARGETS MET" if passed else "SOME TARGETS MISSED")

    finished = datetime.datetime.now(datetime.timezone.utc)
    try:
        info["load_average_at_end"] = os.getloadavg()
    except OSError:
        pass
    WORK.mkdir(parents=True, exist_ok=True)
    document = {
        "command": command,
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "machine": info,
        "versions": versions(),
        "k": args.k, "memory_k": MEMORY_K, "runs": args.runs,
        "data": data,
        "targets": {"ratio": MAX_RATIO, "rss_growth": MAX_GROWTH, "rss_mib": MAX_RSS_MIB,
                    "startup_s": MAX_STARTUP_S, "jobs_speedup": MIN_JOBS_SPEEDUP},
        "conversions": results,
        "startup": start_results,
        "jobs": jobs,
        "pass": passed,
    }
    (WORK / "results.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    md = [f"K={args.k}, median of {args.runs} runs; `{command}`", "", markdown_table(rows, header)]
    if start_results:
        md += ["", markdown_table([[f"`{s['command']}`", f"{s['median_s']:.3f}", f"< {MAX_STARTUP_S}",
                                    "PASS" if s["pass"] else "FAIL"] for s in start_results],
                                  ["command", "median s (10 runs)", "target", "result"])]
    if job_rows:
        md += ["", f"`--jobs {JOBS}` on the DATASAUR_SCHEMA project at K={jobs['k']} ({jobs['documents']} documents):",
               "", markdown_table(job_rows, JOBS_HEADER)]
    (WORK / "results.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    log(f"\nwrote {(WORK / 'results.json').relative_to(REPO)} and {(WORK / 'results.md').relative_to(REPO)} "
        f"({(finished - started).total_seconds():.0f} s)")
    return 0 if passed else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:  # however it ends (a missing dataset, Ctrl-C): this run's outputs go
        shutil.rmtree(OUT, ignore_errors=True)
