"""``datasaur://`` inputs: fetch a project from an Export API server.

Two uses:

* ``labelport.load("datasaur://ID")`` (and ``datasaur://ID/DOCUMENT_ID``):
  the DATASAUR_SCHEMA export, unpacked into
  ``LABELPORT_HOME/fetched/<ID>-<time>/`` and read like any export-all
  folder, every labeler's version included. Any output format then converts
  locally.
* ``labelport export datasaur://ID -f F`` for the formats a server writes
  itself (:data:`SERVER_FORMATS`, unless ``--convert-locally``): the server's
  own F export is fetched, its REVIEW folder laid out as the README's Formats
  table gives in the job's OUT folder, checked with ``labelport validate``'s rules, and
  described in ``labelport-report.json``; the job then pushes OUT as usual.

For token labeling in AMAZON_COMPREHEND_CSV, Comprehend needs the text beside
the annotations. A server that writes the README's layout (``labelport
serve``) sends both; one that writes only per-document annotation CSVs
(Datasaur's own export) does not, so the PLAIN export of the same project is
fetched too and paired (:mod:`labelport.targets.comprehend.pairing`). A
mismatch is reported (``pairing`` in the report, and a hard finding): nothing
is pushed.
"""

from __future__ import annotations

import contextvars
import csv
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import unquote

import orjson

from ..errors import DeliveryError, RejectedError, UsageError
from ..guards.archives import is_zip_of_files, safe_extract
from ..guards.output import REPORT_NAME, staged_folder
from ..guards.private import fetched_folder
from ..model import REVIEWER
from ..readers import ReadOptions
from ..readers.layout import load_path
from ..report import Report
from ..targets.comprehend.pairing import (
    annotation_csvs,
    header_names,
    lay_out_classifier,
    pair_comprehend,
)
from ..targets.comprehend.rules import CLASSIFIER, CLASSIFIER_JSON, RECOGNIZER_JSON
from ..validate import validate
from ..validate.walk import visible_files
from .export_api import Deadline, Downloaded, ExportApiClient, _redact

SCHEME = "datasaur://"
#: Formats whose files the server writes and the client only checks and lays out
#: (the validate target of each; CSV has none and gets a CSV syntax check).
SERVER_FORMATS: dict[str, str | None] = {
    "AMAZON_COMPREHEND_CSV": "comprehend",
    "AZURE_AUTOML_CSV": "azure",
    "GCP_VERTEX_AI_CSV": "vertex",
    "CSV": None,
}
#: Job options of the fetch, kept apart from labelport.convert's.
FETCH_OPTIONS = ("convert_locally", "timeout")

_TIMEOUT: contextvars.ContextVar[float | None] = contextvars.ContextVar("labelport_fetch_timeout", default=None)


# -- names ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """What a ``datasaur://PROJECT_ID[/DOCUMENT_ID]`` names."""

    uri: str
    project_id: str
    document_id: str | None = None

    @property
    def label(self) -> str:
        """A file name for the export (``fileName``)."""
        raw = self.project_id if self.document_id is None else f"{self.project_id}-{self.document_id}"
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in raw)


