"""Format names: one registry (labelport.formats.registry) behind ``-f``,
``--from``, the Python API, the service and the README.

What users rely on: a name (an id or an alias, any case, ``-`` for ``_``)
means the same format wherever it is typed; what ``-f X`` writes, ``--from X``
reads back to the same spans and answers for every format the table says it
reads; a wrong name is refused with the closest right one; ``labelport
formats`` and the README's table say the same; listing and resolving names
imports no format module. Expected content is recomputed from the sources by
tests/sources.py, not by labelport.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile

import pytest

import labelport
from conftest import FIXTURES, ROOT, SMS_SLICE, WNUT17_FIXTURES, run_cli
from hostile import assert_refused
from labelport.errors import UsageError
from labelport.formats import registry
from labelport.formats.registry import FORMATS
from labelport.model import DOCUMENT_BASED, ROW_BASED, TOKEN_BASED
from sources import REPORT, entities, read_conll, sms_pairs

WNUT_SLICE = WNUT17_FIXTURES / "wnut17train.head.conll"
NEWSROOM = FIXTURES / "datasaur" / "newsroom-p8Xk2Lq9"
README = ROOT / "README.md"

#: every name each format answers to, as users type them
NAMES = [(name, entry.id) for entry in FORMATS.values() for name in (entry.id, *entry.aliases)]
SPELLINGS = [str.upper, str.lower, str.title, lambda name: name.lower().replace("_", "-")]


def spellings(name: str) -> list[str]:
    return list(dict.fromkeys(spell(name) for spell in SPELLINGS))


# -- the names -----------------------------------------------------------------------

@pytest.mark.parametrize(("name", "format_id"), NAMES)
def test_every_name_means_one_format_for_writing_and_reading(name, format_id):
    entry = FORMATS[format_id]
    for spelling in spellings(name):
        assert registry.format_id(spelling) == format_id
        assert registry.get_format(spelling).id == format_id
        if entry.reader:
            assert registry.reader_id(spelling) == format_id
        else:
            with pytest.raises(UsageError, match=f"writes {format_id} but cannot read it"):
                registry.reader_id(spelling)


def test_the_legacy_names_are_aliases():
    """Every name the read side and the Export API accepted before one registry."""
    legacy = {"CONLL": "CONLL_2003", "CONLL2003": "CONLL_2003", "IOB": "TSV_IOB", "NON_IOB": "TSV_NON_IOB",
              "IO": "TSV_NON_IOB", "conll": "CONLL_2003", "iob": "TSV_IOB", "non-iob": "TSV_NON_IOB"}
    for name, format_id in legacy.items():
        assert registry.format_id(name) == format_id
        assert registry.reader_id(name) == format_id


def test_each_entry_agrees_with_its_writer_and_reader():
    for entry in FORMATS.values():
        fmt = registry.get_format(entry.id)
        assert (fmt.id, fmt.kinds) == (entry.id, entry.kinds)
        assert entry.reads_back <= entry.kinds
        assert bool(entry.reader) == bool(entry.reads_back), entry.id
        if entry.reader:
            assert callable(registry.reader_module(entry.id).read)


@pytest.mark.parametrize(("name", "format_id"), [(n, f) for n, f in NAMES if n != f])
def test_an_alias_on_the_command_line_writes_and_reads_its_format(tmp_path, name, format_id):
    """``-f alias`` writes what ``-f ID`` writes; ``--from alias`` reads it."""
    for out, asked in ((tmp_path / "by-id", format_id), (tmp_path / "by-alias", name.lower())):
        code, _, err = run_cli("convert", WNUT_SLICE, "-f", asked, "-o", out)
        assert code == 0, err
    by_id = {p.name: p.read_bytes() for p in (tmp_path / "by-id").iterdir() if p.name != REPORT}
    by_alias = {p.name: p.read_bytes() for p in (tmp_path / "by-alias").iterdir() if p.name != REPORT}
    assert by_alias == by_id and by_id
    assert json.loads((tmp_path / "by-alias" / REPORT).read_bytes())["format"] == format_id
    code, out, err = run_cli("inspect", tmp_path / "by-alias", "--from", name.lower(), "--json")
    assert code == 0, err
    assert json.loads(out)["spans"] == sum(len(entities(s)) for s in read_conll(WNUT_SLICE))


# -- wrong names ---------------------------------------------------------------------

#: (typed, the name the refusal suggests)
MISSPELT = [("tsv_iobb", "TSV_IOB"), ("comprehend", "AMAZON_COMPREHEND_CSV"), ("Datasaur-Schem", "DATASAUR_SCHEMA"),
            ("conl", "CONLL_2003"), ("xslx", "XLSX")]


@pytest.mark.parametrize(("typed", "meant"), MISSPELT)
def test_a_misspelt_format_gets_did_you_mean_in_the_cli(places, typed, meant):
    inputs, work, out = places
    source = inputs / "ok.conll"
    shutil.copy(WNUT_SLICE, source)
    message = assert_refused(*run_cli("convert", source, "-f", typed, "-o", out), work, out)
    assert f"unknown format {typed!r} (did you mean {meant}?)" in message, message
    assert "TSV_IOB, TSV_NON_IOB, CONLL_2003" in message, "the known formats are listed"
    if FORMATS[meant].reader:
        message = assert_refused(*run_cli("convert", source, "--from", typed, "-f", "CSV", "-o", out), work, out)
        assert f"--from: unknown input format {typed!r} (did you mean {meant}?)" in message, message


def test_a_misspelt_format_gets_did_you_mean_in_the_python_api(tmp_path):
    project = labelport.load(WNUT_SLICE)
    with pytest.raises(UsageError, match=r"unknown format 'tsv_iobb' \(did you mean TSV_IOB\?\)"):
        labelport.convert(project, "tsv_iobb", tmp_path / "out")
    with pytest.raises(UsageError, match=r"unknown format 'conl' \(did you mean CONLL_2003\?\)"):
        labelport.export(project, "conl", out=tmp_path / "out")
    with pytest.raises(UsageError, match=r"unknown input format 'cnll' \(did you mean CONLL_2003\?\)"):
        labelport.load(WNUT_SLICE, from_format="cnll")
    assert not (tmp_path / "out").exists()


def test_from_json_is_refused_and_points_at_datasaur_schema(places):
    """``-f JSON`` has no reader; ``--from JSON`` once read DATASAUR_SCHEMA.
    It is refused with the formats labelport reads and what was likely meant."""
    inputs, work, out = places
    source = inputs / "news.json"
    shutil.copy(next(NEWSROOM.rglob("REVIEW/*.json")), source)
    message = assert_refused(*run_cli("convert", source, "--from", "json", "-f", "CSV", "-o", out), work, out)
    assert "labelport writes JSON but cannot read it" in message, message
    assert "labelport reads DATASAUR_SCHEMA, JSON_ADVANCED" in message and "Did you mean DATASAUR_SCHEMA" in message
    # without --from the same file is detected as what it is
    code, _, err = run_cli("convert", source, "-f", "CSV", "-o", out)
    assert code == 0, err


# -- -f X then --from X: the same content ----------------------------------------------

def token_content(project) -> list[tuple[str, list[tuple[int, int, str]]]]:
    return [(line.text, sorted((s.start, s.end, s.label) for s in line.spans))
            for document in project.documents() for line in document.lines]


def row_content(project) -> list[tuple[tuple[str, ...], dict]]:
    names = {q.id: q.name for q in project.questions}
    return [(tuple(row.cells), {names[k]: v for k, v in row.answers.items()})
            for document in project.documents() for row in document.rows]


def document_content(project) -> list[dict]:
    names = {q.id: q.name for q in project.document_questions}
    return [{names[k]: v for k, v in document.answers.items()} for document in project.documents()]


def expected_tokens() -> list:
    return [(s.text, [(e.start, e.end, e.label) for e in entities(s)]) for s in read_conll(WNUT_SLICE)]


def expected_rows() -> list:
    return [((text,), {"label": label}) for label, text in sms_pairs(SMS_SLICE)]


SOURCES = {
    TOKEN_BASED: (WNUT_SLICE, (), {}),
    ROW_BASED: (SMS_SLICE, ("--from", "TSV", "--columns", "label,text"), {"label_columns": ["label"]}),
    DOCUMENT_BASED: (NEWSROOM, (), {}),
}
READ_BACK = [(entry.id, kind) for entry in FORMATS.values() for kind in sorted(entry.reads_back)]


@pytest.mark.parametrize(("format_id", "kind"), READ_BACK)
def test_what_f_writes_from_reads_back(tmp_path, format_id, kind):
    """Every (format, kind) the registry says reads back does, through the
    command line: ``convert -f X`` then ``inspect``/``load`` with ``--from X``.
    A table's question columns are named when read back (tables do not mark them)."""
    source, read_args, read_back = SOURCES[kind]
    out = tmp_path / "out"
    code, _, err = run_cli("convert", source, *read_args, "-f", format_id, "-o", out)
    assert code == 0, err
    if kind == TOKEN_BASED:
        assert token_content(labelport.load(out, from_format=format_id)) == expected_tokens()
    elif kind == ROW_BASED:
        table = format_id in ("CSV", "TSV", "XLSX")  # the table options are refused for any other reader
        assert row_content(labelport.load(out, from_format=format_id, **(read_back if table else {}))) == expected_rows()
    else:  # the fixture's document answers, read by its own reader, must survive the trip
        original = labelport.load(source)
        back = labelport.load(out, from_format=format_id)
        assert document_content(back) == document_content(original) and any(document_content(back))
        assert token_content(back) == token_content(original)


