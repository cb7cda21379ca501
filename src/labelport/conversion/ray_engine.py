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

This step reads local inputs (a file, a folder, a zip) and writes a local
output folder; a cluster's nodes need the input at the same path and
labelport installed.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

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
from ..report import Report
from . import parallel

ENGINES = ("local", "ray")

#: The most bytes of files a task on another node hands back for one chunk.
RETURN_LIMIT = 1 << 30


@dataclass(frozen=True)
class Origin:
    """Where a project was read from, and how: what a task reads again."""

    path: str
    read: ReadOptions


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
        node = ray.get_runtime_context().get_node_id()
        shared = ray.put(shared_by_tasks(project, ctx))
        write = ray.remote(_write_task).options(num_cpus=1, max_retries=0)
        spans = parallel.chunks(n_parts, jobs)
        pending = [
            write.remote(self.origin, lo, hi, n_parts, fmt.id, str(parallel.chunk_folder(work, n)), node, shared)
            for n, (lo, hi) in enumerate(spans)
        ]
        parts = []
        try:
            for (_, hi), ref in zip(spans, pending):
                result: ChunkResult = _result(ray, ref)
                if result.files is not None:
                    _place(result.files, result.part.folder)
                parts.append(result.part)
                for _ in range(result.documents):
                    ctx.progress.document()
                ctx.progress.files_read(hi)
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
    header = replace(project, documents_factory=_no_documents, parts=None, size_hint=None)
    return header, ctx.splitter, ctx.options, ctx.report.fresh()


def _no_documents() -> Any:
    return iter(())


def read_chunk(origin: Origin, header: Project, lo: int, hi: int, n_parts: int) -> Project:
    """``header`` (:func:`shared_by_tasks`) with the documents of files ``lo``..``hi`` of
    ``origin`` read again (of its one file when it has no parts: ``n_parts`` 0)."""
    loaded = load_path(Path(origin.path), origin.read)
    if len(loaded.parts or ()) != n_parts:
        raise UsageError(f"--engine ray: {origin.path} changed while it was converted "
                         f"({len(loaded.parts or ())} files, not {n_parts})")
    if not n_parts:
        return replace(header, documents_factory=loaded.documents_factory)
    return parallel.chunk_of(header, (loaded.parts or [])[lo:hi])


def _write_task(origin: Origin, lo: int, hi: int, n_parts: int, format_id: str, folder: str, parent_node: str,
                shared: tuple[Project, Splitter, FormatOptions, Report]) -> ChunkResult:
    """One chunk, in a Ray worker: read files ``lo``..``hi`` of ``origin`` again and write them."""
    import ray  # (extra: labelport[ray]; a Ray worker has it)

    header, splitter, options, report = shared
    chunk = read_chunk(origin, header, lo, hi, n_parts)
    fmt = get_format(format_id)
    ctx = Context(chunk, report, splitter, options, Progress("", enabled=False))  # (write_chunk counts in its own)
    if ray.get_runtime_context().get_node_id() == parent_node:
        part, documents = parallel.write_chunk(fmt, chunk, Path(folder), ctx)
        return ChunkResult(part, documents, None)
    with tempfile.TemporaryDirectory(prefix="labelport-chunk-") as temp:
        part, documents = parallel.write_chunk(fmt, chunk, Path(temp), ctx)
        files = _collect(Path(temp))
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
