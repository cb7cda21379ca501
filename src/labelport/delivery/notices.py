"""Telling someone a delivery is done: a signed webhook or an e-mail.

Both carry a link to the result (a presigned S3 URL, a signed GCS URL, an
Azure SAS URL, or the local path). A webhook answered with anything but 2xx,
or not answered, is retried with exponential backoff and jitter, then the
delivery fails (exit 3). Redirects are not followed.

A notice with ``allowed_hosts`` (the service's, see :mod:`labelport.guards.egress`) connects
only to public addresses and those hosts; a refused connection fails the
delivery at once with a message that names no address.

A job sends each notice once: given the job's :class:`Ledger`, :func:`send`
skips a notice an earlier attempt of the job recorded as sent, and records
it once the webhook answered 2xx or the SMTP server accepted the message.
What remains is the window between that answer and the record: a process
killed there sends the notice again on the job's next attempt, with the same
delivery id (the job's, in the webhook's ``X-Labelport-Delivery`` header and
the e-mail's), by which a receiver that must act once tells it is a repeat.
"""

from __future__ import annotations

import io
import os
import smtplib
import zipfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import orjson

from ..errors import UsageError
from ..guards.output import REPORT_NAME
from ..guards.redaction import redact
from ..progress import say
from .destinations.base import DeliveryResult, delivery_error
from .webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, sign


@dataclass
class Notice:
    """Who to tell once the files are delivered (the Export API's methods)."""

    method: str  # CUSTOM_WEBHOOK or EMAIL
    url: str | None = None
    secret: str | None = None
    email: str | None = None
    user_id: Any = None
    project_id: str | None = None
    document_id: str | None = None
    #: Set by ``labelport serve``: the webhook may reach only public addresses
    #: and these hosts (labelport.guards.egress); None (the command line): any host.
    allowed_hosts: list[str] | None = None


class Ledger(Protocol):
    """The notices a job sent, kept in its stored state (jobs.store.JobLedger),
    so that an attempt run after its process died does not send them again."""

    delivery_id: str  # the job's id: the same on every attempt

    def sent(self, key: str) -> bool: ...
    def record(self, key: str) -> None: ...


WEBHOOK_ATTEMPTS = 5
EMAIL_ATTACHMENT_LIMIT = 10 * 1024 * 1024


def send(notice: Notice, result: DeliveryResult, folder: Path, ledger: Ledger | None = None, key: str = "0") -> None:
    """Send ``notice``; with a job's ``ledger``, only if no earlier attempt
    recorded it (under ``key``: which of the job's notices it is) as sent."""
    if ledger is not None and ledger.sent(key):
        say(f"notify: {notice.method} not sent again: an earlier attempt of this job sent it")
        return
    delivery_id = None if ledger is None else ledger.delivery_id
    if notice.method == "CUSTOM_WEBHOOK":
        send_webhook(notice, result, delivery_id)
    elif notice.method == "EMAIL":
        send_email(notice, result, folder, delivery_id)
    else:
        raise UsageError(f"unknown notice method {notice.method!r}: CUSTOM_WEBHOOK or EMAIL")
    if ledger is not None:
        ledger.record(key)


def webhook_body(notice: Notice, file_url: str | None) -> bytes:
    body: dict[str, Any] = {"userId": notice.user_id, "fileUrl": file_url, "projectId": notice.project_id}
    if notice.document_id is not None:
        body["documentId"] = notice.document_id
    return orjson.dumps(body)


