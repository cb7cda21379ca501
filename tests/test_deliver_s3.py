"""Delivery to S3 against moto's real S3 server on 127.0.0.1, read back with boto3."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")

import labelport  # noqa: E402
from labelport.errors import DeliveryError  # noqa: E402

from servers.s3 import start_s3  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
WNUT_SLICE = FIXTURES / "wnut17" / "wnut17train.head.conll"
MiB = 1 << 20


@pytest.fixture(scope="module")
def s3_server():
    server = start_s3()
    yield server
    server.stop()


@pytest.fixture
def s3(s3_server, monkeypatch):
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3")
    bucket = f"b{time.monotonic_ns()}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


def big_conll(path: Path, megabytes: int) -> Path:
    """A CoNLL file of about ``megabytes`` MiB made of the WNUT slice."""
    chunk = WNUT_SLICE.read_bytes()
    with open(path, "wb") as fh:
        for _ in range(megabytes * MiB // len(chunk) + 1):
            fh.write(chunk)
    return path


def objects(client, bucket: str, prefix: str) -> dict[str, bytes]:
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])]
    return {k: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def test_multipart_upload_is_whole_and_verified(s3, tmp_path):
    client, bucket = s3
    out = tmp_path / "out"
    labelport.convert(labelport.load(big_conll(tmp_path / "big.conll", 12)), "TSV_IOB", out)
    result = labelport.push(out, f"s3://{bucket}/ner", part_size=5 * MiB)
    assert result.uploaded == 2
    stored = objects(client, bucket, "ner/")
    assert stored["ner/big.conll.tsv"] == (out / "big.conll.tsv").read_bytes()
    etag = client.head_object(Bucket=bucket, Key="ner/big.conll.tsv")["ETag"].strip('"')
    size = (out / "big.conll.tsv").stat().st_size
    assert etag.endswith(f"-{-(-size // (5 * MiB))}")  # went up in parts
    report = json.loads(stored["ner/labelport-report.json"])
    listed = {o["uri"]: o for o in report["delivery"]["objects"]}
    tsv = listed[f"s3://{bucket}/ner/big.conll.tsv"]
    assert tsv["etag"] == etag and tsv["sha256"] == hashlib.sha256(stored["ner/big.conll.tsv"]).hexdigest()


def test_pushing_again_uploads_nothing(s3, tmp_path):
    client, bucket = s3
    out = tmp_path / "out"
    labelport.convert(labelport.load(WNUT_SLICE), "CONLL_2003", out)
    first = labelport.push(out, f"s3://{bucket}/x")
    assert first.uploaded == len(first.objects) == 2
    again = labelport.push(out, f"s3://{bucket}/x")
    assert again.uploaded == 0
    assert "nothing uploaded" in again.summary()


def test_comprehend_configs_name_the_real_s3_uris(s3, tmp_path):
    client, bucket = s3
    out = tmp_path / "out"
    labelport.convert(labelport.load(WNUT_SLICE), "AMAZON_COMPREHEND_CSV", out, split={"train": 0.8, "test": 0.2})
    labelport.push(out, f"s3://{bucket}/cer")
    stored = objects(client, bucket, "cer/")
    config = json.loads(stored["cer/entity_recognizer.json"])
    assert config["Documents"]["S3Uri"] == f"s3://{bucket}/cer/train/documents/"
    assert config["Annotations"]["S3Uri"] == f"s3://{bucket}/cer/train/annotations/annotations.csv"
    assert config["Documents"]["TestS3Uri"] == f"s3://{bucket}/cer/test/documents/"
    local = json.loads((out / "entity_recognizer.json").read_text())
    assert not local["Documents"]["S3Uri"].startswith("s3://")  # the local file keeps relative paths
    # Comprehend reads every object under the Documents prefix as documents
    assert [k for k in stored if k.startswith("cer/train/documents/")] == ["cer/train/documents/documents.txt"]
    assert labelport.push(out, f"s3://{bucket}/cer").uploaded == 0  # rendered files compare as rendered


def test_missing_bucket_is_one_clear_line(s3_server, tmp_path, monkeypatch):
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "out"
    labelport.convert(labelport.load(WNUT_SLICE), "TSV_IOB", out)
    with pytest.raises(DeliveryError, match="does not exist") as failure:
        labelport.push(out, "s3://no-such-bucket/x")
    assert failure.value.exit_code == 3
    code, stderr = run_cli(["push", str(out), "s3://no-such-bucket/x"], s3_server.env())
    assert code == 3
    assert stderr.strip().count("\n") == 0 and stderr.startswith("labelport: error: s3://no-such-bucket")


def test_no_credentials_is_one_clear_line(s3_server, tmp_path):
    out = tmp_path / "out"
    labelport.convert(labelport.load(WNUT_SLICE), "TSV_IOB", out)
    env = {k: v for k, v in s3_server.env().items() if not k.startswith("AWS_SECRET") and not k.startswith("AWS_ACCESS")}
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    env["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    code, stderr = run_cli(["push", str(out), "s3://whatever/x"], env)
    assert code == 3
    assert "credentials" in stderr and stderr.strip().count("\n") == 0


def run_cli(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.run([sys.executable, "-m", "labelport", *args], env={**clean, **env},
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stderr


def test_server_stopped_mid_multipart_upload_then_rerun_completes(s3, s3_server, tmp_path):
    """The server goes away after the first parts: exit 3, no object looks
    complete; with the server back, the same command delivers a whole object."""
    from moto.s3.models import s3_backends

    client, bucket = s3
    out = tmp_path / "out"
    labelport.convert(labelport.load(big_conll(tmp_path / "big.conll", 20)), "TSV_IOB", out)
    command = [sys.executable, "-m", "labelport", "push", str(out), f"s3://{bucket}/big", "--part-size", "5",
               "--concurrency", "1"]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **s3_server.env()}
    env["AWS_MAX_ATTEMPTS"] = "2"  # fail fast once the server is gone
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    backend = s3_backends["123456789012"]["global"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        uploads = backend.buckets[bucket].multiparts
        if any(len(upload.parts) >= 1 for upload in uploads.values()):
            break
        time.sleep(0.01)
    else:
        pytest.fail("the multipart upload never started")
    s3_server.stop()
    try:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 3, stderr
        assert stderr.strip().splitlines()[-1].startswith("labelport: error:")
    finally:
        s3_server.start()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="big/").get("Contents", [])]
    assert "big/big.conll.tsv" not in keys  # an unfinished multipart upload is no object
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    body = client.get_object(Bucket=bucket, Key="big/big.conll.tsv")["Body"].read()
    assert body == (out / "big.conll.tsv").read_bytes()
