"""Options each format owns (issue 12, item 4).

Every format declares the options it takes (``Format.options``, a frozen
FormatOptions subclass). An option a format does not take is refused, naming
the option and the formats that take it, wherever it can be given: the command
line (``convert`` and ``export``: exit 2, nothing written, no job stored), the
Python API (UsageError before anything is written) and the service (a GraphQL
error, asked of a real ``labelport serve``). An option a format takes changes
its output as it did before. Who takes what is written out here (TAKERS), not
read from the code under test.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, run_cli
from hostile import assert_refused

import labelport
from labelport.errors import UsageError
from labelport.formats.registry import all_formats, option_names
from labelport.model import TOKEN_BASED

CONLL = ROOT / "examples" / "wnut17-sample.conll"
TICKETS = ROOT / "examples" / "tickets.csv"

#: Each option: its command-line flag and a value the formats that take it accept.
FLAGS = {
    "label_separator": ("--output-separator", ";"),
    "offset_unit": ("--offset-unit", "utf16"),
    "question": ("--question", "intent"),
    "transformer": ("--transformer", "gemini_tuning"),
}
#: The formats that take each option.
TAKERS = {
    "label_separator": {"CSV", "TSV", "XLSX", "JSON_TABULAR", "JSON"},
    "offset_unit": {"AMAZON_COMPREHEND_CSV", "GCP_VERTEX_AI_CSV"},
    "question": {"AMAZON_COMPREHEND_CSV", "AZURE_AUTOML_CSV", "GCP_VERTEX_AI_CSV", "HF_DATASET"},
    "transformer": {"CUSTOM"},
}
FORMATS = {fmt.id: fmt for fmt in all_formats()}
REFUSED = [(fmt, option) for fmt in FORMATS for option in FLAGS if fmt not in TAKERS[option]]


def served_input(fmt: str) -> tuple[Path, list[str]]:
    """An input ``fmt`` serves and the options that read it: the only thing
    wrong with a refused command is the format option."""
    if TOKEN_BASED in FORMATS[fmt].kinds:
        return CONLL, []
    return TICKETS, ["--label-column", "intent"]


def takers_in(message: str, option: str, fmt: str) -> set[str]:
    """The formats a refusal names as taking ``option`` (as its caller spells it)."""
    found = re.search(re.escape(option) + f": {fmt} does not take this option; formats that take it: ([A-Z0-9_, ]+)",
                      message)
    assert found, message
    return set(found.group(1).split(", "))


def test_each_format_declares_the_options_it_takes():
    assert {option: {f for f in FORMATS if option in option_names(FORMATS[f])} for option in FLAGS} == TAKERS
    assert option_names() == set(FLAGS)


# -- refused: the command line ----------------------------------------------------------------

@pytest.mark.parametrize(("fmt", "option"), REFUSED)
def test_convert_refuses_an_option_the_format_does_not_take(places, fmt, option):
    _, work, out = places
    source, read = served_input(fmt)
    flag, value = FLAGS[option]
    message = assert_refused(*run_cli("convert", source, *read, "-f", fmt, flag, value, "-o", out), work, out)
    assert takers_in(message, flag, fmt) == TAKERS[option]


def test_the_issues_command_names_all_three(places):
    _, work, out = places
    message = assert_refused(*run_cli("convert", CONLL, "-f", "TSV_IOB", "--offset-unit", "utf16", "--transformer",
                                      "gemini_tuning", "--question", "foo", "-o", out), work, out)
    assert takers_in(message, "--offset-unit", "TSV_IOB") == TAKERS["offset_unit"]
    assert takers_in(message, "--transformer", "TSV_IOB") == TAKERS["transformer"]
    assert takers_in(message, "--question", "TSV_IOB") == TAKERS["question"]


def test_an_option_given_with_its_default_value_is_still_given(places):
    """What the user said counts, whatever its value; what they did not say
    (the formats' defaults) never does."""
    _, work, out = places
    message = assert_refused(*run_cli("convert", CONLL, "-f", "TSV_IOB", "--offset-unit", "codepoint", "-o", out),
                             work, out)
    assert takers_in(message, "--offset-unit", "TSV_IOB") == TAKERS["offset_unit"]
    code, _, stderr = run_cli("convert", CONLL, "-f", "TSV_IOB", "-o", out)
    assert code == 0, stderr


@pytest.mark.parametrize("detach", [False, True])
def test_export_refuses_before_a_job_is_stored(places, tmp_path, monkeypatch, detach):
    from labelport.jobs.store import JobStore

    home = tmp_path / "home"
    monkeypatch.setenv("LABELPORT_HOME", str(home))
    _, work, out = places
    dest = tmp_path / "dest"
    message = assert_refused(*run_cli("export", CONLL, "-f", "CONLL_2003", "--question", "intent", "--to", dest,
                                      "-o", out, *(["--detach"] if detach else [])), work, out)
    assert takers_in(message, "--question", "CONLL_2003") == TAKERS["question"]
    assert not dest.exists()
    assert JobStore(home / "jobs.sqlite3").list() == []


# -- refused: the Python API ------------------------------------------------------------------

@pytest.mark.parametrize(("fmt", "option"), REFUSED)
def test_api_refuses_an_option_the_format_does_not_take(tmp_path, fmt, option):
    source, read = served_input(fmt)
    out = tmp_path / "out"
    project = labelport.load(source, label_columns=read[1:])
    with pytest.raises(UsageError) as refused:
        labelport.convert(project, fmt, out, **{option: FLAGS[option][1]})
    assert takers_in(str(refused.value), option, fmt) == TAKERS[option]
    assert list(tmp_path.iterdir()) == []


def test_api_export_refuses_before_a_job_is_stored(tmp_path, monkeypatch):
    from labelport.jobs.store import JobStore

    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    with pytest.raises(UsageError) as refused:
        labelport.export(CONLL, "TSV_IOB", to=str(tmp_path / "dest"), out=tmp_path / "out", offset_unit="utf16")
    assert takers_in(str(refused.value), "offset_unit", "TSV_IOB") == TAKERS["offset_unit"]
    assert not (tmp_path / "out").exists() and not (tmp_path / "dest").exists()
    assert JobStore(tmp_path / "home" / "jobs.sqlite3").list() == []


def test_none_is_not_given(tmp_path):
    """None is how a caller (and a stored spec) says "not given"."""
    report = labelport.convert(CONLL, "TSV_IOB", tmp_path / "out", label_separator=None, offset_unit=None,
                               question=None, transformer=None)
    assert report.counts["spans"] == 9


def test_a_spec_stored_before_formats_owned_their_options_still_runs(tmp_path, monkeypatch):
    """`labelport export` used to store every format option, with the command
    line's defaults, for every format: such a job still runs, to the bytes a
    plain conversion writes."""
    from labelport.jobs.store import open_store, run_here

    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    out, dest = tmp_path / "out", tmp_path / "dest"
    spec = {
        "input": str(CONLL),
        "read": {"from_format": None, "text_column": None, "label_columns": [], "label_separator": None, "columns": None},
        "format": "TSV_IOB",
        "convert": {"split": None, "seed": 0, "role": "REVIEWER", "zip": None, "strict": False, "overwrite": False,
                    "label_separator": "|", "offset_unit": "codepoint", "question": None, "transformer": None,
                    "jobs": 1, "convert_locally": False, "timeout": None},
        "out": str(out),
        "to": str(dest),
        "delivery": {"part_size": 8 << 20, "concurrency": 4, "private": False, "revision": None},
        "notices": [],
    }
    job = run_here(open_store().create(spec).id)
    assert job is not None and job.status == "DELIVERED", job and job.errors
    labelport.convert(CONLL, "TSV_IOB", tmp_path / "plain")
    assert (dest / "wnut17-sample.conll.tsv").read_bytes() == (tmp_path / "plain" / "wnut17-sample.conll.tsv").read_bytes()


# -- taken: each option still does what it did --------------------------------------------------

def convert_both(tmp_path: Path, source: Path, fmt: str, read: list[str], flag: str, value: str) -> tuple[Path, Path]:
    """OUT without the option and OUT with it."""
    outs = []
    for name, given in (("without", []), ("with", [flag, value])):
        out = tmp_path / name
        code, _, stderr = run_cli("convert", source, *read, "-f", fmt, *given, "-o", out)
        assert code == 0, stderr
        outs.append(out)
    return outs[0], outs[1]


def table_cells(out: Path, fmt: str) -> list[str]:
    """Every cell (value) of a table format's one file."""
    [path] = [p for p in out.iterdir() if p.name != "labelport-report.json"]
    if fmt == "CSV":
        return [c for row in csv.reader(io.StringIO(path.read_text("utf-8"))) for c in row]
    if fmt == "TSV":
        return [c for line in path.read_text("utf-8").splitlines() for c in line.split("\t")]
    if fmt == "XLSX":
        from openpyxl import load_workbook

        return [str(c) for row in load_workbook(path).active.iter_rows(values_only=True) for c in row if c is not None]
    rows = json.loads(path.read_bytes())
    return [str(v) for row in (rows if isinstance(rows, list) else [rows]) for v in row.values()]


@pytest.mark.parametrize("fmt", sorted(TAKERS["label_separator"]))
def test_output_separator_joins_a_cells_answers(tmp_path, fmt):
    source = tmp_path / "multi.tsv"
    source.write_text("text\ttopics\nhello there\tbilling|bug\n", encoding="utf-8")
    read = ["--label-column", "topics", "--label-separator", "|"]
    without, given = convert_both(tmp_path, source, fmt, read, "--output-separator", ";")
    assert "billing|bug" in table_cells(without, fmt) and "billing;bug" not in table_cells(without, fmt)
    assert "billing;bug" in table_cells(given, fmt) and "billing|bug" not in table_cells(given, fmt)


@pytest.mark.parametrize("fmt", sorted(TAKERS["offset_unit"]))
def test_offset_unit_counts_utf16_units(tmp_path, fmt):
    source = tmp_path / "astral.conll"
    source.write_text("\U0001F600\tO\nJohn\tB-PER\nlives\tO\n\n", encoding="utf-8")  # John: code point 2, UTF-16 unit 3
    without, given = convert_both(tmp_path, source, fmt, [], "--offset-unit", "utf16")

    def begin(out: Path) -> int:
        if fmt == "AMAZON_COMPREHEND_CSV":
            rows = list(csv.DictReader(io.StringIO((out / "train/annotations/annotations.csv").read_text("utf-8"))))
            return int(rows[0]["Begin Offset"])
        line = json.loads((out / "vertex_dataset.jsonl").read_text("utf-8").splitlines()[0])
        return line["textSegmentAnnotations"][0]["startOffset"]

    assert (begin(without), begin(given)) == (2, 3)


@pytest.mark.parametrize("fmt", sorted(TAKERS["question"]))
def test_question_picks_the_classifiers_labels(tmp_path, fmt):
    source = tmp_path / "two.tsv"
    source.write_text("text\tintent\tpriority\nhi there\tgreet\thigh\nbye now\tleave\tlow\nhello\tgreet\tlow\n",
                      encoding="utf-8")
    read = ["--label-column", "intent", "--label-column", "priority"]
    without, given = convert_both(tmp_path, source, fmt, read, "--question", "priority")

    def written(out: Path) -> bytes:  # the files for training (the report counts every question's answers)
        return b"".join(p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and p.name != "labelport-report.json")

    assert b"greet" in written(without) and b"high" not in written(without)
    assert b"high" in written(given) and b"greet" not in written(given)


def test_transformer_makes_the_custom_files(places, tmp_path):
    _, work, out = places
    code, stdout, stderr = run_cli("convert", CONLL, "-f", "CUSTOM", "-o", out)
    assert assert_refused(code, stdout, stderr, work, out).endswith(
        "CUSTOM needs --transformer NAME|PATH; available: gemini_tuning, gemini_tuning_relations, openai_chat, "
        "openai_chat_relations, spacy_docbin "
        "(or give a path to a .py file)")
    names = tmp_path / "names.py"
    names.write_text('EXTENSION = ".name"\n\ndef transform(document):\n    return document["document"]["name"]\n',
                     encoding="utf-8")
    code, _, stderr = run_cli("convert", CONLL, "-f", "CUSTOM", "--transformer", names, "-o", out)
    assert code == 0, stderr
    assert (out / "wnut17-sample.conll.name").read_text("utf-8") == "wnut17-sample.conll"


# -- the service: a real `labelport serve` --------------------------------------------------------

pytest.importorskip("uvicorn")
import httpx  # noqa: E402  (after the skip: the serve extra brings it)
from servers.ports import free_port, stop_process, wait_for_port  # noqa: E402
from test_serve import DOCUMENT_QUERY, EXPORT_KEY_QUERY, Service, copy_projects  # noqa: E402

FAST_TRANSFORMER = 'EXTENSION = ".txt"\n\ndef transform(document):\n    return document["document"]["name"]\n'
ALL_COMMENT_TYPES = ["ARROW_LABEL", "COMMENT", "SPAN_LABEL", "SPAN_TEXT"]


def served_project(fmt: str) -> str:
    return "newsroom-p8Xk2Lq9" if TOKEN_BASED in FORMATS[fmt].kinds else "support-tickets-r7Tt"


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    projects, converters = root / "projects", root / "converters"
    projects.mkdir()
    converters.mkdir()
    copy_projects(projects)
    (converters / "fast.py").write_text(FAST_TRANSFORMER, encoding="utf-8")
    port = free_port()
    env = {**os.environ, "LABELPORT_HOME": str(root / "home"), "LABELPORT_CONVERTERS": str(converters),
           "LABELPORT_OAUTH_CLIENTS": "script:pw", "PYTHONIOENCODING": "utf-8"}
    with open(root / "serve.log", "w") as log:  # a file, not a pipe: nothing blocks the service
        process = subprocess.Popen([sys.executable, "-m", "labelport", "serve", "--projects", str(projects),
                                    "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=30)
        yield Service(f"http://127.0.0.1:{port}", root, projects, root, root, None), root / "home"
    finally:
        stop_process(process)


def ask(service: Service, query: str, fields: dict) -> dict:
    return service.call(query, {"input": fields}, token=service.token("script", "pw"))


def jobs_in(home: Path) -> int:
    from labelport.jobs.store import JobStore

    return len(JobStore(home / "jobs.sqlite3").list(1000)) if (home / "jobs.sqlite3").exists() else 0


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f not in TAKERS["transformer"]])
def test_service_refuses_a_transformer_for_another_format(serve, fmt):
    service, home = serve
    jobs = jobs_in(home)
    body = ask(service, EXPORT_KEY_QUERY, {"projectIds": [served_project(fmt)], "fileName": "x", "format": fmt,
                                           "method": "FILE_STORAGE", "fileTransformerId": "fast"})
    assert body["data"] is None and len(body["errors"]) == 1, body
    assert jobs_in(home) == jobs
    assert takers_in(body["errors"][0]["message"], "fileTransformerId", fmt) == TAKERS["transformer"]


def test_service_refuses_a_transformer_for_one_document_too(serve):
    service, home = serve
    body = ask(service, DOCUMENT_QUERY, {"documentId": "5e1f-tickets", "fileName": "x", "format": "CSV",
                                         "method": "FILE_STORAGE", "fileTransformerId": "fast"})
    assert body["data"] is None, body
    assert takers_in(body["errors"][0]["message"], "fileTransformerId", "CSV") == TAKERS["transformer"]


def test_what_datasaurs_scripts_send_for_every_format_still_exports(serve):
    """Robosaur sends role, every includedCommentType and a null
    fileTransformerId whatever the format: options of every format, never refused."""
    service, _ = serve
    started = {}
    for fmt in FORMATS:
        body = ask(service, EXPORT_KEY_QUERY, {
            "projectIds": [served_project(fmt)], "fileName": f"robosaur-{fmt.lower()}", "format": fmt,
            "method": "FILE_STORAGE", "role": "REVIEWER", "includedCommentType": ALL_COMMENT_TYPES,
            "fileTransformerId": "fast" if fmt == "CUSTOM" else None})
        assert "errors" not in body, (fmt, body)
        started[fmt] = body["data"]["result"]
    deadline = time.monotonic() + 120
    for fmt, result in started.items():
        status = service.wait(result["exportId"], token=service.token("script", "pw"),
                              timeout=max(1.0, deadline - time.monotonic()))
        assert status["deliveryStatus"] == "DELIVERED", (fmt, status)
        download = httpx.get(result["fileUrl"])
        assert download.status_code == 200
        names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
        assert any("/REVIEW/" in name for name in names), (fmt, names)