def send_webhook(notice: Notice, result: DeliveryResult, delivery_id: str | None = None) -> None:
    import httpx  # (start-up: ~80 ms; only a webhook notice sends)
    from tenacity import (  # (start-up: ~10 ms, as httpx)
        RetryError,
        retry,
        retry_if_exception_type,
        stop_after_attempt,
        wait_random_exponential,
    )

    from ..guards.egress import EgressPolicy, HostRefused, guarded_client  # (start-up: loads httpcore)

    if not notice.url or not notice.secret:
        raise UsageError("CUSTOM_WEBHOOK needs --url and --secret")
    body = webhook_body(notice, result.link)
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, notice.secret)}
    if delivery_id is not None:
        headers[DELIVERY_HEADER] = delivery_id
    if notice.allowed_hosts is None:
        client = httpx.Client(timeout=10)
    else:
        client = guarded_client(EgressPolicy(tuple(notice.allowed_hosts)), timeout=10)

    class Refused(Exception):
        pass

    @retry(
        retry=retry_if_exception_type((httpx.TransportError, Refused)),
        wait=wait_random_exponential(multiplier=0.2, max=5),
        stop=stop_after_attempt(WEBHOOK_ATTEMPTS),
    )
    def put() -> None:
        answer = client.put(notice.url, content=body, headers=headers)  # type: ignore[arg-type]
        if not answer.is_success:
            raise Refused(f"answered {answer.status_code}")

    try:
        with client:
            put()
    except HostRefused as exc:
        raise delivery_error(f"webhook {notice.url}: not sent: {exc}") from None
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise delivery_error(f"webhook {notice.url}: failed after {WEBHOOK_ATTEMPTS} attempts ({last})") from None


def send_email(notice: Notice, result: DeliveryResult, folder: Path, delivery_id: str | None = None) -> None:
    if not notice.email:
        raise UsageError("EMAIL needs --email ADDRESS")
    host = os.environ.get("LABELPORT_SMTP_HOST")
    if not host:
        raise UsageError("EMAIL needs an SMTP server: set LABELPORT_SMTP_HOST (and _PORT, _USER, _PASSWORD, _STARTTLS)")
    port = int(os.environ.get("LABELPORT_SMTP_PORT", "25"))
    limit = int(os.environ.get("LABELPORT_EMAIL_ATTACHMENT_LIMIT", EMAIL_ATTACHMENT_LIMIT))
    report = _read_report(folder)
    message = EmailMessage()
    message["From"] = os.environ.get("LABELPORT_SMTP_FROM", "labelport@localhost")
    message["To"] = notice.email
    project = notice.project_id or report.get("source") or folder.name
    message["Subject"] = f"labelport: {report.get('format', 'export')} of {project} is ready"
    if delivery_id is not None:
        message[DELIVERY_HEADER] = delivery_id
    counts = ", ".join(f"{v:,} {k}" for k, v in (report.get("counts") or {}).items())
    attachment = _attachment(folder, limit)
    message.set_content(
        f"The {report.get('format', '')} export of {project} is ready.\n\n"
        f"Counts: {counts or '-'}\n"
        f"Delivered to: {result.destination}\n"
        f"Link: {result.link}\n"
        + (f"\nThe result is attached ({attachment[0]}).\n" if attachment else "\nThe result is too large to attach; use the link.\n")
    )
    if attachment:
        message.add_attachment(attachment[1], maintype="application", subtype="zip", filename=attachment[0])
    try:
        with smtplib.SMTP(host, port, timeout=30) as smtp:
            if os.environ.get("LABELPORT_SMTP_STARTTLS", "").lower() in ("1", "true", "yes"):
                smtp.starttls()
            if os.environ.get("LABELPORT_SMTP_USER"):
                smtp.login(os.environ["LABELPORT_SMTP_USER"], os.environ.get("LABELPORT_SMTP_PASSWORD", ""))
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise delivery_error(f"e-mail to {notice.email} through {host}:{port} failed: {redact(str(exc))}") from None


def _read_report(folder: Path) -> dict[str, Any]:
    path = folder / REPORT_NAME
    return orjson.loads(path.read_bytes()) if path.is_file() else {}


def _attachment(folder: Path, limit: int) -> tuple[str, bytes] | None:
    """The result as one zip: the export's own zip, else the folder zipped."""
    zips = [p for p in folder.iterdir() if p.suffix == ".zip" and p.is_file()]
    if len(zips) == 1:
        return (zips[0].name, zips[0].read_bytes()) if zips[0].stat().st_size <= limit else None
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if sum(p.stat().st_size for p in files) > limit:
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(folder).as_posix())
    data = buffer.getvalue()
    return (f"{folder.name}.zip", data) if len(data) <= limit else None
