"""Export jobs: states, errors, detached runs, recovery after a kill, and
several processes sharing one store."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import labelport
import labelport.jobs.export  # (not imported by `import labelport`: start-up stays light)
from labelport.jobs.store import DELIVERED, FAILED, IN_PROGRESS, MAX_ATTEMPTS, QUEUED, JobStore

FIXTURES = Path(__file__).parent / "fixtures"
WNUT_SLICE = FIXTURES / "wnut17" / "wnut17train.head.conll"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def cli(*args: object, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labelport", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def test_python_export_returns_a_job_at_once_and_delivers(tmp_path):
    job = labelport.export(WNUT_SLICE, "TSV_IOB", to=str(tmp_path / "dest"))
    assert job.status in (QUEUED, IN_PROGRESS, DELIVERED)
    job.wait(60)
    assert job.status == DELIVERED and job.progress == 100 and job.errors == []
    delivered = tmp_path / "dest" / "wnut17train.head.conll.tsv"
    assert delivered.read_bytes() == (Path(job.result["out"]) / delivered.name).read_bytes()
    assert job.result["fileUrl"] == str(tmp_path / "dest" / "labelport-report.json")


def test_a_failed_job_carries_the_api_job_error(tmp_path):
    bad = tmp_path / "bad.conll"
    bad.write_text("a\tB-x\nb\tx\n")
    job = labelport.export(bad, "TSV_IOB", to=str(tmp_path / "dest")).wait(60)
    assert job.status == FAILED
    [error] = job.errors
    assert set(error) == {"id", "stack", "args"}
    assert error["stack"].startswith(f"{bad}:2: mixes IOB tags")
    assert error["args"]["exit_code"] == 2 and error["args"]["line"] == 2
    assert not (tmp_path / "dest").exists()


def test_detach_then_status_and_wait(tmp_path):
    started = cli("export", WNUT_SLICE, "-f", "CONLL_2003", "--to", tmp_path / "dest", "--detach")
    assert started.returncode == 0, started.stderr
    job_id = started.stdout.strip()
    assert len(job_id) == 32
    waited = cli("wait", job_id, "--timeout", "60")
    assert waited.returncode == 0, waited.stderr
    status = json.loads(cli("status", job_id).stdout)
    assert status["status"] == DELIVERED and status["progress"] == 100
    assert set(status) == {"id", "status", "progress", "errors", "resultId", "result", "createdAt", "updatedAt"}
    assert (tmp_path / "dest" / "wnut17train.head.conll").exists()  # the name already ends in .conll
    listing = cli("jobs")
    assert job_id in listing.stdout and DELIVERED in listing.stdout


def test_wait_on_a_failed_job_exits_3(tmp_path):
    bad = tmp_path / "bad.conll"  # known only once read (a missing file is refused before the job: test_preflight)
    bad.write_text("a\tB-x\nb\tx\n")
    started = cli("export", bad, "-f", "TSV_IOB", "--to", tmp_path / "dest", "--detach")
    job_id = started.stdout.strip()
    waited = cli("wait", job_id, "--timeout", "60")
    assert waited.returncode == 3
    assert "mixes IOB tags" in waited.stderr


def many_documents(folder: Path, n: int) -> Path:
    folder.mkdir()
    text = WNUT_SLICE.read_text(encoding="utf-8")
    for i in range(n):
        (folder / f"doc{i:03}.conll").write_text(text * 40, encoding="utf-8")
    return folder


def test_a_killed_job_is_resumed_without_uploading_twice(tmp_path, home):
    source = many_documents(tmp_path / "src", 60)
    dest = tmp_path / "dest"
    spec_job = labelport.jobs.store.JobStore().create(
        labelport.jobs.export.make_spec(str(source), "TSV_IOB", to=str(dest), delivery={"concurrency": 1})
    )
    worker = subprocess.Popen([sys.executable, "-m", "labelport", "run-job", spec_job.id],
                              env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(dest.glob("*.tsv"))) < 5:
        time.sleep(0.005)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    before = {p.name: p.stat().st_mtime_ns for p in dest.glob("*.tsv")}
    assert 5 <= len(before) < 60, "the kill came too late to test a resume"
    store = JobStore()
    assert store.get(spec_job.id).status == IN_PROGRESS  # what the dead process left
    listing = cli("jobs")  # any start of labelport picks it up
    assert spec_job.id in listing.stdout
    job = store.get(spec_job.id).wait(120)
    assert job.status == DELIVERED, job.errors
    assert job.attempts == 2
    after = {p.name: p.stat().st_mtime_ns for p in dest.glob("*.tsv")}
    assert len(after) == 60
    assert all(after[name] == mtime for name, mtime in before.items())  # delivered files were not written again
    assert job.result["uploaded"] == 60 - len(before) + 1  # the rest, and the report


def test_a_job_killed_too_often_is_marked_failed(tmp_path):
    store = JobStore()
    job = store.create(labelport.jobs.export.make_spec(str(WNUT_SLICE), "TSV_IOB", to=str(tmp_path / "d")))
    store.update(job.id, status=IN_PROGRESS, pid=2**22 + 12345, attempts=MAX_ATTEMPTS)  # no such process
    cli("jobs")
    failed = store.get(job.id)
    assert failed.status == FAILED
    assert "stopped 3 times" in failed.errors[0]["stack"]


def test_concurrent_processes_share_the_store(tmp_path, home):
    script = (
        "import labelport, sys\n"
        "jobs = [labelport.export(sys.argv[1], 'PLAIN', to=sys.argv[2] + f'/{i}') for i in range(5)]\n"
        "for job in jobs: job.wait(120)\n"
        "print(sum(job.status == 'DELIVERED' for job in jobs))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(WNUT_SLICE), str(tmp_path / f"p{n}")],
                              stdout=subprocess.PIPE, text=True, env={**os.environ}) for n in range(4)]
    outputs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert outputs == ["5"] * 4
    jobs = JobStore().list(100)
    assert len(jobs) == 20 and {j.status for j in jobs} == {DELIVERED}
    with sqlite3.connect(home / "jobs.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
