"""An SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from .ports import free_port


@dataclass
class SmtpServer:
    controller: Any
    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {"LABELPORT_SMTP_HOST": "127.0.0.1", "LABELPORT_SMTP_PORT": str(self.port)}

    def stop(self) -> None:
        self.controller.stop()


def start_smtp() -> SmtpServer:
    from aiosmtpd.controller import Controller

    server: SmtpServer

    class Handler:
        async def handle_DATA(self, server_: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd names it)
            server.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    server = SmtpServer(controller, port)
    controller.start()
    return server
