"""``--engine ray``: the chunks of ``--jobs`` (:mod:`labelport.conversion.parallel`)
written as Ray tasks, on a local Ray or a cluster (``--ray-address``,
``RAY_ADDRESS``), merged by the parent exactly as ``--jobs`` merges them:
the same bytes as one process.

Each chunk is a ``ray.remote`` task, not a Ray Data ``map_batches`` over a
Dataset: a chunk's result is a folder of files and a :class:`Report`, not
rows, and the merge needs every chunk's result in chunk order, which
``ray.get`` over the list of tasks gives as they finish while Ray Data would
turn each result into Arrow columns and back.

A task cannot share the parent's loaded project as a forked worker does: it
gets a description (:func:`_write_task`'s arguments: the input path and how
it was read, the chunk's file range, the format, and :func:`shared_by_tasks`:
the project's header after the format's first pass, the splitter, the
format's options) and reads its files again.
Where it writes:

- on the parent's node (a local Ray; a cluster's head when the parent runs
  there), straight into the chunk's folder under the parent's stage, as
  ``--jobs`` does;
- on another node, into a temporary folder of its own, whose files it hands
  back as bytes in its result (at most :data:`RETURN_LIMIT` per chunk: more
  tasks, ``--jobs``, make each chunk smaller); the parent writes them into
  the chunk's folder.

What a task reads:

- a local input (a file, a folder, a zip): at the same path as the parent
  (a cluster's nodes need it there);
- an object-storage input (:mod:`labelport.conversion.remote`), which the
  parent downloaded to read the project: on the parent's node, that copy;
  on another node, its own files fetched from the bucket by the parent's
  listing (:func:`labelport.conversion.remote.fetch_range`), each only while
  it is the version listed, so a cluster's nodes need no shared path, only
  the bucket's credentials in their environment;
- one long CoNLL/IOB document (:mod:`labelport.readers.long_document`): the
  byte range the parent planned (:class:`~labelport.readers.long_document.ByteRange`,
  an argument of the task), read from that file; from one object in object
  storage, on another node, the object is downloaded whole first.

The output is a local folder on the parent's node (where the merge and the
target's checks read it); labelport must be installed on every node.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import LabelportError, UsageError, missing_extra
from ..formats.base import Context, Format, FormatOptions
from ..formats.parts import Part
from ..formats.registry import get_format
from ..formats.splits import Splitter
from ..guards.output import files_under
from ..model import Project
from ..progress import Progress
from ..readers import ReadOptions
from ..readers.layout import load_path
from ..readers.long_document import ByteRange
from ..report import Report
from . import parallel

if TYPE_CHECKING:
    from .remote import Listed

ENGINES = ("local", "ray")

#: The most bytes of files a task on another node hands back for one chunk.
RETURN_LIMIT = 1 << 30


@dataclass(frozen=True)
class Origin:
    """Where a project was read from, and how: what a task reads again."""

    path: str  # a local path; for an object-storage input, the parent's downloaded copy
    read: ReadOptions
    remote: Listed | None = None  # an object-storage input as the parent listed it

    @property
    def shown_as(self) -> str | None:
        return None if self.remote is None else self.remote.url


@dataclass
class ChunkResult:
    part: Part
    documents: int
    files: dict[str, bytes] | None  # the chunk's files when written on another node than the parent's


def require_ray() -> Any:
    """The ray module, or "install labelport[ray]" (exit 2) before any work."""
    try:
        import ray  # (extra: labelport[ray])
    except ImportError:
        raise missing_extra("ray", "ray", "--engine ray") from None
    return ray


def checked_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise UsageError(f"--engine must be {' or '.join(ENGINES)}, not {engine!r}")
    if engine == "ray":
        require_ray()
    return engine


class RayChunks:
    """:data:`labelport.conversion.parallel.ConvertChunks` on Ray, for a project read from ``origin``."""

    def __init__(self, origin: Origin, address: str | None = None):
        self.origin = origin
        self.address = address

    def connect(self) -> Any:
        """Ray, joined to the cluster at ``address`` (else ``RAY_ADDRESS``, else a local Ray
        started for this process) unless this process has already joined one."""
        ray = require_ray()
        if not ray.is_initialized():
            # (Ray's own notices, at start-up and from the workers, would break the one-line
            # messages and the progress line of the command)
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR)
        return ray

    def tasks(self) -> int:
        """The tasks to share a project out to: the cluster's CPUs."""
        return max(1, int(self.connect().cluster_resources().get("CPU", 1)))

    def __call__(self, fmt: Format, project: Project, ctx: Context, jobs: int, work: Path) -> list[Part]:
        ray = self.connect()
        n_parts = len(project.parts or ())
        long_document = project.long_document if project.parts is None else None
        node = ray.get_runtime_context().get_node_id()
        shared = ray.put(shared_by_tasks(project, ctx))
        origin = ray.put(self.origin)  # (an object-storage input's listing may be long: put once)
        write = ray.remote(_write_task).options(num_cpus=1, max_retries=0)
        spans = parallel.chunks(parallel.shared_units(project), jobs)
        pending = [
            write.remote(origin, lo, hi, n_parts, fmt.id, str(parallel.chunk_folder(work, n)), node, shared,
                         None if long_document is None else long_document.joined(lo, hi))
            for n, (lo, hi) in enumerate(spans)
        ]
        parts = []
        try:
            for (_, hi), ref in zip(spans, pending):
                result: ChunkResult = _result(ray, ref)
                if result.files is not None:
                    _place(result.files, result.part.folder)
                parts.append(result.part)
                parallel.chunk_done(project, ctx, hi, result.documents, last=hi == spans[-1][1])
        except BaseException:
            # The other tasks must stop writing under the stage before it is removed: they are
            # waited for, not cancelled (ray.cancel of these tasks can abort this process in
            # Ray 2.60: task_manager.cc "Tried to complete task that was not pending").
            ray.wait(pending, num_returns=len(pending))
            raise
        return parts


