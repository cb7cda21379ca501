"""``--jobs N``: a project made of many files, converted in N processes.

The files are cut into contiguous chunks; each worker process (forked, so it
shares the loaded project) writes its chunks' documents with the same
per-document writer into a folder of its own and sends back its report. The
parent then moves the files into place in chunk order and adds the reports
up, so the output is byte-identical to ``--jobs 1``. Two chunks writing the
same file name (two documents of one name, which the sequential run would
have told apart with ``-2``) cannot be merged exactly: then the conversion
runs again in one process.

Only per-document formats share out this way; a project-wide format (one
documents.txt, one parquet table) is written by one process.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from itertools import chain
from pathlib import Path

from .formats.base import Context, Format, write_per_document
from .model import DOCUMENT_BASED, Project
from .progress import Progress
from .report import Report

#: What the forked workers need; set just before the pool starts.
_WORK: tuple[Format, Project, Context] | None = None


def applicable(fmt: Format, project: Project, jobs: int) -> bool:
    return (
        jobs > 1
        and fmt.write_project is None
        and bool(project.parts)
        and len(project.parts or ()) > 1
        and not (fmt.one_table and DOCUMENT_BASED in project.kinds)  # one table across documents
    )


def _chunks(n_parts: int, jobs: int) -> list[tuple[int, int]]:
    # A few chunks per worker even out documents of different sizes.
    n_chunks = min(n_parts, jobs * 4)
    bounds = [round(i * n_parts / n_chunks) for i in range(n_chunks + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(n_chunks)]


def _convert_chunk(task: tuple[int, int, str]) -> tuple[Report, int]:
    lo, hi, folder = task
    assert _WORK is not None
    fmt, project, ctx = _WORK
    parts = (project.parts or [])[lo:hi]
    chunk = replace(project, documents_factory=lambda: chain.from_iterable(p.documents() for p in parts), parts=None)
    report = Report(ctx.report.source, ctx.report.format_id, ctx.report.options)
    report.versions_written = ctx.report.versions_written
    with Progress("", enabled=False) as quiet:
        write_per_document(fmt, chunk, Path(folder), replace(ctx, project=chunk, report=report, progress=quiet))
    report.hash_files(Path(folder))  # here, in parallel, rather than in the parent afterwards
    return report, quiet.documents


def write_parallel(fmt: Format, project: Project, out: Path, ctx: Context, jobs: int) -> bool:
    """Write ``project`` into ``out`` with ``jobs`` processes; False when the
    chunks' files could not be merged exactly (nothing is left in ``out``)."""
    from concurrent.futures import ProcessPoolExecutor  # only a --jobs run pays for these imports
    from multiprocessing import get_context

    global _WORK
    work = out / ".jobs"
    tasks = [(lo, hi, str(work / f"{n:05}")) for n, (lo, hi) in enumerate(_chunks(len(project.parts or ()), jobs))]
    _WORK = (fmt, project, ctx)
    try:
        with ProcessPoolExecutor(jobs, mp_context=get_context("fork")) as pool:
            results = []
            for report, documents in pool.map(_convert_chunk, tasks):
                results.append(report)
                for _ in range(documents):
                    ctx.progress.document()
    finally:
        _WORK = None
    placed: set[str] = set()
    moves: list[tuple[Path, Path]] = []
    for (_, _, folder), report in zip(tasks, results):
        for rel in report.files:
            if rel in placed:
                shutil.rmtree(work)
                return False
            placed.add(rel)
            moves.append((Path(folder, rel), out / rel))
    for source, target in moves:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
    shutil.rmtree(work)
    for report in results:
        ctx.report.merge(report)
    return True
