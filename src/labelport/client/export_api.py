"""A client of the Export API (``labelport/service/export-api.graphql``): Datasaur's own, or
``labelport serve``, or anything else that speaks it. GraphQL over httpx.

What it does that the official ``export.py`` does not (docs/export-api-client.md):

* the base URL and credentials come from ``DATASAUR_BASE_URL``,
  ``DATASAUR_CLIENT_ID`` and ``DATASAUR_CLIENT_SECRET`` unless given;
* the OAuth token (client-credentials grant) is cached until shortly before
  ``expires_in`` and renewed, with the query sent again once, when the API
  answers ``Unauthorized`` / ``AuthenticationError``; refused credentials are
  one :class:`DeliveryError` that never shows the secret;
* ``getExportDeliveryStatus`` is polled with exponential backoff and jitter
  (0.5 s growing to 5 s) under one overall deadline (600 s by default);
  ``FAILED`` is a :class:`DeliveryError` carrying the server's errors;
* ``fileUrl`` is downloaded streaming to a temporary file, a 404 meaning "not
  uploaded yet" (retried until the deadline), any other failure an error;
* transient transport errors and 429/5xx answers are retried with backoff.

Only fields of the 2023 schema are selected (``exportId fileUrl
fileUrlExpiredAt queued redirect``): asking an older server for an unknown
field fails the whole query; ``key`` is asked for only with
``EXTERNAL_OBJECT_STORAGE``, which only newer servers have.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import unquote, urlsplit

import orjson

from .._version import __version__
from ..errors import DeliveryError, UsageError
from ..guards.redaction import redact
from ..model import REVIEWER

ENV_BASE_URL = "DATASAUR_BASE_URL"
ENV_CLIENT_ID = "DATASAUR_CLIENT_ID"
ENV_CLIENT_SECRET = "DATASAUR_CLIENT_SECRET"
#: Overall deadline of one fetch (export, poll, download), in seconds.
ENV_TIMEOUT = "DATASAUR_TIMEOUT"
DEFAULT_TIMEOUT = 600.0

PENDING = ("NONE", "QUEUED", "IN_PROGRESS")
DELIVERED, FAILED = "DELIVERED", "FAILED"
FILE_STORAGE = "FILE_STORAGE"
EXTERNAL_OBJECT_STORAGE = "EXTERNAL_OBJECT_STORAGE"
METHODS = ("FILE_STORAGE", "EMAIL", "CUSTOM_WEBHOOK", "EXTERNAL_OBJECT_STORAGE", "DOWNLOAD")

_RESULT_FIELDS = "exportId fileUrl fileUrlExpiredAt queued redirect"
_TRANSIENT_STATUS = {429, 500, 502, 503, 504}
_CREDENTIALS = f"wrong {ENV_CLIENT_ID} or {ENV_CLIENT_SECRET}"

EXPORT_PROJECT = """query ExportTextProject($input: ExportTextProjectInput!) {
  result: exportTextProject(input: $input) { %s }
}"""
EXPORT_DOCUMENT = """query ExportTextProjectDocument($input: ExportTextProjectDocumentInput!) {
  result: exportTextProjectDocument(input: $input) { %s }
}"""
DELIVERY_STATUS = """query GetExportDeliveryStatus($exportId: ID!) {
  result: getExportDeliveryStatus(exportId: $exportId) { deliveryStatus errors { id stack args } }
}"""
_JOB_FIELDS = "id status progress errors { id stack args } resultId result createdAt updatedAt"
GET_JOB = "query GetJob($jobId: String!) { result: getJob(jobId: $jobId) { %s } }" % _JOB_FIELDS
GET_JOBS = "query GetJobs($jobIds: [String!]!) { result: getJobs(jobIds: $jobIds) { %s } }" % _JOB_FIELDS


# -- small parts ----------------------------------------------------------------------


class Deadline:
    """One overall time budget, shared by the export, the polling and the download."""

    def __init__(self, seconds: float | None = None):
        self.seconds = default_timeout() if seconds is None else float(seconds)
        self.end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.end


def default_timeout() -> float:
    value = os.environ.get(ENV_TIMEOUT, "").strip()
    if not value:
        return DEFAULT_TIMEOUT
    try:
        return float(value)
    except ValueError:
        raise UsageError(f"{ENV_TIMEOUT} must be a number of seconds, not {value!r}") from None


class _Transient(Exception):
    """Worth trying again: a transport error, 429 or a 5xx."""


class _NotYet(Exception):
    """fileUrl answered 404: not uploaded yet."""


@dataclass
class ExportRequest:
    """The API's ExportRequestResult."""

    export_id: str
    file_url: str | None = None
    file_url_expired_at: str | None = None
    queued: bool | None = None
    redirect: str | None = None
    key: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> "ExportRequest":
        if not isinstance(data, dict) or not data.get("exportId"):
            raise DeliveryError(f"the export answer holds no exportId: {data!r}")
        return cls(
            export_id=str(data["exportId"]),
            file_url=data.get("fileUrl"),
            file_url_expired_at=data.get("fileUrlExpiredAt"),
            queued=data.get("queued"),
            redirect=data.get("redirect"),
            key=data.get("key"),
        )


