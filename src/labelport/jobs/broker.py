"""Jobs on a shared queue: ``labelport serve --broker redis://HOST:PORT/DB``
enqueues every export, ``labelport worker --broker URL`` processes run them.

The queue is RQ (Redis Queue): of the well-kept Python queues (RQ, Dramatiq,
arq, Celery) it is the smallest that fits labelport's jobs, which are
synchronous functions needing Redis only: no second broker (Celery's
Kombu/AMQP), no asyncio (arq), no middleware stack (Dramatiq). The job state
clients poll is not RQ's but labelport's own, in :class:`RedisJobStore` on the
same Redis, so every ``serve`` replica answers the same; RQ carries only the
job id.

Delivery guarantee: at least once. A worker moves a job from the queue to its
started registry atomically (LMOVE through RQ's intermediate queue) and keeps
a heartbeat on it while the job runs (every :data:`HEARTBEAT` seconds). When
the process running a job dies (killed, out of memory) the job is not lost:
if the forked work-horse died, its worker sees it at once; if the whole
worker died (its machine gone), the job is found abandoned once its heartbeat
lapses (:data:`HEARTBEAT` plus RQ's 60 s) by any live worker, which looks
every :data:`ABANDONED_CHECK` seconds, busy or idle: within about 100 s
(RQ's defaults: up to 10 minutes and 90 s for a busy worker, and an idle one
blocks on the queue 405 s between looks). Either way RQ retries it
(``Retry(max=MAX_ATTEMPTS)``), and :func:`run_queued` runs it again from its
spec (conversion is deterministic, delivery skips what is already uploaded),
or marks it FAILED with the reason once it has been tried
:data:`~labelport.jobs.store.MAX_ATTEMPTS` times. A job that fails of its own
accord is recorded FAILED by labelport and not retried. Queued jobs and job
state survive a Redis restart as far as Redis persists them, which is the
server's configuration: with ``appendonly yes`` and ``appendfsync always``
every write Redis acknowledged (an export queued, a job claimed, a notice
recorded) survives even a kill -9 of Redis (tests/test_scale_out.py); with
``appendfsync everysec`` up to a second of writes can be lost, with RDB
snapshots alone everything since the last snapshot. Workers and replicas
reconnect when it is back.

``redis`` and ``rq`` are the ``labelport[redis]`` extra, imported here only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..errors import UsageError, missing_extra
from .kinds import import_kinds
from .redis_store import RedisJobStore
from .store import FINISHED_RETENTION, IN_PROGRESS, MAX_ATTEMPTS, retry, run

QUEUE_NAME = "labelport"
SCHEMES = ("redis", "rediss", "unix")
#: What RQ imports in the worker to run a queued job (jobs.kinds runs the job's own kind from there).
RUN_QUEUED = "labelport.jobs.broker.run_queued"
#: Seconds between a busy worker's heartbeats on its job (RQ's job monitoring interval; its default 30).
HEARTBEAT = 10
#: Seconds between a worker's looks for abandoned jobs (RQ's maintenance interval; its default 600). An
#: idle worker waits on the queue for RQ's worker TTL less 15 s between looks, so that TTL follows.
ABANDONED_CHECK = 30
#: Seconds the thread listening on a worker's command channel waits for a message at a time. RQ 3.0
#: waits 60, and redis-py 8 joins that thread when the worker stops: a worker (a ``--burst`` one at
#: the end of the queue, any one at SIGTERM) then took up to 60 s to exit.
COMMAND_POLL = 1.0


def _modules() -> tuple[Any, Any]:
    try:  # (extra: redis and rq are labelport[redis])
        import redis
        import rq
    except ModuleNotFoundError as exc:
        raise missing_extra(exc.name or "redis", "redis", "--broker") from None
    return redis, rq


class Broker:
    """The Redis at ``url``: its job store and labelport's queue. UsageError
    (exit 2, before anything starts) for a URL that is not Redis's, a missing
    extra, or a server that does not answer."""

    def __init__(self, url: str):
        if urlsplit(url).scheme not in SCHEMES:
            raise UsageError(f"--broker {url!r}: expected redis://HOST:PORT/DB (or rediss://, unix://)")
        redis, rq = _modules()
        self.url = url
        try:
            self.connection = redis.Redis.from_url(url)  # bytes, as RQ wants them
            self.connection.ping()
        except (redis.RedisError, ValueError) as exc:
            raise UsageError(f"--broker: cannot reach Redis: {exc}") from None
        self.store = RedisJobStore(redis.Redis.from_url(url, decode_responses=True))
        self.queue = rq.Queue(QUEUE_NAME, connection=self.connection)
        self._rq = rq

    # what the service's in-process workers do (service.exporter.Workers), here done by `labelport worker`s
    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def submit(self, job_id: str) -> None:
        """Queue a stored job under its own id: ``job_timeout=-1``, as an
        export takes what it takes (a dead worker is found by its heartbeat);
        no RQ result kept, labelport's store holds it; a job RQ itself
        failed (run_queued raised: Redis went away mid-job) kept as long as
        labelport keeps a finished job."""
        self.queue.enqueue(RUN_QUEUED, job_id, job_id=job_id, retry=self._rq.Retry(max=MAX_ATTEMPTS),
                           job_timeout=-1, result_ttl=0, failure_ttl=FINISHED_RETENTION,
                           description=f"labelport job {job_id}")

    def work(self, burst: bool = False) -> bool:
        """Run queued jobs until stopped (or, with ``burst``, until the queue
        is empty), each in a forked work-horse that inherits what runs them."""
        import_kinds()
        worker = _worker_class(self._rq)([self.queue], connection=self.connection, job_monitoring_interval=HEARTBEAT,
                                         maintenance_interval=ABANDONED_CHECK, worker_ttl=ABANDONED_CHECK + 15)
        return worker.work(burst=burst, with_scheduler=False)


def _worker_class(rq: Any) -> Any:
    """RQ's Worker, listening on its command channel :data:`COMMAND_POLL` seconds at a time."""

    class Worker(rq.Worker):  # type: ignore[misc,name-defined]
        def subscribe(self) -> None:  # RQ's own, but for the thread's sleep_time
            self.pubsub = self.connection.pubsub()
            self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
            self.pubsub_thread = self.pubsub.run_in_thread(sleep_time=COMMAND_POLL, daemon=True,
                                                           exception_handler=self._pubsub_exception_handler)

    return Worker


def run_queued(job_id: str) -> None:
    """RQ's job: run a stored job here. Found IN_PROGRESS, it was started by
    a process that died (RQ runs a job again only then): it runs again, or
    fails once tried MAX_ATTEMPTS times (jobs.store.retry)."""
    redis, rq = _modules()
    pool = rq.get_current_job().connection.connection_pool
    text = redis.ConnectionPool(connection_class=pool.connection_class,
                                **{**pool.connection_kwargs, "decode_responses": True})
    store = RedisJobStore(redis.Redis(connection_pool=text))
    job = store.get(job_id)
    if job is None or (job.status == IN_PROGRESS and not retry(store, job)):
        return
    run(store, job_id)
