"""What a job does, as typed specs: one Struct per kind, tagged by ``kind``.

A spec is plain data (msgspec Structs of strings, numbers, lists and
mappings), so any process can run it, or pick it up again after a crash.
The job store keeps a spec's dict form (:func:`encode_spec`), its secrets
sealed (:mod:`labelport.guards.sealed` works on that form), and turns what it
holds back into a spec with :func:`decode_spec`. A spec that does not decode
(a wrong-typed or missing field, an unknown kind) is a :class:`SpecError`
naming the field: the job fails saying so.

Specs stored before kinds existed have no ``kind``: such a spec is an export,
or a service export when it holds ``service``.
"""

from __future__ import annotations

from typing import Any, TypeVar, Union

import msgspec
from msgspec import Struct

from ..errors import DeliveryError, LabelportError

EXPORT, SERVICE_EXPORT = "export", "service-export"
PROJECT_TASK, DOCUMENT_TASK = "project", "document"


class SpecError(DeliveryError):
    """A stored job spec that does not decode: the job fails with this message."""


# -- `labelport export` and labelport.export() ----------------------------------------------

class ExportSpec(Struct, frozen=True, kw_only=True, tag=EXPORT, tag_field="kind"):
    """Load (or fetch) ``input``, convert it to ``format`` in ``out``, deliver
    ``out`` to ``to`` and send the notices. ``read``, ``convert``, ``delivery``
    and each notice are the keywords of :func:`labelport.load`,
    :func:`labelport.convert` (with the Export API client's ``convert_locally``
    and ``timeout``), ``DeliveryOptions`` and ``Notice``: each is checked by
    what takes it, which owns its names and defaults."""

    input: str  # a resolved path, or a URL such as datasaur://
    read: dict[str, Any] = {}
    format: str  # a format id (an alias was resolved when the spec was made)
    convert: dict[str, Any] = {}
    out: str  # a resolved folder
    to: str | None = None  # a resolved folder or a URL; None: convert only
    delivery: dict[str, Any] = {}
    notices: list[dict[str, Any]] = []
    # the conversion's engine (labelport.convert's engine and ray_address); a spec stored before
    # they were carried ran on this machine
    engine: str = "local"
    ray_address: str | None = None


# -- `labelport serve`: exportTextProject and exportTextProjectDocument ---------------------

class ProjectRef(Struct, frozen=True):
    id: str  # the id the client gave
    path: str  # where the service found it


class DocumentRef(Struct, frozen=True):
    id: str
    name: str
    position: int  # its place in the project when the request was answered


class FileStorageTarget(Struct, frozen=True):
    """Where a FILE_STORAGE result goes, and the link the client was given."""

    token: str
    folder: str  # LABELPORT_HOME/serve/files/<token>, or under serve --file-storage: its URL of files/<token>
    url: str
    expiresAt: str


class ObjectStorageTarget(Struct, frozen=True):
    """Where an EXTERNAL_OBJECT_STORAGE result goes."""

    id: str  # the storage's id in --storages
    destination: str
    key: str


class ServiceTask(Struct, frozen=True, kw_only=True, tag_field="kind"):
    """What the service checked and decided while the caller waited."""

    projects: list[ProjectRef]
    result: str  # the result's file name
    client: str  # who asked: only this client sees the job
    work: str  # the job's work folder, under LABELPORT_HOME/serve/work/
    format: str
    transformer: str | None = None
    fileName: str
    method: str
    storage: FileStorageTarget | None = None  # every method but EXTERNAL_OBJECT_STORAGE
    eos: ObjectStorageTarget | None = None
    notice: dict[str, Any] | None = None  # Notice's keywords (CUSTOM_WEBHOOK, EMAIL)


class ProjectTask(ServiceTask, frozen=True, kw_only=True, tag=PROJECT_TASK):
    """exportTextProject: the export-all zip of each project, merged."""

    role: str


class DocumentTask(ServiceTask, frozen=True, kw_only=True, tag=DOCUMENT_TASK):
    """exportTextProjectDocument: one document's REVIEW version."""

    document: DocumentRef
    single: bool  # the format writes one file for the document: it is the result (else a zip is)


class ServiceExportSpec(Struct, frozen=True, kw_only=True, tag=SERVICE_EXPORT, tag_field="kind"):
    """An export the service answered; ``input``, ``format`` and ``to`` say
    what it does in ``labelport jobs``."""

    input: str
    format: str
    to: str
    service: Union[ProjectTask, DocumentTask]


Spec = Union[ExportSpec, ServiceExportSpec]


# -- the stored form -------------------------------------------------------------------------

def encode_spec(spec: Spec) -> dict[str, Any]:
    """The dict the job store seals and keeps."""
    return msgspec.to_builtins(spec)


def decode_spec(stored: Any) -> Spec:
    """A spec from what the job store holds; SpecError naming the bad field."""
    if isinstance(stored, dict) and "kind" not in stored:  # stored before kinds existed
        stored = {"kind": SERVICE_EXPORT if "service" in stored else EXPORT, **stored}
    return checked(stored, Spec, "job spec")  # type: ignore[arg-type]


T = TypeVar("T")


def checked(value: Any, kind: type[T], what: str, error: type[LabelportError] = SpecError) -> T:
    """``value`` as ``kind`` (a Struct, or a dataclass taking keywords);
    ``error`` ``<what>.<field>: <problem>`` when it is not one."""
    try:
        return msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError as exc:
        problem, _, path = str(exc).partition(" - at `$")
        raise error(f"{what}{path.rstrip('`')}: {problem}") from None


def describe(spec: Spec) -> str:
    """``input -> format [-> to]``, as ``labelport jobs`` lists a job."""
    return f"{spec.input} -> {spec.format}" + (f" -> {spec.to}" if spec.to else "")
