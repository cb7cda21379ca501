"""labelport as a client of the Export API: ``labelport.load("datasaur://ID")``
and ``labelport export datasaur://ID -f FORMAT --to DEST``.

The server is ``labelport serve``, started with the real command line on
127.0.0.1 (one with the default token lifetime, one with ``--token-ttl 1``),
serving a copy of tests/fixtures/datasaur/* plus a project whose Comprehend
export the server refuses. A slow and a failing CUSTOM transformer come from
LABELPORT_CONVERTERS, as in tests/test_serve.py. What labelport serve never
sends — Datasaur's own per-document Comprehend CSVs that must be paired with
the PLAIN export, and a zip with an entry escaping its folder — comes from a
small stand-in server in this file, over real HTTP too.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from servers.ports import free_port, stop_process, wait_for_port

import labelport
from labelport.client.export_api import Deadline, ExportApiClient, ExportFailed
from labelport.client.fetch import fetch_export
from labelport.errors import DeliveryError, InputError, UsageError
from labelport.guards.archives import safe_extract
from labelport.report import Report
from labelport.targets.comprehend.pairing import match_file, pair_comprehend
from labelport.targets.comprehend.writer import entity_type
from labelport.validate import validate

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures" / "datasaur"
NEWSROOM, TICKETS = "newsroom-p8Xk2Lq9", "support-tickets-r7Tt"
TICKETS_DOCUMENT = "5e1f-tickets"
CLIENT, SECRET, CLIENT_EMAIL = "client-7", "s3cret-Zq81:x", "ml@example.com"

SLOW_TRANSFORMER = '''
import json, time
EXTENSION = ".jsonl"

def transform(document):
    time.sleep(2.5)
    return json.dumps({"name": document["document"]["name"]}) + "\\n"
'''
BOOM_TRANSFORMER = '''
def transform(document):
    raise ValueError("boom: this transformer always fails")
'''



# -- labelport serve, by its command line --------------------------------------------------


class Served:
    def __init__(self, root: Path, *options: str, env: dict[str, str] | None = None):
        self.root = root
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "LABELPORT_HOME": str(root / "serve-home"),
               "LABELPORT_CONVERTERS": str(root / "converters"), **(env or {})}
        for key in ("DATASAUR_BASE_URL", "DATASAUR_CLIENT_ID", "DATASAUR_CLIENT_SECRET"):
            env.pop(key, None)
        self.log = open(root / f"serve-{self.port}.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "labelport", "serve", "--projects", str(root / "projects"),
             "--port", str(self.port), "--client", f"{CLIENT}:{SECRET}:{CLIENT_EMAIL}",
             "--storages", str(root / "storages.json"),
             "--allow-webhook-host", "127.0.0.1", *options],  # the webhook receiver listens on loopback
            env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(self.port, 30)
        except TimeoutError:
            self.stop()
            raise AssertionError((root / f"serve-{self.port}.log").read_text())

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()


@pytest.fixture(scope="module")
def serve_root(tmp_path_factory) -> Path:
    for module in ("starlette", "uvicorn", "graphql"):  # labelport[serve]
        pytest.importorskip(module)
    if subprocess.run([sys.executable, "-m", "labelport", "serve", "--help"], capture_output=True).returncode:
        pytest.skip("labelport serve is not available")
    root = tmp_path_factory.mktemp("serve")
    projects, converters = root / "projects", root / "converters"
    projects.mkdir()
    converters.mkdir()
    for source in FIXTURES.iterdir():
        shutil.copytree(source, projects / source.name)
    # a project the server cannot write for Comprehend: one line of more than 5,000 bytes
    (projects / "toolong").mkdir()
    (projects / "toolong" / "big.conll").write_text(
        "Alice\tB-PER\n" + "word\tO\n" * 1300 + "\nBob\tB-PER\nruns\tO\n\n", encoding="utf-8")
    (converters / "slow.py").write_text(SLOW_TRANSFORMER)
    (converters / "boom.py").write_text(BOOM_TRANSFORMER)
    (root / "eos").mkdir()
    (root / "storages.json").write_text(json.dumps({"bucket-1": str(root / "eos")}))
    return root


@pytest.fixture(scope="module")
def smtp():
    pytest.importorskip("aiosmtpd")
    from servers.smtp import start_smtp

    server = start_smtp()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(serve_root, smtp):
    served = Served(serve_root, env=smtp.env())
    served.smtp = smtp
    yield served
    served.stop()


@pytest.fixture(scope="module")
def short_token_server(serve_root):
    served = Served(serve_root, "--token-ttl", "1")
    yield served
    served.stop()


def use(monkeypatch, tmp_path: Path, base: str, secret: str = SECRET) -> None:
    """The client's environment: the server, the credentials, a home of its own."""
    monkeypatch.setenv("DATASAUR_BASE_URL", base)
    monkeypatch.setenv("DATASAUR_CLIENT_ID", CLIENT)
    monkeypatch.setenv("DATASAUR_CLIENT_SECRET", secret)
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))


@pytest.fixture
def client_env(server, monkeypatch, tmp_path):
    use(monkeypatch, tmp_path, server.base)
    return server


def data_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "labelport-report.json"}


# -- 1. load ---------------------------------------------------------------------------------


