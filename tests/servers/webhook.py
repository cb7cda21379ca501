"""A webhook receiver on a loopback address (127.0.0.1 unless told): records
each request; answers with the status codes it is told to, so retries can be
tested, and with a Location header when told, so redirects can be."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # status codes to give first; then 200
    location: str | None = None  # sent with every answer

    @property
    def host(self) -> str:
        return str(self.server.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_webhook_receiver(host: str = "127.0.0.1") -> WebhookReceiver:
    receiver: WebhookReceiver

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.received.append(Received(self.command, self.path, dict(self.headers), body))
            status = receiver.answers.pop(0) if receiver.answers else 200
            self.send_response(status)
            if receiver.location:
                self.send_header("Location", receiver.location)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        do_PUT = do_POST = _handle

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    receiver = WebhookReceiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
