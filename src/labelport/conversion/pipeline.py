"""Conversion: one project, one format, one output folder, one report.

The output is staged beside OUT and moved in place only when complete, so a
failure leaves nothing behind. ``--role LABELER`` writes each labeler's
version under ``DOCUMENT-<labeler>/``; ``--zip NAME`` writes the export-all
zip (REVIEW, one DOCUMENT- folder per labeler, ROOT, project-data.json).
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import orjson

from ..errors import RejectedError, UsageError
from ..formats.base import Context, Format, FormatOptions
from ..formats.registry import formats_for_kinds, get_format
from ..formats.splits import DOCUMENT
from ..guards.output import file_name, safe_name, staged_folder
from ..model import LABELER, REVIEWER, ROLES, Document, Labeler, Project
from ..progress import Phase, Progress, counted, say
from ..report import Report
from ..validate import validate
from . import parallel
from .splitting import documents_up_to, make_splitter

#: Fixed entry time, so the same input gives a byte-identical zip.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def check_kinds(fmt: Format, project: Project) -> None:
    if not set(project.kinds) & fmt.kinds:
        kinds = ", ".join(project.kinds) or "no content"
        raise UsageError(
            f"{fmt.id} cannot serve a {kinds} project; formats that can: "
            + ", ".join(formats_for_kinds(project.kinds)),
            file=project.source,
        )


def run_conversion(
    project: Project,
    format_id: str,
    out: str | Path,
    *,
    split: dict[str, float] | None = None,
    seed: int = 0,
    split_by: str | None = None,
    stratify: bool = False,
    role: str = REVIEWER,
    zip_name: str | None = None,
    strict: bool = False,
    options: FormatOptions | None = None,
    progress: bool | None = None,
    jobs: int = 1,
    overwrite: bool = False,
    engine: parallel.Engine | None = None,
) -> Report:
    """Convert ``project`` into the folder ``out`` (see labelport.guards.output for
    what is refused; ``overwrite`` keeps the files of an earlier ``out`` that
    labelport did not write, where refusing is the default). ``options`` are
    the format's own (``Format.options``; labelport.formats.registry.make_options
    builds them from what the user gave), its defaults when None. ``engine``
    writes the chunks of a project of many files instead of ``jobs`` forked
    processes (labelport.conversion.ray_engine); ``jobs`` is then the tasks to
    share it out to, 1 leaving that to the engine."""
    jobs = parallel.checked_jobs(jobs, local=engine is None)
    fmt = get_format(format_id)
    check_kinds(fmt, project)
    role = role.upper()
    if role not in ROLES:
        raise UsageError(f"--role must be {' or '.join(ROLES)}, not {role!r}")
    archive = file_name(zip_name if zip_name.endswith(".zip") else zip_name + ".zip", "--zip") if zip_name else None
    options = fmt.options() if options is None else options
    if type(options) is not fmt.options:
        raise UsageError(f"{fmt.id} takes {fmt.options.__name__}, not {type(options).__name__}")
    splitter, split_plan = make_splitter(project, fmt, options, split, seed, split_by, stratify)
    report = Report(
        project.source,
        fmt.id,
        {"split": splitter.shares or None, "seed": seed, "role": role, "zip": zip_name},
        # (jobs is left out: the same conversion gives the same report whatever it is)
    )
    report.split_plan = split_plan
    out = Path(out)
    with staged_folder(out, inputs=[project.source], overwrite=overwrite) as stage:
        with Progress("convert", enabled=progress, size=project.size_hint) as bar:
            ctx = Context(project, report, splitter, options, bar)
            tree = None  # the export-all tree, checked before it is zipped
            if zip_name:
                tree = write_export_all(project, fmt, stage, ctx, role)
            elif role == LABELER:
                write_labeler_versions(project, fmt, stage, ctx)
            else:
                whole, whole_ctx = for_writing(fmt, project, ctx)  # (before --jobs forks: one first pass)
                if engine is not None and jobs == 1 and parallel.applicable(fmt, whole, 2, options):
                    jobs = engine.tasks()  # (asked only when the project is shared out: it may start a local Ray)
                if not (parallel.applicable(fmt, whole, jobs, options)
                        and parallel.write_parallel(fmt, whole, stage, whole_ctx, jobs, engine)):
                    fmt.write(whole, stage, whole_ctx)
            if splitter.active:
                report.check_splits(splitter.names)
        if fmt.target:
            with Phase("check", enabled=progress) as check:
                findings = validate(tree or stage, fmt.target)
                report.findings.extend(findings)
                check.outcome = f"{counted(len(findings), 'findings')} ({sum(f.hard for f in findings):,} breaking a rule)"
        else:
            say(f"check: skipped ({fmt.id} is checked against no service's rules)")
        if tree is not None and archive:
            zip_tree(tree, stage / archive)
        report.hash_files(stage)
        report.write(stage)
    if report.rejected or (strict and report.lossy):
        raise RejectedError(report_problem(report), file=out, report=report)
    return report


def for_writing(fmt: Format, project: Project, ctx: Context) -> tuple[Project, Context]:
    """``project``, and ``ctx`` for it, as ``fmt`` writes it into one folder:
    after the format's first pass (Format.first_pass) when that folder may
    get several of its files (a split by line or row, or several documents)
    and the project declares no label set. A project of one document written
    whole reads once; so does one whose label sets are declared (a Datasaur
    export's list every label of the project: a second read to check that
    would cost a third more CPU on every multi-document conversion)."""
    if fmt.first_pass is None or project.label_sets:
        return project, ctx
    splitter = ctx.splitter
    if not (splitter.active and splitter.unit != DOCUMENT) and documents_up_to(project, 2) < 2:
        return project, ctx
    whole = fmt.first_pass(project)
    return whole, replace(ctx, project=whole)


def write(fmt: Format, project: Project, out: Path, ctx: Context) -> None:
    """``fmt.write`` after :func:`for_writing`."""
    whole, whole_ctx = for_writing(fmt, project, ctx)
    fmt.write(whole, out, whole_ctx)


def report_problem(report: Report) -> str:
    if report.rejected:
        return "written, but the target would reject it (see labelport-report.json)"
    return "written, but not everything was carried (--strict; see labelport-report.json)"


# -- versions -----------------------------------------------------------------

def labeler_view(project: Project, labeler: Labeler, report: Report | None = None) -> Project:
    """``labeler``'s versions of ``project``'s documents. With ``report``, a
    conversion that writes no REVIEW version (whose pass would count them)
    has the documents' labelers' versions counted for agreement here: each
    pass read to the end makes the report's figures, so a format's first
    pass, or a trial pass written again, counts them once."""
    def documents() -> Iterator[Document]:
        tally = None
        if report is not None:
            from ..iaa import Tally  # (start-up: only writing labelers' versions needs it)

            tally = Tally.of(project)
        for document in project.documents():
            if tally is not None and document.versions:
                tally.add(document)
            version = document.versions.get(labeler.folder)
            if version is not None:
                yield version
        if report is not None and tally is not None and tally.documents:
            report.agreement = tally

    return replace(project, documents_factory=documents)


def root_view(project: Project) -> Project:
    return replace(project, documents_factory=lambda: (d.unlabeled() for d in project.documents()))


def write_labeler_versions(project: Project, fmt: Format, out: Path, ctx: Context) -> None:
    if not project.labelers:
        raise UsageError("--role LABELER: the project holds no labeler's version", file=project.source)
    ctx.report.versions_written = True
    for n, (folder, labeler) in enumerate(labeler_folders(project).items()):
        write(fmt, labeler_view(project, labeler, None if n else ctx.report), out / folder, ctx)


def labeler_folders(project: Project) -> dict[str, Labeler]:
    """``DOCUMENT-<labeler>`` of each labeler: one folder name whatever the
    e-mail holds, and one folder for each labeler."""
    folders: dict[str, Labeler] = {}
    for labeler in project.labelers:
        folder = safe_name(f"DOCUMENT-{labeler.folder}")
        first = folders.setdefault(folder, labeler)
        if first is not labeler:
            raise UsageError(
                f"labelers {first.email!r} and {labeler.email!r} would both be written to {folder}/", file=project.source
            )
    return folders


def write_export_all(project: Project, fmt: Format, out: Path, ctx: Context, role: str) -> Path:
    """The Export API's "export all files" tree, to be zipped (:func:`zip_tree`)."""
    tree = out / ".export-all"
    top = tree / safe_name(f"{project.name}-{project.id}")
    top.mkdir(parents=True)
    ctx.report.versions_written = True
    if role == REVIEWER:
        write(fmt, project, top / "REVIEW", ctx)
    for n, (folder, labeler) in enumerate(labeler_folders(project).items()):
        measure = role != REVIEWER and not n  # (REVIEW's pass counts agreement, when it is written)
        write(fmt, labeler_view(project, labeler, ctx.report if measure else None), top / folder, ctx)
    root = safe_name(f"ROOT-{project.owner.folder}") if project.owner else "ROOT"
    write(fmt, root_view(project), top / root, ctx)
    data = {"project": {"id": project.id, "title": project.name, "tags": project.tags}}
    (top / "project-data.json").write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    return tree


def zip_tree(tree: Path, archive_path: Path) -> None:
    """Zip a tree with fixed entry times, then remove it: the same tree
    always gives the same bytes."""
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(tree.rglob("*")):
            arcname = path.relative_to(tree).as_posix() + ("/" if path.is_dir() else "")
            info = zipfile.ZipInfo(arcname, _ZIP_TIME)
            if path.is_dir():
                info.external_attr = 0o40755 << 16
                archive.writestr(info, b"")
            else:
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(path, "rb") as src, archive.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    shutil.rmtree(tree)
