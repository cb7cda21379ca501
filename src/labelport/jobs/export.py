"""An export as a job: read, convert, check, deliver, notify.

The job's spec (:class:`~labelport.jobs.spec.ExportSpec`) is plain data, so
any process can run it or pick it up again after a crash. Converted files are
kept under LABELPORT_HOME/exports/ (or the folder asked for), so a failed
delivery can be pushed again.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..client.fetch import fetch_export, fetch_timeout, served, split_options
from ..conversion import convert, load
from ..delivery import Notice, push
from ..delivery.destinations.base import DeliveryOptions
from ..formats.registry import format_id, get_format, make_options, option_names
from ..guards.private import home
from ..guards.redaction import redact
from ..model import Project
from .kinds import Local, Progress
from .spec import ExportSpec, checked
from .store import Job, open_store, start_detached, start_thread

#: How much of a job's progress the conversion takes; delivery takes the rest.
CONVERT_SHARE = 50

#: What `labelport export` stored for every format before each format owned
#: its options (their defaults then): a format that does not take one ignored
#: it, so a stored spec holding it still runs.
_STORED_DEFAULTS = {"label_separator": "|", "offset_unit": "codepoint"}


def export_folder(format_id: str) -> Path:
    """A new folder name, unique across processes starting exports at once."""
    return home() / "exports" / f"{time.strftime('%Y%m%d-%H%M%S')}-{format_id.lower()}-{uuid.uuid4().hex[:8]}"


def make_spec(
    input: str,
    format: str,
    *,
    to: str | None,
    out: str | Path | None = None,
    read: dict[str, Any] | None = None,
    convert: dict[str, Any] | None = None,
    delivery: dict[str, Any] | None = None,
    notices: list[dict[str, Any]] | None = None,
    engine: str = "local",
    ray_address: str | None = None,
) -> ExportSpec:
    """A job's spec; UsageError, with nothing stored, for an unknown format or
    an option the format does not take."""
    if "://" not in input:  # a path: the job may be picked up again from another folder
        input = str(Path(input).resolve())
    format = format_id(format)  # an unknown name fails before the job exists; an alias becomes the id
    make_options(get_format(format), {k: v for k, v in (convert or {}).items() if k in option_names()})
    return ExportSpec(
        input=input,
        read=read or {},
        format=format,
        convert=convert or {},
        out=str(Path(out).resolve() if out else export_folder(format)),
        to=to if to is None or "://" in to else str(Path(to).resolve()),
        delivery=delivery or {},
        notices=notices or [],
        engine=engine,
        ray_address=ray_address,
    )


def run_export(spec: ExportSpec, progress: Progress, local: Local = Local()) -> dict[str, Any]:
    """Do what an export's spec says (jobs.kinds); return the job's result.
    ``local.project``: the project, already loaded; ``local.echo``: where the
    conversion's and the delivery's summary lines go."""
    progress(1)
    # -- Export API client (labelport.client.fetch): a datasaur:// input in a format the
    # server writes itself is fetched, laid out and checked instead of converted.
    convert_options, fetch_options = split_options(_stored_options(spec.format, spec.convert))
    project = local.project
    if project is None and served(spec.input, spec.format, fetch_options):
        fetched = fetch_export(spec.input, spec.format, spec.out, timeout=fetch_options["timeout"],
                               convert_options=convert_options)
        report, project_id = fetched.report, fetched.project_id
    else:
        if project is None:
            with fetch_timeout(fetch_options["timeout"]):
                project = load(spec.input, **spec.read)
        # (a bar only for a job run by the command line, on its terminal: local.echo is its stderr)
        report = convert(project, spec.format, spec.out, progress=None if local.echo else False,
                         engine=spec.engine, ray_address=spec.ray_address, **convert_options)
        project_id = project.id
    # -- end Export API client
    if local.echo:
        for line in report.summary_lines():
            local.echo(line)
    progress(CONVERT_SHARE)
    result: dict[str, Any] = {"out": spec.out, "format": spec.format, "projectId": project_id}
    if spec.to:
        share = 100 - CONVERT_SHARE
        options = replace(checked(spec.delivery, DeliveryOptions, "job spec.delivery"),
                          listener=lambda done, total: progress(CONVERT_SHARE + share * done // max(total, 1)))
        notices = [_notice(stored, project_id, f"job spec.notices[{i}]") for i, stored in enumerate(spec.notices)]
        delivered = push(spec.out, spec.to, options, notices, local.ledger)
        if local.echo:
            local.echo(delivered.summary())
        result.update(  # kept in the job store and shown by `labelport status`: no signature or token
            destination=redact(spec.to),
            fileUrl=None if delivered.link is None else redact(delivered.link),
            uploaded=delivered.uploaded,
            objects=[o.uri for o in delivered.objects],
        )
    return result


def _notice(stored: dict[str, Any], project_id: Any, where: str) -> Notice:
    """A stored notice, about the project exported unless it names one."""
    notice = checked(stored, Notice, where)
    return notice if "project_id" in stored else replace(notice, project_id=project_id)


def _stored_options(format_id: str, convert: dict[str, Any]) -> dict[str, Any]:
    """A spec's conversion options without the defaults an older spec holds
    for options its format does not take (``_STORED_DEFAULTS``)."""
    taken = option_names(get_format(format_id))
    return {key: value for key, value in convert.items()
            if key in taken or key not in _STORED_DEFAULTS or value != _STORED_DEFAULTS[key]}


def submit(spec: ExportSpec, *, detach: bool = False, project: Project | None = None) -> Job:
    """Queue an export and start it: in a process of its own (``detach``),
    else in a thread of this one. Returns at once."""
    jobs = open_store()
    job = jobs.create(spec)
    if detach:
        start_detached(job.id)
    else:
        start_thread(jobs, job.id, Local(project=project))
    return job
