"""Fail before work (issue 13): an export whose destination cannot take it is
refused before converting, with no job stored and nothing under
LABELPORT_HOME; the same checks guard the Python API and `labelport push`.

The destinations are the real local servers (moto's S3, the test Hub); the
credentials a machine lacks are taken away in the environment of a process
of its own, so the SDK's own chain finds nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, WNUT17_FIXTURES

import labelport
from labelport.errors import DeliveryError, InputError, UsageError

pytest.importorskip("boto3")
pytest.importorskip("moto")

from servers.hub import start_hub  # noqa: E402
from test_deliver_s3 import s3, s3_server  # noqa: E402,F401  (moto's S3 on loopback, its env set; a bucket made)
from test_serve import service  # noqa: E402,F401  (the service, started for this module too)

WNUT_SLICE = WNUT17_FIXTURES / "wnut17train.head.conll"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def cli(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, **(env or {})}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "labelport", *map(str, args)], env=environ, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120, check=False)


def test_export_to_a_missing_bucket_fails_before_converting(s3, home, tmp_path):
    """The bucket is looked up (one HEAD, read only) before the job exists."""
    run = cli("export", WNUT_SLICE, "-f", "CONLL_2003", "-o", tmp_path / "out", "--to", "s3://no-such-bucket/x")
    assert run.returncode == 3, run.stderr
    assert run.stderr == "labelport: error: s3://no-such-bucket: the bucket does not exist\n"
    assert not (tmp_path / "out").exists() and not home.exists()  # no job store, no kept export


def test_export_without_aws_credentials_fails_before_converting(home, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), HOME=str(tmp_path), LABELPORT_HOME=str(home))
    run = subprocess.run([sys.executable, "-m", "labelport", "export", str(WNUT_SLICE), "-f", "CONLL_2003", "--to",
                          "s3://bucket/x"], env={**env, "PYTHONPATH": str(ROOT / "src")}, capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 3, run.stderr
    assert run.stderr.startswith("labelport: error: s3: no AWS credentials found") and run.stderr.count("\n") == 1
    assert not home.exists()


def test_push_to_the_hub_without_a_token_says_so_before_uploading(tmp_path, monkeypatch):
    hub = start_hub()
    try:
        for key, value in hub.env("unused").items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("HF_TOKEN")
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # no token stored by `hf auth login`
        (tmp_path / "folder").mkdir()
        (tmp_path / "folder" / "a.txt").write_text("a\n", encoding="utf-8")
        with pytest.raises(DeliveryError, match="^hf: no token: set HF_TOKEN"):
            labelport.push(tmp_path / "folder", "hf://datasets/alice/x")
    finally:
        hub.stop()


def test_the_python_api_refuses_before_the_job_exists(s3, home, tmp_path):
    with pytest.raises(DeliveryError, match="the bucket does not exist"):
        labelport.export(WNUT_SLICE, "CONLL_2003", to="s3://missing-bucket/x")
    with pytest.raises(InputError, match="no such file or folder"):
        labelport.export(tmp_path / "missing.conll", "CONLL_2003", to=str(tmp_path / "dest"))
    with pytest.raises(UsageError, match="no bucket or container named"):
        labelport.push(WNUT17_FIXTURES, "gs://")
    assert not home.exists()


def test_a_loaded_project_is_exported_whatever_its_source_says(tmp_path):
    """labelport.export(project) hands the job the project: its source is not read again."""
    project = labelport.load(WNUT_SLICE)
    project.source = str(tmp_path / "gone.conll")
    job = labelport.export(project, "CONLL_2003", to=str(tmp_path / "dest")).wait(60)
    assert job.status == "DELIVERED", job.errors


def test_export_to_a_bucket_that_exists_delivers(s3, tmp_path):
    _, bucket = s3
    job = labelport.export(WNUT_SLICE, "CONLL_2003", to=f"s3://{bucket}/x").wait(60)
    assert job.status == "DELIVERED", job.errors
    assert f"s3://{bucket}/x/labelport-report.json" in job.result["objects"]


def test_the_service_refuses_a_storage_it_cannot_write_to_while_the_caller_waits(service):
    """A registered storage whose URL the destination refuses is a GraphQL
    error at once: no job is queued to fail later."""
    from labelport.jobs.store import JobStore

    before = len(JobStore().list(1000))
    service.storages.write_text(json.dumps({"local1": str(service.eos), "bad": "gs://Not_A_Bucket!/team"}))
    error = service.error(projectIds=["support-tickets-r7Tt"], fileName="x", format="CSV",
                          method="EXTERNAL_OBJECT_STORAGE",
                          externalObjectStorageParameter={"externalObjectStorageId": "bad"})
    assert "'Not_A_Bucket!' is not a Cloud Storage bucket name" in error["message"]
    assert len(JobStore().list(1000)) == before
