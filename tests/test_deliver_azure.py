"""Delivery to Azure Blob Storage (az://) against a real Azurite on 127.0.0.1.

Every blob is read back through azure-storage-blob itself, never through
labelport. Azurite comes from npm (``make test`` installs it into
.ci/node); without it these tests skip and say how to get it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import socket
import threading
import time
import urllib.request
from pathlib import Path

import orjson
import pytest

pytest.importorskip("azure.storage.blob", reason="install labelport[azure]")

from conftest import WNUT17_FIXTURES, run_cli  # noqa: E402
from servers.azurite import INSTALL_HINT, KEY, AzuriteServer, start_azurite  # noqa: E402

import labelport  # noqa: E402
from labelport.delivery import push  # noqa: E402
from labelport.delivery.destinations.base import DeliveryOptions, LocalFile  # noqa: E402
from labelport.errors import DeliveryError  # noqa: E402

CONTAINER = "labelport-test"
PART = 256 * 1024
REPORT = "labelport-report.json"
ENV_NAMES = ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_URL", "AZURE_STORAGE_ACCOUNT")


@pytest.fixture(scope="module")
def azurite():
    try:
        server = start_azurite()
    except FileNotFoundError:
        pytest.skip(INSTALL_HINT)
    try:
        from azure.storage.blob import BlobServiceClient

        BlobServiceClient.from_connection_string(server.connection_string()).create_container(CONTAINER)
        yield server
    finally:
        server.stop()


@pytest.fixture
def env(azurite: AzuriteServer, monkeypatch: pytest.MonkeyPatch) -> AzuriteServer:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string())
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # loopback only, whatever proxy the machine sets
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return azurite


@pytest.fixture
def container(env: AzuriteServer):
    """The test's own view of the container, through the SDK."""
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(env.connection_string()).get_container_client(CONTAINER)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A converted project, plus a converted file several parts long."""
    root = tmp_path_factory.mktemp("azure")
    folder = root / "out"
    labelport.convert(labelport.load(str(WNUT17_FIXTURES / "wnut17train.head.conll")), "TSV_IOB", str(folder))
    big_input = root / "wnut17train.x400.conll"
    big_input.write_bytes((WNUT17_FIXTURES / "wnut17train.head.conll").read_bytes() * 400)
    labelport.convert(labelport.load(str(big_input)), "TSV_IOB", str(root / "big"))
    (folder / "big").mkdir()
    for tsv in (root / "big").glob("*.tsv"):
        shutil.copy(tsv, folder / "big" / tsv.name)
    big = list((folder / "big").glob("*.tsv"))
    assert big and big[0].stat().st_size > 3 * PART
    return folder


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def pushed(out: Path, azurite: AzuriteServer):
    """The first push of ``out`` (module-scoped: later tests push again)."""
    mp = pytest.MonkeyPatch()
    try:
        for name in ENV_NAMES:
            mp.delenv(name, raising=False)
        mp.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string())
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        mp.setenv("no_proxy", "127.0.0.1,localhost")
        yield push(out, f"az://{CONTAINER}/wnut17", DeliveryOptions(part_size=PART, concurrency=4))
    finally:
        mp.undo()


def test_push_uploads_every_file_as_the_sdk_reads_it_back(pushed, out: Path, container):
    local = files_of(out)
    assert pushed.uploaded == len(local) == len(pushed.objects)
    for rel, data in local.items():
        blob = container.get_blob_client(f"wnut17/{rel}")
        assert blob.download_blob().readall() == data, rel
        props = blob.get_blob_properties()
        assert bytes(props.content_settings.content_md5) == hashlib.md5(data).digest(), rel
        assert props.size == len(data)
        assert props.metadata["labelport_sha256"] == hashlib.sha256(data).hexdigest()
    big = next(rel for rel in local if rel.startswith("big/"))
    committed, uncommitted = container.get_blob_client(f"wnut17/{big}").get_block_list("all")
    assert len(committed) == -(-len(local[big]) // PART) >= 4
    assert all(block.size <= PART for block in committed) and not uncommitted
    assert sum(block.size for block in committed) == len(local[big])


def test_push_again_uploads_nothing(pushed, out: Path, env):
    again = push(out, f"az://{CONTAINER}/wnut17", DeliveryOptions(part_size=PART))
    assert again.uploaded == 0
    assert len(again.objects) == len(pushed.objects)
    assert "already up to date, nothing uploaded" in again.summary()


def test_report_lists_every_object_with_its_md5(pushed, out: Path):
    delivery = orjson.loads((out / REPORT).read_bytes())["delivery"]
    assert delivery["destination"] == f"az://{CONTAINER}/wnut17"
    listed = {o["uri"]: o for o in delivery["objects"]}
    data = {rel: b for rel, b in files_of(out).items() if rel != REPORT}
    assert set(listed) == {f"az://{CONTAINER}/wnut17/{rel}" for rel in data}
    for rel, content in data.items():
        entry = listed[f"az://{CONTAINER}/wnut17/{rel}"]
        assert entry["md5"] == base64.b64encode(hashlib.md5(content).digest()).decode()
        assert entry["sha256"] == hashlib.sha256(content).hexdigest() and entry["bytes"] == len(content)


def test_link_is_a_read_only_sas_url(pushed, out: Path):
    assert pushed.link and "sig=" in pushed.link and "sp=r" in pushed.link
    assert pushed.link.startswith("http://127.0.0.1:")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(pushed.link, timeout=10) as response:
        assert response.read() == (out / REPORT).read_bytes()


def test_missing_container_is_one_line(out: Path, env):
    with pytest.raises(DeliveryError) as info:
        push(out, "az://no-such-container/x", DeliveryOptions(part_size=PART))
    message = str(info.value)
    assert info.value.exit_code == 3
    assert "\n" not in message
    assert "az://no-such-container" in message and "does not exist" in message


def test_wrong_account_key_is_denied_without_a_secret(out: Path, env, monkeypatch: pytest.MonkeyPatch):
    wrong = base64.b64encode(hashlib.sha512(b"not the key").digest()).decode()
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", env.connection_string(key=wrong))
    before = (out / REPORT).read_bytes()
    with pytest.raises(DeliveryError) as info:
        push(out, f"az://{CONTAINER}/denied", DeliveryOptions(part_size=PART))
    message = str(info.value)
    assert info.value.exit_code == 3
    assert "\n" not in message
    assert "access denied (AuthorizationFailure)" in message and "AZURE_STORAGE_CONNECTION_STRING" in message
    report = (out / REPORT).read_text()
    assert (out / REPORT).read_bytes() == before
    for text in (message, report):
        assert not re.search(r"AccountKey=(?!\*\*\*)", text)
        for key in (wrong, KEY):
            assert not any(key[i : i + 8] in text for i in range(0, len(key) - 8, 4))


def test_no_account_named_says_which_variables(out: Path, env, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    with pytest.raises(DeliveryError) as info:
        push(out, f"az://{CONTAINER}/x")
    message = str(info.value)
    assert "AZURE_STORAGE_CONNECTION_STRING" in message and "AZURE_STORAGE_ACCOUNT_URL" in message
    assert "\n" not in message


def test_a_credential_chain_that_finds_nothing_fails_at_once(out: Path, env, monkeypatch: pytest.MonkeyPatch, tmp_path):
    """AZURE_STORAGE_ACCOUNT_URL with DefaultAzureCredential, limited (AZURE_TOKEN_CREDENTIALS) to
    the Azure CLI credential and with no `az` on PATH: nothing leaves the machine, the chain
    finds no credential, and that is one line at once, not a minute of retries."""
    pytest.importorskip("azure.identity")
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_URL", "https://127.0.0.1:1/devstoreaccount1")
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "azureclicredential")
    monkeypatch.setenv("PATH", str(tmp_path))
    started = time.monotonic()
    with pytest.raises(DeliveryError) as info:
        push(out, f"az://{CONTAINER}/x", DeliveryOptions(part_size=PART))
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert info.value.exit_code == 3 and "\n" not in message
    assert "DefaultAzureCredential could not sign in" in message and "AZURE_STORAGE_CONNECTION_STRING" in message


def test_checksum_mismatch_removes_the_blob_and_fails(env, tmp_path: Path, container):
    from labelport.delivery.destinations.azure import Destination

    path = tmp_path / "a.txt"
    path.write_bytes(b"what was sent\n")
    data = path.read_bytes()
    file = LocalFile("a.txt", path, len(data), hashlib.sha256(data).hexdigest(), hashlib.md5(data).digest())
    dest = Destination(f"az://{CONTAINER}/mismatch", DeliveryOptions(part_size=PART))
    remote = dest.upload(file)
    assert dest.verify(file, remote) == {"md5": base64.b64encode(file.md5).decode()}
    other = LocalFile("a.txt", path, len(data), file.sha256, hashlib.md5(b"something else").digest())
    with pytest.raises(DeliveryError, match="checksum mismatch after upload .*the blob was removed"):
        dest.verify(other, remote)
    assert not container.get_blob_client("mismatch/a.txt").exists()


def test_empty_file_and_unicode_names(env, tmp_path: Path, container):
    folder = tmp_path / "odd"
    (folder / "sous dossier").mkdir(parents=True)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "sous dossier" / "données #1 ✓.tsv").write_bytes("émoji 😀\tO\n".encode())
    result = push(folder, f"az://{CONTAINER}/odd", DeliveryOptions(part_size=PART))
    assert result.uploaded == 2
    for rel, data in files_of(folder).items():
        blob = container.get_blob_client(f"odd/{rel}")
        assert blob.download_blob().readall() == data
        assert bytes(blob.get_blob_properties().content_settings.content_md5) == hashlib.md5(data).digest()
    assert push(folder, f"az://{CONTAINER}/odd", DeliveryOptions(part_size=PART)).uploaded == 0


class FlakyProxy:
    """A loopback TCP proxy to Azurite that answers its first connections
    with a fault ("503": Service Unavailable; "reset": hang up), then relays."""

    def __init__(self, target: int, faults: list[str]):
        self.target, self.faults, self.seen = target, list(faults), []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        if self.faults:
            fault = self.faults.pop(0)
            head = b""
            while b"\r\n\r\n" not in head and (chunk := conn.recv(65536)):
                head += chunk
            self.seen.append((fault, head.split(b"\r\n", 1)[0].decode()))
            if fault == "503":
                conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            conn.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.target))

        def relay(src: socket.socket, dst: socket.socket) -> None:
            try:
                while chunk := src.recv(65536):
                    dst.sendall(chunk)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=relay, args=(upstream, conn), daemon=True).start()
        relay(conn, upstream)
        conn.close()
        upstream.close()

    def close(self) -> None:
        self.server.close()


def test_transient_errors_are_retried(out: Path, env, monkeypatch: pytest.MonkeyPatch, container):
    proxy = FlakyProxy(env.port, ["503", "reset"])
    try:
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", AzuriteServer(proxy.port).connection_string())
        started = time.monotonic()
        result = push(out, f"az://{CONTAINER}/flaky", DeliveryOptions(part_size=PART))
        assert result.uploaded == len(files_of(out))
        assert [fault for fault, _ in proxy.seen] == ["503", "reset"]
        assert time.monotonic() - started < 20
    finally:
        proxy.close()
    big = next(rel for rel in files_of(out) if rel.startswith("big/"))
    assert container.get_blob_client(f"flaky/{big}").download_blob().readall() == (out / big).read_bytes()


def test_cli_push_to_a_missing_container_exits_3_with_one_line(out: Path, env):
    code, _stdout, stderr = run_cli("push", out, "az://missing/x")
    assert code == 3, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("labelport: error: az://missing") and "does not exist" in lines[0]
    assert "AccountKey" not in stderr and KEY[:8] not in stderr
