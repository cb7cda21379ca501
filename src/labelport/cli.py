"""The ``labelport`` command.

Every user mistake ends as one line, ``labelport: error: <file>[:<line>]:
<what>``, with the exit code of DESIGN.md's table; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from . import __version__
from .errors import LabelportError, UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line, like every other error; the usage is one --help away.
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _add_read_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading")
    group.add_argument("--from", dest="from_format", metavar="FORMAT",
                       help="input format, overriding detection (DATASAUR_SCHEMA, JSON_ADVANCED, TSV_IOB, CONLL_2003, CSV, TSV, XLSX)")
    group.add_argument("--text-column", metavar="NAME", help="table column holding the text (default: 'text' or the first)")
    group.add_argument("--label-column", metavar="NAME", action="append", default=[],
                       help="table column holding labels; repeat for several (each becomes a question)")
    group.add_argument("--label-separator", metavar="SEP", help="split multi-label table cells on SEP")
    group.add_argument("--columns", metavar="A,B", help="column names of a table without a header row, e.g. label,text")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="labelport",
        description="Turn labeled NLP projects into training data and deliver it where training happens.",
    )
    parser.add_argument("--version", action="version", version=f"labelport {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    commands.add_parser("formats", help="list output formats, the project kinds each serves, the files made",
                        description="List output formats, the project kinds each serves (T token, R row, "
                                    "D document labeling) and the files each makes.")

    inspect = commands.add_parser("inspect", help="summarise a project: kinds, documents, spans per label, labelers",
                                  description="Kinds, documents, lines, tokens, spans per label, labelers, conflicts.")
    inspect.add_argument("input", metavar="INPUT", help="file, folder or zip")
    inspect.add_argument("--json", action="store_true", help="print JSON")
    _add_read_options(inspect)

    convert = commands.add_parser("convert", help="convert a project into a format, in a folder",
                                  description="Convert INPUT to FORMAT in the folder OUT, with labelport-report.json "
                                              "saying what was written and what the format could not carry.")
    convert.add_argument("input", metavar="INPUT", help="file, folder or zip")
    convert.add_argument("-f", "--format", required=True, metavar="FORMAT", help="output format (see `labelport formats`)")
    convert.add_argument("-o", "--out", required=True, metavar="OUT", help="output folder (replaced if it holds an earlier output)")
    convert.add_argument("--split", metavar="NAME=SHARE,...", help="e.g. train=0.8,validation=0.1,test=0.1")
    convert.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    convert.add_argument("--role", default="REVIEWER", type=str.upper, choices=["REVIEWER", "LABELER"],
                         help="REVIEWER: the final version (default); LABELER: each labeler's, in DOCUMENT-<labeler>/")
    convert.add_argument("--zip", metavar="NAME", help="write the export-all zip NAME.zip (REVIEW, DOCUMENT-*, ROOT, project-data.json)")
    convert.add_argument("--strict", action="store_true", help="exit 1 when anything could not be carried")
    convert.add_argument("--output-separator", default="|", metavar="SEP",
                         help="joins several answers in one table cell (default |)")
    _add_read_options(convert)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return _COMMANDS[args.command](args)
    except LabelportError as exc:
        print(f"labelport: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("labelport: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _load(args: argparse.Namespace):
    from .api import load

    columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
    return load(
        args.input,
        from_format=args.from_format,
        text_column=args.text_column,
        label_columns=args.label_column,
        label_separator=args.label_separator,
        columns=columns,
    )


def cmd_formats(args: argparse.Namespace) -> int:
    from .formats.registry import SUMMARY

    width = max(map(len, SUMMARY))
    print(f"{'FORMAT':<{width}}  KINDS   FILES")
    for format_id, (kinds, files) in SUMMARY.items():
        print(f"{format_id:<{width}}  {kinds:<6}  {files}")
    print("\nKinds: T token labeling (spans), R row labeling, D document labeling.")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from .api import inspect

    summary = inspect(_load(args))
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return 0
    _print_summary(summary)
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


def cmd_convert(args: argparse.Namespace) -> int:
    from .api import convert
    from .errors import RejectedError
    from .formats.registry import get_format
    from .splits import parse_split

    get_format(args.format)  # an unknown format fails before any reading
    split = parse_split(args.split) if args.split else None
    project = _load(args)
    try:
        report = convert(
            project,
            args.format,
            args.out,
            split=split,
            seed=args.seed,
            role=args.role,
            zip=args.zip,
            strict=args.strict,
            label_separator=args.output_separator,
            progress=None,
        )
    except RejectedError as exc:
        report = exc.report
        for line in report.summary_lines():
            print(line, file=sys.stderr)
        print(f"labelport: error: {exc}", file=sys.stderr)
        return exc.exit_code
    for line in report.summary_lines():
        print(line, file=sys.stderr)
    return 0


_COMMANDS = {"formats": cmd_formats, "inspect": cmd_inspect, "convert": cmd_convert}
