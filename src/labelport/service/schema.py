"""The Export API's GraphQL schema (export-api.graphql, the contract) and its
resolvers.

The schema is built from the SDL shipped beside this module with
graphql-core's ``build_schema``; resolvers are attached to the Query fields
and decode their input into the declared types of :mod:`.inputs`.

A request is parsed (at most MAX_QUERY_TOKENS tokens), validated against the
schema and the service's limits (exports per request, fields per request),
then executed. Every failure is a GraphQL error with a message and
``extensions`` ``{type, errorId}``: a :class:`LabelportError` gives its own
message with the server's folders taken out (``type`` NotFoundError for an
unknown id, else UserInputError); anything else is a bug, answered
"internal error" and logged with its traceback under the same errorId. No
traceback and no server path reaches a client.
"""

from __future__ import annotations

import functools
import logging
import uuid
from importlib import resources
from typing import Any, Callable

from graphql import FieldNode, GraphQLError, GraphQLSchema, build_schema, execute_sync, parse, validate, visit
from graphql.language import Visitor

from ..errors import LabelportError
from ..guards.redaction import redact
from ..jobs.store import INTERNAL_ERROR, INTERNAL_ERROR_TYPE, log_bug
from .exporter import Caller, Service
from .inputs import MAX_QUERY_TOKENS, ExportTextProjectDocumentInput, ExportTextProjectInput, check_ids, decode
from .projects import NotFoundError
from .public import public_text

log = logging.getLogger("labelport.serve")

SDL_FILE = "export-api.graphql"


def sdl() -> str:
    return resources.files(__package__).joinpath(SDL_FILE).read_text(encoding="utf-8")


class Context:
    def __init__(self, service: Service, caller: Caller):
        self.service = service
        self.caller = caller


def guarded(resolver: Callable[..., Any]) -> Callable[..., Any]:
    """Turn what a resolver raises into a GraphQL error with a clear message."""

    @functools.wraps(resolver)
    def wrapper(root: Any, info: Any, **args: Any) -> Any:
        try:
            return resolver(info.context, **args)
        except GraphQLError:
            raise
        except LabelportError as exc:
            kind = "NotFoundError" if isinstance(exc, NotFoundError) else "UserInputError"
            message = public_text(str(exc), [info.context.service.projects.root])
            raise GraphQLError(message, extensions={"type": kind}) from None
        except Exception as exc:
            raise GraphQLError(INTERNAL_ERROR, extensions={"type": INTERNAL_ERROR_TYPE,
                                                           "errorId": log_bug(exc, f"{info.field_name} failed")}) from None

    return wrapper


# -- resolvers -------------------------------------------------------------------------------

@guarded
def export_text_project(context: Context, input: dict[str, Any]) -> dict[str, Any]:
    return context.service.export_project(context.caller, decode(input, ExportTextProjectInput))


@guarded
def export_text_project_document(context: Context, input: dict[str, Any]) -> dict[str, Any]:
    return context.service.export_document(context.caller, decode(input, ExportTextProjectDocumentInput))


@guarded
def get_export_delivery_status(context: Context, exportId: str) -> dict[str, Any]:
    job = context.service.job(context.caller, exportId)
    if job is None:
        raise NotFoundError(f"export {exportId!r} not found")
    return {"deliveryStatus": job.status, "errors": job.errors}


@guarded
def get_job(context: Context, jobId: str) -> dict[str, Any] | None:
    job = context.service.job(context.caller, jobId)
    return job.to_api() if job is not None else None


@guarded
def get_jobs(context: Context, jobIds: list[str]) -> list[dict[str, Any] | None]:
    check_ids("jobIds", jobIds, context.service.config.limits)
    found = [context.service.job(context.caller, job_id) for job_id in jobIds]
    return [job.to_api() if job is not None else None for job in found]


