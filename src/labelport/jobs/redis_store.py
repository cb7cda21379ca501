"""The job store on Redis, for ``labelport serve --broker`` and ``labelport worker``.

The same jobs as :class:`labelport.jobs.store.JobStore` (SQLite), kept where
every ``serve`` replica and every worker reads them: one hash per job
(``labelport:job:<id>``: status, progress, errors, result, spec, pid,
attempts, times) and a sorted set of job ids by creation
(``labelport:jobs``), so ``getExportDeliveryStatus`` and ``getJob`` answer the
same from every replica. Claiming and requeueing are compare-and-set Lua
scripts, atomic on the server, as the SQLite store's conditional UPDATEs are.

A finished job (DELIVERED or FAILED) expires :data:`~labelport.jobs.store.FINISHED_RETENTION`
seconds after it finished (a Redis TTL on its hash), so the store does not
grow for ever; its index entry is dropped by a later job's finish, once its
hash is gone.

Finding a dead worker's jobs is the queue's part (``jobs.broker``): there is
no pid to probe across hosts, so :meth:`RedisJobStore.orphans` is empty.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import orjson

from .spec import Spec
from .store import (
    FAILED,
    FINISHED,
    FINISHED_RETENTION,
    IN_PROGRESS,
    JSON_FIELDS,
    QUEUED,
    Job,
    _now,
    job_error,
    sealed_spec,
)

JOB_KEY = "labelport:job:{}"
INDEX_KEY = "labelport:jobs"
#: Index entries of expired jobs dropped at each job's finish, at most.
PRUNED_AT_ONCE = 100

#: KEYS[1] the job; ARGV: expected status, expected pid ("" for any), then field/value pairs to set;
#: attempts counted up when the new status is IN_PROGRESS.
_COMPARE_AND_SET = """
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'pid') ~= ARGV[2] then return 0 end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if redis.call('HGET', KEYS[1], 'status') == 'IN_PROGRESS' then redis.call('HINCRBY', KEYS[1], 'attempts', 1) end
return 1
"""


class RedisJobStore:
    """Jobs in Redis (``redis`` client with ``decode_responses=True``); a
    finished job is kept ``retention`` seconds."""

    def __init__(self, connection: Any, retention: float = FINISHED_RETENTION):
        self.redis = connection
        self.retention = retention
        self._compare_and_set = connection.register_script(_COMPARE_AND_SET)

    def _job(self, fields: dict[str, str]) -> Job:
        return Job(
            id=fields["id"],
            status=fields["status"],
            progress=int(fields["progress"]),
            errors=orjson.loads(fields["errors"]),
            result=orjson.loads(fields["result"]) if fields.get("result") else None,
            stored_spec=orjson.loads(fields["spec"]),
            created_at=fields["created_at"],
            updated_at=fields["updated_at"],
            attempts=int(fields["attempts"]),
            pid=int(fields["pid"]) if fields.get("pid") else None,
            notified=orjson.loads(fields.get("notified") or "[]"),
            store=self,
        )

    def create(self, spec: Spec, job_id: str | None = None) -> Job:
        """A QUEUED job (see JobStore.create)."""
        now = _now()
        job_id = job_id or uuid.uuid4().hex
        fields = {"id": job_id, "status": QUEUED, "progress": 0, "errors": "[]", "result": "",
                  "spec": sealed_spec(spec), "pid": os.getpid(), "attempts": 0, "created_at": now, "updated_at": now}
        with self.redis.pipeline() as pipe:
            pipe.hset(JOB_KEY.format(job_id), mapping=fields)
            pipe.zadd(INDEX_KEY, {job_id: time.time()})
            pipe.execute()
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        fields = self.redis.hgetall(JOB_KEY.format(job_id))
        return self._job(fields) if fields else None

    def list(self, limit: int = 50) -> list[Job]:
        jobs = (self.get(job_id) for job_id in self.redis.zrevrange(INDEX_KEY, 0, limit - 1))
        return [job for job in jobs if job is not None]

    def update(self, job_id: str, **values: Any) -> None:
        """Set a job's fields; a finished job starts its retention."""
        for key in JSON_FIELDS:
            if key in values:
                values[key] = orjson.dumps(values[key]).decode()
        values["updated_at"] = _now()
        key = JOB_KEY.format(job_id)
        if values.get("status") not in FINISHED:
            self.redis.hset(key, mapping=values)
            return
        with self.redis.pipeline() as pipe:
            pipe.hset(key, mapping=values)
            pipe.pexpire(key, max(1, int(self.retention * 1000)))
            pipe.execute()
        self._prune_index()

    def _prune_index(self) -> None:
        """Drop the index entries of expired jobs: created more than the
        retention ago (a job finishes after it is created, so expires after
        that) and whose hash is gone."""
        old = self.redis.zrangebyscore(INDEX_KEY, "-inf", time.time() - self.retention, start=0, num=PRUNED_AT_ONCE)
        if not old:
            return
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in old:
                pipe.exists(JOB_KEY.format(job_id))
            gone = [job_id for job_id, exists in zip(old, pipe.execute()) if not exists]
        if gone:
            self.redis.zrem(INDEX_KEY, *gone)

    def _set_if(self, job_id: str, was: str, owner: int | None, **values: Any) -> bool:
        """Set ``values`` if the job's status is ``was`` (and its pid ``owner``, unless None)."""
        pairs = [str(item) for key, value in values.items() for item in (key, value)]
        return self._compare_and_set(keys=[JOB_KEY.format(job_id)],
                                     args=[was, "" if owner is None else str(owner), *pairs]) == 1

    def claim(self, job_id: str) -> bool:
        """Take a QUEUED job for this process; False when another has it."""
        return self._set_if(job_id, QUEUED, None, status=IN_PROGRESS, pid=os.getpid(), updated_at=_now())

    def orphans(self) -> list[Job]:
        return []  # the queue hands a dead worker's job to another (jobs.broker)

    def requeue(self, job: Job) -> bool:
        """Put a job whose worker died back to QUEUED, for this process to
        run; of several processes at once, exactly one succeeds."""
        return self._set_if(job.id, job.status, job.pid, status=QUEUED, pid=os.getpid(), updated_at=_now())

    def fail(self, job_id: str, exc: BaseException) -> None:
        self.update(job_id, status=FAILED, errors=[job_error(exc)])
