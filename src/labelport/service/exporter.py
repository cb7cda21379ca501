"""What an export request does: checked at once, then run as a labelport job.

:class:`Service` holds what ``labelport serve`` serves (projects, clients,
storages, file storage, the job store and the workers). A request is checked
while the caller waits — unknown project or document, a format the project
kind cannot serve, a transformer that does not exist, a method without what it
needs — so that every mistake is a GraphQL error with a message; then it
becomes a job (the exportId is the job id) whose spec says everything needed
to run it again after a crash, and the answer goes back at once.

The job converts (the export-all zip for ``exportTextProject``, one
document's REVIEW version for ``exportTextProjectDocument``), then delivers:
to the service's file storage (FILE_STORAGE, and the link that CUSTOM_WEBHOOK
and EMAIL send), or to a registered external object storage.

Result names: ``exportTextProject`` always gives ``<fileName>.zip``.
``exportTextProjectDocument`` gives the one file a per-document format writes
for the document, named ``<fileName><format extension>`` (DATASAUR_SCHEMA,
JSON_ADVANCED, JSON, TSV_IOB, TSV_NON_IOB, CONLL_2003, PLAIN, CSV, TSV, XLSX,
JSON_TABULAR, and CUSTOM with a ``transform(document)`` transformer, whose
EXTENSION it takes), and ``<fileName>.zip`` holding the files of the formats
that lay out a folder (the cloud CSVs, HF_DATASET, CUSTOM with
``transform_project``). The name is known when the request is answered, so
``fileUrl`` and ``key`` are final at once.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import threading
import uuid
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import orjson

from ..conversion import convert, load
from ..conversion.pipeline import check_kinds as check_format_kinds
from ..conversion.pipeline import zip_tree
from ..delivery import DeliveryResult, Notice, preflight, push
from ..delivery.destinations import scheme_of
from ..delivery.destinations.base import DeliveryOptions
from ..delivery.notices import send
from ..errors import LabelportError, RejectedError, UsageError
from ..formats import transformers
from ..formats.registry import formats_for_kinds, get_format, make_options, option_names
from ..guards.archives import Archive
from ..guards.egress import EgressPolicy
from ..guards.output import REPORT_NAME, safe_name
from ..guards.private import home, make_private, private_folder
from ..guards.sealed import check_key
from ..jobs.kinds import Local
from ..jobs.preflight import check_format
from ..jobs.spec import (
    DocumentRef,
    DocumentTask,
    FileStorageTarget,
    ObjectStorageTarget,
    ProjectRef,
    ProjectTask,
    ServiceExportSpec,
    ServiceTask,
    SpecError,
    checked,
)
from ..jobs.store import FAILED, Job, JobStore, Store, recover, run
from ..model import REVIEWER, Project
from .auth import Client, TokenStore
from .files import FileStorage, LocalFileStorage
from .inputs import (
    ExportInput,
    ExportTextProjectDocumentInput,
    ExportTextProjectInput,
    ServeLimits,
    check_file_name,
    check_ids,
)
from .projects import NotFoundError, ProjectDirectory
from .public import make_public

if TYPE_CHECKING:
    from ..formats.base import Format
    from ..jobs.broker import Broker

log = logging.getLogger("labelport.serve")

FILE_STORAGE, EMAIL, CUSTOM_WEBHOOK, EXTERNAL_OBJECT_STORAGE = (
    "FILE_STORAGE", "EMAIL", "CUSTOM_WEBHOOK", "EXTERNAL_OBJECT_STORAGE")
ENV_EMAIL = "LABELPORT_SERVE_EMAIL"


# -- registered external object storages ---------------------------------------------------

class Storages:
    """``--storages FILE``: JSON or TOML mapping a storage id to an ``s3://``,
    ``gs://`` or ``az://`` URL or a folder (relative to the file's folder).
    Read again whenever the file changes."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path).resolve() if path else None
        self._cache: tuple[tuple[int, int], dict[str, str]] | None = None
        self._lock = threading.Lock()
        if self.path is not None:
            self.all()  # a broken file stops the service from starting

    def all(self) -> dict[str, str]:
        if self.path is None:
            return {}
        try:
            stat = self.path.stat()
            mtime = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            raise UsageError("--storages: no such file", self.path) from None
        with self._lock:
            if self._cache is not None and self._cache[0] == mtime:
                return self._cache[1]
        storages = self._read()
        with self._lock:
            self._cache = (mtime, storages)
        return storages

    def _read(self) -> dict[str, str]:
        assert self.path is not None
        raw = self.path.read_bytes()
        try:
            if self.path.suffix.lower() == ".toml":
                try:
                    import tomllib  # (start-up: only a TOML --storages file needs it)
                except ModuleNotFoundError:  # (start-up: as above) Python 3.10: tomli, labelport[serve] there
                    import tomli as tomllib  # type: ignore[no-redef]
                data = tomllib.loads(raw.decode("utf-8"))
            else:
                data = orjson.loads(raw)
        except Exception as exc:
            raise UsageError(f"--storages: not valid {'TOML' if self.path.suffix.lower() == '.toml' else 'JSON'}: {exc}",
                             self.path) from None
        if not isinstance(data, dict):
            raise UsageError('--storages: expected a mapping {"<id>": "s3://bucket/prefix", ...}', self.path)
        storages: dict[str, str] = {}
        for key, value in data.items():
            if isinstance(value, dict):
                value = value.get("url")
            if not isinstance(value, str) or not value.strip():
                raise UsageError(f"--storages: storage {key!r}: expected a URL or folder, not {value!r}", self.path)
            value = value.strip()
            if "://" not in value:
                value = str((self.path.parent / value).resolve())
            storages[str(key)] = value
        return storages

    def get(self, storage_id: str) -> str:
        storages = self.all()
        if storage_id not in storages:
            known = ", ".join(storages) or "none are registered (--storages FILE)"
            raise NotFoundError(f"external object storage {storage_id!r} not found; known: {known}")
        return storages[storage_id]


