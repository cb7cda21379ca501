"""The Export API's GraphQL schema (export-api.graphql, the contract) and its
resolvers.

The schema is built from the SDL shipped beside this module with
graphql-core's ``build_schema``; resolvers are attached to the Query fields.
Every failure is a GraphQL error with a message: a :class:`LabelportError`
gives its own message (``extensions.type`` NotFoundError for an unknown id,
else UserInputError); anything else is a bug, logged with its traceback and
answered "internal error".
"""

from __future__ import annotations

import functools
import logging
import os
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable

from graphql import GraphQLError, GraphQLSchema, build_schema, graphql_sync

from ..errors import LabelportError
from .projects import NotFoundError

if TYPE_CHECKING:
    from .exporter import Caller, Service

log = logging.getLogger("labelport.serve")

SDL_FILE = "export-api.graphql"


def sdl() -> str:
    return resources.files(__package__).joinpath(SDL_FILE).read_text(encoding="utf-8")


class Context:
    def __init__(self, service: "Service", caller: "Caller"):
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
            raise GraphQLError(_shorten(str(exc), info.context), extensions={"type": kind}) from None
        except Exception:
            log.exception("%s failed", info.field_name)
            raise GraphQLError("internal error", extensions={"type": "InternalError"}) from None

    return wrapper


def _shorten(message: str, context: Context) -> str:
    """Paths inside the projects folder, relative to it."""
    root = str(context.service.projects.root) + os.sep
    return message.replace(root, "")


# -- resolvers -------------------------------------------------------------------------------

@guarded
def export_text_project(context: Context, input: dict[str, Any]) -> dict[str, Any]:
    return context.service.export_project(context.caller, input)


@guarded
def export_text_project_document(context: Context, input: dict[str, Any]) -> dict[str, Any]:
    return context.service.export_document(context.caller, input)


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


def execute(schema: GraphQLSchema, body: Any, context: Context) -> dict[str, Any]:
    """One GraphQL-over-HTTP request body -> the response body."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return error_body("the body must be a JSON object {operationName, variables, query}", "UserInputError")
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        return error_body("variables must be a JSON object", "UserInputError")
    operation = body.get("operationName") or None
    result = graphql_sync(schema, body["query"], variable_values=variables, operation_name=operation,
                          context_value=context)
    answer: dict[str, Any] = {}
    if result.errors:
        answer["errors"] = [error.formatted for error in result.errors]
    answer["data"] = result.data
    return answer


def error_body(message: str, kind: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"type": kind}}], "data": None}


UNAUTHORIZED = error_body("Unauthorized", "AuthenticationError")