def _lines(document) -> list:
    return [(line.text, sorted((s.label, s.line, s.start, s.end, s.label_set, str(s.labeled_by)) for s in line.spans))
            for line in document.lines]


def snapshot(project) -> list:
    out = []
    for document in project.documents():
        rows = [(row.cells, [a.answers for a in row.answer_sets]) for row in document.rows]
        versions = {key: (_lines(v), [(r.cells, [a.answers for a in r.answer_sets]) for r in v.rows], v.answers)
                    for key, v in sorted(document.versions.items())}
        out.append((document.id, document.name, _lines(document), rows, document.answers, versions))
    return out


@pytest.mark.parametrize("project_id", [NEWSROOM, TICKETS])
def test_load_gives_the_project_with_every_labelers_version(client_env, project_id):
    fetched = labelport.load(f"datasaur://{project_id}")
    local = labelport.load(FIXTURES / project_id)
    assert fetched.source == f"datasaur://{project_id}"
    assert (fetched.id, fetched.name, fetched.kinds) == (local.id, local.name, local.kinds)
    assert [lb.email for lb in fetched.labelers] == [lb.email for lb in local.labelers]
    got, expected = snapshot(fetched), snapshot(local)
    assert got == expected
    if project_id == NEWSROOM:
        assert {key for doc in got for key in doc[5]} == {"alice_w_example_com", "bob_example_com"}
    folders = list((Path(os.environ["LABELPORT_HOME"]) / "fetched").iterdir())
    assert len(folders) == 1 and folders[0].name.startswith(project_id + "-")


def test_agreement_over_datasaur_equals_the_same_export_read_from_a_folder(client_env, run_cli):
    code, out, err = run_cli("inspect", f"datasaur://{NEWSROOM}", "--agreement", "--json")
    assert code == 0, err
    fetched = json.loads(out)
    local = labelport.agreement(FIXTURES / NEWSROOM)
    assert fetched.pop("project")["source"] == f"datasaur://{NEWSROOM}"
    local.pop("project")
    assert fetched == local
    assert fetched["labelers"] == ["alice.w@example.com", "bob@example.com"]
    assert any(e["b"] == "REVIEW" and e["support_b"] > 0 for e in fetched["span_f1"])


def test_load_one_document_gives_its_latest_state(client_env):
    project = labelport.load(f"datasaur://{NEWSROOM}/0f6c1e2a-news")
    documents = list(project.documents())
    assert [d.name for d in documents] == ["news.txt"]
    local = next(d for d in labelport.load(FIXTURES / NEWSROOM).documents() if d.name == "news.txt")
    assert _lines(documents[0]) == _lines(local) and documents[0].versions == {}


def test_each_client_operation_against_serve(client_env, tmp_path):
    with ExportApiClient() as client:
        token = client.token()
        assert len(token) == 40 and client.token() == token  # cached
        request = client.export_project(NEWSROOM, "TSV_IOB", file_name="news-iob")
        assert request.export_id and request.file_url.endswith("/news-iob.zip") and request.key is None
        status = client.wait(request.export_id, Deadline(30))
        assert status.status == "DELIVERED" and status.errors == []
        job = client.get_job(request.export_id)
        assert job["id"] == request.export_id and job["status"] == "DELIVERED" and job["progress"] == 100
        assert [j["id"] for j in client.get_jobs([request.export_id])] == [request.export_id]
        got = client.download(request.file_url, tmp_path / "dl", Deadline(30))
        assert got.path.name == "news-iob.zip" and got.bytes == got.path.stat().st_size
        with zipfile.ZipFile(got.path) as archive:
            assert any(n.endswith("/REVIEW/news.txt.tsv") for n in archive.namelist())
        document = client.export_document("5e1f-tickets", "CSV", file_name="tickets")
        client.wait(document.export_id, Deadline(30))
        single = client.download(document.file_url, tmp_path / "dl", Deadline(30))
        assert single.path.read_text("utf-8").splitlines()[0] == "ticket_id,text,intent,tags"
        with pytest.raises(DeliveryError, match="project 'nope' not found"):
            client.export_project("nope", "CSV")


def test_each_delivery_method(client_env, tmp_path):
    from servers.webhook import start_webhook_receiver

    from labelport.delivery.webhooks import SIGNATURE_HEADER, verify

    receiver = start_webhook_receiver()
    try:
        with ExportApiClient(poll_initial=0.2) as client:
            hook = client.export_project(NEWSROOM, "CSV", file_name="hooked", method="CUSTOM_WEBHOOK",
                                         url=receiver.url, secret="hook-secret")
            stored = client.export_project(NEWSROOM, "CSV", file_name="stored", method="EXTERNAL_OBJECT_STORAGE",
                                           external_object_storage_id="bucket-1", prefix="exports/2026")
            mailed = client.export_project(TICKETS, "CSV", file_name="mailed", method="EMAIL")
            for request in (hook, stored, mailed):
                assert request.file_url is None
                assert client.wait(request.export_id, Deadline(30)).status == "DELIVERED"
            # CUSTOM_WEBHOOK: a signed PUT whose fileUrl the client downloads
            put = receiver.received[0]
            assert put.method == "PUT" and verify(put.body, put.headers[SIGNATURE_HEADER], "hook-secret")
            link = json.loads(put.body)["fileUrl"]
            assert zipfile.is_zipfile(client.download(link, tmp_path, Deadline(30)).path)
            # EXTERNAL_OBJECT_STORAGE: `key` is asked for with this method only, and names the object
            assert stored.key == "exports/2026/stored.zip"
            assert zipfile.is_zipfile(client_env.root / "eos" / "exports" / "2026" / "stored.zip")
            # EMAIL: sent to the client's address
            assert any(m["To"] == CLIENT_EMAIL for m in client_env.smtp.messages)
    finally:
        receiver.stop()


