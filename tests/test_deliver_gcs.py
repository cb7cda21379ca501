"""Delivering to gs:// against a real gcp-storage-emulator on 127.0.0.1.

Every object is read back through google-cloud-storage itself, never through
labelport; nothing is mocked and nothing leaves loopback (the emulator takes
anonymous requests, and the one credentials test gets its refusal from a
token endpoint on 127.0.0.1).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import math
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

storage = pytest.importorskip("google.cloud.storage")
google_crc32c = pytest.importorskip("google_crc32c")
pytest.importorskip("gcp_storage_emulator")

from conftest import WNUT17_FIXTURES, run_cli
from servers.gcs import service_account_file, start_gcs, start_token_server

import labelport
from labelport.delivery import push
from labelport.delivery.destinations import open_destination
from labelport.delivery.destinations.base import LOCATION_FILES, DeliveryOptions, LocalFile, scan
from labelport.errors import DeliveryError
from labelport.guards.output import REPORT_NAME

BUCKET = "labelport-bucket"
DEST = f"gs://{BUCKET}/prefix"
PART = 256 * 1024


def _vertex_available() -> bool:
    from labelport.formats.registry import get_format

    try:
        get_format("GCP_VERTEX_AI_CSV")
    except Exception:
        return False
    return True


VERTEX = _vertex_available()
FORMAT = "GCP_VERTEX_AI_CSV" if VERTEX else "TSV_IOB"
needs_vertex = pytest.mark.skipif(not VERTEX, reason="GCP_VERTEX_AI_CSV is not written yet")


def crc32c_b64(data: bytes) -> str:
    return base64.b64encode(google_crc32c.Checksum(data).digest()).decode("ascii")


@pytest.fixture(scope="module")
def gcs():
    """The emulator, and the environment a client finds it by, for the whole module."""
    server = start_gcs()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in server.env().items():
            mp.setenv(name, value)
        mp.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)  # never a real account, never off loopback
        mp.delenv("GCLOUD_PROJECT", raising=False)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def client(gcs):
    """The SDK's own client: the test reads what labelport wrote through it."""
    client = storage.Client()
    client.create_bucket(BUCKET)
    return client


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """A converted project with one file several parts long."""
    tmp = tmp_path_factory.mktemp("gcs")
    sentences = (WNUT17_FIXTURES / "wnut17train.head.conll").read_text(encoding="utf-8").strip("\n")
    big = tmp / "big.conll"
    big.write_text((sentences + "\n\n") * 200, encoding="utf-8")
    folder = tmp / "out"
    labelport.convert(big, FORMAT, folder, split={"train": 0.8, "validation": 0.1, "test": 0.1}, seed=13)
    assert max(p.stat().st_size for p in folder.iterdir()) > 2 * PART
    return folder


def _uploads(lines: list[str]) -> list[str]:
    return [line for line in lines if "uploadType=" in line or "upload_id=" in line]


@pytest.fixture(scope="module")
def pushed(gcs, client, out):
    """The first push: (result, the local files as they were before it, the emulator's request lines)."""
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    start = len(gcs.requests)
    result = push(out, DEST, DeliveryOptions(part_size=PART))
    return result, before, list(gcs.requests[start:])


def _blob(client, rel: str):
    blob = client.bucket(BUCKET).blob(f"prefix/{rel}")
    blob.reload()
    return blob


# -- 1. upload in parts, read back through the SDK --------------------------------

def test_push_uploads_every_file_in_parts_and_the_bytes_read_back(client, out, pushed):
    result, before, lines = pushed
    assert result.uploaded == len(before) == len(result.objects)

    # Large files went up as resumable uploads, one PUT per 256 KiB part, 308 until the last.
    parts = sum(math.ceil(len(data) / PART) for data in before.values() if len(data) > PART)
    puts = [line for line in _uploads(lines) if line.startswith('"PUT') and "upload_id=" in line]
    assert len(puts) >= parts >= 3
    assert sum(line.endswith(" 308 -") or " 308 " in line for line in puts) >= parts - 1

    for path in sorted(out.iterdir()):
        blob = _blob(client, path.name)
        data = blob.download_as_bytes()
        if path.name not in LOCATION_FILES:  # those are rendered with gs:// URIs (test 3)
            assert data == path.read_bytes(), path.name
        assert blob.size == len(data)
        assert blob.crc32c == crc32c_b64(data)
        assert blob.md5_hash == base64.b64encode(hashlib.md5(data).digest()).decode()
        assert blob.metadata["labelport-sha256"] == hashlib.sha256(data).hexdigest()


# -- 2. pushing again uploads nothing ----------------------------------------------

def test_pushing_again_uploads_nothing_and_says_so(gcs, client, out, pushed):
    generations = {p.name: _blob(client, p.name).generation for p in out.iterdir()}
    start = len(gcs.requests)
    again = push(out, DEST, DeliveryOptions(part_size=PART))
    assert again.uploaded == 0
    assert "nothing uploaded" in again.summary()
    assert _uploads(gcs.requests[start:]) == []
    assert {p.name: _blob(client, p.name).generation for p in out.iterdir()} == generations