def is_datasaur(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(SCHEME)


def parse(uri: str) -> Ref:
    rest = uri[len(SCHEME):].strip()
    project_id, _, document_id = rest.partition("/")
    project_id, document_id = unquote(project_id).strip(), unquote(document_id).strip()
    if not project_id:
        raise UsageError(f"{uri!r}: expected datasaur://PROJECT_ID or datasaur://PROJECT_ID/DOCUMENT_ID")
    return Ref(uri, project_id, document_id or None)


def served(input: str, format: str, fetch_options: dict[str, Any]) -> bool:
    """Whether an export of ``input`` in ``format`` is the server's own (fetched,
    laid out, checked) rather than converted by labelport's writers."""
    return is_datasaur(input) and not fetch_options.get("convert_locally") and format.upper() in SERVER_FORMATS


def check_fetchable(format: str, convert_options: dict[str, Any] | None) -> None:
    """UsageError for a format the server does not write, or an option it
    cannot follow (run before the job exists, and again by fetch_export)."""
    format = format.upper()
    if format not in SERVER_FORMATS:
        raise UsageError(f"{format}: the client fetches {', '.join(SERVER_FORMATS)} from the server; "
                         "other formats are converted locally")
    options = convert_options or {}
    asked = [k for k, default in _NOT_FETCHABLE.items()
             if options.get(k) not in (None, "") and str(options[k]).upper() != str(default).upper()]
    if asked:
        flags = ", ".join("--" + k.replace("_", "-") for k in asked)
        raise UsageError(f"{flags}: the server writes {format} itself and cannot follow that; "
                         "add --convert-locally to convert with labelport's writers")


def split_options(convert: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(labelport.convert's options, the fetch's options) of a job spec."""
    return ({k: v for k, v in convert.items() if k not in FETCH_OPTIONS},
            {k: convert.get(k) for k in FETCH_OPTIONS})


@contextmanager
def fetch_timeout(seconds: float | None) -> Iterator[None]:
    """The overall deadline of the fetches made inside (``--timeout``)."""
    token = _TIMEOUT.set(seconds)
    try:
        yield
    finally:
        _TIMEOUT.reset(token)


# -- fetching ---------------------------------------------------------------------------


@dataclass
class Fetched:
    """One export downloaded and unpacked."""

    format: str
    folder: Path  # what the zip held
    download: Downloaded
    export_id: str | None = None

    def describe(self, base_url: str) -> dict[str, Any]:
        return {"format": self.format, "server": base_url, "fileUrl": _redact(self.download.url),
                "bytes": self.download.bytes, "sha256": self.download.sha256}


def fetch(client: ExportApiClient, ref: Ref, format: str, into: Path, deadline: Deadline) -> Fetched:
    """Export ``ref`` in ``format``, download it and unpack it into ``into``
    (a new folder; removed again if anything fails)."""
    into.mkdir(parents=True, exist_ok=False)
    try:
        download = client.fetch(format, into / ".download", project_id=None if ref.document_id else ref.project_id,
                                document_id=ref.document_id, deadline=deadline, file_name=ref.label)
        if is_zip_of_files(download.path):
            safe_extract(download.path, into)
        else:  # one document's export may be the file itself
            download.path.replace(into / download.path.name)
        shutil.rmtree(into / ".download", ignore_errors=True)
        return Fetched(format, into, download)
    except BaseException:
        shutil.rmtree(into, ignore_errors=True)
        raise


def load_datasaur(uri: str, options: Any = None):
    """``labelport.load("datasaur://ID")``: the DATASAUR_SCHEMA export, read
    with every labeler's version."""
    ref = parse(uri)
    client = ExportApiClient()
    try:
        fetched = fetch(client, ref, "DATASAUR_SCHEMA", fetched_folder(ref.label), Deadline(_TIMEOUT.get()))
    finally:
        client.close()
    try:
        project = load_path(fetched.folder, options or ReadOptions())
    except BaseException:  # refused as read: nothing of it is kept
        shutil.rmtree(fetched.folder, ignore_errors=True)
        raise
    return replace(project, source=uri)


# -- where the data is in what was fetched ------------------------------------------------


def _is_version_folder(name: str) -> bool:
    return name in ("REVIEW", "ROOT") or name.startswith(("DOCUMENT-", "ROOT-"))


def final_folder(root: Path, format: str | None = None) -> tuple[Path, dict[str, Any]]:
    """The final version in an unpacked export: ``[<top>/]REVIEW/``, or the
    whole folder when the zip holds the files directly (a one-document
    export); and project-data.json."""
    if format is not None and _has_layout(format, root):
        return root, _project_data(root)
    candidates = [root, *sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))]
    for folder in candidates:
        children = [p.name for p in folder.iterdir() if p.is_dir()]
        if any(_is_version_folder(name) for name in children):
            if "REVIEW" not in children:
                raise DeliveryError(f"the export holds no REVIEW folder (only {', '.join(sorted(children))})")
            return folder / "REVIEW", _project_data(folder)
    visible = [p for p in root.iterdir() if not p.name.startswith(".")]
    if len(visible) == 1 and visible[0].is_dir():  # one top folder around the files
        return visible[0], _project_data(visible[0])
    return root, _project_data(root)


def _project_data(folder: Path) -> dict[str, Any]:
    """project-data.json's ``project`` ({} without the file), decoded into
    its declared types like any export-all's (a file of the wrong shape is an
    InputError naming its JSON path)."""
    from ..datasaur.types import decode_project_data  # (start-up: msgspec ~11 ms; only a project-data.json needs it)

    path = folder / "project-data.json"
    if not path.is_file():
        return {}
    info = decode_project_data(path.read_bytes(), str(path)).project
    return {} if info is None or info.id is None else {"id": info.id}