# -- 2. Comprehend, fetched as the server writes it ----------------------------------------------


def _comprehend_annotations(folder: Path) -> list[tuple[str, str]]:
    lines = (folder / "train" / "documents" / "documents.txt").read_text("utf-8").split("\n")
    with open(folder / "train" / "annotations" / "annotations.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["File"] == "documents.txt" for r in rows)
    return [(lines[int(r["Line"])][int(r["Begin Offset"]):int(r["End Offset"])], r["Type"]) for r in rows]


def test_export_comprehend_fetches_lays_out_validates_and_pushes(client_env, tmp_path, run_cli):
    dest, out = tmp_path / "dest", tmp_path / "out"
    code, _, err = run_cli("export", f"datasaur://{NEWSROOM}", "-f", "AMAZON_COMPREHEND_CSV", "--to", dest, "-o", out)
    assert code == 0, err
    assert "fetched datasaur://newsroom-p8Xk2Lq9 (as served)" in err
    assert sorted(data_files(dest)) == ["entity_recognizer.json", "train/annotations/annotations.csv",
                                        "train/documents/documents.txt"]
    assert not [f for f in validate(dest, "comprehend") if f.hard]
    with open(dest / "train" / "annotations" / "annotations.csv", encoding="utf-8") as fh:
        assert fh.readline() == "File,Line,Begin Offset,End Offset,Type\n"
    # every annotation's slice of documents.txt is the text of a span of that label in the project
    spans = {(line.text[s.start:s.end], entity_type(s.label))
             for d in labelport.load(FIXTURES / NEWSROOM).documents() for line in d.lines for s in line.spans}
    annotations = _comprehend_annotations(dest)
    assert len(annotations) == 7 and set(annotations) <= spans
    report = json.loads((out / "labelport-report.json").read_text("utf-8"))
    assert report["source"] == f"datasaur://{NEWSROOM}" and report["format"] == "AMAZON_COMPREHEND_CSV"
    assert report["layout"] == "as served" and report["counts"]["annotations"] == 7 and report["counts"]["files"] == 3
    assert report["fetched"][0]["server"] == client_env.base and len(report["fetched"][0]["sha256"]) == 64
    assert not [c for c in report["checks"] if c["hard"]]
    import hashlib

    for rel, content in data_files(out).items():
        assert report["files"][rel]["sha256"] == hashlib.sha256(content).hexdigest()
    assert "pairing" not in report  # the server sent documents.txt: nothing to pair


def test_export_comprehend_to_s3(client_env, tmp_path, monkeypatch):
    boto3 = pytest.importorskip("boto3")
    pytest.importorskip("moto")
    from servers.s3 import start_s3

    s3 = start_s3()
    try:
        for key, value in s3.env().items():
            monkeypatch.setenv(key, value)
        client = boto3.client("s3")
        client.create_bucket(Bucket="training")
        job = labelport.export(f"datasaur://{NEWSROOM}", "AMAZON_COMPREHEND_CSV", to="s3://training/ner",
                               out=tmp_path / "out")
        job.wait(60)
        assert job.status == "DELIVERED", job.errors
        keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="training", Prefix="ner/")["Contents"])
        assert keys == ["ner/entity_recognizer.json", "ner/labelport-report.json",
                        "ner/train/annotations/annotations.csv", "ner/train/documents/documents.txt"]
        config = json.loads(client.get_object(Bucket="training", Key="ner/entity_recognizer.json")["Body"].read())
        assert config["Documents"]["S3Uri"] == "s3://training/ner/train/documents/"
        assert job.result["projectId"] == "p8Xk2Lq9" and job.result["destination"] == "s3://training/ner"
    finally:
        s3.stop()


# -- 3. the other cloud CSVs and CSV; --convert-locally ------------------------------------------


@pytest.mark.parametrize(("project_id", "format_id", "expected"), [
    (NEWSROOM, "AZURE_AUTOML_CSV", ["train/MLTable", "train/train.txt"]),
    (TICKETS, "AZURE_AUTOML_CSV", ["train/MLTable", "train/train.csv"]),
    (NEWSROOM, "GCP_VERTEX_AI_CSV", ["vertex_dataset.json", "vertex_dataset.jsonl", "vertex_import.csv"]),
    (TICKETS, "GCP_VERTEX_AI_CSV", ["vertex_dataset.json", "vertex_import.csv", "vertex_import.jsonl"]),
    (TICKETS, "CSV", ["tickets.csv"]),
    (NEWSROOM, "AMAZON_COMPREHEND_CSV", ["entity_recognizer.json", "train/annotations/annotations.csv",
                                         "train/documents/documents.txt"]),
    (TICKETS, "AMAZON_COMPREHEND_CSV", ["document_classifier.json", "train/classifier.csv"]),
])
def test_fetched_files_are_pushed_and_match_a_local_conversion(client_env, tmp_path, project_id, format_id,
                                                                expected):
    fetched = labelport.export(f"datasaur://{project_id}", format_id, to=str(tmp_path / "dest"),
                               out=tmp_path / "fetched")
    local = labelport.export(f"datasaur://{project_id}", format_id, out=tmp_path / "local", convert_locally=True)
    fetched.wait(60)
    assert fetched.status == "DELIVERED", fetched.errors
    assert sorted(data_files(tmp_path / "fetched")) == expected
    assert sorted(data_files(tmp_path / "dest")) == expected
    report = json.loads((tmp_path / "fetched" / "labelport-report.json").read_text("utf-8"))
    assert report["options"]["fetched"] is True and report["layout"] == "as served"
    local.wait(60)
    assert local.status == "DELIVERED", local.errors
    local_report = json.loads((tmp_path / "local" / "labelport-report.json").read_text("utf-8"))
    assert local_report["source"] == f"datasaur://{project_id}" and "fetched" not in local_report["options"]
    # the server writes with labelport's own writers, so the files are the same bytes
    assert data_files(tmp_path / "fetched") == data_files(tmp_path / "local")