def object_location(storage_url: str, prefix: str, name: str) -> tuple[str, str]:
    """(destination URL for labelport's destinations, object key) of ``name``
    under ``prefix`` in a storage. The key is the whole key in the bucket or
    container (the storage URL's own path included), or the path inside a
    storage folder."""
    parts = [p for p in prefix.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UsageError(f"externalObjectStorageParameter.prefix {prefix!r} must not hold '..'")
    clean = "/".join(parts)
    if "://" in storage_url and not storage_url.startswith("file://"):
        base = storage_url.rstrip("/")
        inside = base.split("://", 1)[1].partition("/")[2]
        destination = f"{base}/{clean}" if clean else base
        key = "/".join(p for p in (inside, clean, name) if p)
    else:
        root = Path(storage_url.split("://", 1)[1] if storage_url.startswith("file://") else storage_url)
        destination = str(root.joinpath(*parts))
        key = "/".join(p for p in (clean, name) if p)
    return destination, key


# -- the service ---------------------------------------------------------------------------

@dataclass
class ServeConfig:
    projects: Path
    clients: dict[str, Client]
    storages: str | Path | None = None
    token_ttl: float = 3600
    file_expiry: float = 6 * 3600
    base_url: str | None = None  # the URL clients reach the service at; default: the request's
    workers: int = 4
    egress: EgressPolicy = field(default_factory=EgressPolicy)  # where webhooks may go besides public addresses
    limits: ServeLimits = field(default_factory=ServeLimits)
    broker: str | None = None  # redis://…: jobs on a shared queue, run by `labelport worker`s (jobs.broker)
    file_storage: str | None = None  # s3://, gs://, az://: FILE_STORAGE results there (service.object_files)


@dataclass
class Caller:
    """Who asks, and the URL they reached the service at."""

    client: Client
    base_url: str


class Service:
    def __init__(self, config: ServeConfig):
        self.config = config
        check_key()  # a malformed LABELPORT_SECRET_KEY stops the service now, not at its first webhook
        self.projects = ProjectDirectory(config.projects)
        self.storages = Storages(config.storages)
        # the one place the file storage is chosen: --file-storage's bucket, checked before the job store
        # writes anything in LABELPORT_HOME, else LABELPORT_HOME/serve once the job store is there
        shared_files = self._object_files() if config.file_storage else None
        self.store: Store
        self.workers: Workers | Broker
        if config.broker:  # the one place the job store is chosen: shared on Redis, or SQLite and threads here
            # (start-up: the queue's module imports redis and rq, labelport[redis], only with --broker)
            from ..jobs.broker import Broker

            self.workers = Broker(config.broker)
            self.store = self.workers.store
            self.tokens = TokenStore(config.clients, config.token_ttl, shared=self.workers.store.redis)
        else:
            self.store = JobStore()
            self.workers = Workers(self.store, config.workers)  # (jobs of any kind: CLI jobs resumed too)
            self.tokens = TokenStore(config.clients, config.token_ttl)
        self.files: FileStorage = shared_files or LocalFileStorage(home() / "serve", config.file_expiry,
                                                                   ready=self._file_ready)

    def _object_files(self) -> FileStorage:
        # (start-up: the destinations' modules, and their SDK, only with --file-storage)
        from .object_files import ObjectFileStorage

        assert self.config.file_storage
        return ObjectFileStorage(self.config.file_storage, self.config.file_expiry, ready=self._file_ready)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Start the workers and pick up the jobs of processes that died: a
        stopped service's exports, and any labelport job killed mid-way."""
        self.workers.start()
        resumed = recover(self.store, self.workers.submit)
        if resumed:
            log.info("resumed %d job(s) of a stopped process: %s", len(resumed), ", ".join(resumed))

    def stop(self) -> None:
        self.workers.stop()

    def _file_ready(self, job_id: str) -> bool:
        """A stored file is served once complete, unless its job FAILED. (It is
        moved in place whole, as the job's last step before the notices, so a
        webhook receiver can fetch it as soon as it is told.)"""
        job = self.store.get(job_id)
        return job is not None and job.status != FAILED

    # -- jobs --------------------------------------------------------------------------
    def job(self, caller: Caller, job_id: str) -> Job | None:
        """A job this client started (others' jobs are not found)."""
        job = self.store.get(job_id)
        if job is None:
            return None
        try:
            spec = job.spec
        except SpecError:  # not an export this service answered
            return None
        return job if isinstance(spec, ServiceExportSpec) and spec.service.client == caller.client.id else None

    # -- exports -----------------------------------------------------------------------
    def export_project(self, caller: Caller, data: ExportTextProjectInput) -> dict[str, Any]:
        check_ids("projectIds", data.projectIds, self.config.limits)
        project_ids = list(dict.fromkeys(p.strip() for p in data.projectIds))
        if not project_ids or not all(project_ids):
            raise UsageError("projectIds: give at least one project id")
        file_name = check_file_name(data.fileName)
        fmt = resolve_format(data.format)
        role = data.role or REVIEWER
        transformer, _ = check_transformer(fmt, data.fileTransformerId)
        check_unsupported(data)
        projects: list[ProjectRef] = []
        tops: dict[str, str] = {}
        for project_id in project_ids:
            path = self.projects.path(project_id)
            project = self.projects.load(project_id)
            check_kinds(fmt, project, project_id)
            top = _top_folder(project)
            if top in tops:
                raise UsageError(f"projects {tops[top]!r} and {project_id!r} are the same project ({top}); "
                                 "export one of them")
            tops[top] = project_id
            projects.append(ProjectRef(project_id, str(path)))
        task = {"projects": projects, "role": role, "result": f"{file_name}.zip"}
        return self._submit(caller, data, fmt, transformer, file_name, ProjectTask, task,
                            project_ids[0] if len(project_ids) == 1 else ",".join(project_ids), None)

    def export_document(self, caller: Caller, data: ExportTextProjectDocumentInput) -> dict[str, Any]:
        reference = data.documentId
        file_name = check_file_name(data.fileName)
        fmt = resolve_format(data.format)
        transformer, loaded = check_transformer(fmt, data.fileTransformerId)
        check_unsupported(data)
        match = self.projects.find_document(reference)
        info = match.document
        if not set(info.kinds) & fmt.kinds:
            raise UsageError(f"document {info.name!r}: {fmt.id} cannot serve a {', '.join(info.kinds) or 'empty'} "
                             f"document; formats that can: {', '.join(formats_for_kinds(info.kinds))}")
        single = fmt.writer is not None or (loaded is not None and loaded.per_document)
        extension = (loaded.extension if loaded is not None else fmt.extension) if single else ".zip"
        task = {
            "projects": [ProjectRef(match.project_id, str(match.path))],
            "document": DocumentRef(info.id, info.name, info.position),
            "single": single,
            "result": f"{file_name}{extension}",
        }
        return self._submit(caller, data, fmt, transformer, file_name, DocumentTask, task, match.project_id, info.id)

    def _submit(self, caller: Caller, data: ExportInput, fmt: "Format", transformer: str | None, file_name: str,
                kind: type[ServiceTask], task: dict[str, Any], project_id: str,
                document_id: str | None) -> dict[str, Any]:
        """Queue the job of a checked request (``task``: the fields of ``kind``
        the operation decided) and answer at once."""
        method = data.method
        job_id = uuid.uuid4().hex
        result_name = task["result"]
        answer: dict[str, Any] = {"exportId": job_id, "fileUrl": None, "fileUrlExpiredAt": None, "queued": True,
                                  "redirect": None, "key": None}
        notice: dict[str, Any] | None = None
        if method == CUSTOM_WEBHOOK:
            url, secret = data.url, data.secret
            if not url or not secret:
                raise UsageError("CUSTOM_WEBHOOK needs url and secret")
            self.config.egress.check_url(url)
            # the policy rides with the job: whichever process runs it applies it
            notice = {"method": CUSTOM_WEBHOOK, "url": url, "secret": secret,
                      "allowed_hosts": list(self.config.egress.allowed)}
        elif method == EMAIL:
            address = caller.client.email or os.environ.get(ENV_EMAIL)
            if not address:
                raise UsageError(f"EMAIL: no address for client {caller.client.id!r}; register it as "
                                 f"--client ID:SECRET:EMAIL or set {ENV_EMAIL}")
            if not os.environ.get("LABELPORT_SMTP_HOST"):
                raise UsageError("EMAIL: the service has no SMTP server (LABELPORT_SMTP_HOST)")
            notice = {"method": EMAIL, "email": address}
        if notice is not None:
            notice.update(user_id=caller.client.id, project_id=project_id, document_id=document_id)
        storage: FileStorageTarget | None = None
        eos: ObjectStorageTarget | None = None
        if method == EXTERNAL_OBJECT_STORAGE:
            parameter = data.externalObjectStorageParameter
            storage_id = parameter.externalObjectStorageId if parameter else None
            if not parameter or not storage_id:
                raise UsageError("EXTERNAL_OBJECT_STORAGE needs externalObjectStorageParameter.externalObjectStorageId")
            destination, key = object_location(self.storages.get(storage_id), parameter.prefix or "", result_name)
            preflight(destination)  # its SDK, URL and credentials, offline, while the caller waits
            eos = ObjectStorageTarget(str(storage_id), destination, key)
            answer["key"] = key
            to = destination
        else:
            stored = self.files.create(job_id, result_name)
            url = stored.url(self.config.base_url or caller.base_url)
            storage = FileStorageTarget(stored.token, stored.folder, url, stored.expires_at)
            if method == FILE_STORAGE:
                answer.update(fileUrl=url, fileUrlExpiredAt=stored.expires_at)
            to = url
        service = kind(**task, client=caller.client.id, work=uuid.uuid4().hex, format=fmt.id, transformer=transformer,
                       fileName=file_name, method=method, storage=storage, eos=eos, notice=notice)
        spec = ServiceExportSpec(input=service.projects[0].path, format=fmt.id, to=to, service=service)
        self.store.create(spec, job_id=job_id)
        self.workers.submit(job_id)
        return answer


# -- checks made while the caller waits ----------------------------------------------------

def resolve_format(value: Any) -> "Format":
    """The format ``value`` names: an id or an alias of labelport.formats.registry,
    which keeps the legacy lower-case names of the Export API (``iob``,
    ``non-iob``, ``conll``, ``conll2003``); refused while the caller waits when its writer
    cannot import a package it needs (HF_DATASET without pyarrow), as
    ``labelport export`` refuses it before its job exists."""
    if not str(value or "").strip():
        raise UsageError("format: give a format, e.g. TSV_IOB or DATASAUR_SCHEMA")
    fmt = get_format(str(value))
    check_format(fmt.id)
    return fmt


#: The Export API's fields that are a format's own options (Format.options),
#: by option. (role, includedCommentType and filteredCabinetRole apply to
#: every format: Datasaur's scripts send includedCommentType whatever the format.)
FORMAT_OPTION_FIELDS = {"transformer": "fileTransformerId"}


def check_transformer(fmt: "Format", value: Any) -> tuple[str | None, Any]:
    """The transformer name of a CUSTOM export, loaded (so a missing or broken
    one is a GraphQL error, not a failed job). Only names of transformers the
    service has (converters/, LABELPORT_CONVERTERS) are accepted: a client
    cannot make the service run a file of its choosing. Another format
    refuses a fileTransformerId, naming the formats that take one."""
    make_options(fmt, {"transformer": value or None}, FORMAT_OPTION_FIELDS)
    if "transformer" not in option_names(fmt):
        return None, None
    available = ", ".join(transformers.available()) or "none"
    name = str(value or "").strip()
    if not name:
        raise UsageError(f"format CUSTOM needs fileTransformerId (a transformer name; available: {available})")
    if name.endswith(".py") or "/" in name or "\\" in name or name.startswith("_"):
        raise UsageError(f"fileTransformerId {name!r}: give the name of a transformer (available: {available})")
    if name not in transformers.available():
        raise NotFoundError(f"fileTransformerId {name!r}: no such transformer (available: {available})")
    return name, transformers.load(name)


def check_unsupported(data: ExportInput) -> None:
    if data.maskPIIEntities:
        raise UsageError("maskPIIEntities is not supported by labelport serve")


def check_kinds(fmt: "Format", project: Project, project_id: str) -> None:
    try:
        check_format_kinds(fmt, project)
    except UsageError as exc:
        raise UsageError(f"project {project_id!r}: {exc.what}") from None


def _top_folder(project: Project) -> str:
    return safe_name(f"{project.name}-{project.id}")


# -- running a job -------------------------------------------------------------------------

def run_service_export(spec: ServiceExportSpec, progress: Callable[[int], None], local: Local) -> dict[str, Any]:
    """A service export's job (jobs.kinds): convert and deliver; a failure's
    message names no server folder (the client reads it in the job's errors).
    (Of ``local`` only the job's notice ledger is used: the service's workers
    hold nothing else but the spec.)"""
    task = spec.service
    work = home() / "serve" / "work" / task.work
    shutil.rmtree(work, ignore_errors=True)  # what an attempt that died left
    try:
        progress(2)
        deliver = private_folder(work / "deliver")
        if isinstance(task, ProjectTask):
            _convert_projects(task, work, deliver / task.result)
        else:
            _convert_document(task, work, deliver / task.result)
        progress(70)
        return _deliver(task, deliver, progress, local)
    except LabelportError as exc:
        raise make_public(exc, {Path(p.path).parent for p in task.projects}) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _convert(project: Project, task: ServiceTask, out: Path, **options: Any) -> None:
    try:
        convert(project, task.format, out, transformer=task.transformer, **options)
    except RejectedError as exc:
        problems = [f.message for f in (exc.report.findings if exc.report else []) if f.hard]
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        raise RejectedError(f"{task.format}: the target service would reject the files"
                            + (f": {shown}" if shown else ""), report=exc.report) from None


def _convert_projects(task: ProjectTask, work: Path, target: Path) -> None:
    zips = []
    for i, entry in enumerate(task.projects):
        out = work / f"p{i}"
        _convert(load(entry.path), task, out, zip=task.fileName, role=task.role)
        zips.append(out / f"{task.fileName}.zip")
    if len(zips) == 1:
        os.replace(zips[0], target)
        return
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as merged:  # each project's folder, in order
        for path in zips:
            with Archive(path) as part:
                for name, info in part.entries:
                    copy = zipfile.ZipInfo(name, info.date_time)
                    copy.external_attr = info.external_attr
                    if name.endswith("/"):
                        merged.writestr(copy, b"")
                        continue
                    copy.compress_type = zipfile.ZIP_DEFLATED
                    with part.open(name) as src, merged.open(copy, "w") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)