# -- 3. the Vertex files name gs:// URIs --------------------------------------------

@needs_vertex
def test_uploaded_vertex_files_name_the_gs_uris_and_the_local_ones_stay_relative(client, out, pushed):
    _, before, _ = pushed
    names = {p.name for p in out.iterdir()}
    dataset = json.loads(_blob(client, "vertex_dataset.json").download_as_bytes())
    uris = dataset["gcsSource"]["uris"]
    assert uris and all(u.startswith(f"{DEST}/") for u in uris)
    assert all(u.removeprefix(f"{DEST}/") in names for u in uris)

    rows = list(csv.reader(io.StringIO(_blob(client, "vertex_import.csv").download_as_text())))
    cells = [cell for row in rows for cell in row if cell.startswith("gs://")]
    assert cells and all(c.startswith(f"{DEST}/") and c.removeprefix(f"{DEST}/") in names for c in cells)

    # The folder keeps relative paths, so it can be pushed elsewhere.
    assert (out / "vertex_dataset.json").read_bytes() == before["vertex_dataset.json"]
    local = json.loads((out / "vertex_dataset.json").read_bytes())["gcsSource"]["uris"]
    assert local == [u.removeprefix(f"{DEST}/") for u in uris]
    assert "gs://" not in (out / "vertex_import.csv").read_text()


# -- 4. faults: one clear line, nothing secret ---------------------------------------

def test_a_missing_bucket_is_one_clear_line(client, out, pushed):
    with pytest.raises(DeliveryError) as caught:
        push(out, "gs://no-such-bucket/x", DeliveryOptions(part_size=PART))
    message = str(caught.value)
    assert caught.value.exit_code == 3
    assert "\n" not in message
    assert message == "gs://no-such-bucket: the bucket does not exist"


def test_cli_push_to_a_missing_bucket_exits_3(gcs, client, out, pushed):
    code, _, stderr = run_cli("push", out, "gs://missing/x", timeout=60)
    assert code == 3, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == ["labelport: error: gs://missing: the bucket does not exist"], stderr


def test_wrong_credentials_are_one_line_without_the_key(client, out, pushed, tmp_path, monkeypatch):
    token_server = start_token_server()
    try:
        key_file = tmp_path / "key.json"
        info = service_account_file(key_file, token_server.token_uri)
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
        with pytest.raises(DeliveryError) as caught:
            push(out, DEST, DeliveryOptions(part_size=PART))
    finally:
        token_server.stop()
    message = str(caught.value)
    assert caught.value.exit_code == 3
    assert "\n" not in message
    assert message.startswith(f"gs://{BUCKET}: the Google credentials were refused (invalid_grant)")
    assert "GOOGLE_APPLICATION_CREDENTIALS" in message
    body = info["private_key"].splitlines()[1]
    assert body not in message and "PRIVATE KEY" not in message and info["private_key_id"] not in message


def test_a_credentials_file_that_is_not_there_is_one_line(client, out, tmp_path, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "nowhere.json"))
    with pytest.raises(DeliveryError) as caught:
        push(out, DEST)
    assert str(caught.value) == (
        f"gs: cannot load the Google credentials file named by GOOGLE_APPLICATION_CREDENTIALS ({tmp_path / 'nowhere.json'})"
    )


