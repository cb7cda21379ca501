"""Typed job specs: what the store keeps, what older versions stored, and
what a spec that does not decode does to its job (it fails, saying which
field, never a traceback)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import get_args

import orjson
import pytest

import labelport
from labelport.guards.sealed import PREFIX, seal_spec, unseal_spec
from labelport.jobs.export import make_spec
from labelport.jobs.kinds import JOB_KINDS, run_job
from labelport.jobs.spec import (
    DocumentTask,
    ExportSpec,
    ProjectTask,
    ServiceExportSpec,
    Spec,
    SpecError,
    decode_spec,
    encode_spec,
)
from labelport.jobs.store import DELIVERED, FAILED, JobStore, open_store, run_here

FIXTURES = Path(__file__).parent / "fixtures"
WNUT_SLICE = FIXTURES / "wnut17" / "wnut17train.head.conll"
WNUT_FILE = "wnut17train.head.conll.tsv"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def store_as_is(stored: object) -> str:
    """A job whose stored spec is ``stored`` exactly (as an older or a broken
    writer left it), QUEUED; its id."""
    store = JobStore()
    job = store.create(make_spec(str(WNUT_SLICE), "TSV_IOB", to=None))
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE jobs SET spec = ? WHERE id = ?", (orjson.dumps(stored).decode(), job.id))
    return job.id


def stored_text(job_id: str) -> str:
    with sqlite3.connect(JobStore().path) as db:
        return db.execute("SELECT spec FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]


def cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labelport", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env={**os.environ})


# -- what older versions stored still runs ----------------------------------------------------

def test_an_export_stored_before_kinds_existed_still_runs(tmp_path):
    dest = tmp_path / "dest"
    old = {"input": str(WNUT_SLICE), "read": {}, "format": "TSV_IOB", "convert": {}, "out": str(tmp_path / "out"),
           "to": str(dest), "delivery": {"concurrency": 1}, "notices": []}
    job = run_here(store_as_is(old))
    assert job is not None and job.status == DELIVERED, job and job.errors
    assert isinstance(job.spec, ExportSpec) and job.spec.to == str(dest)
    labelport.convert(WNUT_SLICE, "TSV_IOB", tmp_path / "plain")
    assert (dest / WNUT_FILE).read_bytes() == (tmp_path / "plain" / WNUT_FILE).read_bytes()


#: A service export's spec as `labelport serve` stored it before kinds existed.
OLD_SERVICE_SPEC = {
    "input": "/srv/projects/newsroom", "format": "CSV", "to": "http://127.0.0.1:8000/files/t0k/news.zip",
    "service": {"kind": "project", "projects": [{"id": "newsroom", "path": "/srv/projects/newsroom"}],
                "role": "REVIEWER", "result": "news.zip", "client": "cli", "work": "0a1b", "format": "CSV",
                "transformer": None, "fileName": "news", "method": "FILE_STORAGE",
                "storage": {"token": "t0k", "folder": "/srv/home/serve/files/t0k",
                            "url": "http://127.0.0.1:8000/files/t0k/news.zip", "expiresAt": "2026-01-01T06:00:00.000Z"},
                "eos": None, "notice": None},
}


def test_a_service_export_stored_before_kinds_existed_decodes_as_one():
    spec = decode_spec(OLD_SERVICE_SPEC)
    assert isinstance(spec, ServiceExportSpec) and isinstance(spec.service, ProjectTask)
    assert spec.service.client == "cli" and spec.service.role == "REVIEWER"
    assert spec.service.projects[0].path == "/srv/projects/newsroom"
    assert spec.service.storage is not None and spec.service.storage.token == "t0k"
    document = {**OLD_SERVICE_SPEC["service"], "kind": "document", "single": True,
                "document": {"id": "d1", "name": "a.json", "position": 3}}
    del document["role"]
    spec = decode_spec({**OLD_SERVICE_SPEC, "service": document})
    assert isinstance(spec.service, DocumentTask) and spec.service.document.position == 3


# -- the stored form ------------------------------------------------------------------------

def test_an_export_spec_round_trips_through_the_store_to_the_byte(tmp_path):
    spec = make_spec(str(WNUT_SLICE), "TSV_IOB", to="s3://bucket/prefix", out=tmp_path / "out",
                     delivery={"concurrency": 2},
                     notices=[{"method": "CUSTOM_WEBHOOK", "url": "https://u:pw@hooks.example/x", "secret": "s3cr3t"}])
    job = JobStore().create(spec)
    text = stored_text(job.id)
    assert "s3cr3t" not in text and "pw@" not in text and PREFIX in text  # the secrets are sealed
    assert orjson.dumps(seal_spec(encode_spec(job.spec))).decode() == text  # sealed strings stay as they are
    assert decode_spec(unseal_spec(job.stored_spec)) == spec


def test_a_service_spec_round_trips_through_the_store_to_the_byte():
    spec = decode_spec(OLD_SERVICE_SPEC)
    job = JobStore().create(spec)
    text = stored_text(job.id)
    assert "files/t0k" in text.split('"service"')[0]  # the listing's `to` stays readable
    assert orjson.dumps(seal_spec(encode_spec(job.spec))).decode() == text
    assert decode_spec(unseal_spec(job.stored_spec)) == spec


def test_every_kind_has_a_spec_type_and_a_runner():
    assert set(JOB_KINDS) == set(get_args(Spec))
    for runner in JOB_KINDS.values():
        module, _, name = runner.partition(":")
        __import__(module)
        assert callable(getattr(sys.modules[module], name))


# -- a spec that does not decode fails its job, saying which field ------------------------------

EXPORT_FIELDS = {"input": str(WNUT_SLICE), "format": "TSV_IOB", "out": "/tmp/x"}


@pytest.mark.parametrize("stored, message", [
    ({**EXPORT_FIELDS, "format": 5}, "job spec.format: Expected `str`, got `int`"),
    ({"kind": "export", "input": str(WNUT_SLICE), "format": "TSV_IOB"},
     "job spec: Object missing required field `out`"),
    ({"kind": "reindex", **EXPORT_FIELDS}, "job spec.kind: Invalid value 'reindex'"),
    ({**EXPORT_FIELDS, "notices": {"method": "EMAIL"}}, "job spec.notices: Expected `array`, got `object`"),
    ({**OLD_SERVICE_SPEC, "service": {**OLD_SERVICE_SPEC["service"], "projects": "newsroom"}},
     "job spec.service.projects: Expected `array`, got `str`"),
    ([1, 2], "job spec: Expected `object`, got `array`"),
])
def test_a_spec_that_does_not_decode_fails_the_job_with_the_field(stored, message):
    job = run_here(store_as_is(stored))
    assert job is not None and job.status == FAILED
    [error] = job.errors
    assert error["stack"] == message and error["args"]["type"] == "SpecError"
    with pytest.raises(SpecError, match="^job spec"):
        decode_spec(stored)


@pytest.mark.parametrize("field, value, message", [
    ("delivery", {"concurrency": "four"}, "job spec.delivery.concurrency: Expected `int`, got `str`"),
    ("notices", [{"method": "CUSTOM_WEBHOOK", "url": 5}], "job spec.notices[0].url: Expected `str | null`, got `int`"),
    ("notices", [{"url": "https://hooks.example/x"}], "job spec.notices[0]: Object missing required field `method`"),
])
def test_wrong_delivery_keywords_fail_the_job_with_the_field_before_anything_is_delivered(tmp_path, field, value,
                                                                                           message):
    dest = tmp_path / "dest"
    stored = {"kind": "export", **EXPORT_FIELDS, "out": str(tmp_path / "out"), "to": str(dest), field: value}
    job = run_here(store_as_is(stored))
    assert job is not None and job.status == FAILED
    assert [e["stack"] for e in job.errors] == [message]
    assert not dest.exists()


def test_the_command_line_lists_and_waits_on_such_a_job_without_a_traceback():
    job_id = store_as_is({**EXPORT_FIELDS, "format": 5})
    listing = cli("jobs")
    assert listing.returncode == 0 and "Traceback" not in listing.stderr
    [line] = [line for line in listing.stdout.splitlines() if line.startswith(job_id)]
    assert line.endswith("job spec.format: Expected `str`, got `int`")
    ran = cli("run-job", job_id)
    assert ran.returncode == 0 and ran.stderr == ""
    waited = cli("wait", job_id, "--timeout", "30")
    assert waited.returncode == 3
    assert waited.stderr == f"labelport: error: job {job_id}: job spec.format: Expected `str`, got `int`\n"


def test_run_job_runs_a_spec_of_either_kind_by_its_type(tmp_path):
    spec = make_spec(str(WNUT_SLICE), "TSV_IOB", to=None, out=tmp_path / "out")
    seen: list[int] = []
    result = run_job(spec, seen.append)
    assert result == {"out": str(tmp_path / "out"), "format": "TSV_IOB", "projectId": result["projectId"]}
    assert seen[0] == 1 and (tmp_path / "out" / WNUT_FILE).exists()
    assert open_store().list() == []  # running a spec stores nothing