RESOLVERS = {
    "exportTextProject": export_text_project,
    "exportTextProjectDocument": export_text_project_document,
    "getExportDeliveryStatus": get_export_delivery_status,
    "getJob": get_job,
    "getJobs": get_jobs,
}


def make_schema() -> GraphQLSchema:
    schema = build_schema(sdl())
    assert schema.query_type is not None
    for name, resolver in RESOLVERS.items():
        schema.query_type.fields[name].resolve = resolver
    return schema


EXPORT_FIELDS = ("exportTextProject", "exportTextProjectDocument")


class _CountFields(Visitor):
    """Counts the Query fields (each names an id) and the exports selected
    anywhere in a document, fragments included: an upper bound of what the
    chosen operation runs. No other type has fields of these names."""

    def __init__(self) -> None:
        super().__init__()
        self.root = 0
        self.exports = 0

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value in RESOLVERS:
            self.root += 1
        if node.name.value in EXPORT_FIELDS:
            self.exports += 1


def execute(schema: GraphQLSchema, body: Any, context: Context) -> dict[str, Any]:
    """One GraphQL-over-HTTP request body -> the response body."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return error_body("the body must be a JSON object {operationName, variables, query}", "UserInputError")
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        return error_body("variables must be a JSON object", "UserInputError")
    operation = body.get("operationName") or None
    if operation is not None and not isinstance(operation, str):
        return error_body("operationName must be a string", "UserInputError")
    limits = context.service.config.limits
    try:
        document = parse(body["query"], max_tokens=MAX_QUERY_TOKENS)
    except GraphQLError as error:
        return _answer([error], None)
    errors = validate(schema, document)
    if errors:
        return _answer(errors, None)
    counted = _CountFields()
    visit(document, counted)
    if counted.exports > limits.max_exports:
        return error_body(f"at most {limits.max_exports} exports in one request (LABELPORT_SERVE_MAX_EXPORTS); "
                          f"got {counted.exports}", "UserInputError")
    if counted.root > limits.max_ids:
        return error_body(f"at most {limits.max_ids} fields in one request (LABELPORT_SERVE_MAX_IDS); "
                          f"got {counted.root}", "UserInputError")
    result = execute_sync(schema, document, variable_values=variables, operation_name=operation,
                          context_value=context)
    return _answer(result.errors or [], result.data)


def _answer(errors: list[GraphQLError], data: Any) -> dict[str, Any]:
    """The response body; each error gets its errorId (and a type), and is
    logged under it."""
    answer: dict[str, Any] = {}
    if errors:
        answer["errors"] = []
        for error in errors:
            formatted = error.formatted
            formatted["message"] = redact(formatted["message"])  # graphql-core quotes the client's values
            extensions = formatted.setdefault("extensions", {})
            extensions.setdefault("type", "UserInputError")
            extensions.setdefault("errorId", uuid.uuid4().hex)
            if extensions["type"] != INTERNAL_ERROR_TYPE:  # (logged with its traceback by log_bug)
                log.info("error %s: %s", extensions["errorId"], formatted["message"])
            answer["errors"].append(formatted)
    answer["data"] = data
    return answer


def error_body(message: str, kind: str) -> dict[str, Any]:
    """A body of one error (HTTP 200, data null), with its errorId."""
    error_id = uuid.uuid4().hex
    log.info("error %s: %s", error_id, message)
    return _error_body(message, kind, error_id)


def internal_error_body(exc: BaseException, what: str) -> dict[str, Any]:
    """The body answering a request that a bug stopped (see jobs.store.log_bug)."""
    return _error_body(INTERNAL_ERROR, INTERNAL_ERROR_TYPE, log_bug(exc, what))


def _error_body(message: str, kind: str, error_id: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"type": kind, "errorId": error_id}}], "data": None}


def unauthorized() -> dict[str, Any]:
    """What Datasaur's API answers a missing, unknown or expired token."""
    return error_body("Unauthorized", "AuthenticationError")
