"""The Python API: ``load``, ``convert``, ``inspect``, ``export``, ``push``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from .formats.registry import reader_id
from .model import CONFLICT, REVIEWER, Project
from .readers import ReadOptions
from .readers import load as _load
from .report import Report

if TYPE_CHECKING:
    from .delivery import DeliveryResult
    from .jobs import Job


def load(
    path: str | Path,
    *,
    from_format: str | None = None,
    text_column: str | None = None,
    label_columns: Iterable[str] = (),
    label_separator: str | None = None,
    columns: Iterable[str] | None = None,
) -> Project:
    """Read a file, folder or zip (a Datasaur export, CoNLL/IOB, JSON, a table).

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
        from .fetch import load_datasaur  # (start-up: the Export API client loads httpx)

        return load_datasaur(path, options)
    return _load(path, options)


def convert(
    project: Project | str | Path,
    format: str,
    out: str | Path,
    *,
    split: dict[str, float] | None = None,
    seed: int = 0,
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
) -> Report:
    """Write ``project`` in ``format`` into the folder ``out``.

    Raises :class:`labelport.errors.RejectedError` (after writing) when the
    target would reject the files, or with ``strict`` when anything was not
    carried; the report says what. ``out`` is refused (UsageError, nothing
    written) when it is, is inside or holds the input, or holds files an earlier
    run did not write; ``overwrite`` keeps those files in the new output
    instead. ``jobs`` > 1 converts a project of many
    files in that many processes (same bytes; see ``labelport.parallel`` for what stays in one).

    The format's own options, None when not given: ``label_separator`` (CSV,
    TSV, XLSX, JSON_TABULAR, JSON: joins several answers in a cell, default "|"),
    ``offset_unit`` ("codepoint" or "utf16": AMAZON_COMPREHEND_CSV,
    GCP_VERTEX_AI_CSV), ``question`` (the classifier's labels: the cloud CSVs
    and HF_DATASET), ``transformer`` (CUSTOM). One the format does not take
    is a UsageError naming the formats that take it, before anything is read.
    """
    from .formats.base import make_options
    from .formats.registry import get_format
    from .pipeline import run_conversion

    options = make_options(get_format(format), {"label_separator": label_separator, "offset_unit": offset_unit,
                                                "question": question, "transformer": transformer})
    if not isinstance(project, Project):
        project = load(project)
    return run_conversion(
        project,
        format,
        out,
        split=split,
        seed=seed,
        role=role,
        zip_name=zip,
        strict=strict,
        overwrite=overwrite,
        options=options,
        progress=progress,
        jobs=jobs,
    )


def inspect(project: Project | str | Path) -> dict[str, Any]:
    """Kinds, documents, lines, tokens, rows, spans per label, labelers, conflicts."""
    if not isinstance(project, Project):
        project = load(project)
    counts: Counter[str] = Counter()
    per_label: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    for document in project.documents():
        counts["documents"] += 1
        for line in document.lines:
            counts["lines"] += 1
            counts["tokens"] += len(line.tokens)
            for span in line.spans:
                counts["spans"] += 1
                per_label[span.label] += 1
                counts["conflicts"] += span.labeled_by == CONFLICT
        for row in document.rows:
            counts["rows"] += 1
            for answer_set in row.answer_sets:
                counts["conflicts"] += answer_set.labeled_by == CONFLICT
            for value in row.answers.values():
                for item in value if isinstance(value, list) else [value]:
                    answers[str(item)] += 1
        counts["arrows"] += len(document.arrows)
        counts["conflicts"] += sum(a.labeled_by == CONFLICT for a in document.arrows)
        counts["conflicts"] += sum(a.labeled_by == CONFLICT for a in document.answer_sets)
        for value in document.answers.values():
            for item in value if isinstance(value, list) else [value]:
                answers[str(item)] += 1
    return {
        "project": {"id": project.id, "name": project.name, "source": project.source},
        "kinds": list(project.kinds),
        **{k: counts[k] for k in ("documents", "lines", "tokens", "rows", "spans", "arrows", "conflicts")},
        "spans_per_label": dict(per_label.most_common()),
        "answers_per_value": dict(answers.most_common()),
        "label_sets": [{"name": ls.name, "labels": [lb.name for lb in ls.labels]} for ls in project.label_sets],
        "questions": [q.name for q in (*project.questions, *project.document_questions)],
        "labelers": [labeler.email for labeler in project.labelers],
    }


def push(
    folder: str | Path,
    to: str,
    *,
    method: str | Iterable[str] = (),
    url: str | None = None,
    secret: str | None = None,
    email: str | None = None,
    part_size: int = 8 << 20,
    concurrency: int = 4,
    private: bool = False,
    revision: str | None = None,
    project_id: str | None = None,
    progress: bool | None = False,
) -> "DeliveryResult":
    """Deliver a converted folder to ``to`` (a folder, s3://, gs://, az://,
    hf://datasets/…), skipping what is already there, then notify by
    ``method`` (CUSTOM_WEBHOOK with ``url`` and ``secret``, EMAIL with ``email``).

    Raises :class:`labelport.DeliveryError` when the delivery fails.
    """
    from .delivery import Notice
    from .delivery import push as deliver
    from .destinations.base import DeliveryOptions

    methods = [method] if isinstance(method, str) else list(method)
    notices = [Notice(m.upper(), url=url, secret=secret, email=email, project_id=project_id) for m in methods]
    options = DeliveryOptions(part_size=part_size, concurrency=concurrency, private=private, revision=revision,
                              progress=progress)
    return deliver(folder, to, options, notices)


def export(
    project: Project | str | Path,
    format: str,
    *,
    to: str | None = None,
    out: str | Path | None = None,
    method: str | Iterable[str] = (),
    url: str | None = None,
    secret: str | None = None,
    email: str | None = None,
    part_size: int = 8 << 20,
    concurrency: int = 4,
    private: bool = False,
    revision: str | None = None,
    detach: bool = False,
    **convert_options: Any,
) -> "Job":
    """Start an export job and return it at once: convert ``project`` to
    ``format`` (in ``out``, or a folder under LABELPORT_HOME/exports), check
    the target's rules, deliver to ``to`` and notify by ``method``.

    ``job.wait(timeout)`` blocks until it is DELIVERED or FAILED; ``job.status``,
    ``job.progress``, ``job.errors`` and ``job.result`` tell how it went.
    ``convert_options`` are :func:`convert`'s (split, seed, role, zip, strict…).
    With ``detach`` the job runs in a process of its own, which outlives this one.
    """
    from .exports import make_spec, submit

    source = project.source if isinstance(project, Project) else str(project)
    methods = [method] if isinstance(method, str) else list(method)
    spec = make_spec(
        str(source),
        format,
        to=to,
        out=out,
        convert=convert_options,
        delivery={"part_size": part_size, "concurrency": concurrency, "private": private, "revision": revision},
        notices=[{"method": m.upper(), "url": url, "secret": secret, "email": email} for m in methods],
    )
    return submit(spec, detach=detach, project=project if isinstance(project, Project) and not detach else None)
