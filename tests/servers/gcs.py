"""gcp-storage-emulator on 127.0.0.1, in memory, for google-cloud-storage through STORAGE_EMULATOR_HOST.

The emulator runs in this process, on a thread of its own (like moto's
ThreadedMotoServer); a subprocess reaches it over loopback like any client.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .ports import free_port, wait_for_port


@dataclass
class GCSServer:
    port: int
    server: object
    project: str = "labelport-test"
    #: The request lines the emulator served, with their status: '"PUT /upload/... HTTP/1.1" 308 -'.
    requests: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """What a client needs: the emulator's address and a project; no credentials."""
        return {"STORAGE_EMULATOR_HOST": self.endpoint, "GOOGLE_CLOUD_PROJECT": self.project}

    def start(self) -> None:
        """Start (again) on the same port, with empty storage."""
        from gcp_storage_emulator.server import create_server

        # The emulator logs each request at INFO and every 404 as an error; keep
        # the request lines here (tests count the parts of an upload), and
        # nothing in the test output.
        logger = logging.getLogger("gcp_storage_emulator.server")
        logger.handlers = [_Recorder(self.requests)]
        logger.setLevel(logging.INFO)
        logger.propagate = False
        self.server = create_server("127.0.0.1", self.port, in_memory=True)
        api = getattr(self.server, "_api", None)
        if api is not None:
            api.daemon = True  # a test that dies before stop() must not keep pytest alive
        self.server.start()
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def wipe(self, keep_buckets: bool = False) -> None:
        self.server.wipe(keep_buckets=keep_buckets)


def start_gcs() -> GCSServer:
    server = GCSServer(free_port(), None)
    server.start()
    return server


class _Recorder(logging.Handler):
    def __init__(self, lines: list[str]):
        super().__init__(logging.INFO)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.INFO:
            self.lines.append(record.getMessage())


@dataclass
class TokenServer:
    """An OAuth token endpoint on 127.0.0.1 that refuses every grant, as
    Google's does for a revoked or forged service-account key. A credentials
    file whose ``token_uri`` points here fails the way wrong credentials do,
    without leaving loopback."""

    port: int
    server: ThreadingHTTPServer

    @property
    def token_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _RefuseGrant(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def start_token_server() -> TokenServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefuseGrant)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return TokenServer(server.server_address[1], server)


def service_account_file(path, token_uri: str) -> dict:
    """Write a service-account key file (a fresh RSA key, a made-up account)
    whose tokens come from ``token_uri``; return its content."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    info = {
        "type": "service_account",
        "project_id": "labelport-test",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": pem,
        "client_email": "uploader@labelport-test.iam.gserviceaccount.com",
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    }
    path.write_text(json.dumps(info))
    return info
