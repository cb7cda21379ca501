"""Reading and converting a project: what ``labelport.load`` and
``labelport.convert`` do. The Python API (:mod:`labelport.api`) re-exports
them; export jobs (:mod:`labelport.jobs.export`) run them.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from ..errors import UsageError
from ..formats.registry import get_format, make_options, reader_id
from ..model import REVIEWER, Project
from ..readers import ReadOptions
from ..report import Report

if TYPE_CHECKING:
    from .ray_engine import RayChunks
    from .remote import Listed

#: The URL schemes of object storage an input is read from (labelport.conversion.remote).
OBJECT_STORAGE = ("s3://", "gs://", "az://")


def load(
    path: str | Path,
    *,
    from_format: str | None = None,
    text_column: str | None = None,
    label_columns: Iterable[str] = (),
    label_separator: str | None = None,
    columns: Iterable[str] | None = None,
) -> Project:
    """Read a file, folder or zip (a Datasaur export, CoNLL/IOB, JSON, a table),
    also from object storage (``s3://BUCKET/PREFIX``, ``gs://…``, ``az://…``:
    downloaded first; see ``labelport.conversion.remote``).

    ``columns`` names the columns of a table without a header row;
    ``label_columns`` are the table columns that hold labels (they become
    questions); ``label_separator`` splits multi-label cells.
    """
    options = ReadOptions(
        format=reader_id(from_format) if from_format is not None else None,
        text_columns=[text_column] if text_column else [],
        label_columns=list(label_columns),
        label_separator=label_separator,
        columns=list(columns) if columns is not None else None,
    )
    if isinstance(path, str) and path.lower().startswith("datasaur://"):
        from ..client.fetch import load_datasaur  # (start-up: ~27 ms: the client, orjson, zipfile)

        return load_datasaur(path, options)
    remote: Listed | None = None
    if is_object_storage(path):
        from .remote import load_remote  # (start-up: the destinations' SDK code; only such an input needs it)

        project, remote, folder = load_remote(str(path), options)
        path = folder / remote.name
    else:
        from ..readers.layout import load_path  # (start-up: the layout loads zipfile and the Datasaur pieces, ~11 ms)

        project = load_path(Path(path), options)
    _ORIGINS[id(project)] = (str(path), options, remote)
    weakref.finalize(project, _ORIGINS.pop, id(project), None)
    return project


def is_object_storage(path: object) -> bool:
    """Whether ``path`` is an ``s3://``, ``gs://`` or ``az://`` URL (read by labelport.conversion.remote)."""
    return isinstance(path, str) and path.lower().startswith(OBJECT_STORAGE)


#: How each project :func:`load` read from a local path or object storage was
#: read (by the project's id(), while it lives): what ``engine="ray"`` tasks read
#: again (the local path: for object storage, the downloaded copy; and the listing).
_ORIGINS: dict[int, tuple[str, ReadOptions, Listed | None]] = {}


def convert(
    project: Project | str | Path,
    format: str,
    out: str | Path,
    *,
    split: dict[str, float] | None = None,
    seed: int = 0,
    split_by: str | None = None,
    stratify: bool = False,
    role: str = REVIEWER,
    zip: str | None = None,
    strict: bool = False,
    overwrite: bool = False,
    label_separator: str | None = None,
    offset_unit: str | None = None,
    question: str | None = None,
    transformer: str | None = None,
    progress: bool | None = False,
    jobs: int = 1,
    engine: str = "local",
    ray_address: str | None = None,
) -> Report:
    """Write ``project`` in ``format`` into the folder ``out``.

    Raises :class:`labelport.errors.RejectedError` (after writing) when the
    target would reject the files, or with ``strict`` when anything was not
    carried; the report says what. ``out`` is refused (UsageError, nothing
    written) when it is, is inside or holds the input, or holds files an earlier
    run did not write; ``overwrite`` keeps those files in the new output
    instead. ``split`` ({"train": 0.8, "test": 0.2}) splits by ``split_by``:
    "document" (the default for a project of several documents), "line" (a
    line or row; the default for one document) or a table column or document
    field whose value keeps rows or documents together; ``stratify`` keeps
    each label's share close to the split's (see labelport.formats.splits).
    ``jobs`` > 1 converts a project of many
    files in that many processes (same bytes; see ``labelport.conversion.parallel`` for what stays in one).
    ``engine="ray"`` writes those files' chunks as Ray tasks instead (same
    bytes; ``jobs`` tasks, the Ray cluster's CPUs when 1) on the cluster at
    ``ray_address`` (else ``RAY_ADDRESS``, else a local Ray started for this
    process); ``project`` is then a local path, or a project :func:`load`
    read from one, since each task reads its files again (see
    ``labelport.conversion.ray_engine``).

    The format's own options, None when not given: ``label_separator`` (CSV,
    TSV, XLSX, JSON_TABULAR, JSON: joins several answers in a cell, default "|"),
    ``offset_unit`` ("codepoint" or "utf16": AMAZON_COMPREHEND_CSV,
    GCP_VERTEX_AI_CSV), ``question`` (the classifier's labels: the cloud CSVs
    and HF_DATASET), ``transformer`` (CUSTOM). One the format does not take
    is a UsageError naming the formats that take it, before anything is read.
    """
    from .pipeline import run_conversion  # (start-up: loads orjson, zipfile and the format base)

    options = make_options(get_format(format), {"label_separator": label_separator, "offset_unit": offset_unit,
                                                "question": question, "transformer": transformer})
    if not isinstance(project, Project):
        project = load(project)
    ray_chunks = _ray_chunks(project, ray_address) if checked_engine(engine) == "ray" else None
    return run_conversion(
        project,
        format,
        out,
        split=split,
        seed=seed,
        split_by=split_by,
        stratify=stratify,
        role=role,
        zip_name=zip,
        strict=strict,
        overwrite=overwrite,
        options=options,
        progress=progress,
        jobs=jobs,
        engine=ray_chunks,
    )


def checked_engine(engine: str, input: str | None = None) -> str:
    """``engine``, when it is one labelport has and its packages are installed
    (an "install labelport[ray]" UsageError otherwise, before any work), and
    for ``ray``, can read ``input`` again in its tasks."""
    from .ray_engine import checked_engine  # (start-up: only a conversion needs it)

    checked_engine(engine)
    if engine == "ray" and input is not None and input.lower().startswith("datasaur://"):
        raise UsageError("--engine ray reads a local file, folder or zip, or object storage, in this version",
                         file=input)
    return engine


def _ray_chunks(project: Project, address: str | None) -> RayChunks:
    from .ray_engine import Origin, RayChunks  # (start-up: only a conversion needs it)

    origin = _ORIGINS.get(id(project))
    if origin is None:
        raise UsageError("--engine ray reads the project again in each task: give a local file, folder or zip "
                         "or an s3://, gs:// or az:// URL (or a project labelport.load read from one)",
                         file=project.source)
    return RayChunks(Origin(*origin), address)