@pytest.mark.parametrize(("format_id", "expected"), [
    ("AZURE_AUTOML_CSV", ["train/MLTable", "train/train.txt"]),
    ("AMAZON_COMPREHEND_CSV", ["entity_recognizer.json", "train/annotations/annotations.csv",
                               "train/documents/documents.txt"]),
    ("CSV", ["newsroom-p8Xk2Lq9-0f6c1e2a-news.csv"]),  # one file, named after the export's fileName
])
def test_one_document_of_a_project_is_fetched_in_a_cloud_format(client_env, tmp_path, run_cli, format_id, expected):
    code, _, err = run_cli("export", f"datasaur://{NEWSROOM}/0f6c1e2a-news", "-f", format_id, "--to", tmp_path / "d")
    assert code == 0, err
    files = data_files(tmp_path / "d")
    assert sorted(files) == expected
    if format_id == "AZURE_AUTOML_CSV":
        assert files["train/train.txt"].startswith(b"Barack B-PER\nObama I-PER\n")


def test_tickets_csv_keeps_the_rows_as_the_server_wrote_them(client_env, tmp_path, run_cli):
    code, _, err = run_cli("export", f"datasaur://{TICKETS}", "-f", "CSV", "--to", tmp_path / "dest")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO((tmp_path / "dest" / "tickets.csv").read_text("utf-8"))))
    assert rows[0] == ["ticket_id", "text", "intent", "tags"] and len(rows) == 5
    assert rows[2][3] == "urgent|mobile" and rows[3][1] == "  =SUM(A1) is shown instead of my name  "


def test_convert_options_a_server_cannot_follow_need_convert_locally(client_env, tmp_path, run_cli):
    code, _, err = run_cli("export", f"datasaur://{NEWSROOM}", "-f", "AZURE_AUTOML_CSV", "--to", tmp_path / "d",
                           "--split", "train=0.8,validation=0.2")
    assert code == 2 and "--split" in err and "--convert-locally" in err
    for flags in (["--split-by", "line"], ["--stratify"]):  # (not silently ignored, even without --split)
        code, _, err = run_cli("export", f"datasaur://{NEWSROOM}", "-f", "AZURE_AUTOML_CSV", "--to", tmp_path / "d",
                               *flags)
        assert code == 2 and flags[0] in err and "--convert-locally" in err, err
        assert not (tmp_path / "d").exists()
    code, _, err = run_cli("export", f"datasaur://{NEWSROOM}", "-f", "AZURE_AUTOML_CSV", "--to", tmp_path / "d",
                           "--split", "train=0.8,validation=0.2", "--split-by", "line", "--convert-locally")
    assert code == 0, err  # (by line: the project's two documents would both go to train)
    assert (tmp_path / "d" / "validation" / "validation.txt").is_file()


# -- 4. waiting, failures, tokens ------------------------------------------------------------------


def test_file_url_is_404_until_ready_and_the_download_waits(client_env, tmp_path):
    with ExportApiClient(poll_initial=0.2, poll_max=1.0) as client:
        request = client.export_document(TICKETS_DOCUMENT, "CUSTOM", file_transformer_id="slow", file_name="slow")
        assert httpx.get(request.file_url).status_code == 404  # not uploaded yet
        started = time.monotonic()
        got = client.download(request.file_url, tmp_path, Deadline(30))
        assert time.monotonic() - started > 0.5
        assert json.loads(got.path.read_text("utf-8")) == {"name": "tickets.csv"}
        # (the file is served as soon as it is whole, before the job's notices and its DELIVERED)
        assert client.wait(request.export_id, Deadline(30)).status == "DELIVERED"


def test_a_download_that_stays_404_gives_up_at_the_deadline(client_env, tmp_path):
    with ExportApiClient(poll_initial=0.1, poll_max=0.3) as client:
        request = client.export_document(TICKETS_DOCUMENT, "CUSTOM", file_transformer_id="slow", file_name="late")
        with pytest.raises(DeliveryError, match=r"still 404 \(not uploaded\) after 0.8 s"):
            client.download(request.file_url, tmp_path, Deadline(0.8))
        with pytest.raises(DeliveryError, match=r"still (QUEUED|IN_PROGRESS) after 0.5 s \(--timeout\)"):
            client.wait(request.export_id, Deadline(0.5))