def _convert_document(task: DocumentTask, work: Path, target: Path) -> None:
    project = load(task.projects[0].path)
    wanted = task.document

    def documents():
        for i, document in enumerate(project.documents()):
            if i == wanted.position and str(document.id) == wanted.id:
                yield document
                return
        for document in project.documents():  # the project changed since the request
            if str(document.id) == wanted.id:
                yield document
                return
        raise LabelportError(f"document {wanted.name!r} is no longer in project {task.projects[0].id!r}")

    view = replace(project, labelers=[], owner=None, documents_factory=documents)
    out = work / "document"
    _convert(view, task, out)
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.relative_to(out).as_posix() != REPORT_NAME)
    if not files:
        raise LabelportError(f"{task.format} wrote no file for document {wanted.name!r}")
    if task.single and len(files) == 1:
        os.replace(files[0], target)
        return
    (out / REPORT_NAME).unlink(missing_ok=True)  # the service's own bookkeeping, not the result
    zip_tree(out, target)


def _deliver(task: ServiceTask, folder: Path, progress: Callable[[int], None], local: Local) -> dict[str, Any]:
    options = DeliveryOptions(listener=lambda done, total: progress(70 + 20 * done // max(total, 1)))
    name = task.result
    result: dict[str, Any] = {"fileName": name, "method": task.method, "format": task.format,
                              "projectIds": [p.id for p in task.projects]}
    if isinstance(task, DocumentTask):
        result["documentId"] = task.document.id
    if task.eos is not None:
        eos = task.eos
        delivered = push(folder, eos.destination, options)
        result.update(resultId=eos.key, key=eos.key, externalObjectStorageId=eos.id,
                      objects=[o.uri for o in delivered.objects])
        return result
    storage = task.storage
    if storage is None:
        raise SpecError("job spec.service: neither storage nor eos: nowhere to deliver")
    delivered = push(folder, storage.folder, options)  # a folder here, or --file-storage's object URL
    if scheme_of(storage.folder) == "file":
        make_private(Path(storage.folder))  # the destination wrote with the umask's modes
    result.update(resultId=storage.token, fileUrl=storage.url, fileUrlExpiredAt=storage.expiresAt)
    if task.notice is not None:
        notice = checked(task.notice, Notice, "job spec.service.notice")
        progress(95)
        send(notice, DeliveryResult(storage.url, delivered.objects, link=storage.url), folder, local.ledger)
        result["notified"] = notice.method
    return result


# -- workers -------------------------------------------------------------------------------

@dataclass
class Workers:
    """A few threads running queued jobs, so the service stays responsive.
    Daemon threads: a stopped service leaves its jobs to be resumed by the
    next one (jobs.recover)."""

    store: JobStore
    size: int = 4
    _queue: "queue.Queue[str | None]" = field(default_factory=queue.Queue)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for i in range(max(1, self.size)):
            thread = threading.Thread(target=self._loop, name=f"labelport-serve-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def submit(self, job_id: str) -> None:
        self._queue.put(job_id)

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        self._threads.clear()

    def _loop(self) -> None:
        while (job_id := self._queue.get()) is not None:
            try:
                run(self.store, job_id)
            except Exception:  # the store itself failed: the job stays for recovery
                log.exception("job %s could not be run", job_id)

