"""The Export API's inputs as declared types, and the service's limits.

graphql-core checks a request against export-api.graphql first (wrong
types, unknown enum values, missing required fields are GraphQL errors
naming the field). The resolvers then decode the input into the Structs
below with msgspec, which adds what the SDL cannot say (lengths, how many
ids); the first mismatch is a GraphQL error with its path, e.g. ``input.url:
Expected `str` of length <= 2048``. Nothing a resolver does starts before
its input decoded.

Limits (each a ``labelport serve`` option and an environment variable):

==========================  ==========================  ===============
what                        option / variable           default
==========================  ==========================  ===============
request body                ``--max-body`` /            1 MiB
                            ``LABELPORT_SERVE_MAX_BODY``
exports per request         ``--max-exports`` /         10
                            ``LABELPORT_SERVE_MAX_EXPORTS``
ids per query               ``--max-ids`` /             100
                            ``LABELPORT_SERVE_MAX_IDS``
==========================  ==========================  ===============

"ids per query": the projectIds of one export, the jobIds of one getJobs,
and the fields of one request (each of which names an id).
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta

from ..errors import UsageError

DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_MAX_EXPORTS = 10
DEFAULT_MAX_IDS = 100
#: The parser's own bound on a query's tokens, far above any real query.
MAX_QUERY_TOKENS = 10_000
#: The longest fileName, in UTF-8 bytes: the result adds at most a 10-byte
#: extension and stays under the 255 bytes file systems allow.
MAX_FILE_NAME_BYTES = 200
#: Names Windows cannot create (the result is downloaded there too), and the
#: name of the report labelport keeps beside a result.
RESERVED_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                            *(f"lpt{i}" for i in range(10)), "labelport-report"})


@dataclass(frozen=True)
class ServeLimits:
    max_body: int = DEFAULT_MAX_BODY
    max_exports: int = DEFAULT_MAX_EXPORTS
    max_ids: int = DEFAULT_MAX_IDS

    @classmethod
    def from_options(cls, max_body: int | None = None, max_exports: int | None = None,
                     max_ids: int | None = None) -> "ServeLimits":
        """Options first, then LABELPORT_SERVE_MAX_*, then the defaults."""
        values = {}
        for name, given, default in (("max_body", max_body, DEFAULT_MAX_BODY),
                                     ("max_exports", max_exports, DEFAULT_MAX_EXPORTS),
                                     ("max_ids", max_ids, DEFAULT_MAX_IDS)):
            variable = f"LABELPORT_SERVE_{name.upper()}"
            if given is None and os.environ.get(variable, "").strip():
                try:
                    given = int(os.environ[variable])
                except ValueError:
                    raise UsageError(f"{variable}={os.environ[variable]!r}: expected a whole number") from None
            value = default if given is None else given
            if value < 1:
                raise UsageError(f"--{name.replace('_', '-')} ({variable}) must be at least 1")
            values[name] = value
        return cls(**values)


Id = Annotated[str, Meta(max_length=512)]
Text = Annotated[str, Meta(max_length=512)]
Method = Literal["FILE_STORAGE", "EMAIL", "CUSTOM_WEBHOOK", "EXTERNAL_OBJECT_STORAGE"]
Role = Literal["LABELER", "REVIEWER"]
CommentType = Literal["ARROW_LABEL", "COMMENT", "SPAN_LABEL", "SPAN_TEXT"]


class ExternalObjectStorageParameter(msgspec.Struct, frozen=True):
    externalObjectStorageId: Id
    prefix: Annotated[str, Meta(max_length=1024)] | None = None


class ExportInput(msgspec.Struct, frozen=True, kw_only=True):
    """The fields both export operations take."""

    fileName: Annotated[str, Meta(max_length=1024)]  # checked by check_file_name, with a clearer message
    format: Annotated[str, Meta(max_length=64)]
    method: Method
    fileTransformerId: Id | None = None
    url: Annotated[str, Meta(max_length=2048)] | None = None
    secret: Annotated[str, Meta(max_length=1024)] | None = None
    externalObjectStorageParameter: ExternalObjectStorageParameter | None = None
    includedCommentType: Annotated[list[CommentType], Meta(max_length=4)] | None = None
    maskPIIEntities: bool | None = None


class ExportTextProjectInput(ExportInput, frozen=True, kw_only=True):
    projectIds: list[Id]
    role: Role | None = None
    filteredCabinetRole: Role | None = None


class ExportTextProjectDocumentInput(ExportInput, frozen=True, kw_only=True):
    documentId: Text


T = TypeVar("T")


def decode(value: Any, kind: type[T], argument: str = "input") -> T:
    """``value`` (coerced by graphql-core) as ``kind``; UsageError naming the path."""
    try:
        return msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `$")
        raise UsageError(f"{argument}{path.rstrip('`')}: {message}" if path else f"{argument}: {message}") from None


def check_ids(what: str, ids: list[str], limits: ServeLimits) -> None:
    if len(ids) > limits.max_ids:
        raise UsageError(f"{what}: at most {limits.max_ids} ids in one query (LABELPORT_SERVE_MAX_IDS); "
                         f"got {len(ids)}")


def check_file_name(value: str) -> str:
    """A fileName the service can write as one file, here and on the client's
    disk: the result is ``<fileName><extension>`` in a folder of its own."""
    name = value.strip()
    if name.lower().endswith(".zip"):
        name = name[: -len(".zip")]
    problem = None
    if not name:
        problem = "give a name"
    elif len(name.encode("utf-8")) > MAX_FILE_NAME_BYTES:
        problem = f"at most {MAX_FILE_NAME_BYTES} bytes in UTF-8"
    elif name.startswith("."):
        problem = "must not begin with '.'"
    elif any(c in name for c in "/\\"):
        problem = "no folders: '/' and '\\' are not allowed"
    elif any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for c in name):
        problem = "no control, format or unassigned characters"
    elif name.endswith((".", " ")):
        problem = "must not end with '.' or a space"
    elif name.split(".", 1)[0].strip().lower() in RESERVED_NAMES:
        problem = "a reserved name"
    if problem:
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise UsageError(f"fileName {shown!r}: {problem} (the extension is added)")
    return name
