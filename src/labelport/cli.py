"""The ``labelport`` command.

Every user mistake ends as one line, ``labelport: error: <file>[:<line>]:
<what>``, with the exit code of the README's table (Command line, "Exit codes"); a traceback means a bug.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Sequence

from . import api
from ._version import __version__
from .conversion import checked_engine
from .errors import LabelportError, RejectedError, UsageError
from .formats.registry import (
    READABLE,
    TABLE_HEADER,
    detection_note,
    format_id,
    get_format,
    make_options,
    markdown,
    reader_id,
    table_rows,
)
from .model import REVIEWER, ROLES
from .offsets import UNITS
from .progress import NORMAL, QUIET, VERBOSE, counted, output_level, set_level
from .service import add_serve_command, cmd_serve, log_to_stderr
from .validate import validate

#: What convert and export read.
INPUT_HELP = ("file, folder or zip; or in object storage, s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or "
              "az://CONTAINER/PREFIX (one object, or the objects under PREFIX/ as a folder)")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line, like every other error; the usage is one --help away.
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _add_read_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading")
    group.add_argument("--from", dest="from_format", metavar="FORMAT",
                       help=f"input format, overriding detection ({', '.join(READABLE)}; aliases in `labelport formats`)")
    group.add_argument("--text-column", metavar="NAME", help="table column holding the text (default: 'text' or the first)")
    group.add_argument("--label-column", metavar="NAME", action="append", default=[],
                       help="table column holding labels; repeat for several (each becomes a question)")
    group.add_argument("--label-separator", metavar="SEP", help="split multi-label table cells on SEP")
    group.add_argument("--columns", metavar="A,B", help="column names of a table without a header row, e.g. label,text")


def _add_convert_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", required=True, metavar="FORMAT", help="output format (see `labelport formats`)")
    parser.add_argument("--split", metavar="NAME=SHARE,...", help="e.g. train=0.8,validation=0.1,test=0.1")
    parser.add_argument("--split-by", metavar="UNIT",
                        help="what goes to a split whole: document (default for a project of several documents: "
                             "no document in two splits), line (a sentence or row; default for one document), or a "
                             "table column or document field whose value keeps its rows or documents together")
    parser.add_argument("--stratify", action="store_true",
                        help="keep each label's share in every split close to the split's share (NER: the entity "
                             "types a unit holds; classification: its answers)")
    parser.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    parser.add_argument("--role", default=REVIEWER, type=str.upper, choices=ROLES,
                        help="REVIEWER: the final version (default); LABELER: each labeler's, in DOCUMENT-<labeler>/")
    parser.add_argument("--zip", metavar="NAME", help="write the export-all zip NAME.zip (REVIEW, DOCUMENT-*, ROOT, project-data.json)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when anything could not be carried")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an earlier output in OUT even when OUT holds files labelport did not write: "
                             "those are kept, in the new OUT (without it, such an OUT is refused)")
    # The format's own options (Format.options): no argparse default, so that
    # what the user said is told from what they did not; each format has its defaults.
    group = parser.add_argument_group("options of some formats (another format refuses them)")
    group.add_argument("--output-separator", metavar="SEP",
                       help="CSV, TSV, XLSX, JSON_TABULAR, JSON: joins several answers in one cell (default |)")
    group.add_argument("--offset-unit", type=str.lower, choices=UNITS,
                       help="AMAZON_COMPREHEND_CSV, GCP_VERTEX_AI_CSV: unit of character offsets (default codepoint)")
    group.add_argument("--question", metavar="NAME",
                       help="the cloud CSVs, HF_DATASET: the question whose answers are a classifier's labels "
                            "(default: the first)")
    group.add_argument("--transformer", metavar="NAME|PATH",
                       help="CUSTOM: a transformer from converters/ (e.g. gemini_tuning) or a .py file")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="convert a project of many files in N processes (same output; see the README for the formats that use one)")
    engines = parser.add_argument_group("engine")
    engines.add_argument("--engine", choices=["local", "ray"], default="local",
                         help="local: this machine (--jobs N processes; the default); ray: a project of many files "
                              "written as Ray tasks (same output; --jobs N tasks, default the cluster's CPUs; "
                              "needs labelport[ray])")
    engines.add_argument("--ray-address", metavar="ADDRESS",
                         help="--engine ray: the Ray cluster to join (default $RAY_ADDRESS, else a local Ray)")
    _add_read_options(parser)


def _add_output_level(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true",
                       help="print nothing but errors: no progress, no summary")
    group.add_argument("-v", "--verbose", action="store_true",
                       help="also print each phase (convert, check, upload, notify) with its timing, and what was "
                            "skipped")


def _add_delivery_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("delivery")
    group.add_argument("--method", type=str.upper, choices=["CUSTOM_WEBHOOK", "EMAIL"], action="append", default=[],
                       help="also notify: CUSTOM_WEBHOOK (needs --url, --secret) or EMAIL (needs --email); repeatable")
    group.add_argument("--url", help="webhook URL (PUT, JSON body, X-Datasaur-Signature)")
    group.add_argument("--secret", help="webhook HMAC-SHA256 secret")
    group.add_argument("--email", metavar="ADDR", help="e-mail address (SMTP from LABELPORT_SMTP_HOST/PORT/USER/PASSWORD/STARTTLS)")
    group.add_argument("--part-size", type=int, default=8, metavar="MB", help="upload part size in MiB (default 8)")
    group.add_argument("--concurrency", type=int, default=4, metavar="N", help="uploads in flight at once (default 4)")
    group.add_argument("--private", action="store_true", help="hf://: create the dataset repo private")
    group.add_argument("--revision", help="hf://: the branch to commit to (created if missing)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="labelport",
        description="Turn labeled NLP projects into training data and deliver it where training happens.",
    )
    parser.add_argument("--version", action="version", version=f"labelport {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    formats = commands.add_parser("formats", help="list the formats: names, kinds served, what reads back, files made",
                                  description="List the formats: id and aliases, the project kinds each serves "
                                              "(T token, R row, D document labeling), the kinds --from ID reads "
                                              "back, and the files each makes.")
    formats.add_argument("--markdown", action="store_true", help="print it in Markdown, as the README has it")

    inspect = commands.add_parser("inspect", help="summarise a project: kinds, documents, spans per label, labelers",
                                  description="Kinds, documents, lines, tokens, spans per label, labelers, conflicts; "
                                              "with --agreement, how far the labelers agree instead.")
    inspect.add_argument("input", metavar="INPUT", help="file, folder or zip")
    inspect.add_argument("--json", action="store_true", help="print JSON")
    inspect.add_argument("--agreement", action="store_true",
                         help="how far the labelers agree, with each other and with REVIEW: span F1, Cohen's kappa, "
                              "Krippendorff's alpha, the spans most disputed (needs labelers' versions)")
    _add_read_options(inspect)

    convert = commands.add_parser("convert", help="convert a project into a format, in a folder",
                                  description="Convert INPUT to FORMAT in the folder OUT, with labelport-report.json "
                                              "saying what was written and what the format could not carry.")
    convert.add_argument("input", metavar="INPUT", help=INPUT_HELP)
    convert.add_argument("-o", "--out", required=True, metavar="OUT", help="output folder (an earlier labelport output in it is replaced; see --overwrite)")
    _add_convert_options(convert)
    _add_output_level(convert)

    export = commands.add_parser("export", help="convert, check the target's rules, then deliver",
                                 description="Convert INPUT to FORMAT, check it against the target service's rules, "
                                             "deliver it to DEST (a folder, s3://, gs://, az:// or hf://datasets/…) "
                                             "and send the notices. Nothing is uploaded when the files break a rule.")
    export.add_argument("input", metavar="INPUT", help=INPUT_HELP)
    export.add_argument("--to", required=True, metavar="DEST", help="folder, s3://bucket/prefix, gs://…, az://container/prefix, hf://datasets/owner/name[@rev]")
    export.add_argument("-o", "--out", metavar="OUT", help="keep the converted files here (default: under $LABELPORT_HOME/exports/)")
    export.add_argument("--detach", action="store_true", help="print the job id and return; follow it with `labelport status`")
    _add_convert_options(export)
    _add_delivery_options(export)
    _add_output_level(export)
    # -- Export API client (labelport.client.fetch): datasaur:// inputs
    fetching = export.add_argument_group("datasaur:// input (an Export API server: DATASAUR_BASE_URL, "
                                         "DATASAUR_CLIENT_ID, DATASAUR_CLIENT_SECRET)")
    fetching.add_argument("--convert-locally", action="store_true",
                          help="fetch DATASAUR_SCHEMA and convert with labelport's writers, even for "
                               "AMAZON_COMPREHEND_CSV, AZURE_AUTOML_CSV, GCP_VERTEX_AI_CSV and CSV (fetched as the "
                               "server writes them by default)")
    fetching.add_argument("--timeout", type=float, metavar="SECONDS",
                          help="give up fetching after this long: export, polling and download (default 600, "
                               "or DATASAUR_TIMEOUT)")
    # -- end Export API client

    push = commands.add_parser("push", help="deliver an already converted folder",
                               description="Deliver the files of DIR to DEST, skipping what is already there.")
    push.add_argument("dir", metavar="DIR", help="a folder written by labelport convert (or any folder)")
    push.add_argument("dest", metavar="DEST", help="folder, s3://bucket/prefix, gs://…, az://container/prefix, hf://datasets/owner/name[@rev]")
    _add_delivery_options(push)
    _add_output_level(push)

    validate = commands.add_parser("validate", help="check a folder against a training service's rules",
                                   description="Check the files in DIR against every rule and limit of the target "
                                               "service; print each violation with its file and line. Exit 1 when "
                                               "any rule is broken (with --strict, also below a service's minimums).")
    validate.add_argument("dir", metavar="DIR", help="a folder of files, labelport's or another tool's")
    validate.add_argument("--target", required=True, choices=["comprehend", "azure", "vertex", "hf"])
    validate.add_argument("--strict", action="store_true", help="exit 1 also when below a service's minimums")
    status = commands.add_parser("status", help="a job's status, progress, errors and result",
                                 description="Print a job as the Export API's Job: status, progress, errors, result.")
    status.add_argument("job_id", metavar="JOB_ID")
    jobs = commands.add_parser("jobs", help="list recent jobs", description="List the most recent jobs.")
    jobs.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    wait = commands.add_parser("wait", help="wait for a job to finish; exit 3 when it FAILED",
                               description="Block until the job is DELIVERED (exit 0) or FAILED (exit 3).")
    wait.add_argument("job_id", metavar="JOB_ID")
    wait.add_argument("--timeout", type=float, help="give up after this many seconds (exit 3)")
    run_job = commands.add_parser("run-job")  # what --detach starts; not for people
    run_job.add_argument("job_id")
    add_serve_command(commands)
    worker = commands.add_parser("worker", help="run the exports `labelport serve --broker` queued",
                                 description="Take jobs from the Redis queue of `labelport serve --broker URL` and "
                                             "run them, one at a time (start several for more). Needs "
                                             "labelport[redis]; the key that seals webhook secrets "
                                             "(LABELPORT_SECRET_KEY, or the service's LABELPORT_HOME/secret.key); "
                                             "for FILE_STORAGE, the credentials of the service's --file-storage "
                                             "bucket (or, without it, the service's LABELPORT_HOME/serve/).")
    worker.add_argument("--broker", required=True, metavar="URL", help="the service's redis://HOST:PORT/DB")
    worker.add_argument("--burst", action="store_true", help="stop once the queue is empty")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # pyarrow's default allocator (mimalloc) keeps what it freed: a run writing
    # or checking Parquet peaks about 25 MiB higher, and higher the larger the
    # project. This process's arrays are short-lived: the system allocator
    # gives them back. (A user's own setting wins; the library leaves it alone.)
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        set_level(QUIET if getattr(args, "quiet", False) else VERBOSE if getattr(args, "verbose", False) else NORMAL)
        return _COMMANDS[args.command](args)
    except RejectedError as exc:  # written, but refused: say what was written first
        if exc.report is not None:
            _print_lines(exc.report.summary_lines())
        print(f"labelport: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except LabelportError as exc:
        print(f"labelport: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("labelport: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _load(args: argparse.Namespace):
    return api.load(args.input, **_read_options(args))


def cmd_formats(args: argparse.Namespace) -> int:
    if args.markdown:
        print(markdown(), end="")
        return 0
    rows = [tuple(cell.upper() for cell in TABLE_HEADER), *table_rows()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_HEADER) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)), row[-1].replace("`", ""), sep="  ")
    print("\nKinds: T token labeling (spans), R row labeling, D document labeling. Read back: the kinds whose "
          "output --from ID reads back (- no reader; a table's question columns are named with --label-column).")
    print(detection_note().replace("`", ""))
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from .formats._classify import no_label_column_hint  # (start-up: --help loads no format module but the registry)

    project = _load(args)
    if args.agreement:
        from .iaa.table import render  # (start-up: only --agreement prints its tables)

        figures = api.agreement(project)
        print(json.dumps(figures, indent=2, ensure_ascii=False) if args.json else render(figures))
        return 0
    summary = api.inspect(project)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        _print_summary(summary)
    hint = no_label_column_hint(project)
    if hint is not None:
        print(f"labelport: no answers: {hint}", file=sys.stderr)
    return 0


def _print_summary(summary: dict[str, Any]) -> None:
    project = summary["project"]
    print(f"project    {project['name']} ({project['id']})")
    print(f"kinds      {', '.join(summary['kinds'])}")
    for key in ("documents", "lines", "tokens", "rows", "spans", "arrows", "conflicts"):
        if summary[key] or key in ("documents", "conflicts"):
            print(f"{key:<10} {summary[key]:,}")
    if summary["spans_per_label"]:
        print("spans per label")
        for label, n in summary["spans_per_label"].items():
            print(f"  {label:<28} {n:,}")
    if summary["answers_per_value"]:
        print("answers per value")
        for value, n in list(summary["answers_per_value"].items())[:50]:
            print(f"  {value:<28} {n:,}")
    if summary["questions"]:
        print(f"questions  {', '.join(summary['questions'])}")
    print(f"labelers   {', '.join(summary['labelers']) or '-'}")


#: How the command line spells each format option (labelport.convert's keyword).
FORMAT_OPTION_FLAGS = {"label_separator": "--output-separator", "offset_unit": "--offset-unit",
                       "question": "--question", "transformer": "--transformer"}


def _convert_options(args: argparse.Namespace) -> dict[str, Any]:
    """The conversion the command line asks for, as labelport.convert's keywords
    (of the format's own options, only those given)."""
    from .conversion.parallel import checked_jobs  # (start-up: loads multiprocessing; only a conversion needs it)
    from .formats.splits import parse_split  # (start-up: --help loads no format module but the registry)

    args.format = format_id(args.format)  # an unknown name fails before any reading; an alias becomes the id
    # so does an option the format does not take
    format_options = {key: getattr(args, flag[2:].replace("-", "_")) for key, flag in FORMAT_OPTION_FLAGS.items()}
    format_options = {key: value for key, value in format_options.items() if value is not None}
    make_options(get_format(args.format), format_options, FORMAT_OPTION_FLAGS)
    jobs = checked_jobs(args.jobs, local=args.engine == "local")  # so does a --jobs of 0; more than the CPUs is capped here, once
    return {
        "split": parse_split(args.split) if args.split else None,
        "seed": args.seed,
        **({"split_by": args.split_by} if args.split_by is not None else {}),
        **({"stratify": True} if args.stratify else {}),
        "role": args.role,
        "zip": args.zip,
        "strict": args.strict,
        "overwrite": args.overwrite,
        "jobs": jobs,
        **format_options,
    }


def _read_options(args: argparse.Namespace) -> dict[str, Any]:
    """The reading the command line asks for, as labelport.load's keywords."""
    return {
        "from_format": reader_id(args.from_format) if args.from_format is not None else None,
        "text_column": args.text_column,
        "label_columns": args.label_column,
        "label_separator": args.label_separator,
        "columns": [c.strip() for c in args.columns.split(",")] if args.columns else None,
    }


def _print_lines(lines: list[str]) -> None:
    """Summary lines, on stderr unless --quiet."""
    if output_level() > QUIET:
        for line in lines:
            print(line, file=sys.stderr)


def cmd_convert(args: argparse.Namespace) -> int:
    from .guards.output import check_out  # (start-up: as _convert_options's imports)
    from .jobs.preflight import check_format

    options = _convert_options(args)
    check_format(args.format)  # before reading: a refused conversion costs nothing
    check_out(args.out, inputs=[args.input], overwrite=args.overwrite)
    if checked_engine(args.engine, args.input) == "ray":  # so does a missing Ray, and an input no task can read again
        options.update(engine=args.engine, ray_address=args.ray_address)
    report = api.convert(_load(args), args.format, args.out, progress=None, **options)
    _print_lines(report.summary_lines())
    return 0


def _delivery_options(args: argparse.Namespace) -> dict[str, Any]:
    # (start-up, here and in cmd_push: the delivery package costs ~30 ms; only delivering needs it)
    from .delivery.destinations.base import MiB  # (start-up: the delivery package, ~30 ms)

    return {"part_size": args.part_size * MiB, "concurrency": args.concurrency, "private": args.private,
            "revision": args.revision}


def _notices(args: argparse.Namespace) -> list[dict[str, Any]]:
    return [{"method": m, "url": args.url, "secret": args.secret, "email": args.email} for m in dict.fromkeys(args.method)]


def cmd_export(args: argparse.Namespace) -> int:
    # (start-up: the job store loads msgspec and sqlite3; the export job, delivery and the client. So below)
    from .jobs.export import make_spec
    from .jobs.kinds import Local
    from .jobs.preflight import check_export
    from .jobs.store import open_store, run_here, start_detached

    spec = make_spec(
        args.input,
        args.format,
        to=args.to,
        out=args.out,
        read=_read_options(args),
        # -- Export API client: datasaur:// options ride with the conversion's (labelport.client.fetch.split_options)
        convert={**_convert_options(args), "convert_locally": args.convert_locally, "timeout": args.timeout},
        delivery=_delivery_options(args),
        notices=_notices(args),
        engine=args.engine,
        ray_address=args.ray_address,
    )
    check_export(spec)  # before the job exists: a refused export leaves nothing
    job = open_store().create(spec)
    if args.detach:
        start_detached(job.id)
        print(job.id)
        return 0
    _print_lines([f"labelport: job {job.id}: converting into {spec.out}"])  # (the id `labelport status` takes)
    run_here(job.id, Local(echo=lambda line: _print_lines([line])), reraise=True)
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from .delivery import Notice, preflight, push  # (start-up: as in _delivery_options)
    from .delivery.destinations.base import DeliveryOptions

    notices = [Notice(**n) for n in _notices(args)]
    options = DeliveryOptions(**_delivery_options(args))
    preflight(args.dest, options, args.dir)  # offline; the push looks the place up before uploading
    result = push(args.dir, args.dest, options, notices)
    _print_lines([result.summary()])
    return 0


def _job(job_id: str):
    from .jobs.store import open_store  # (start-up: as above)

    job = open_store().get(job_id)
    if job is None:
        raise UsageError(f"no job {job_id!r} (see `labelport jobs`)")
    return job


def _print_job(job) -> None:
    print(json.dumps(job.to_api(), indent=2, ensure_ascii=False))


def cmd_status(args: argparse.Namespace) -> int:
    _print_job(_job(args.job_id))
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    from .guards.redaction import redact  # (start-up: ~4 ms of patterns; only listing jobs needs it)
    from .jobs.spec import SpecError, describe  # (start-up: as above)
    from .jobs.store import open_store

    jobs = open_store().list(args.limit)
    print(f"{'ID':<32}  {'STATUS':<11}  {'%':>3}  {'UPDATED':<24}  WHAT")
    for job in jobs:
        try:
            what = redact(describe(job.spec))
        except SpecError as exc:  # listed all the same; running it fails saying so
            what = str(exc)
        print(f"{job.id:<32}  {job.status:<11}  {job.progress:>3}  {job.updated_at:<24}  {what}")
    return 0


def cmd_wait(args: argparse.Namespace) -> int:
    from .jobs.store import FAILED  # (start-up: as above)

    job = _job(args.job_id).wait(args.timeout)
    if job.status == FAILED:
        for error in job.errors:
            print(f"labelport: error: job {job.id}: {error['stack'].splitlines()[0]}", file=sys.stderr)
        return 3
    _print_job(job)
    return 0


def cmd_run_job(args: argparse.Namespace) -> int:
    from .jobs.store import run_here  # (start-up: as above)

    run_here(args.job_id)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from .guards.sealed import check_key  # (start-up: as the queue's module below)
    from .jobs.broker import Broker  # (start-up: the queue's module imports redis and rq, labelport[redis])

    log_to_stderr()
    check_key()  # a malformed LABELPORT_SECRET_KEY: exit 2 now, not at the first job
    Broker(args.broker).work(burst=args.burst)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    findings = validate(args.dir, args.target)
    for finding in findings:
        where = finding.file or args.dir
        if finding.line is not None:
            where = f"{where}:{finding.line}"
        level = "error" if finding.hard else "warning"
        print(f"{where}: {level}: {finding.message} [{finding.rule}]")
    hard = sum(f.hard for f in findings)
    soft = len(findings) - hard
    print(f"labelport: {args.target}: {counted(hard, 'rules')} broken, {counted(soft, 'warnings')}", file=sys.stderr)
    return 1 if hard or (args.strict and soft) else 0


_COMMANDS = {
    "formats": cmd_formats,
    "inspect": cmd_inspect,
    "convert": cmd_convert,
    "export": cmd_export,
    "push": cmd_push,
    "validate": cmd_validate,
    "status": cmd_status,
    "jobs": cmd_jobs,
    "wait": cmd_wait,
    "run-job": cmd_run_job,
    "serve": cmd_serve,
    "worker": cmd_worker,
}