def _result(ray: Any, ref: Any) -> ChunkResult:
    """A task's result; what it raised (a file that is not what it says, ...) raised here as it was."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as failed:
        if isinstance(failed.cause, LabelportError):
            raise failed.cause from None
        raise


def shared_by_tasks(project: Project, ctx: Context) -> tuple[Project, Splitter, FormatOptions, Report]:
    """What every task of ``project``'s conversion gets, put once in Ray's object store:
    the project without its documents (its files' readers hold open files), the
    splitter, the format's options, and a fresh report."""
    header = replace(project, documents_factory=_no_documents, parts=None, size_hint=None, long_document=None)
    return header, ctx.splitter, ctx.options, ctx.report.fresh()


def _no_documents() -> Any:
    return iter(())


def fetch_folder(origin: Origin, temp: Path) -> Path | None:
    """Where a task fetches its files from the bucket (a folder under ``temp``): for an
    object-storage input, on a node where the driver's downloaded copy is not (another
    node than the driver's); None when it reads that copy (or a local input) in place."""
    return temp / "in" if origin.remote is not None and not Path(origin.path).exists() else None


def read_chunk(origin: Origin, header: Project, lo: int, hi: int, n_parts: int,
               fetch_into: Path | None = None, byte_range: ByteRange | None = None) -> Project:
    """``header`` (:func:`shared_by_tasks`) with the documents of files ``lo``..``hi`` of
    ``origin`` read again (of its one file when it has no parts: ``n_parts`` 0; of
    ``byte_range`` of that file's one long document when given): at ``origin.path``,
    or, for an object-storage input on another node than the parent's (``fetch_into``,
    :func:`fetch_folder`), fetched from the bucket into that folder first (a long document's one object whole)."""
    if byte_range is not None:
        path = Path(origin.path)
        if origin.remote is not None and fetch_into is not None:
            from .remote import download  # (start-up: the destinations' SDK code; only such an input needs it)

            path = download(origin.remote, fetch_into)
        loaded = load_path(path, origin.read, origin.shown_as)
        if loaded.long_document is None or loaded.parts is not None:
            raise UsageError(f"--engine ray: {origin.shown_as or origin.path} changed while it was converted")
        return parallel.chunk_of(header, [loaded.long_document.read(byte_range)])
    if origin.remote is not None and fetch_into is not None and n_parts:
        from .remote import fetch_range  # (start-up: the destinations' SDK code; only such an input needs it)

        return parallel.chunk_of(header, fetch_range(origin.remote, lo, hi, n_parts, fetch_into, origin.read))
    loaded = load_path(Path(origin.path), origin.read, origin.shown_as)
    if len(loaded.parts or ()) != n_parts:
        raise UsageError(f"--engine ray: {origin.shown_as or origin.path} changed while it was converted "
                         f"({len(loaded.parts or ())} files, not {n_parts})")
    if not n_parts:
        return replace(header, documents_factory=loaded.documents_factory)
    return parallel.chunk_of(header, (loaded.parts or [])[lo:hi])


def _write_task(origin: Origin, lo: int, hi: int, n_parts: int, format_id: str, folder: str, parent_node: str,
                shared: tuple[Project, Splitter, FormatOptions, Report],
                byte_range: ByteRange | None = None) -> ChunkResult:
    """One chunk, in a Ray worker: read files ``lo``..``hi`` of ``origin`` (or ``byte_range``
    of its one long document) again and write them."""
    import ray  # (extra: labelport[ray]; a Ray worker has it)

    header, splitter, options, report = shared
    here = ray.get_runtime_context().get_node_id() == parent_node
    fmt = get_format(format_id)
    with tempfile.TemporaryDirectory(prefix="labelport-chunk-") as temp:
        chunk = read_chunk(origin, header, lo, hi, n_parts, fetch_folder(origin, Path(temp)), byte_range)
        ctx = Context(chunk, report, splitter, options, Progress("", enabled=False))  # (write_chunk counts in its own)
        if here:
            part, documents = parallel.write_chunk(fmt, chunk, Path(folder), ctx)
            return ChunkResult(part, documents, None)
        part, documents = parallel.write_chunk(fmt, chunk, Path(temp) / "out", ctx)
        files = _collect(Path(temp) / "out")
    return ChunkResult(replace(part, folder=Path(folder)), documents, files)


def _collect(folder: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    for rel in files_under(folder):
        data = (folder / rel).read_bytes()
        total += len(data)
        if total > RETURN_LIMIT:
            raise UsageError(f"--engine ray: a chunk's files come to more than {RETURN_LIMIT:,} bytes, "
                             "the most a task on another node hands back; give more tasks with --jobs")
        files[rel] = data
    return files


def _place(files: dict[str, bytes], folder: Path) -> None:
    for rel, data in files.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