# -- the table -----------------------------------------------------------------------

def readme_formats_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("\n## Formats\n", 1)[1].split("\n## ", 1)[0]


def markdown_rows(lines: list[str]) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines if line.startswith("|")]


def test_the_readme_table_is_labelport_formats():
    code, printed, err = run_cli("formats", "--markdown")
    assert code == 0, err
    section = readme_formats_section()
    assert printed in section, "README's table differs from `labelport formats --markdown`: paste that in"
    table = [line for line in section.splitlines() if line.startswith("|")]
    assert table == [line for line in printed.splitlines() if line.startswith("|")]
    # the terminal table holds the same cells (backticks dropped)
    code, plain, err = run_cli("formats")
    assert code == 0, err
    lines = plain.splitlines()
    header = lines[0]
    starts = [header.index(name) for name in ("ID", "ALIASES", "KINDS", "READ BACK", "FILES")]
    rows = [[line[a:b].strip() for a, b in zip(starts, starts[1:] + [None])] for line in lines[1:1 + len(FORMATS)]]
    expected = [[cell.replace("`", "") for cell in row] for row in markdown_rows(table)[2:]]
    assert rows == expected
    assert [row[0] for row in rows] == list(FORMATS)


def test_listing_and_resolving_names_imports_no_format_module():
    """`labelport --help` and `labelport formats` start without a format or reader module."""
    for args in (["--help"], ["formats"], ["convert", "--help"]):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "labelport", *args],
                              capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": ""}, timeout=60)
        assert proc.returncode == 0, proc.stderr
        imported = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
        loaded = sorted(m for m in imported if re.match(r"labelport\.(formats|readers)\.", m))
        assert set(loaded) <= {"labelport.formats.base", "labelport.formats.registry"}, (args, loaded)


