"""``--jobs N``: a project made of many files, converted in N processes.

The files are cut into contiguous chunks; each worker process (forked, so it
shares the loaded project) writes its chunks' documents with the format's own
writer into a folder of its own, with a report of its own. The parent then
puts the chunks' output together in chunk order, byte-identical to
``--jobs 1``, report included:

- a per-document format's files are moved into place as they are and the
  reports added up. Two chunks writing the same file name (two documents of
  one name, which the sequential run would have told apart with ``-2``)
  cannot be merged exactly: then the conversion runs again in one process.
- a project-wide format (one documents.txt for all documents) is merged by its
  ``Format.merge_parts``: the chunks' files concatenated (renumbered where a
  row names a line of another file), its configuration files and notes made
  once for the whole output. It says when a project's chunks cannot be merged
  exactly, and so does a chunk's finding (see :func:`_merge_project_wide`):
  then too the conversion runs again in one process.

A project of one file that is one long document (a CoNLL/IOB file with no
-DOCSTART-, labelport.readers.long_document) is shared out in chunks of its
byte ranges instead, each a piece of the one document (the same name and id;
its lines keep their indexes, which a split by line goes by): a per-document
format that says how its file's pieces join (``Format.pieces``: TSV_IOB,
TSV_NON_IOB, CONLL_2003) has each file's pieces joined in chunk order; a
project-wide format whose merge_parts takes a document in pieces (its rows are
the document's lines, renumbered across chunks: ``Format.merges_pieces``,
AMAZON_COMPREHEND_CSV and GCP_VERTEX_AI_CSV) merges them as it merges chunks
of documents; either way the report's counts of the document and its files are
made those of one document. The other formats write such a file in one
process: a document's JSON (DATASAUR_SCHEMA, JSON_ADVANCED, ...) cannot be
put together from pieces, and HF_DATASET's chunks find their own labels.

merge_parts merges token labeling only: a project-wide format's row or
document labeling is written by one process. HF_DATASET's chunks each write
their own Parquet shards (Format.write_chunk), which its merge_parts names as
the shards of one dataset: the rows of one process in its order, in one shard
per chunk and split rather than one per split.

N is checked first (:func:`checked_jobs`): at least 1, at most the CPUs this
process may run on; more would only add processes competing for them.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import replace
from itertools import chain
from pathlib import Path
from typing import Any, Protocol, Sequence

from ..errors import UsageError
from ..formats.base import Context, Format, FormatOptions, QuestionOption
from ..formats.parts import Part, Pieces, merge_reports
from ..model import DOCUMENT_BASED, TOKEN_BASED, Project
from ..progress import Progress
from ..report import Report

#: What the forked workers need; set just before the pool starts.
_WORK: tuple[Format, Project, Context] | None = None

def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask where the system
    has one (a container or ``taskset`` may allow fewer than the machine has)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def checked_jobs(jobs: object, local: bool = True) -> int:
    """The number of processes to convert in for ``--jobs``/``jobs=``: a whole
    number from 1; on this machine (``local``), more than :func:`usable_cpus`
    is capped to it, with a one-line notice on stderr."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"--jobs must be a whole number of processes, 1 or more, not {jobs!r}")
    if not local:
        return jobs
    cpus = usable_cpus()
    if jobs > cpus:
        print(f"labelport: --jobs {jobs}: this process may use {cpus} CPUs; converting in {cpus}", file=sys.stderr)
        return cpus
    return jobs


def applicable(fmt: Format, project: Project, jobs: int, options: FormatOptions) -> bool:
    if jobs < 2 or (fmt.one_table and DOCUMENT_BASED in project.kinds):  # one table across documents
        return False
    if len(project.parts or ()) > 1:
        return fmt.write_project is None or _mergeable(fmt, project, options)
    joins = fmt.pieces is not None if fmt.write_project is None else (
        fmt.merges_pieces and _mergeable(fmt, project, options))
    return joins and len(long_ranges(project)) > 1  # (the ranges are planned last: a pass over the file's bytes)


