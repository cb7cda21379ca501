"""Adversarial cases for "fail before work" (issue 13): what can be known
before converting is refused before converting, with nothing written anywhere.

Each export runs with LABELPORT_HOME set to OUT's parent (``work``), so
tests/hostile.py's :func:`assert_refused` (``work`` left empty) also proves
that no job was stored and no converted file was kept under LABELPORT_HOME.
A missing SDK is simulated as tests/test_deliver_gcs.py does: the module set
to None in ``sys.modules`` of the process that runs the command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, WNUT17_FIXTURES, run_cli
from hostile import assert_refused

WNUT_SLICE = WNUT17_FIXTURES / "wnut17train.head.conll"


def command_without(missing: tuple[str, ...], *args: object, home: Path,
                    env: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of ``labelport ARGS`` in a process where
    each module of ``missing`` cannot be imported."""
    code = (
        "import sys\n"
        f"for name in {list(missing)!r}:\n"
        "    sys.modules[name] = None\n"
        "from labelport.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    environ = {**os.environ, "LABELPORT_HOME": str(home), "PYTHONIOENCODING": "utf-8", **(env or {})}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), environ.get("PYTHONPATH")]))
    return [sys.executable, "-c", code, *map(str, args)], environ


def run_without(missing: tuple[str, ...], *args: object, home: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``labelport ARGS`` in a process where each module of ``missing`` cannot be imported."""
    command, environ = command_without(missing, *args, home=home, env=env)
    proc = subprocess.run(command, env=environ, stdin=subprocess.DEVNULL, capture_output=True, timeout=120,
                          check=False)
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


# (id, modules missing, destination, words the one error line holds)
MISSING_SDKS = [
    ("s3", ("boto3",), "s3://bucket/prefix", "install labelport[s3]"),
    ("gcs", ("google.cloud.storage",), "gs://bucket/prefix", "install labelport[gcs]"),
    ("azure", ("azure.storage.blob",), "az://container/prefix", "install labelport[azure]"),
    ("hf", ("huggingface_hub",), "hf://datasets/owner/name", "install labelport[hf]"),
]


@pytest.mark.parametrize("case_id, missing, dest, words", MISSING_SDKS, ids=[c[0] for c in MISSING_SDKS])
def test_export_without_the_sdk_converts_nothing(places, case_id, missing, dest, words):
    _, work, _ = places
    code, stdout, stderr = run_without(missing, "export", WNUT_SLICE, "-f", "CONLL_2003", "--to", dest, home=work)
    message = assert_refused(code, stdout, stderr, work, work / "exports")
    assert words in message and "converting" not in stderr


@pytest.mark.parametrize("case_id, missing, dest, words", MISSING_SDKS, ids=[c[0] for c in MISSING_SDKS])
def test_export_with_o_without_the_sdk_leaves_no_output(places, case_id, missing, dest, words):
    _, work, out = places
    code, stdout, stderr = run_without(missing, "export", WNUT_SLICE, "-f", "CONLL_2003", "-o", out, "--to", dest,
                                       home=work)
    assert words in assert_refused(code, stdout, stderr, work, out)


def test_export_detached_without_the_sdk_starts_no_job(places):
    _, work, _ = places
    code, stdout, stderr = run_without(("boto3",), "export", WNUT_SLICE, "-f", "CONLL_2003", "--to", "s3://b-1/x",
                                       "--detach", home=work)
    assert "install labelport[s3]" in assert_refused(code, stdout, stderr, work, work / "exports")
    assert stdout == ""  # no job id


def test_hf_dataset_without_pyarrow_is_refused_before_reading(places):
    inputs, work, out = places
    code, stdout, stderr = run_without(("pyarrow",), "convert", WNUT_SLICE, "-f", "HF_DATASET", "-o", out, home=work)
    assert assert_refused(code, stdout, stderr, work, out).endswith(
        "writing HF_DATASET needs pyarrow: install labelport[hf]")
    code, stdout, stderr = run_without(("pyarrow",), "export", WNUT_SLICE, "-f", "HF_DATASET", "--to", inputs / "d",
                                       home=work)
    assert "install labelport[hf]" in assert_refused(code, stdout, stderr, work, work / "exports")


#: What the Export API client reads, set (to a server nobody is asked: the refusal comes first).
SERVER_ENV = {"DATASAUR_BASE_URL": "http://127.0.0.1:9", "DATASAUR_CLIENT_ID": "id", "DATASAUR_CLIENT_SECRET": "pw",
              "DATASAUR_TIMEOUT": "60"}
# (id, input, environment over SERVER_ENV, format, the one error line's words)
DATASAUR_REFUSED = [
    ("no-base-url", "datasaur://p1", {"DATASAUR_BASE_URL": ""}, "TSV_IOB", "datasaur://: set DATASAUR_BASE_URL ("),
    ("no-client-id", "datasaur://p1", {"DATASAUR_CLIENT_ID": ""}, "TSV_IOB", "datasaur://: set DATASAUR_CLIENT_ID ("),
    ("no-secret", "datasaur://p1", {"DATASAUR_CLIENT_SECRET": ""}, "AMAZON_COMPREHEND_CSV",
     "datasaur://: set DATASAUR_CLIENT_SECRET ("),
    ("none-set", "datasaur://p1/d1", {k: "" for k in SERVER_ENV}, "AMAZON_COMPREHEND_CSV",
     "datasaur://: set DATASAUR_BASE_URL, DATASAUR_CLIENT_ID, DATASAUR_CLIENT_SECRET ("),
    ("base-url-not-a-url", "datasaur://p1", {"DATASAUR_BASE_URL": "app.datasaur.ai"}, "TSV_IOB",
     "DATASAUR_BASE_URL must be a URL such as https://app.datasaur.ai, not 'app.datasaur.ai'"),
    ("timeout-not-a-number", "datasaur://p1", {"DATASAUR_TIMEOUT": "soon"}, "TSV_IOB",
     "DATASAUR_TIMEOUT must be a number of seconds, not 'soon'"),
    ("no-project-id", "datasaur:///d1", {}, "TSV_IOB", "expected datasaur://PROJECT_ID or datasaur://PROJECT_ID/"),
]


@pytest.mark.parametrize("case_id, source, env, format_id, words", DATASAUR_REFUSED,
                         ids=[c[0] for c in DATASAUR_REFUSED])
@pytest.mark.parametrize("with_out", [True, False], ids=["with-o", "without-o"])
def test_datasaur_export_without_what_the_client_needs_starts_no_job(places, case_id, source, env, format_id, words,
                                                                     with_out):
    """The Export API client's server and credentials are asked for before the
    job exists: no job, no fetch, nothing under LABELPORT_HOME or OUT."""
    inputs, work, out = places
    (inputs / "d").mkdir()
    code, stdout, stderr = run_without((), "export", source, "-f", format_id, *(["-o", out] if with_out else []),
                                       "--to", inputs / "d", home=work, env={**SERVER_ENV, **env})
    assert words in assert_refused(code, stdout, stderr, work, out if with_out else work / "exports")
    assert list((inputs / "d").iterdir()) == []


@pytest.mark.parametrize("flags, words", [
    (["--split", "train=0.5,test=0.5"], "--split: the server writes CSV itself and cannot follow that"),
    (["--stratify"], "--stratify: the server writes CSV itself"),
    (["--split-by", "line"], "--split-by: the server writes CSV itself"),
], ids=["split", "stratify", "split-by"])
def test_datasaur_export_an_option_the_server_cannot_follow_starts_no_job(places, flags, words):
    """What the server cannot follow in its own export is refused before the
    job exists (it failed inside the job, leaving a job store behind)."""
    inputs, work, out = places
    (inputs / "d").mkdir()
    code, stdout, stderr = run_without((), "export", "datasaur://p1", "-f", "CSV", *flags, "-o", out,
                                       "--to", inputs / "d", home=work, env=SERVER_ENV)
    assert words in assert_refused(code, stdout, stderr, work, out)
    assert list((inputs / "d").iterdir()) == []


# (id, destination, words): URLs refused as they are written, whatever the SDK
BAD_URLS = [
    ("s3-no-bucket", "s3://", "no bucket or container named"),
    ("s3-bad-bucket", "s3://a bucket/x", "is not an S3 bucket name"),
    ("gs-no-bucket", "gs:///x", "no bucket or container named"),
    ("gs-bad-bucket", "gs://Bucket!/x", "is not a Cloud Storage bucket name"),
    ("az-bad-container", "az://Container_1/x", "not a valid container name"),
    ("hf-model-repo", "hf://models/owner/name", "only dataset repos take deliveries"),
    ("hf-no-owner", "hf://datasets/name", "name the repo as owner/name"),
    ("unknown-scheme", "ftp://host/x", "unknown destination"),
]


def test_serve_refuses_hf_dataset_without_pyarrow_at_the_request(tmp_path):
    """``labelport serve`` (the real command, pyarrow hidden from its process)
    answers an HF_DATASET export with a GraphQL error naming the extra, and
    stores no job; another format still exports."""
    from servers.ports import free_port, wait_for_port
    from test_serve import EXPORT_QUERY, NEWSROOM, Service

    from labelport.jobs.store import JobStore

    projects, home = tmp_path / "projects", tmp_path / "home"
    shutil.copytree(NEWSROOM, projects / NEWSROOM.name)
    port = free_port()
    command, environ = command_without(("pyarrow",), "serve", "--projects", projects, "--port", port, home=home,
                                       env={"LABELPORT_OAUTH_CLIENTS": "cli:pw"})
    with open(tmp_path / "serve.log", "w") as log:  # a file, not a pipe: nothing blocks the service
        process = subprocess.Popen(command, env=environ, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=30)
        service = Service(f"http://127.0.0.1:{port}", tmp_path, projects, tmp_path, tmp_path, None)
        token = service.token("cli", "pw")
        fields = {"projectIds": [NEWSROOM.name], "fileName": "hf", "format": "HF_DATASET", "method": "FILE_STORAGE"}
        body = service.call(EXPORT_QUERY, {"input": fields}, token=token)
        assert body.get("data") is None and len(body["errors"]) == 1, body
        assert body["errors"][0]["message"] == "writing HF_DATASET needs pyarrow: install labelport[hf]", body
        assert JobStore(home / "jobs.sqlite3").list() == []
        fields["format"] = "TSV_IOB"  # the same request in a format without extras: a job
        body = service.call(EXPORT_QUERY, {"input": fields}, token=token)
        assert "errors" not in body, body
        assert [job.id for job in JobStore(home / "jobs.sqlite3").list()] == [body["data"]["result"]["exportId"]]
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize("case_id, dest, words", BAD_URLS, ids=[c[0] for c in BAD_URLS])
def test_export_to_a_malformed_destination_converts_nothing(places, case_id, dest, words):
    _, work, _ = places
    code, stdout, stderr = run_without((), "export", WNUT_SLICE, "-f", "CONLL_2003", "--to", dest, home=work,
                                       env={"AZURE_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true"})
    assert words in assert_refused(code, stdout, stderr, work, work / "exports")


@pytest.mark.parametrize("case_id, dest, words", BAD_URLS, ids=[c[0] for c in BAD_URLS])
def test_push_to_a_malformed_destination(places, case_id, dest, words):
    inputs, work, _ = places
    (inputs / "a.txt").write_text("a\n", encoding="utf-8")
    code, stdout, stderr = run_cli("push", inputs, dest)
    assert words in assert_refused(code, stdout, stderr, work, work / "OUT")


def test_export_to_a_destination_inside_its_output(places):
    _, work, out = places
    code, stdout, stderr = run_without((), "export", WNUT_SLICE, "-f", "CONLL_2003", "-o", out, "--to", out / "dest",
                                       home=work)
    assert "DEST is inside the folder being pushed" in assert_refused(code, stdout, stderr, work, out)


def test_export_of_a_missing_input_stores_no_job(places):
    inputs, work, _ = places
    code, stdout, stderr = run_without((), "export", inputs / "missing.conll", "-f", "CONLL_2003", "--to",
                                       inputs / "dest", home=work)
    assert assert_refused(code, stdout, stderr, work, work / "exports").endswith("missing.conll: no such file or folder")


def test_output_under_a_file_is_refused_before_reading(places):
    inputs, work, out = places
    blocker = inputs / "a-file"
    blocker.write_text("x", encoding="utf-8")
    for command in (("convert",), ("export", "--to", inputs / "dest")):
        code, stdout, stderr = run_without((), command[0], WNUT_SLICE, "-f", "CONLL_2003", "-o", blocker / "OUT",
                                           *command[1:], home=work)
        assert "is not a folder" in assert_refused(code, stdout, stderr, work, out)
    assert blocker.read_text(encoding="utf-8") == "x"


def test_output_holding_foreign_files_is_refused_before_the_job(places):
    inputs, work, _ = places
    out = inputs / "OUT"
    out.mkdir()
    (out / "mine.txt").write_text("not labelport's", encoding="utf-8")
    code, stdout, stderr = run_without((), "export", WNUT_SLICE, "-f", "CONLL_2003", "-o", out, "--to",
                                       inputs / "dest", home=work)
    assert "holds files labelport did not write" in assert_refused(code, stdout, stderr, work, work / "exports")
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"] and not (inputs / "dest").exists()


# -- validate --target X on what is not X's export ------------------------------------------

TARGET_FORMATS = {"comprehend": "AMAZON_COMPREHEND_CSV", "azure": "AZURE_AUTOML_CSV",
                  "vertex": "GCP_VERTEX_AI_CSV", "hf": "HF_DATASET"}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    """Each target's labelport output (and a CoNLL one) of the newsroom example."""
    root = tmp_path_factory.mktemp("outputs")
    for fmt in (*TARGET_FORMATS.values(), "CONLL_2003"):
        code, _, stderr = run_cli("convert", ROOT / "examples" / "newsroom-export.zip", "-f", fmt, "-o", root / fmt)
        assert code == 0, stderr
    return root


@pytest.mark.parametrize("target", TARGET_FORMATS)
def test_validate_an_empty_folder(places, target):
    inputs, work, _ = places
    code, stdout, stderr = run_cli("validate", inputs, "--target", target)
    assert " export: no " in assert_refused(code, stdout, stderr, work, work / "OUT") or "dataset: no " in stderr


@pytest.mark.parametrize("target, other", [(t, o) for t in TARGET_FORMATS for o in (*TARGET_FORMATS, "conll") if o != t])
def test_validate_another_targets_output(places, outputs, target, other):
    _, work, _ = places
    made = TARGET_FORMATS.get(other, "CONLL_2003")
    code, stdout, stderr = run_cli("validate", outputs / made, "--target", target)
    message = assert_refused(code, stdout, stderr, work, work / "OUT")
    assert f"labelport wrote {made} here" in message and f"checks {TARGET_FORMATS[target]} files" in message
    if other in TARGET_FORMATS:
        assert f"(validate it with --target {other})" in message


def test_validate_a_foreign_folder_of_other_files(places):
    """No labelport report: what the checker reads decides (a JSON file of
    another name, and a folder of notes, are no target's)."""
    inputs, work, _ = places
    (inputs / "labels.json").write_text('{"labels": ["PER"]}', encoding="utf-8")
    (inputs / "notes").mkdir()
    (inputs / "notes" / "readme.md").write_text("# notes\n", encoding="utf-8")
    for target in TARGET_FORMATS:
        code, stdout, stderr = run_cli("validate", inputs, "--target", target)
        assert "not a" in assert_refused(code, stdout, stderr, work, work / "OUT")