def test_a_failing_export_reaches_the_caller_with_the_servers_errors(client_env, run_cli, tmp_path):
    with ExportApiClient(poll_initial=0.2) as client:
        request = client.export_document(TICKETS_DOCUMENT, "CUSTOM", file_transformer_id="boom")
        with pytest.raises(ExportFailed) as failed:
            client.wait(request.export_id, Deadline(30))
    assert "ValueError: boom: this transformer always fails" in str(failed.value)
    assert failed.value.errors and failed.value.errors[0]["stack"].startswith("transformer 'boom' failed")
    # through the command line: exit 3, the server's message on one line
    code, _, err = run_cli("export", "datasaur://toolong", "-f", "AMAZON_COMPREHEND_CSV", "--to", tmp_path / "dest")
    assert code == 3
    error = [line for line in err.splitlines() if "error" in line]
    assert len(error) == 1 and "FAILED" in error[0] and "a document is at most 5,000 bytes" in error[0]
    assert not (tmp_path / "dest").exists()


def test_an_expired_token_is_renewed_mid_poll(short_token_server, monkeypatch, tmp_path):
    use(monkeypatch, tmp_path, short_token_server.base)
    # renew_early=False: the token is kept until the server says Unauthorized, as Robosaur does
    with ExportApiClient(poll_initial=0.3, poll_max=0.6, renew_early=False) as client:
        first = client.token()
        request = client.export_document(TICKETS_DOCUMENT, "CUSTOM", file_transformer_id="slow")
        assert client.wait(request.export_id, Deadline(30)).status == "DELIVERED"
        assert client.renewals >= 1 and client.token() != first
    # and the default client (renewing before expires_in) loads through the same server
    project = labelport.load(f"datasaur://{TICKETS}")
    assert [d.name for d in project.documents()] == ["tickets.csv"]


def test_a_wrong_client_secret_is_one_line_exit_3_without_the_secret(server, monkeypatch, tmp_path, run_cli):
    wrong = "not-the-secret-8f2k"
    use(monkeypatch, tmp_path, server.base, secret=wrong)
    code, out, err = run_cli("export", f"datasaur://{NEWSROOM}", "-f", "CSV", "--to", tmp_path / "dest")
    assert code == 3
    errors = [line for line in err.splitlines() if line.startswith("labelport: error:")]
    expected = (f"labelport: error: {server.base}/api/oauth/token: the server refused the credentials "
                "(HTTP 401): wrong DATASAUR_CLIENT_ID or DATASAUR_CLIENT_SECRET")
    assert errors == [expected]
    assert wrong not in out + err and SECRET not in out + err
    assert "Traceback" not in err
    with pytest.raises(DeliveryError) as refused:
        labelport.load(f"datasaur://{NEWSROOM}")
    assert wrong not in str(refused.value)
    with ExportApiClient() as client:
        assert wrong not in repr(client)


