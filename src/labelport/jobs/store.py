"""Export jobs: every export is one, with a pollable status.

A job moves NONE -> QUEUED -> IN_PROGRESS -> DELIVERED or FAILED, with a
progress in percent and, when it fails, errors shaped as the Export API's
JobError (``id``, ``stack`` beginning with the message, ``args``). Jobs live
in SQLite under LABELPORT_HOME (default ~/.labelport), in WAL mode so several
processes can run and poll jobs at once. (``labelport serve --broker`` keeps
the same jobs on Redis instead: jobs.redis_store, jobs.broker.)

A job records what to do (its spec), not a Python object, so a job whose
process was killed is picked up by the next labelport process that opens the
job store with :func:`recover` (the job commands and ``labelport serve``):
run again (conversion is deterministic and delivery skips what is already
uploaded, so nothing is uploaded twice), or marked FAILED with the reason once
it has been tried :data:`MAX_ATTEMPTS` times — never left IN_PROGRESS. A
QUEUED job whose creating process died before starting it is started too.

The store is created 0600 in a 0700 home (:mod:`labelport.guards.private`); the secrets a
spec carries are sealed (:mod:`labelport.guards.sealed`) and unsealed only to run the job.
A job's errors hold messages with credentials redacted, never a traceback:
a bug is logged, traceback included, under the error's id.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
import uuid
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Protocol

import orjson

from ..errors import DeliveryError, LabelportError
from ..guards.private import home, private_file, private_folder
from ..guards.processes import alive
from ..guards.redaction import redact
from ..guards.sealed import seal_spec, unseal_spec
from .kinds import Local, run_job
from .spec import Spec, decode_spec, encode_spec

log = logging.getLogger("labelport.jobs.store")


NONE, QUEUED, IN_PROGRESS, DELIVERED, FAILED = "NONE", "QUEUED", "IN_PROGRESS", "DELIVERED", "FAILED"
FINISHED = (DELIVERED, FAILED)
MAX_ATTEMPTS = 3
#: Seconds a shared job store (jobs.redis_store) keeps a DELIVERED or FAILED
#: job answerable, then drops it: a week, longer than any fileUrl lasts
#: (``serve --file-expiry``). The SQLite store keeps its jobs (``labelport
#: jobs`` lists them) as long as LABELPORT_HOME.
FINISHED_RETENTION = 7 * 24 * 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]',
    result TEXT,
    spec TEXT NOT NULL,
    pid INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    notified TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""


#: The job fields every store keeps as JSON.
JSON_FIELDS = ("errors", "result", "notified")


def _add_notified(db: sqlite3.Connection) -> None:
    """The ``notified`` column, in a store made before notices were recorded."""
    if not any(row["name"] == "notified" for row in db.execute("PRAGMA table_info(jobs)")):
        try:
            db.execute("ALTER TABLE jobs ADD COLUMN notified TEXT NOT NULL DEFAULT '[]'")
        except sqlite3.OperationalError:  # another process added it first
            pass


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Job:
    id: str
    status: str
    progress: int
    errors: list[dict[str, Any]]
    result: dict[str, Any] | None
    stored_spec: Any  # the spec's dict form as stored, its secrets sealed
    created_at: str
    updated_at: str
    attempts: int = 0
    pid: int | None = None  # the process running it
    notified: list[str] = field(default_factory=list)  # its notices sent, by key (JobLedger)
    store: "Store | None" = field(default=None, repr=False, compare=False)

    @property
    def spec(self) -> Spec:
        """What the job does (its secrets still sealed); SpecError when what
        is stored does not decode."""
        return decode_spec(self.stored_spec)

    def refresh(self) -> "Job":
        assert self.store is not None
        fresh = self.store.get(self.id)
        assert fresh is not None
        self.__dict__.update({k: v for k, v in fresh.__dict__.items() if k != "store"})
        return self

    def wait(self, timeout: float | None = None, poll: float = 0.1) -> "Job":
        """Block until DELIVERED or FAILED; DeliveryError on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.refresh().status not in FINISHED:
            if deadline is not None and time.monotonic() > deadline:
                raise DeliveryError(f"job {self.id} still {self.status} after {timeout:g} s")
            time.sleep(poll)
            poll = min(poll * 1.5, 2.0)
        return self

    def to_api(self) -> dict[str, Any]:
        """The Export API's Job type."""
        return {
            "id": self.id,
            "status": self.status,
            "progress": self.progress,
            "errors": self.errors,
            "resultId": (self.result or {}).get("resultId"),
            "result": self.result,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


#: What a client is told of a bug (a job's, or a request's to ``labelport serve``), with an error id.
INTERNAL_ERROR, INTERNAL_ERROR_TYPE = "internal error", "InternalError"


def sealed_spec(spec: Spec) -> str:
    """A spec as every store keeps it: JSON, its secrets sealed."""
    return orjson.dumps(seal_spec(encode_spec(spec))).decode()


def log_bug(exc: BaseException, what: str) -> str:
    """Log a bug with its traceback under a new error id, and return the id.
    The message and traceback may hold paths and data: they go to the log,
    credentials redacted (whatever handler prints it), and the client is told
    only INTERNAL_ERROR and the id."""
    error_id = uuid.uuid4().hex
    trace = "".join(traceback.format_exception(exc)).rstrip()
    log.error("error %s: %s: %s", error_id, what, redact(trace))
    return error_id


def job_error(exc: BaseException) -> dict[str, Any]:
    """An exception as the API's JobError: ``stack`` is the message, with
    credentials redacted; a bug's is INTERNAL_ERROR (see :func:`log_bug`)."""
    if isinstance(exc, LabelportError):
        args: dict[str, Any] = {"type": type(exc).__name__, "exit_code": exc.exit_code,
                                "file": None if exc.file is None else redact(exc.file), "line": exc.line}
        return {"id": uuid.uuid4().hex, "stack": redact(str(exc) or type(exc).__name__), "args": args}
    stack = f"{INTERNAL_ERROR}: the job failed unexpectedly; its log has the details under the error id"
    return {"id": log_bug(exc, "job failed"), "stack": stack, "args": {"type": INTERNAL_ERROR_TYPE}}


class Store(Protocol):
    """What every job store does: :class:`JobStore` (SQLite, the default) and
    ``jobs.redis_store.RedisJobStore`` (``serve --broker``), chosen in one
    place, ``service.exporter.Service``."""

    def create(self, spec: Spec, job_id: str | None = None) -> Job: ...
    def get(self, job_id: str) -> Job | None: ...
    def list(self, limit: int = 50) -> list[Job]: ...
    def update(self, job_id: str, **values: Any) -> None: ...
    def claim(self, job_id: str) -> bool: ...
    def orphans(self) -> list[Job]: ...
    def requeue(self, job: Job) -> bool: ...
    def fail(self, job_id: str, exc: BaseException) -> None: ...


def _use_wal(db: sqlite3.Connection) -> None:
    """Put the store in WAL mode (kept in the file: readers and a writer at
    once). The switch needs the file to itself, and when several processes
    open a new store together SQLite may answer "database is locked" at once,
    without waiting the busy timeout (1 open in 240 to 480 with 6 to 8 new
    processes at once): tried again, for up to the busy timeout."""
    from tenacity import (  # (start-up: only opening the job store switches the mode)
        Retrying,
        retry_if_exception,
        stop_after_delay,
        wait_random,
    )

    for attempt in Retrying(retry=retry_if_exception(_locked), stop=stop_after_delay(30),
                            wait=wait_random(0.01, 0.2), reraise=True):
        with attempt:
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")


def _locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


class JobStore:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else home() / "jobs.sqlite3"
        parent = self.path.parent
        if not parent.exists() or parent == home():
            private_folder(parent)
        if not self.path.exists():  # never opened when it exists: closing a descriptor drops SQLite's locks
            try:
                private_file(self.path, exclusive=True)  # SQLite gives its -wal and -shm files this mode
            except FileExistsError:
                pass
        with closing(self._connect()) as db:
            _use_wal(db)
            db.execute(_SCHEMA)
            _add_notified(db)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 30000")
        db.row_factory = sqlite3.Row
        return db

    def _job(self, row: sqlite3.Row) -> Job:
        return Job(
            id=row["id"],
            status=row["status"],
            progress=row["progress"],
            errors=orjson.loads(row["errors"]),
            result=orjson.loads(row["result"]) if row["result"] else None,
            stored_spec=orjson.loads(row["spec"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            attempts=row["attempts"],
            pid=row["pid"],
            notified=orjson.loads(row["notified"]),
            store=self,
        )

    def create(self, spec: Spec, job_id: str | None = None) -> Job:
        """A QUEUED job; its ``pid`` is the creating process's until one claims
        it, so a job whose creator died before starting it is recovered too.
        The spec's secrets are stored sealed."""
        now = _now()
        job_id = job_id or uuid.uuid4().hex
        with closing(self._connect()) as db:
            db.execute(
                "INSERT INTO jobs (id, status, spec, pid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (job_id, QUEUED, sealed_spec(spec), os.getpid(), now, now),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return self._job(row) if row else None

    def list(self, limit: int = 50) -> list[Job]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM jobs ORDER BY created_at DESC, id LIMIT ?", (limit,)).fetchall()
        return [self._job(row) for row in rows]

    def update(self, job_id: str, **values: Any) -> None:
        for key in JSON_FIELDS:
            if key in values:
                values[key] = orjson.dumps(values[key]).decode()
        values["updated_at"] = _now()
        columns = ", ".join(f"{key} = ?" for key in values)
        with closing(self._connect()) as db:
            db.execute(f"UPDATE jobs SET {columns} WHERE id = ?", (*values.values(), job_id))

    def claim(self, job_id: str) -> bool:
        """Take a QUEUED job for this process; False when another has it."""
        with closing(self._connect()) as db:
            taken = db.execute(
                "UPDATE jobs SET status = ?, pid = ?, attempts = attempts + 1, updated_at = ? "
                "WHERE id = ? AND status = ?",
                (IN_PROGRESS, os.getpid(), _now(), job_id, QUEUED),
            ).rowcount
        return taken == 1

    def orphans(self) -> list[Job]:
        """IN_PROGRESS jobs whose process is gone, and QUEUED jobs whose
        creating process died before any process claimed them."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM jobs WHERE status IN (?, ?) AND pid IS NOT NULL",
                              (IN_PROGRESS, QUEUED)).fetchall()
        return [self._job(row) for row in rows if not alive(row["pid"])]

    def requeue(self, job: Job) -> bool:
        """Put a dead process's job back in the queue, for this process to
        start; of several processes recovering at once, exactly one succeeds."""
        with closing(self._connect()) as db:
            return db.execute(
                "UPDATE jobs SET status = ?, pid = ?, updated_at = ? WHERE id = ? AND status = ? AND pid = ?",
                (QUEUED, os.getpid(), _now(), job.id, job.status, job.pid),
            ).rowcount == 1

    def fail(self, job_id: str, exc: BaseException) -> None:
        self.update(job_id, status=FAILED, errors=[job_error(exc)])


@dataclass(frozen=True)
class JobLedger:
    """A job's notices sent (delivery.notices.Ledger), kept in its stored
    state: an attempt run after the job's process died skips them."""

    store: Store
    delivery_id: str  # the job's id

    def sent(self, key: str) -> bool:
        job = self.store.get(self.delivery_id)
        return job is not None and key in job.notified

    def record(self, key: str) -> None:
        job = self.store.get(self.delivery_id)  # one process runs a job at a time (claim)
        if job is not None:
            self.store.update(job.id, notified=[*job.notified, key])


def run(store: Store, job_id: str, local: Local = Local(), reraise: bool = False) -> Job | None:
    """Run a QUEUED job of any kind in this process: claim it, run its spec
    (jobs.kinds) with a progress callback and its notice ledger, record
    DELIVERED with the result or FAILED with the error (raised again with
    ``reraise``, for a caller that reports it). A spec that does not decode
    fails the job, saying why."""
    if not store.claim(job_id):
        return store.get(job_id)
    local = replace(local, ledger=JobLedger(store, job_id))
    job = store.get(job_id)
    assert job is not None
    last = [0]

    def progress(percent: int) -> None:
        percent = max(0, min(99, int(percent)))
        if percent > last[0]:
            last[0] = percent
            store.update(job_id, progress=percent)

    try:
        result = run_job(decode_spec(unseal_spec(job.stored_spec)), progress, local)
    except Exception as exc:  # recorded on the job: that is how the caller learns of it
        store.fail(job_id, exc)
        if reraise:
            raise
    else:
        store.update(job_id, status=DELIVERED, progress=100, result=result)
    return store.get(job_id)


def recover(store: Store, start: Callable[[str], None]) -> list[str]:
    """Pick up the jobs of processes that died: start them again, or mark them
    FAILED when they have already been tried MAX_ATTEMPTS times."""
    resumed = []
    for job in store.orphans():
        if retry(store, job):
            start(job.id)
            resumed.append(job.id)
    return resumed


def retry(store: Store, job: Job) -> bool:
    """A job whose process died: back in the queue for this process (True:
    start it), or FAILED with the reason once tried MAX_ATTEMPTS times."""
    if job.status == IN_PROGRESS and job.attempts >= MAX_ATTEMPTS:
        reason = f"the process running this job stopped {job.attempts} times; giving up"
        store.fail(job.id, DeliveryError(reason))
        return False
    return store.requeue(job)


DETACHED_LOG = "run-job.log"


def start_detached(job_id: str) -> None:
    """Run a job in a process of its own that outlives this one. What it
    logs (a bug's traceback under its error id) goes to
    LABELPORT_HOME/logs/run-job.log, 0600."""
    log_file = private_file(private_folder(home() / "logs") / DETACHED_LOG)
    with open(log_file, "ab") as sink:
        subprocess.Popen(
            [sys.executable, "-m", "labelport", "run-job", job_id],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=sink,
            start_new_session=True,
            env={**os.environ, "LABELPORT_HOME": str(home())},
        )


def open_store() -> JobStore:
    """The job store, after picking up the jobs of processes that died (in
    processes of their own)."""
    jobs = JobStore()
    recover(jobs, start_detached)
    return jobs


def run_here(job_id: str, local: Local = Local(), reraise: bool = False) -> Job | None:
    """Run a queued job in this process (``labelport run-job``, or ``labelport
    export`` without --detach)."""
    return run(JobStore(), job_id, local, reraise)


def start_thread(store: JobStore, job_id: str, local: Local = Local()) -> threading.Thread:
    thread = threading.Thread(target=run, args=(store, job_id, local), name=f"labelport-job-{job_id}", daemon=True)
    thread.start()
    return thread
