"""The ASGI app of ``labelport serve`` (Starlette).

Routes:

``POST /api/oauth/token``
    OAuth 2.0 client-credentials grant. Form fields ``grant_type=client_credentials``,
    ``client_id``, ``client_secret`` (or the id and secret as HTTP Basic) ->
    ``{"access_token": <40 hex>, "token_type": "bearer", "expires_in": <s>}``;
    a wrong id or secret -> 401 ``{"error": "invalid_client"}``.
``POST /graphql``
    The Export API: a JSON body ``{operationName, variables, query}`` with
    ``Authorization: Bearer <token>``. Always HTTP 200 with a JSON body; a
    missing, unknown or expired token gives the error "Unauthorized" with
    ``extensions.type`` "AuthenticationError", as Datasaur's API does. A body
    larger than the limit (``--max-body``) is an error without being read.
``GET /files/<token>/<name>``
    FILE_STORAGE results (see :mod:`.files`): 404 until ready, 410 once
    expired, Range requests answered 206; from ``--file-storage``'s bucket
    (:mod:`.object_files`) too, streamed through this process, 503 while the
    bucket cannot be read.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import mimetypes
import re
from typing import Any, AsyncIterator
from urllib.parse import parse_qsl, quote, unquote

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..errors import LabelportError
from . import files as file_states
from .auth import bearer
from .exporter import Caller, ServeConfig, Service
from .files import LocalFileStorage, StoredFile
from .object_files import ObjectFileStorage
from .schema import Context, error_body, execute, internal_error_body, make_schema, unauthorized

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def create_app(config: ServeConfig) -> Starlette:
    service = Service(config)
    schema = make_schema()
    limit = config.limits.max_body

    async def graphql(request: Request) -> Response:
        client = service.tokens.check(bearer(request.headers.get("authorization")))
        if client is None:
            return JSONResponse(unauthorized())
        raw = await _body(request, limit)
        if raw is None:
            return JSONResponse(error_body(f"the request body is larger than {limit} bytes (LABELPORT_SERVE_MAX_BODY)",
                                           "UserInputError"))
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return JSONResponse(error_body("the body must be JSON: {operationName, variables, query}", "UserInputError"))
        context = Context(service, Caller(client, str(request.base_url)))
        try:
            answer = await run_in_threadpool(execute, schema, body, context)
        except Exception as exc:  # graphql-core itself failed: still a GraphQL error, never a 500
            answer = internal_error_body(exc, "GraphQL request failed")
        return JSONResponse(answer)

    async def token(request: Request) -> Response:
        raw = await _body(request, limit)
        if raw is None:
            return JSONResponse({"error": "invalid_request", "error_description": "the body is too large"},
                                status_code=413, headers=_NO_STORE)
        fields = _fields(raw, request.headers.get("content-type", ""))
        client_id, client_secret = fields.get("client_id"), fields.get("client_secret")
        basic = _basic(request.headers.get("authorization"))
        if basic is not None:
            client_id, client_secret = basic
        grant = fields.get("grant_type")
        if grant != "client_credentials":
            error = "invalid_request" if not grant else "unsupported_grant_type"
            return JSONResponse({"error": error, "error_description": "grant_type must be client_credentials"},
                                status_code=400, headers=_NO_STORE)
        client = service.tokens.authenticate(client_id, client_secret)
        if client is None:
            return JSONResponse({"error": "invalid_client"}, status_code=401,
                                headers={**_NO_STORE, "WWW-Authenticate": 'Basic realm="labelport"'})
        issued = service.tokens.issue(client)
        return JSONResponse({"access_token": issued.value, "token_type": "bearer",
                             "expires_in": int(service.tokens.ttl)}, headers=_NO_STORE)

    async def stored_file(request: Request) -> Response:
        token, name = request.path_params["token"], request.path_params["name"]
        try:
            state, stored = await run_in_threadpool(service.files.lookup, token, name)
        except LabelportError as exc:  # --file-storage's bucket did not answer: try again later
            return _unreadable(exc)
        if state == file_states.EXPIRED:
            return JSONResponse({"error": "expired", "expiredAt": stored.expires_at if stored else None},
                                status_code=410)
        if state != file_states.READY or stored is None:
            return JSONResponse({"error": "not found (or not ready yet)"}, status_code=404)
        media_type = "application/zip" if name.endswith(".zip") else (
            mimetypes.guess_type(name)[0] or "application/octet-stream")
        if isinstance(service.files, LocalFileStorage):
            return FileResponse(stored.path, media_type=media_type, filename=name)
        assert isinstance(service.files, ObjectFileStorage)
        return await _object_file(request, service.files, stored, media_type)

    async def index(request: Request) -> Response:
        return JSONResponse({"service": "labelport", "graphql": "/graphql", "token": "/api/oauth/token"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(service.start)
        try:
            yield
        finally:
            service.stop()

    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/graphql", graphql, methods=["POST"]),
            Route("/api/oauth/token", token, methods=["POST"]),
            Route("/files/{token}/{name}", stored_file, methods=["GET", "HEAD"]),
        ],
        lifespan=lifespan,
    )
    app.state.service = service
    return app


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


async def _object_file(request: Request, files: ObjectFileStorage, stored: StoredFile, media_type: str) -> Response:
    """A READY file of object storage, answered as FileResponse answers a
    local one: the whole file, or one ``Range`` with 206 (several ranges, or
    a malformed one, get the whole file, as RFC 9110 allows), 416 for a range
    past the end; HEAD without a body."""
    size = stored.size or 0
    span = _byte_range(request.headers.get("range"), size)
    if span is None:
        return Response(status_code=416, headers={"content-range": f"bytes */{size}"})
    start, stop, partial = span
    quoted = quote(stored.name)
    headers = {"accept-ranges": "bytes", "content-length": str(stop - start),
               "content-disposition": f'attachment; filename="{stored.name}"' if quoted == stored.name
               else f"attachment; filename*=utf-8''{quoted}"}
    if partial:
        headers["content-range"] = f"bytes {start}-{stop - 1}/{size}"
    status = 206 if partial else 200
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media_type)
    try:
        chunks = await run_in_threadpool(files.read, stored, start, stop)
    except LabelportError as exc:
        return _unreadable(exc)
    return StreamingResponse(chunks, status_code=status, headers=headers, media_type=media_type)


def _unreadable(exc: LabelportError) -> Response:
    """--file-storage's bucket did not answer (already one line, redacted, by the destination): try again later."""
    return JSONResponse({"error": f"the file storage cannot be read now: {exc.what}"}, status_code=503)


def _byte_range(header: str | None, size: int) -> tuple[int, int, bool] | None:
    """(start, stop, whether partial) of one ``bytes=`` range; None when it is past the end."""
    match = _RANGE.match((header or "").strip())
    if match is None or not (match[1] or match[2]):
        return 0, size, False
    if match[1]:
        start = int(match[1])
        if match[2] and int(match[2]) < start:
            return 0, size, False  # not a valid range: ignored
        stop = min(int(match[2]) + 1, size) if match[2] else size
    else:
        start, stop = max(0, size - int(match[2])), size
        if int(match[2]) == 0:
            return None
    return (start, stop, True) if start < size else None


async def _body(request: Request, limit: int) -> bytes | None:
    """The request body, or None once it passes ``limit`` bytes (read no further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _fields(body: bytes, content_type: str) -> dict[str, Any]:
    """Form fields (urlencoded, parsed here: no python-multipart needed) or a JSON object."""
    content_type = content_type.split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = orjson.loads(body)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    return dict(parse_qsl(text, keep_blank_values=True))


def _basic(authorization: str | None) -> tuple[str, str] | None:
    """Client id and secret of an HTTP Basic header (RFC 6749 §2.3.1: form-encoded, then base64)."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))