def test_missing_settings_name_the_variables(monkeypatch, tmp_path, run_cli):
    for key in ("DATASAUR_BASE_URL", "DATASAUR_CLIENT_ID", "DATASAUR_CLIENT_SECRET"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    with pytest.raises(UsageError, match="set DATASAUR_BASE_URL, DATASAUR_CLIENT_ID, DATASAUR_CLIENT_SECRET"):
        labelport.load("datasaur://x")
    code, _, err = run_cli("inspect", "datasaur://x")
    assert code == 2 and "DATASAUR_CLIENT_SECRET" in err


# -- a stand-in server: what labelport serve never sends ------------------------------------------


class StandIn:
    """The Export API with canned exports: ``exports[(project or document id,
    format)]`` is the zip's bytes, or (file name, bytes) for a file that is
    not a zip. Records what was asked for."""

    def __init__(self) -> None:
        self.exports: dict[tuple[str, str], bytes] = {}
        self.asked: list[tuple[str, str]] = []
        self.ids: dict[str, tuple[str, str]] = {}
        self.statuses: list[int] = []  # answers to give the next POSTs before any real one (503, or 404 as HTML)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, body: dict, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if stand_in.statuses:
                    status = stand_in.statuses.pop(0)
                    self.send_response(status)
                    page = b"<html>not here</html>"
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                if self.path == "/api/oauth/token":
                    return self._json({"access_token": "a" * 40, "token_type": "bearer", "expires_in": 3600})
                request = json.loads(body)
                if request["operationName"] == "GetExportDeliveryStatus":
                    return self._json({"data": {"result": {"deliveryStatus": "DELIVERED", "errors": []}}})
                wanted = request["variables"]["input"]
                key = (wanted.get("documentId") or wanted["projectIds"][0], wanted["format"])
                stand_in.asked.append(key)
                if key not in stand_in.exports:
                    return self._json({"data": None, "errors": [{"message": f"no export {key}"}]})
                export_id = f"e{len(stand_in.ids)}"
                stand_in.ids[export_id] = key
                name = stand_in.exports[key][0] if isinstance(stand_in.exports[key], tuple) else "export.zip"
                url = f"http://127.0.0.1:{self.server.server_address[1]}/files/{export_id}/{name}"
                return self._json({"data": {"result": {"exportId": export_id, "fileUrl": url, "fileUrlExpiredAt": None,
                                                       "queued": True, "redirect": None}}})

            def do_GET(self) -> None:
                export_id = self.path.split("/")[2]
                data = stand_in.exports[stand_in.ids[export_id]]
                data = data[1] if isinstance(data, tuple) else data
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in(monkeypatch, tmp_path):
    server = StandIn()
    use(monkeypatch, tmp_path, server.base)
    yield server
    server.stop()


def export_zip(top: str, files: dict[str, str | bytes]) -> bytes:
    """An export-all zip: ``<top>/REVIEW/<name>`` for each file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(f"{top}/REVIEW/{name}", content)
        archive.writestr(f"{top}/project-data.json", json.dumps({"project": {"id": "x1", "title": "memos"}}))
    return buffer.getvalue()


NEWS_TXT = "Barack Obama visited Paris on Monday .\nHe met Emmanuel Macron at the Élysée Palace 🇫🇷 .\n"
MEMO_TXT = "Acme Corp opened an office in Oslo .\n\nJane Doe runs it .\n"
HEADER = "File,Line,Begin Offset,End Offset,Type,Label Status\n"
NEWS_CSV = HEADER + (
    "news.txt,0,0,12,PER,ACCEPTED\n"
    "news.txt,0,21,26,LOC,ACCEPTED\n"
    "news.txt,0,30,36,DATE,CONFLICT\n"  # unresolved: not training data
    "news.txt,1,7,22,PER,ACCEPTED\n"
    "news.txt,1,30,43,LOC,ACCEPTED\n"
    "news.txt,1,30,36,ORG,ACCEPTED\n"  # overlaps the LOC before it: left out, as labelport's writer does
)
MEMO_CSV = HEADER + "memo,0,0,9,ORG,ACCEPTED\nmemo,0,30,34,LOC,ACCEPTED\nmemo,2,0,8,PER,ACCEPTED\n"


def datasaur_like(stand_in: StandIn, project: str, memo_csv: str = MEMO_CSV) -> None:
    """Datasaur's own Comprehend export as research §6.5 describes it: per-document CSVs, no text."""
    top = f"memos-{project}"
    stand_in.exports[(project, "AMAZON_COMPREHEND_CSV")] = export_zip(
        top, {"news.txt.csv": NEWS_CSV, "memo.txt.csv": memo_csv})
    stand_in.exports[(project, "PLAIN")] = export_zip(top, {"news.txt": NEWS_TXT, "memo.txt": MEMO_TXT})


def test_per_document_comprehend_csvs_are_paired_with_the_plain_export(stand_in, tmp_path, run_cli):
    datasaur_like(stand_in, "x1")
    code, _, err = run_cli("export", "datasaur://x1", "-f", "AMAZON_COMPREHEND_CSV", "--to", tmp_path / "dest",
                           "-o", tmp_path / "out")
    assert code == 0, err
    assert stand_in.asked == [("x1", "AMAZON_COMPREHEND_CSV"), ("x1", "PLAIN")]
    assert "paired 8 annotations with their text (PLAIN fetched): 0 mismatches" in err
    dest = tmp_path / "dest"
    assert sorted(data_files(dest)) == ["entity_recognizer.json", "train/annotations/annotations.csv",
                                        "train/documents/memo", "train/documents/news.txt"]
    assert not [f for f in validate(dest, "comprehend") if f.hard]
    documents = {p.name: p.read_text("utf-8").split("\n") for p in (dest / "train" / "documents").iterdir()}
    assert documents["memo"] == ["Acme Corp opened an office in Oslo .", "Jane Doe runs it .", ""]  # empty line out
    with open(dest / "train" / "annotations" / "annotations.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    got = [(r["File"], r["Line"], documents[r["File"]][int(r["Line"])][int(r["Begin Offset"]):int(r["End Offset"])],
            r["Type"]) for r in rows]
    assert got == [("memo", "0", "Acme Corp", "ORG"), ("memo", "0", "Oslo", "LOC"), ("memo", "1", "Jane Doe", "PER"),
                   ("news.txt", "0", "Barack Obama", "PER"), ("news.txt", "0", "Paris", "LOC"),
                   ("news.txt", "1", "Emmanuel Macron", "PER"), ("news.txt", "1", "Élysée Palace", "LOC")]
    config = json.loads((dest / "entity_recognizer.json").read_text())
    assert [t["Type"] for t in config["EntityTypes"]] == ["LOC", "ORG", "PER"]
    report = json.loads((tmp_path / "out" / "labelport-report.json").read_text("utf-8"))
    pairing = report["pairing"]
    assert pairing["plain_fetched"] and pairing["mismatches"] == 0 and pairing["annotations"] == 8
    assert pairing["files"]["memo"] == {"matched": "memo.txt", "how": "name + .txt", "from": "PLAIN"}
    assert pairing["files"]["news.txt"]["how"] == "exact name"
    assert report["not_carried"]["overlapping spans"]["count"] == 1
    assert report["not_carried"]["unresolved (CONFLICT) entries"]["count"] == 1
    assert [f["format"] for f in report["fetched"]] == ["AMAZON_COMPREHEND_CSV", "PLAIN"]


