"""Azurite's Blob service on 127.0.0.1, for azure-storage-blob through AZURE_STORAGE_CONNECTION_STRING.

Azurite comes from the npm registry; ``make test`` installs it into the
project-local folder .ci/node (``npm install --prefix .ci/node azurite``).
It runs in memory, with telemetry off (Azurite otherwise reports usage to
Microsoft: no traffic leaves loopback), in a fresh temporary workspace, and
is stopped (terminate, wait) at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
LOCAL_BIN = ROOT / ".ci" / "node" / "node_modules" / ".bin" / "azurite-blob"
INSTALL_HINT = "Azurite is not installed: run `make test` (it runs `npm install --prefix .ci/node azurite`)"

#: Azurite's well-known development account (public, documented by Microsoft).
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_blob() -> str | None:
    """The azurite-blob executable: the project-local one, else one on PATH."""
    if LOCAL_BIN.is_file() and os.access(LOCAL_BIN, os.X_OK):
        return str(LOCAL_BIN)
    return shutil.which("azurite-blob")


@dataclass
class AzuriteServer:
    port: int
    process: subprocess.Popen | None = None
    workspace: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    def connection_string(self, key: str = KEY) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};"
            f"BlobEndpoint={self.endpoint};"
        )

    def env(self) -> dict[str, str]:
        return {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string()}

    def start(self, executable: str) -> None:
        self.workspace = tempfile.TemporaryDirectory(prefix="azurite-")
        command = [
            executable,
            "--blobHost", "127.0.0.1",
            "--blobPort", str(self.port),
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--silent",
            "--skipApiVersionCheck",  # the SDK may speak a newer API version than this Azurite knows
            "--loose",
        ]
        log = Path(self.workspace.name) / "azurite.log"  # a file, not a pipe nobody reads
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                command, cwd=self.workspace.name, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_for_port(self.port, timeout=30)
        except TimeoutError as exc:
            said = log.read_text(errors="replace")[-2000:]
            self.stop()
            raise TimeoutError(f"{exc}; azurite-blob said: {said}") from None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self.workspace is not None:
            self.workspace.cleanup()
            self.workspace = None


def start_azurite() -> AzuriteServer:
    """Start Azurite's Blob service on a free loopback port; raises
    FileNotFoundError (with :data:`INSTALL_HINT`) when it is not installed."""
    executable = azurite_blob()
    if executable is None:
        raise FileNotFoundError(INSTALL_HINT)
    server = AzuriteServer(free_port())
    server.start(executable)
    return server