def long_ranges(project: Project) -> Sequence[Any]:
    """The byte ranges of a one-file project's one long document; none for another project."""
    if project.parts is not None or project.long_document is None:
        return ()
    return project.long_document.ranges()


def shared_units(project: Project) -> int:
    """How many consecutive units (files, or a long document's byte ranges) ``project`` is shared out in."""
    return len(project.parts) if project.parts is not None else len(long_ranges(project))


def chunk_between(project: Project, lo: int, hi: int) -> Project:
    """``project`` made of its units (see :func:`shared_units`) ``lo``..``hi`` alone."""
    if project.parts is not None:
        return chunk_of(project, project.parts[lo:hi])
    assert project.long_document is not None
    return chunk_of(project, [project.long_document.read(project.long_document.joined(lo, hi))])


def _mergeable(fmt: Format, project: Project, options: FormatOptions) -> bool:
    # merge_parts knows a format's token-labeling output (--question would make
    # AZURE_AUTOML_CSV write a classifier even for a token-labeling project)
    return fmt.merge_parts is not None and TOKEN_BASED in project.kinds and not (
        isinstance(options, QuestionOption) and options.question is not None)


def chunks(n_parts: int, jobs: int) -> list[tuple[int, int]]:
    """The file ranges ``[lo, hi)`` a project of ``n_parts`` files is cut into for ``jobs`` workers."""
    # A few chunks per worker even out documents of different sizes.
    n_chunks = min(n_parts, jobs * 4)
    bounds = [round(i * n_parts / n_chunks) for i in range(n_chunks + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(n_chunks)]


def _convert_chunk(task: tuple[int, int, str]) -> tuple[Part, int]:
    lo, hi, folder = task
    assert _WORK is not None
    fmt, project, ctx = _WORK
    return write_chunk(fmt, chunk_between(project, lo, hi), Path(folder), ctx)


def chunk_of(project: Project, parts: Sequence[Project]) -> Project:
    """``project`` made of the documents of ``parts`` (some of its files, or a range of its one) alone."""
    return replace(project, documents_factory=lambda: chain.from_iterable(p.documents() for p in parts), parts=None,
                   long_document=None)


def write_chunk(fmt: Format, chunk: Project, folder: Path, ctx: Context) -> tuple[Part, int]:
    """Write one chunk into ``folder`` with a report of its own: its Part, and
    the documents it held (the parent's progress counts them)."""
    report = ctx.report.fresh()
    with Progress("", enabled=False) as quiet:
        chunk_ctx = replace(ctx, project=chunk, report=report, progress=quiet)
        if fmt.write_chunk is not None:
            fmt.write_chunk(chunk, folder, chunk_ctx)
        else:
            fmt.write(chunk, folder, chunk_ctx)
    if fmt.write_project is None:
        report.hash_files(folder)  # moved as they are: hashed here, in parallel, rather than in the parent
    notes, report.notes = report.notes, {}
    return Part(folder, report, notes), quiet.documents


class Engine(Protocol):
    """What writes a project's chunks somewhere else than forked processes
    (labelport.conversion.ray_engine.RayChunks)."""

    def tasks(self) -> int:
        """How many tasks to share a project out to when not told."""

    def __call__(self, fmt: Format, project: Project, ctx: Context, jobs: int, work: Path) -> list[Part]:
        """Write the chunks of ``project`` (:func:`chunks` of its :func:`shared_units`)
        into their folders under ``work`` (:func:`chunk_folder`); their Parts in
        chunk order, the progress told of each as it comes (:func:`chunk_done`)."""


def write_parallel(fmt: Format, project: Project, out: Path, ctx: Context, jobs: int,
                   engine: Engine | None = None) -> bool:
    """Write ``project`` into ``out`` with ``jobs`` processes (or ``jobs`` tasks
    of ``engine``); False when the chunks' output could not be merged exactly
    (nothing is left in ``out``)."""
    work = out / ".jobs"
    try:
        parts = (engine or _convert_chunks)(fmt, project, ctx, jobs, work)
        pieces = project.parts is None  # (a long document's)
        if fmt.write_project is not None:
            merged = _merge_project_wide(fmt, parts, out, ctx)
        else:
            merged = _move_files(parts, out, ctx, fmt.pieces if pieces else None)
        if merged and pieces:
            _one_document(ctx.report, parts, fmt.write_project is None)
        if not merged:
            ctx.progress.restart()  # one process converts it all again
        return merged
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _convert_chunks(fmt: Format, project: Project, ctx: Context, jobs: int, work: Path) -> list[Part]:
    from concurrent.futures import ProcessPoolExecutor  # (start-up: ~4 ms; only a --jobs run needs it)
    from multiprocessing import get_context  # (start-up: ~6 ms; only a --jobs run needs it)

    global _WORK
    tasks = [(lo, hi, str(chunk_folder(work, n))) for n, (lo, hi) in enumerate(chunks(shared_units(project), jobs))]
    _WORK = (fmt, project, ctx)
    try:
        with ProcessPoolExecutor(jobs, mp_context=get_context("fork")) as pool:
            parts = []
            for (_, hi, _), (part, documents) in zip(tasks, pool.map(_convert_chunk, tasks)):
                parts.append(part)
                chunk_done(project, ctx, hi, documents, last=hi == tasks[-1][1])
    finally:
        _WORK = None
    return parts


def chunk_done(project: Project, ctx: Context, hi: int, documents: int, last: bool) -> None:
    """Tell the progress of a chunk written (chunks come back in order: every unit before ``hi`` is read)."""
    if project.parts is not None:
        for _ in range(documents):
            ctx.progress.document()
        ctx.progress.files_read(hi)
        return
    if last:
        ctx.progress.document()  # (the one document, in pieces)
    ctx.progress.bytes_read(long_ranges(project)[hi - 1].stop)


def chunk_folder(work: Path, n: int) -> Path:
    return work / f"{n:05}"


def _move_files(parts: list[Part], out: Path, ctx: Context, pieces: Pieces | None) -> bool:
    """Move the chunks' files into ``out``; a file that several chunks wrote (pieces
    of a long document's, when ``pieces`` says how they join) joined."""
    placed: dict[str, list[Path]] = {}
    for part in parts:
        for rel in part.report.files:
            if rel in placed and pieces is None:
                return False
            placed.setdefault(rel, []).append(part.folder / rel)
    for rel, sources in placed.items():
        target = out / rel
        if len(sources) == 1:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(sources[0], target)
        else:
            assert pieces is not None
            pieces.join(sources, target)
    merge_reports(ctx.report, parts)
    for rel, sources in placed.items():
        if len(sources) > 1:
            del ctx.report.files[rel]  # (a piece's hash: the joined file is hashed with the rest)
    return True


def _one_document(report: Report, parts: list[Part], files: bool) -> None:
    """The merged report of a long document's chunks made that of one document:
    each chunk counted it, in each split it wrote lines to, and (``files``: a
    per-document format's; a project-wide one's merge_parts counts its own) its
    file there."""
    report.counts["documents"] -= len(parts) - 1
    for split, counts in report.splits.items():
        for what in ("documents", "files") if files else ("documents",):
            n = sum(1 for part in parts if part.report.splits.get(split, {}).get(what))
            if n > 1:
                counts[what] -= n - 1


def _merge_project_wide(fmt: Format, parts: list[Part], out: Path, ctx: Context) -> bool:
    assert fmt.merge_parts is not None
    if any(part.report.findings for part in parts):
        # a writer's findings judge the whole project (two labels meeting in
        # one name, the first few of something with their places in a file):
        # a chunk's cannot be added up into the whole project's
        return False
    return fmt.merge_parts(parts, out, ctx)