@dataclass
class DeliveryStatus:
    status: str
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status not in PENDING


@dataclass
class Downloaded:
    path: Path
    bytes: int
    sha256: str
    url: str


class ExportFailed(DeliveryError):
    """The server's export job FAILED; ``errors`` are its JobErrors."""

    def __init__(self, export_id: str, errors: list[dict[str, Any]]):
        lines = [first_line(e) for e in errors] or ["no error given"]
        super().__init__(f"export {export_id} FAILED: " + "; ".join(lines))
        self.export_id = export_id
        self.errors = errors


def first_line(error: dict[str, Any]) -> str:
    stack = str(error.get("stack") or error.get("message") or "").strip()
    return stack.splitlines()[0] if stack else str(error.get("id") or "error")


def _unauthorized(errors: list[Any]) -> bool:
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    extensions = first.get("extensions") if isinstance(first.get("extensions"), dict) else {}
    return first.get("message") == "Unauthorized" or extensions.get("type") == "AuthenticationError" \
        or extensions.get("code") == "UNAUTHENTICATED"


def _messages(errors: list[Any]) -> str:
    out = []
    for error in errors:
        message = error.get("message") if isinstance(error, dict) else None
        out.append(str(message or error))
    return "; ".join(out)


# -- the client -------------------------------------------------------------------------


def server_settings(base_url: str | None = None, client_id: str | None = None,
                    client_secret: str | None = None) -> tuple[str, str, str]:
    """The server's base URL (no trailing slash), the client id and its secret:
    those given, else DATASAUR_BASE_URL, DATASAUR_CLIENT_ID and
    DATASAUR_CLIENT_SECRET. A UsageError names every one missing, or a base URL
    that is not a URL. Nothing is contacted, so ``labelport export`` asks this
    before its job exists."""
    base_url = base_url or os.environ.get(ENV_BASE_URL, "").strip()
    client_id = client_id or os.environ.get(ENV_CLIENT_ID, "").strip()
    client_secret = client_secret or os.environ.get(ENV_CLIENT_SECRET, "")
    missing = [name for name, value in ((ENV_BASE_URL, base_url), (ENV_CLIENT_ID, client_id),
                                        (ENV_CLIENT_SECRET, client_secret)) if not value]
    if missing:
        raise UsageError(
            "datasaur://: set " + ", ".join(missing)
            + " (the Export API server and its OAuth client credentials; see `labelport export --help`)"
        )
    if "://" not in base_url:
        raise UsageError(f"{ENV_BASE_URL} must be a URL such as https://app.datasaur.ai, not {base_url!r}")
    return base_url.rstrip("/"), client_id, client_secret