def _has_layout(format: str, folder: Path) -> bool:
    """Whether ``folder`` already holds the layout of README's Formats table of ``format``."""
    if format == "AMAZON_COMPREHEND_CSV":
        return (folder / RECOGNIZER_JSON).is_file() or (folder / CLASSIFIER_JSON).is_file()
    if format == "AZURE_AUTOML_CSV":
        return (folder / "train" / "MLTable").is_file()
    if format == "GCP_VERTEX_AI_CSV":
        return any((folder / name).is_file() for name in ("vertex_import.csv", "vertex_dataset.json", "vertex_dataset.jsonl"))
    return any(p.is_file() and p.suffix.lower() == ".csv" for p in folder.iterdir())


# -- the server export as a job's output -------------------------------------------------


class FetchReport(Report):
    """labelport-report.json of a fetched export: what was fetched, how it
    was laid out and paired, the target's checks, the files' sha256."""

    def summary_lines(self) -> list[str]:
        lines = super().summary_lines()
        c = self.counts
        parts = [f"{c[k]:,} {k}" for k in ("lines", "tokens", "rows", "annotations") if c.get(k)]
        lines[0] = (f"labelport: {self.format_id}: fetched {self.source} ({self.notes.get('layout', 'as served')}): "
                    + (", ".join(parts) or "no data") + f"; {len(self.files)} files")
        pairing = self.notes.get("pairing")
        if pairing:
            plain = "PLAIN fetched" if pairing["plain_fetched"] else "text served beside them"
            lines.insert(1, f"labelport: paired {pairing['annotations']:,} annotations with their text ({plain}): "
                            f"{pairing['mismatches']:,} mismatches")
        return lines



@dataclass
class ExportFetch:
    """What :func:`fetch_export` did, for the job's result."""

    project_id: str
    report: FetchReport
    out: Path
    fetched: list[dict[str, Any]] = field(default_factory=list)


#: labelport.convert's options a server export cannot follow, with the value that is no change.
_NOT_FETCHABLE = {"split": None, "split_by": None, "stratify": False, "zip": None, "role": REVIEWER,
                  "offset_unit": "codepoint", "question": None}


def fetch_export(uri: str, format: str, out: str | Path, *, timeout: float | None = None,
                 client: ExportApiClient | None = None, convert_options: dict[str, Any] | None = None) -> ExportFetch:
    """Fetch the server's own ``format`` export of ``uri`` into ``out`` (laid
    out, paired, checked, reported). Raises RejectedError, with ``out`` kept,
    when a check fails (with ``strict``, also a soft one): the caller must not
    push it."""
    format = format.upper()
    check_fetchable(format, convert_options)
    ref = parse(uri)
    own_client = client is None
    client = client or ExportApiClient()
    deadline = Deadline(timeout if timeout is not None else _TIMEOUT.get())
    work = fetched_folder(ref.label, f"-{format.lower()}")
    try:
        served = fetch(client, ref, format, work / "served", deadline)
        content, project = final_folder(served.folder, format)
        report = FetchReport(uri, format, {"fetched": True, "role": REVIEWER})
        report.notes["fetched"] = [served.describe(client.base_url)]
        server_report = content / REPORT_NAME
        if server_report.is_file():
            report.notes["server_report"] = _summary_of(server_report)

        def fetch_plain() -> Path:
            plain = fetch(client, ref, "PLAIN", work / "plain", deadline)
            report.notes["fetched"].append(plain.describe(client.base_url))
            return final_folder(plain.folder)[0]

        out = Path(out)
        with staged_folder(out) as stage:
            if _has_layout(format, content):
                _copy(content, stage)
                report.notes["layout"] = "as served"
            elif format == "AMAZON_COMPREHEND_CSV" and annotation_csvs(content):
                pair_comprehend(content, stage, report, fetch_plain)
                report.notes["layout"] = "built from per-document annotation CSVs"
            elif format == "AMAZON_COMPREHEND_CSV":
                if not lay_out_classifier(content, stage):
                    _copy(content, stage)
                report.notes["layout"] = "built from classifier CSVs"
            else:
                _copy(content, stage)
                report.notes["layout"] = "as served (not the layout of README's Formats table: see the checks)"
            target = SERVER_FORMATS[format]
            if target is not None:
                report.findings.extend(validate(stage, target))
            else:
                check_csv_files(stage, report)
            _count(format, stage, report)
            report.hash_files(stage)
            report.write(stage)
    finally:
        if own_client:
            client.close()
        shutil.rmtree(work, ignore_errors=True)  # OUT holds what was fetched; the report its sha256
    if report.rejected or ((convert_options or {}).get("strict") and report.lossy):
        problem = ("the files break the target's rules or do not pair" if report.rejected
                   else "not ready for training or not everything carried (--strict)")
        raise RejectedError(f"fetched, but {problem} (see labelport-report.json); nothing pushed",
                            file=out, report=report)
    project_id = str(project.get("id") or ref.project_id)
    return ExportFetch(project_id, report, out, report.notes["fetched"])


