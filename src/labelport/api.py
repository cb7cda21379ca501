"""The Python API: ``load``, ``convert`` (from :mod:`labelport.conversion`), ``inspect``, ``agreement``,
``export``, ``push``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from .conversion import convert, load
from .model import CONFLICT, Project

if TYPE_CHECKING:
    from .delivery import DeliveryResult
    from .jobs.store import Job

__all__ = ["load", "convert", "inspect", "agreement", "export", "push"]


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


def agreement(project: Project | str | Path) -> dict[str, Any]:
    """How far the labelers agree, with each other and with the final (REVIEW)
    version: span precision, recall and F1 per pair and label, Cohen's kappa
    per pair, Krippendorff's alpha over the labelers, the spans most disputed.
    See :mod:`labelport.iaa` for the shape.

    Raises :class:`labelport.InputError` when the project has no labelers' versions.
    """
    from .iaa import agreement as measure  # (start-up: only inspect --agreement needs it)

    return measure(project if isinstance(project, Project) else load(project))


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
    # (start-up: `import labelport` stays light; the delivery package costs ~30 ms)
    from .delivery import Notice, preflight
    from .delivery import push as deliver
    from .delivery.destinations.base import DeliveryOptions

    methods = [method] if isinstance(method, str) else list(method)
    notices = [Notice(m.upper(), url=url, secret=secret, email=email, project_id=project_id) for m in methods]
    options = DeliveryOptions(part_size=part_size, concurrency=concurrency, private=private, revision=revision,
                              progress=progress)
    preflight(to, options, folder)  # offline; the push looks the place up before uploading
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
    from .jobs.export import make_spec, submit  # (start-up: the jobs load delivery, the job store and msgspec)
    from .jobs.preflight import check_export

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
    loaded = project if isinstance(project, Project) and not detach else None
    check_export(spec, loaded=loaded is not None)  # before the job exists: a refused export leaves nothing
    return submit(spec, detach=detach, project=loaded)