def test_a_pairing_mismatch_is_reported_and_nothing_is_pushed(stand_in, tmp_path, run_cli):
    bad = MEMO_CSV + "memo,2,9,40,PER,ACCEPTED\nmemo,7,0,3,ORG,ACCEPTED\nghost.txt,0,0,3,ORG,ACCEPTED\n"
    datasaur_like(stand_in, "x2", memo_csv=bad)
    code, _, err = run_cli("export", "datasaur://x2", "-f", "AMAZON_COMPREHEND_CSV", "--to", tmp_path / "dest",
                           "-o", tmp_path / "out")
    assert code == 1, err
    assert not (tmp_path / "dest").exists()  # nothing pushed
    assert "3 mismatches" in err and "nothing pushed" in err
    report = json.loads((tmp_path / "out" / "labelport-report.json").read_text("utf-8"))
    problems = {(m["File"], m["Line"]): m["problem"] for m in report["pairing"]["examples"]}
    assert problems[("memo", 2)].startswith("offsets outside the line (18 characters")
    assert problems[("memo", 7)].startswith("Line 7 is not in the file (3 lines")
    assert problems[("ghost.txt", 0)] == "no file for File 'ghost.txt'"
    hard = [c for c in report["checks"] if c["hard"]]
    assert {c["rule"] for c in hard} == {"fetch.pairing"} and {c.get("file") for c in hard} == {"memo.txt.csv"}


def test_one_documents_csv_is_paired_with_its_one_plain_file(stand_in, tmp_path, run_cli):
    stand_in.exports[("doc-1", "AMAZON_COMPREHEND_CSV")] = ("doc-1.csv", NEWS_CSV.encode())
    stand_in.exports[("doc-1", "PLAIN")] = ("doc-1.txt", NEWS_TXT.encode())
    code, _, err = run_cli("export", "datasaur://x4/doc-1", "-f", "AMAZON_COMPREHEND_CSV", "--to", tmp_path / "dest")
    assert code == 0, err
    assert stand_in.asked == [("doc-1", "AMAZON_COMPREHEND_CSV"), ("doc-1", "PLAIN")]
    assert (tmp_path / "dest" / "train" / "documents" / "news.txt").read_text("utf-8") == NEWS_TXT
    report = json.loads((tmp_path / "dest" / "labelport-report.json").read_text("utf-8"))
    assert report["pairing"]["files"]["news.txt"]["how"] == "the one PLAIN file"
    assert not [f for f in validate(tmp_path / "dest", "comprehend") if f.hard]


def test_transient_answers_are_retried_and_others_reported(stand_in, tmp_path):
    datasaur_like(stand_in, "x5")
    with ExportApiClient(poll_initial=0.05, poll_max=0.2) as client:
        stand_in.statuses = [503, 502]  # the token endpoint is briefly unavailable
        assert client.token(Deadline(10)) == "a" * 40
        stand_in.statuses = [404]  # a base URL that is a web site, not the API
        with pytest.raises(DeliveryError, match=r"/graphql: GetExportDeliveryStatus: HTTP 404, not a GraphQL answer"):
            client.delivery_status("e0")
        with pytest.raises(DeliveryError, match=r"no export \('nope', 'CSV'\)"):
            client.export_project("nope", "CSV")
    with ExportApiClient(f"http://127.0.0.1:{free_port()}", "id", "secret", poll_initial=0.05, poll_max=0.1) as nobody:
        with pytest.raises(DeliveryError, match="ConnectError"):
            nobody.token(Deadline(5))


def test_match_file_rules():
    candidates = {name: [Path(name)] for name in ("news.txt", "memo.txt", "brief.md", "a.txt", "a.md")}
    assert match_file("news.txt", candidates) == (Path("news.txt"), "exact name")
    assert match_file("memo", candidates) == (Path("memo.txt"), "name + .txt")
    assert match_file("brief.csv", candidates) == (Path("brief.md"), "same stem")
    assert match_file("a", candidates) == (Path("a.txt"), "name + .txt")
    assert match_file("a.csv", candidates)[0] is None  # a.txt and a.md: ambiguous
    assert match_file("zzz", candidates) == (None, "no file for File 'zzz'")