# -- the service: a real `labelport serve` ----------------------------------------------

@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    pytest.importorskip("uvicorn")
    from servers.ports import free_port, wait_for_port

    root = tmp_path_factory.mktemp("serve-names")
    projects = root / "projects"
    shutil.copytree(NEWSROOM, projects / NEWSROOM.name)
    port = free_port()
    env = {**os.environ, "LABELPORT_HOME": str(root / "home"), "LABELPORT_OAUTH_CLIENTS": "names:pw",
           "PYTHONIOENCODING": "utf-8"}
    env.pop("LABELPORT_CONVERTERS", None)
    with open(root / "serve.log", "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "labelport", "serve", "--projects", str(projects),
                                    "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def graphql(base: str, query: str, variables: dict) -> dict:
    import httpx

    token = httpx.post(f"{base}/api/oauth/token", data={"client_id": "names", "client_secret": "pw",
                                                          "grant_type": "client_credentials"}).json()["access_token"]
    answer = httpx.post(f"{base}/graphql", json={"query": query, "variables": variables},
                        headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 200
    return answer.json()


EXPORT = ("query E($input: ExportTextProjectInput!) { exportTextProject(input: $input) "
          "{ exportId fileUrl } }")
JOB = "query J($id: String!) { getJob(jobId: $id) { status result } }"


def export(base: str, format: str) -> dict:
    return graphql(base, EXPORT, {"input": {"projectIds": [NEWSROOM.name], "fileName": "names", "format": format,
                                            "method": "FILE_STORAGE"}})


#: every name the Export API accepted before one registry, spelt as its clients send them
SERVICE_NAMES = [("iob", "TSV_IOB"), ("non-iob", "TSV_NON_IOB"), ("NON_IOB", "TSV_NON_IOB"), ("conll", "CONLL_2003"),
                 ("conll2003", "CONLL_2003"), ("CONLL2003", "CONLL_2003"), ("tsv-iob", "TSV_IOB"), ("json", "JSON"),
                 ("datasaur_schema", "DATASAUR_SCHEMA")]


def test_the_service_takes_every_legacy_name(serve, tmp_path):
    """Each is the format the name says: the job reports its id, and the zip's
    REVIEW file is what ``labelport convert -f ID`` writes for it."""
    import httpx

    started = {}
    for name, format_id in SERVICE_NAMES:
        body = export(serve, name)
        assert "errors" not in body, (name, body)
        started[body["data"]["exportTextProject"]["exportId"]] = (name, format_id, body)
    deadline = time.monotonic() + 120
    for export_id, (name, format_id, body) in started.items():
        while True:
            job = graphql(serve, JOB, {"id": export_id})["data"]["getJob"]
            if job["status"] in ("DELIVERED", "FAILED") or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert job["status"] == "DELIVERED", (name, job)
        assert job["result"]["format"] == format_id, name
        content = httpx.get(body["data"]["exportTextProject"]["fileUrl"]).content
        local = tmp_path / format_id
        if not local.exists():
            labelport.convert(NEWSROOM, format_id, local)
        (written,) = local.glob("news.txt.*")
        served = zipfile.ZipFile(io.BytesIO(content)).read(f"{NEWSROOM.name}/REVIEW/{written.name}")
        assert served == written.read_bytes(), name


@pytest.mark.parametrize(("typed", "meant"), [("tsv_iobb", "TSV_IOB"), ("comprehend", "AMAZON_COMPREHEND_CSV")])
def test_the_service_answers_a_misspelt_format_with_did_you_mean(serve, typed, meant):
    body = export(serve, typed)
    assert body["data"] is None and len(body["errors"]) == 1
    assert f"unknown format {typed!r} (did you mean {meant}?)" in body["errors"][0]["message"]