class ExportApiClient:
    """One server and one pair of credentials.

    ``poll_initial`` and ``poll_max`` shape the backoff of polling and of
    waiting for the file; ``renew_early`` renews the token shortly before it
    expires (otherwise it is used until the server answers Unauthorized).
    """

    def __init__(
        self,
        base_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        http_timeout: float = 30.0,
        poll_initial: float = 0.5,
        poll_max: float = 5.0,
        token_margin: float = 60.0,
        renew_early: bool = True,
        transport: Any = None,
    ):
        self.base_url, self.client_id, self._secret = server_settings(base_url, client_id, client_secret)
        self.poll_initial = poll_initial
        self.poll_max = poll_max
        self.token_margin = token_margin
        self.renew_early = renew_early
        self._token: str | None = None
        self._token_until = 0.0
        self._lock = threading.Lock()
        #: how many times a query was answered Unauthorized and sent again with a new token
        self.renewals = 0
        import httpx  # (start-up: httpx takes ~80 ms; every export job imports this module, few talk to Datasaur)

        self._http = httpx.Client(
            timeout=httpx.Timeout(http_timeout, connect=min(10.0, http_timeout)),
            follow_redirects=True,
            headers={"User-Agent": f"labelport/{__version__}"},
            transport=transport,
        )

    def __repr__(self) -> str:  # never show the secret
        return f"ExportApiClient({self.base_url!r}, client_id={self.client_id!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ExportApiClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP with retries ------------------------------------------------------------
    def _retrying(self, deadline: Deadline, retry_on: tuple[type[BaseException], ...], attempts: int | None = None):
        from tenacity import (  # (start-up: tenacity; only a request to Datasaur retries)
            Retrying,
            retry_if_exception_type,
            wait_exponential,
            wait_random,
        )

        backoff = wait_exponential(multiplier=self.poll_initial, max=self.poll_max) + wait_random(0, self.poll_initial / 2)

        def stop(state: Any) -> bool:
            return deadline.expired or (attempts is not None and state.attempt_number >= attempts)

        return Retrying(
            retry=retry_if_exception_type(retry_on),
            wait=lambda state: min(backoff(state), deadline.remaining()),
            stop=stop,
            reraise=True,
        )

    def _send(self, method: str, url: str, deadline: Deadline, **kwargs: Any):
        """One request; transport errors, 429 and 5xx are retried a few times
        (within the deadline), then raised as DeliveryError."""
        import httpx  # (start-up: httpx, as in ExportApiClient.__init__)

        def once():
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                raise _Transient(f"{type(exc).__name__}: {exc}") from exc
            if response.status_code in _TRANSIENT_STATUS and not _is_json(response):
                raise _Transient(f"HTTP {response.status_code}")
            return response

        try:
            return self._retrying(deadline, (_Transient,), attempts=5)(once)
        except _Transient as exc:
            raise DeliveryError(f"{_redact(url)}: {exc}") from None

    # -- OAuth ---------------------------------------------------------------------------
    def token(self, deadline: Deadline | None = None) -> str:
        """A bearer token: the cached one while it lasts, else a new one."""
        with self._lock:
            if self._token and (not self.renew_early or time.monotonic() < self._token_until):
                return self._token
            url = f"{self.base_url}/api/oauth/token"
            response = self._send(
                "POST",
                url,
                deadline or Deadline(),
                data={"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self._secret},
                headers={"Accept": "application/json"},
            )
            body = _json(response)
            if response.status_code in (400, 401, 403):
                error = body.get("error") if isinstance(body, dict) else None
                if response.status_code != 400 or error in (None, "invalid_client", "unauthorized_client", "access_denied"):
                    raise DeliveryError(f"{url}: the server refused the credentials (HTTP {response.status_code}): "
                                        f"{_CREDENTIALS}")
                raise DeliveryError(f"{url}: HTTP 400: {error}: {body.get('error_description') or ''}".rstrip(": "))
            if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
                raise DeliveryError(f"{url}: no access token in the answer (HTTP {response.status_code})")
            try:
                expires_in = float(body.get("expires_in") or 3600)
            except (TypeError, ValueError):
                expires_in = 3600.0
            self._token = str(body["access_token"])
            self._token_until = time.monotonic() + expires_in - min(self.token_margin, expires_in / 10)
            return self._token

    def _drop_token(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None

    # -- GraphQL ----------------------------------------------------------------------------
    def query(self, operation_name: str, query: str, variables: dict[str, Any] | None = None,
              deadline: Deadline | None = None) -> dict[str, Any]:
        """POST one operation; its ``data``. An Unauthorized answer gets a new
        token and one more try; other GraphQL errors are a DeliveryError."""
        deadline = deadline or Deadline()
        url = f"{self.base_url}/graphql"
        body = {"operationName": operation_name, "variables": variables or {}, "query": query}
        for attempt in (1, 2):
            token = self.token(deadline)
            response = self._send("POST", url, deadline, json=body,
                                  headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
            answer = _json(response)
            if not isinstance(answer, dict):
                kind = response.headers.get("content-type", "no content type")
                raise DeliveryError(f"{url}: {operation_name}: HTTP {response.status_code}, not a GraphQL answer ({kind})")
            errors = answer.get("errors")
            if errors:
                if not isinstance(errors, list):
                    errors = [errors]
                if _unauthorized(errors):
                    self._drop_token(token)
                    if attempt == 1:
                        self.renewals += 1
                        continue
                    raise DeliveryError(f"{url}: {operation_name}: Unauthorized with a new token: {_CREDENTIALS}?")
                raise DeliveryError(f"{url}: {operation_name}: {_messages(errors)}")
            if response.status_code != 200 or not isinstance(answer.get("data"), dict):
                raise DeliveryError(f"{url}: {operation_name}: HTTP {response.status_code} without data")
            return answer["data"]
        raise AssertionError("unreachable")

    # -- operations -------------------------------------------------------------------------
    def export_project(
        self,
        project_ids: str | Iterable[str],
        format: str,
        *,
        file_name: str | None = None,
        method: str = FILE_STORAGE,
        role: str | None = REVIEWER,
        deadline: Deadline | None = None,
        **options: Any,
    ) -> ExportRequest:
        """``exportTextProject``. ``options``: file_transformer_id, url, secret,
        external_object_storage_id, prefix, filtered_cabinet_role,
        included_comment_type, mask_pii_entities."""
        ids = [project_ids] if isinstance(project_ids, str) else list(project_ids)
        payload: dict[str, Any] = {"projectIds": ids, "fileName": file_name or "-".join(ids), "format": format,
                                   "method": method}
        if role:
            payload["role"] = role
        payload.update(_input_options(options, method))
        fields = _RESULT_FIELDS + (" key" if method == EXTERNAL_OBJECT_STORAGE else "")
        data = self.query("ExportTextProject", EXPORT_PROJECT % fields, {"input": payload}, deadline)
        return ExportRequest.from_api(data.get("result"))

    def export_document(
        self,
        document_id: str,
        format: str,
        *,
        file_name: str | None = None,
        method: str = FILE_STORAGE,
        deadline: Deadline | None = None,
        **options: Any,
    ) -> ExportRequest:
        """``exportTextProjectDocument``: one document, its latest state."""
        payload: dict[str, Any] = {"documentId": document_id, "fileName": file_name or _file_name(document_id),
                                   "format": format, "method": method}
        options.pop("filtered_cabinet_role", None)
        payload.update(_input_options(options, method))
        fields = _RESULT_FIELDS + (" key" if method == EXTERNAL_OBJECT_STORAGE else "")
        data = self.query("ExportTextProjectDocument", EXPORT_DOCUMENT % fields, {"input": payload}, deadline)
        return ExportRequest.from_api(data.get("result"))

    def delivery_status(self, export_id: str, deadline: Deadline | None = None) -> DeliveryStatus:
        data = self.query("GetExportDeliveryStatus", DELIVERY_STATUS, {"exportId": export_id}, deadline)
        result = data.get("result") or {}
        status = str(result.get("deliveryStatus") or "NONE")
        errors = [e for e in (result.get("errors") or []) if isinstance(e, dict)]
        return DeliveryStatus(status, errors)

    def get_job(self, job_id: str, deadline: Deadline | None = None) -> dict[str, Any] | None:
        return self.query("GetJob", GET_JOB, {"jobId": job_id}, deadline).get("result")

    def get_jobs(self, job_ids: Iterable[str], deadline: Deadline | None = None) -> list[dict[str, Any] | None]:
        return list(self.query("GetJobs", GET_JOBS, {"jobIds": list(job_ids)}, deadline).get("result") or [])

    # -- waiting ----------------------------------------------------------------------------
    def wait(self, export_id: str, deadline: Deadline | None = None,
             on_status: Callable[[DeliveryStatus], None] | None = None) -> DeliveryStatus:
        """Poll ``getExportDeliveryStatus`` until DELIVERED; FAILED raises
        :class:`ExportFailed`, the deadline a DeliveryError."""
        deadline = deadline or Deadline()
        last: list[DeliveryStatus] = []

        class Pending(Exception):
            pass

        def poll() -> DeliveryStatus:
            status = self.delivery_status(export_id, deadline)
            last[:] = [status]
            if on_status:
                on_status(status)
            if not status.finished:
                raise Pending()
            return status

        try:
            status = self._retrying(deadline, (Pending,))(poll)
        except Pending:
            state = last[0].status if last else "NONE"
            raise DeliveryError(f"export {export_id} still {state} after {deadline.seconds:g} s (--timeout)") from None
        if status.status == FAILED:
            raise ExportFailed(export_id, status.errors)
        if status.status != DELIVERED:
            raise DeliveryError(f"export {export_id}: unknown delivery status {status.status!r}")
        return status

    def download(self, url: str, folder: str | Path, deadline: Deadline | None = None,
                 name: str | None = None) -> Downloaded:
        """GET ``url`` (a presigned link: no bearer token) streaming into
        ``folder``; 404 means "not uploaded yet" and is retried until the
        deadline; any other answer but 200 is a DeliveryError."""
        import httpx  # (start-up: httpx, as in ExportApiClient.__init__)

        deadline = deadline or Deadline()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (name or _url_name(url))
        shown = _redact(url)

        def once() -> Downloaded:
            fd, tmp = tempfile.mkstemp(prefix=".download-", dir=folder)
            digest, size = hashlib.sha256(), 0
            try:
                with os.fdopen(fd, "wb") as out:
                    try:
                        with self._http.stream("GET", url) as response:
                            if response.status_code == 404:
                                raise _NotYet()
                            if response.status_code in _TRANSIENT_STATUS:
                                raise _Transient(f"HTTP {response.status_code}")
                            if response.status_code == 410:
                                raise DeliveryError(f"{shown}: the file has expired (HTTP 410); export again")
                            if response.status_code != 200:
                                raise DeliveryError(f"{shown}: HTTP {response.status_code}")
                            expected = response.headers.get("content-length")
                            for chunk in response.iter_bytes(1 << 20):
                                out.write(chunk)
                                digest.update(chunk)
                                size += len(chunk)
                    except httpx.TransportError as exc:
                        raise _Transient(f"{type(exc).__name__}: {exc}") from exc
                if expected is not None and expected.isdigit() and int(expected) != size \
                        and "content-encoding" not in response.headers:
                    raise _Transient(f"got {size:,} of {int(expected):,} bytes")
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return Downloaded(target, size, digest.hexdigest(), url)

        try:
            return self._retrying(deadline, (_NotYet, _Transient))(once)
        except _NotYet:
            raise DeliveryError(f"{shown}: still 404 (not uploaded) after {deadline.seconds:g} s (--timeout)") from None
        except _Transient as exc:
            raise DeliveryError(f"{shown}: {exc}") from None

    # -- all of it ------------------------------------------------------------------------
    def fetch(
        self,
        format: str,
        folder: str | Path,
        *,
        project_id: str | None = None,
        document_id: str | None = None,
        timeout: float | None = None,
        deadline: Deadline | None = None,
        file_name: str | None = None,
        role: str | None = REVIEWER,
        **options: Any,
    ) -> Downloaded:
        """Export a project (or one document) in ``format`` by FILE_STORAGE,
        wait for it and download the result into ``folder``, all within
        ``timeout`` seconds (or the ``deadline`` of a larger fetch)."""
        deadline = deadline or Deadline(timeout)
        if (project_id is None) == (document_id is None):
            raise UsageError("fetch: give a project id or a document id")
        if document_id is not None:
            request = self.export_document(document_id, format, file_name=file_name, deadline=deadline, **options)
        else:
            request = self.export_project(project_id, format, file_name=file_name, role=role, deadline=deadline,
                                          **options)
        self.wait(request.export_id, deadline)
        url = request.file_url or request.redirect
        if not url:
            raise DeliveryError(f"export {request.export_id} is DELIVERED but the server gave no fileUrl")
        return self.download(url, folder, deadline)


def _input_options(options: dict[str, Any], method: str) -> dict[str, Any]:
    names = {
        "file_transformer_id": "fileTransformerId",
        "url": "url",
        "secret": "secret",
        "filtered_cabinet_role": "filteredCabinetRole",
        "included_comment_type": "includedCommentType",
        "mask_pii_entities": "maskPIIEntities",
    }
    payload: dict[str, Any] = {}
    for key, value in options.items():
        if key in ("external_object_storage_id", "prefix"):
            continue
        if key not in names:
            raise UsageError(f"unknown export option {key!r}")
        if value is not None:
            payload[names[key]] = value
    if options.get("external_object_storage_id") is not None:
        storage: dict[str, Any] = {"externalObjectStorageId": options["external_object_storage_id"]}
        if options.get("prefix") is not None:
            storage["prefix"] = options["prefix"]
        payload["externalObjectStorageParameter"] = storage
    elif method == EXTERNAL_OBJECT_STORAGE:
        raise UsageError("EXTERNAL_OBJECT_STORAGE needs external_object_storage_id")
    return payload


def _json(response: Any) -> Any:
    if not _is_json(response):
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def _is_json(response: Any) -> bool:
    return "json" in response.headers.get("content-type", "").lower()


def _file_name(value: str) -> str:
    """A fileName from an id: characters unsafe in a file name become ``_``."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in value) or "export"


def _url_name(url: str) -> str:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return _file_name(name) if name else "export.zip"


def _redact(url: str) -> str:
    """A URL without its query (a presigned URL's signature) nor its
    ``user:password@``, for messages."""
    parts = urlsplit(url)
    return redact(f"{parts.scheme}://{parts.netloc}{parts.path}") + ("?…" if parts.query else "")