def test_no_credentials_at_all_says_how_to_get_them(out, tmp_path):
    """Without an emulator, Application Default Credentials are required. Run
    apart, with the metadata-server probe off, so nothing leaves loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "GCLOUD", "STORAGE_EMULATOR", "GCE_"))}
    env.update(
        NO_GCE_CHECK="true",  # do not look for a metadata server (off loopback)
        GCE_METADATA_HOST="127.0.0.1:9",
        GCE_METADATA_IP="127.0.0.1:9",
        CLOUDSDK_CONFIG=str(tmp_path / "gcloud"),  # no gcloud application-default file
        HOME=str(tmp_path),
    )
    code = (
        "import sys\n"
        "from labelport.delivery import push\n"
        "from labelport.errors import DeliveryError\n"
        "try:\n"
        f"    push({str(out)!r}, 'gs://{BUCKET}/x')\n"
        "except DeliveryError as exc:\n"
        "    print(exc.exit_code, exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, check=False, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == (
        "3 gs: no Google credentials found (set GOOGLE_APPLICATION_CREDENTIALS or run gcloud auth application-default login)"
    ), proc.stderr


def test_a_checksum_mismatch_fails_and_removes_the_object(client, tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "data.txt").write_bytes(b"the bytes sent\n")
    push(folder, f"gs://{BUCKET}/mismatch")
    dest = open_destination(f"gs://{BUCKET}/mismatch")
    other = b"other bytes!!!\n"  # same size, different content
    local = LocalFile("data.txt", folder / "data.txt", len(other), hashlib.sha256(other).hexdigest(), hashlib.md5(other).digest(), other)
    remote = dest.stat("data.txt")
    with pytest.raises(DeliveryError) as caught:
        dest.verify(local, remote)
    assert "checksum mismatch" in str(caught.value) and "\n" not in str(caught.value)
    assert not client.bucket(BUCKET).blob("mismatch/data.txt").exists()


def test_bytes_that_change_after_their_crc32c_was_taken_are_refused_in_parts(client, tmp_path):
    """A resumable upload declares the whole object's CRC32C: the service
    refuses to finalize other bytes, so no object is left looking complete."""
    folder = tmp_path / "changing"
    folder.mkdir()
    path = folder / "data.bin"
    path.write_bytes(b"a" * (3 * PART))
    dest = open_destination(f"gs://{BUCKET}/changing", DeliveryOptions(part_size=PART))
    (file,) = scan(folder)
    dest.local_crc32c(file)
    path.write_bytes(b"b" * (3 * PART))  # changed on disk after the checksum was taken
    dest.prepare()
    assert dest.stat(file.rel) is None
    with pytest.raises(DeliveryError) as caught:
        dest.upload(file)
    assert "checksum mismatch" in str(caught.value) and "\n" not in str(caught.value)
    assert "upload_id" not in str(caught.value)
    assert not client.bucket(BUCKET).blob("changing/data.bin").exists()


# -- 5. the report lists every object with its checksums -----------------------------

def test_the_report_lists_every_object_with_its_crc32c(client, out, pushed):
    _, before, _ = pushed
    report = json.loads((out / REPORT_NAME).read_bytes())
    delivery = report["delivery"]
    assert delivery["destination"] == DEST
    listed = {o["uri"]: o for o in delivery["objects"]}
    data_files = sorted(name for name in before if name != REPORT_NAME)
    assert sorted(listed) == [f"{DEST}/{name}" for name in data_files]
    for name in data_files:
        blob = _blob(client, name)
        entry = listed[f"{DEST}/{name}"]
        assert entry["crc32c"] == blob.crc32c == crc32c_b64(blob.download_as_bytes())
        assert entry["md5"] == blob.md5_hash
        assert entry["bytes"] == blob.size
    # The uploaded report is the local one.
    assert _blob(client, REPORT_NAME).download_as_bytes() == (out / REPORT_NAME).read_bytes()


# -- setup -------------------------------------------------------------------------------

def test_an_emulator_host_without_a_scheme_works(gcs, client, tmp_path, monkeypatch):
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "a.txt").write_text("hello\n")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"127.0.0.1:{gcs.port}")  # as gcloud and other SDKs accept it
    result = push(folder, f"gs://{BUCKET}/plain")
    assert result.uploaded == 1
    assert client.bucket(BUCKET).blob("plain/a.txt").download_as_bytes() == b"hello\n"


def test_without_the_sdk_it_says_which_extra_to_install(out):
    code = (
        "import sys\n"
        "sys.modules['google.cloud.storage'] = None  # as if google-cloud-storage were not installed\n"
        "from labelport.delivery import push\n"
        "from labelport.errors import LabelportError\n"
        "try:\n"
        f"    push({str(out)!r}, 'gs://b/x')\n"
        "except LabelportError as exc:\n"
        "    print(exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "writing to gs:// needs google-cloud-storage: install labelport[gcs]", proc.stderr


# -- links -----------------------------------------------------------------------------

def test_the_link_without_signing_credentials_is_the_emulator_media_url(gcs, out, pushed):
    result, _, _ = pushed
    assert result.link.startswith(gcs.endpoint)
    with urllib.request.urlopen(result.link, timeout=10) as response:
        assert response.read() == (out / REPORT_NAME).read_bytes()


def test_the_link_with_a_service_account_key_is_a_v4_signed_url(gcs, out, pushed, tmp_path, monkeypatch):
    key_file = tmp_path / "key.json"
    service_account_file(key_file, "http://127.0.0.1:9/token")  # signing is local: no token needed
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    url = open_destination(DEST).link(REPORT_NAME, expires=3600)
    assert url.startswith(f"{gcs.endpoint}/{BUCKET}/prefix/{REPORT_NAME}?")
    assert "X-Goog-Algorithm=GOOG4-RSA-SHA256" in url and "X-Goog-Signature=" in url and "X-Goog-Expires=3600" in url
    with urllib.request.urlopen(url, timeout=10) as response:  # the emulator serves it (it checks no signature)
        assert response.read() == (out / REPORT_NAME).read_bytes()


def test_the_part_size_rounds_to_256_kib():
    from labelport.delivery.destinations.gcs import part_size

    assert part_size(1) == PART
    assert part_size(300_000) == PART
    assert part_size(8 << 20) == 8 << 20