def _summary_of(path: Path) -> dict[str, Any]:
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return {"error": "not valid JSON"}
    keep = ("labelport", "format", "counts", "not_carried", "checks", "ready_for_training")
    return {k: data[k] for k in keep if isinstance(data, dict) and k in data}


def _copy(content: Path, stage: Path) -> None:
    for path in visible_files(content):  # (the server's own report is summarised in ours, not copied)
        rel = path.relative_to(content)
        (stage / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, stage / rel)


# -- CSV: the syntax check; counts ---------------------------------------------------------


def check_csv_files(folder: Path, report: Report) -> None:
    """CSV has no target service: each file must be UTF-8 RFC 4180 with a
    header and the same number of fields in every row."""
    tables = [p for p in visible_files(folder) if p.suffix.lower() == ".csv"]
    if not tables:
        report.find("csv.files", "the export holds no .csv file", hard=True)
    for path in tables:
        rel = path.relative_to(folder).as_posix()
        try:
            with open(path, encoding="utf-8", newline="") as fh:
                reader = csv.reader(fh, strict=True)
                header = next(reader, None)
                if not header or not any(h.strip() for h in header):
                    report.find("csv.header", "no header row", hard=True, file=rel, line=1)
                    continue
                for row in reader:
                    if row and len(row) != len(header):
                        report.find("csv.fields", f"{len(row)} fields; the header has {len(header)}",
                                    hard=True, file=rel, line=reader.line_num)
                        break
        except UnicodeDecodeError as exc:
            report.find("csv.encoding", f"not UTF-8: {exc.reason}", hard=True, file=rel)
        except csv.Error as exc:
            report.find("csv.syntax", f"not RFC 4180 CSV: {exc}", hard=True, file=rel)


def _count_lines(path: Path, predicate: Callable[[str], bool] = lambda line: bool(line.strip())) -> int:
    with open(path, encoding="utf-8", errors="replace", newline=None) as fh:
        return sum(1 for line in fh if predicate(line))


def _count(format: str, folder: Path, report: Report) -> None:
    """Counts of what was fetched: files, and the format's annotations."""
    files = visible_files(folder)
    report.count("files", len(files))
    for path in files:
        name = path.name.lower()
        if path.suffix.lower() == ".csv" and _annotation_csvs_one(path):
            report.count("annotations", max(0, _count_lines(path) - 1))
        elif format == "AMAZON_COMPREHEND_CSV" and path.parent.name == "documents":
            report.count("lines", _count_lines(path, lambda line: True))
        elif name == CLASSIFIER:
            report.count("rows", _rows(path, header=False))
        elif format == "AZURE_AUTOML_CSV" and path.suffix.lower() == ".txt":
            with open(path, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if line.strip():
                        report.count("tokens")
                        report.count("annotations", line.rstrip("\n").rsplit(" ", 1)[-1].startswith("B-"))
        elif format == "AZURE_AUTOML_CSV" and path.suffix.lower() == ".csv":
            report.count("rows", _rows(path, header=True))
        elif name.endswith(".jsonl"):
            with open(path, "rb") as fh:
                for line in fh:
                    if line.strip():
                        try:
                            item = orjson.loads(line)
                        except orjson.JSONDecodeError:
                            continue
                        if not isinstance(item, dict):
                            continue
                        segments = item.get("textSegmentAnnotations")
                        report.count("lines" if segments is not None else "rows")
                        labels = item.get("classificationAnnotations") or (
                            [item["classificationAnnotation"]] if item.get("classificationAnnotation") else [])
                        report.count("annotations", len(segments or []) + len(labels))
        elif format == "CSV" and path.suffix.lower() == ".csv":
            report.count("rows", _rows(path, header=True))


def _annotation_csvs_one(path: Path) -> bool:
    names = [n.lower() for n in header_names(path)]
    return bool(names) and names[0] == "file" and "begin offset" in names


def _rows(path: Path, header: bool) -> int:
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            return max(0, sum(1 for row in csv.reader(fh) if row) - (1 if header else 0))
    except csv.Error:
        return 0