def test_pairing_without_plain_when_the_text_is_served(tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    (content / "news.txt.csv").write_text(NEWS_CSV, encoding="utf-8")
    (content / "news.txt").write_text(NEWS_TXT, encoding="utf-8")
    stage = tmp_path / "stage"
    stage.mkdir()
    report = Report("datasaur://p", "AMAZON_COMPREHEND_CSV")

    def no_plain() -> Path:
        raise AssertionError("the text was served: PLAIN must not be fetched")

    pair_comprehend(content, stage, report, no_plain)
    assert report.notes["pairing"]["plain_fetched"] is False and report.notes["pairing"]["mismatches"] == 0
    assert (stage / "train" / "documents" / "news.txt").read_text("utf-8") == NEWS_TXT


def test_paired_annotations_are_written_with_the_writers_header_and_quoting(tmp_path):
    content, stage = tmp_path / "content", tmp_path / "stage"
    content.mkdir()
    stage.mkdir()
    (content / "a.csv").write_text(HEADER + '"a,b.txt",0,0,3,"X,Y",ACCEPTED\n"a,b.txt",0,4,6,"Q""T",ACCEPTED\n'
                                   '"a,b.txt",0,7,9, PAD ,ACCEPTED\n"a,b.txt",0,0,2,ORG,ACCEPTED\n', encoding="utf-8")
    (content / "a,b.txt").write_text("abc de fg\n", encoding="utf-8")
    report = Report("datasaur://p", "AMAZON_COMPREHEND_CSV")
    pair_comprehend(content, stage, report, lambda: tmp_path / "never")
    raw = (stage / "train" / "annotations" / "annotations.csv").read_text("utf-8")
    assert raw.splitlines()[0] == "File,Line,Begin Offset,End Offset,Type"
    rows = list(csv.reader(io.StringIO(raw)))[1:]
    assert rows == [["a,b.txt", "0", "0", "3", "X,Y"], ["a,b.txt", "0", "4", "6", 'Q"T'],
                    ["a,b.txt", "0", "7", "9", " PAD "]]  # ORG overlaps X,Y: left out
    assert report.losses["overlapping spans"].count == 1
    config = json.loads((stage / "entity_recognizer.json").read_text("utf-8"))
    assert [t["Type"] for t in config["EntityTypes"]] == [" PAD ", "Q\"T", "X,Y"]


def test_an_option_no_server_format_takes_is_refused_before_any_fetch(tmp_path):
    """fetch_export's list of options a server cannot follow needs no --transformer:
    the job's spec refuses it for every format the server writes, naming the formats that take it."""
    from labelport.client.fetch import SERVER_FORMATS

    for format_id in SERVER_FORMATS:
        with pytest.raises(UsageError, match="transformer: .* does not take this option"):
            labelport.export("datasaur://nowhere", format_id, out=tmp_path / "out", transformer="upper")
    assert not (tmp_path / "out").exists()


# -- zips that must not be unpacked ---------------------------------------------------------------


def make_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return path


def symlink_entry(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize("entry", ["../evil.txt", "ok/../../evil.txt", "/etc/evil.txt", "C:/evil.txt", "..\\evil.txt"])
def test_safe_extract_refuses_entries_escaping_the_folder(tmp_path, entry):
    archive = make_zip(tmp_path / "a.zip", [("fine.txt", b"ok"), (entry, b"evil")])
    with pytest.raises(InputError, match="escapes the folder it is unpacked into") as refused:
        safe_extract(archive, tmp_path / "into")
    assert refused.value.file == f"{archive}:{entry}"
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "into").exists()


def test_safe_extract_refuses_links_and_keeps_within_limits(tmp_path, monkeypatch):
    links = make_zip(tmp_path / "l.zip", [(symlink_entry("top/link", "/etc/passwd"), b"/etc/passwd")])
    with pytest.raises(InputError, match="is a symbolic link") as refused:
        safe_extract(links, tmp_path / "l")
    assert refused.value.file == f"{links}:top/link"
    many = make_zip(tmp_path / "m.zip", [(f"f{i}.txt", b"x") for i in range(6)])
    monkeypatch.setenv("LABELPORT_MAX_ZIP_ENTRIES", "5")
    with pytest.raises(InputError, match=r"holds 6 entries; the limit is 5 \(LABELPORT_MAX_ZIP_ENTRIES\)"):
        safe_extract(many, tmp_path / "m")
    big = make_zip(tmp_path / "b.zip", [("a.txt", b"x" * 600), ("b.txt", b"y" * 600)])
    monkeypatch.setenv("LABELPORT_MAX_UNZIP_BYTES", "1000")
    with pytest.raises(InputError, match="unpacks to 1,200 bytes; the limit is 1,000"):
        safe_extract(big, tmp_path / "b")
    monkeypatch.setenv("LABELPORT_MAX_UNZIP_BYTES", "1200")
    written = safe_extract(big, tmp_path / "ok")
    assert sorted(p.name for p in written) == ["a.txt", "b.txt"] and (tmp_path / "ok" / "b.txt").read_bytes() == b"y" * 600
    (tmp_path / "notzip").write_bytes(b"PK not really")
    with pytest.raises(InputError, match="not a zip archive"):
        safe_extract(tmp_path / "notzip", tmp_path / "n")


def test_the_env_limit_applies_to_fetched_zips(stand_in, monkeypatch, tmp_path):
    datasaur_like(stand_in, "x3")
    monkeypatch.setenv("LABELPORT_MAX_UNZIP_BYTES", "100")
    with pytest.raises(InputError, match=r"the limit is 100 \(LABELPORT_MAX_UNZIP_BYTES\)"):
        fetch_export("datasaur://x3", "AMAZON_COMPREHEND_CSV", tmp_path / "out")
    job = labelport.export("datasaur://x3", "AMAZON_COMPREHEND_CSV", to=str(tmp_path / "d")).wait(30)
    assert job.status == "FAILED" and "LABELPORT_MAX_UNZIP_BYTES" in job.errors[0]["stack"]
    assert not (tmp_path / "d").exists() and not (tmp_path / "out").exists()


def test_a_served_zip_with_an_escaping_entry_is_refused(stand_in, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("p-evil/REVIEW/doc.json", b"{}")
        archive.writestr("p-evil/../../../evil.json", b"{}")
    stand_in.exports[("evil", "DATASAUR_SCHEMA")] = buffer.getvalue()
    with pytest.raises(InputError, match="escapes the folder it is unpacked into") as refused:
        labelport.load("datasaur://evil")
    assert refused.value.file.endswith(".zip:p-evil/../../../evil.json")
    home = Path(os.environ["LABELPORT_HOME"])
    assert not list((home / "fetched").iterdir())  # the partial folder is removed
    assert not list(tmp_path.rglob("evil.json"))
