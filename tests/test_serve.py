"""``labelport serve``: the Export API over HTTP, driven the way users' own
scripts drive Datasaur's (plain httpx: form-post the client credentials, POST
the operationName/variables/query JSON with the Bearer token, poll
getExportDeliveryStatus every 0.5 s, GET fileUrl, unzip).

The service runs in this process under uvicorn on 127.0.0.1 (module scope),
plus once through the real command line (``python -m labelport serve``).
Projects: a copy of tests/fixtures/datasaur/* and examples/newsroom-export.zip.
A slow and a failing CUSTOM transformer come from LABELPORT_CONVERTERS.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("graphql")
import httpx
from servers.ports import free_port, wait_for_port
from servers.service import serving
from servers.webhook import start_webhook_receiver

import labelport
from labelport.delivery.webhooks import SIGNATURE_HEADER, verify

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures" / "datasaur"
NEWSROOM = FIXTURES / "newsroom-p8Xk2Lq9"
TICKETS = FIXTURES / "support-tickets-r7Tt"
EXAMPLE_ZIP = TESTS.parent / "examples" / "newsroom-export.zip"
UNORDERED = ("spanLabels", "arrowLabels", "rowAnswers", "labels")

CLIENT, SECRET, CLIENT_EMAIL = "script-client", "s3cret:with:colons", "me@example.com"
OTHER, OTHER_SECRET = "other-client", "pw2"

# The official client's selection (datasaur-ai/api-client-example export.json).
EXPORT_QUERY = ("query ExportTextProjectQuery($input: ExportTextProjectInput!) { result: exportTextProject(input: $input) "
                "{ exportId fileUrl fileUrlExpiredAt queued redirect __typename } }")
EXPORT_KEY_QUERY = ("query ExportTextProjectQuery($input: ExportTextProjectInput!) { result: exportTextProject(input: $input) "
                    "{ exportId fileUrl fileUrlExpiredAt queued redirect key __typename } }")
DOCUMENT_QUERY = ("query ExportTextProjectDocumentQuery($input: ExportTextProjectDocumentInput!) { result: "
                  "exportTextProjectDocument(input: $input) { exportId fileUrl fileUrlExpiredAt queued redirect key __typename } }")
STATUS_QUERY = ("query GetExportDeliveryStatus($exportId: ID!) { exportDeliveryStatus: getExportDeliveryStatus(exportId: $exportId) "
                "{ deliveryStatus errors { id stack args } __typename } }")
JOB_FIELDS = "id status progress errors { id stack args } resultId result createdAt updatedAt"

SLOW_TRANSFORMER = '''
import json, time
EXTENSION = ".jsonl"

def transform(document):
    time.sleep(1.5)
    return json.dumps({"name": document["document"]["name"]}) + "\\n"
'''
BOOM_TRANSFORMER = '''
def transform(document):
    raise ValueError("boom: this transformer always fails")
'''


# -- the service -----------------------------------------------------------------------------

class Service:
    def __init__(self, base: str, root: Path, projects: Path, storages: Path, eos: Path, app: object):
        self.base = base
        self.root = root
        self.projects = projects
        self.storages = storages
        self.eos = eos
        self.app = app

    def token(self, client: str = CLIENT, secret: str = SECRET) -> str:
        answer = httpx.post(f"{self.base}/api/oauth/token",
                            data={"client_id": client, "client_secret": secret, "grant_type": "client_credentials"})
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]

    def post(self, query: str, variables: dict | None = None, operation: str | None = None,
             token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token()}", "Content-Type": "application/json"}
        body = {"operationName": operation, "variables": variables or {}, "query": query}
        return httpx.post(f"{self.base}/graphql", json=body, headers=headers, timeout=30)

    def call(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        answer = self.post(query, variables, token=token)
        assert answer.status_code == 200 and "json" in answer.headers["content-type"]
        return answer.json()

    def export(self, token: str | None = None, query: str = EXPORT_KEY_QUERY, **fields) -> dict:
        body = self.call(query, {"input": fields}, token=token)
        assert "errors" not in body, body
        return body["data"]["result"]

    def export_document(self, token: str | None = None, **fields) -> dict:
        body = self.call(DOCUMENT_QUERY, {"input": fields}, token=token)
        assert "errors" not in body, body
        return body["data"]["result"]

    def error(self, query: str = EXPORT_KEY_QUERY, **fields) -> dict:
        """The one GraphQL error an export request gives (HTTP 200, data null)."""
        body = self.call(query, {"input": fields})
        assert body.get("data") is None and len(body["errors"]) == 1, body
        return body["errors"][0]

    def wait(self, export_id: str, token: str | None = None, timeout: float = 30) -> dict:
        token = token or self.token()
        deadline = time.monotonic() + timeout
        while True:
            time.sleep(0.5)
            status = self.call(STATUS_QUERY, {"exportId": export_id}, token=token)["data"]["exportDeliveryStatus"]
            if status["deliveryStatus"] in ("DELIVERED", "FAILED"):
                return status
            assert time.monotonic() < deadline, f"export {export_id} still {status['deliveryStatus']}"


def copy_projects(projects: Path) -> None:
    for source in FIXTURES.iterdir():
        shutil.copytree(source, projects / source.name)
    shutil.copy(EXAMPLE_ZIP, projects / EXAMPLE_ZIP.name)


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Service:
    from labelport.guards.egress import EgressPolicy
    from labelport.service.app import create_app
    from labelport.service.auth import Client
    from labelport.service.exporter import ServeConfig

    root = tmp_path_factory.mktemp("serve")
    projects, converters, eos = root / "projects", root / "converters", root / "eos"
    for folder in (projects, converters, eos):
        folder.mkdir()
    copy_projects(projects)
    (converters / "slow.py").write_text(SLOW_TRANSFORMER)
    (converters / "boom.py").write_text(BOOM_TRANSFORMER)
    storages = root / "storages.json"
    storages.write_text(json.dumps({"local1": str(eos)}))
    saved = {k: os.environ.get(k) for k in ("LABELPORT_HOME", "LABELPORT_CONVERTERS")}
    os.environ["LABELPORT_HOME"] = str(root / "home")
    os.environ["LABELPORT_CONVERTERS"] = str(converters)
    config = ServeConfig(
        projects=projects,
        clients={CLIENT: Client(CLIENT, SECRET, CLIENT_EMAIL), OTHER: Client(OTHER, OTHER_SECRET)},
        storages=storages,
        egress=EgressPolicy(("127.0.0.1",)),  # the tests' webhook receivers listen on loopback
    )
    app = create_app(config)
    with serving(app) as url:
        yield Service(url, root, projects, storages, eos, app)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def canonical(document: dict) -> dict:
    data = document.get("data", document)
    for key in UNORDERED:
        if key in data:
            data[key] = sorted(data[key], key=lambda e: json.dumps(e, sort_keys=True))
    return document


def zip_json_files(content: bytes, top: str) -> dict[str, dict]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name[len(top) + 1:]: canonical(json.loads(archive.read(name)))
                for name in archive.namelist() if name.startswith(top + "/") and name.endswith(".json")}


def fixture_json_files(root: Path) -> dict[str, dict]:
    return {p.relative_to(root).as_posix(): canonical(json.loads(p.read_text("utf-8"))) for p in root.rglob("*.json")}


def folders_in(content: bytes) -> set[str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name.split("/")[1] for name in archive.namelist() if name.count("/") >= 1 and name.split("/")[1]}


# -- 1. the user's script ------------------------------------------------------------------

@pytest.mark.parametrize(("project_id", "format_id"), [
    ("newsroom-p8Xk2Lq9", "TSV_IOB"),
    ("newsroom-p8Xk2Lq9", "DATASAUR_SCHEMA"),
    ("newsroom-export", "DATASAUR_SCHEMA"),  # a zip of the projects folder is a project too
])
def test_a_users_script_exports_polls_downloads_and_unzips(service, tmp_path, project_id, format_id):
    base = service.base
    # 1. token: form post, as requests-oauthlib and robosaur do
    answer = httpx.post(f"{base}/api/oauth/token", data={
        "client_id": CLIENT, "client_secret": SECRET, "grant_type": "client_credentials"})
    assert answer.status_code == 200
    token = answer.json()
    assert token["token_type"] == "bearer" and token["expires_in"] == 3600
    assert len(token["access_token"]) == 40 and int(token["access_token"], 16) >= 0
    headers = {"Authorization": f"Bearer {token['access_token']}", "Content-Type": "application/json"}
    # 2. export, the official client's operation
    body = {"operationName": "ExportTextProjectQuery", "query": EXPORT_QUERY, "variables": {"input": {
        "fileName": "datasaur", "format": format_id, "projectIds": [project_id], "role": "REVIEWER",
        "method": "FILE_STORAGE"}}}
    answer = httpx.post(f"{base}/graphql", json=body, headers=headers)
    assert answer.status_code == 200 and "json" in answer.headers["content-type"]
    result = answer.json()["data"]["result"]
    assert result["queued"] is True and result["redirect"] is None and result["__typename"] == "ExportRequestResult"
    assert result["fileUrl"].startswith(f"{base}/files/") and result["fileUrl"].endswith("/datasaur.zip")
    assert result["fileUrlExpiredAt"].endswith("Z")
    # 3. poll every 0.5 s until DELIVERED
    status_body = {"operationName": "GetExportDeliveryStatus", "query": STATUS_QUERY,
                   "variables": {"exportId": result["exportId"]}}
    deadline = time.monotonic() + 30
    while True:
        time.sleep(0.5)
        status = httpx.post(f"{base}/graphql", json=status_body, headers=headers).json()
        delivery = status["data"]["exportDeliveryStatus"]["deliveryStatus"]
        assert delivery in ("QUEUED", "IN_PROGRESS", "DELIVERED"), status
        if delivery == "DELIVERED":
            break
        assert time.monotonic() < deadline
    # 4. download and unzip
    download = httpx.get(result["fileUrl"])
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    top = "newsroom-p8Xk2Lq9"
    assert folders_in(download.content) == {
        "REVIEW", "DOCUMENT-alice_w_example_com", "DOCUMENT-bob_example_com", "ROOT-olga_example_com",
        "project-data.json"}
    zipfile.ZipFile(io.BytesIO(download.content)).extractall(tmp_path / "unzipped")
    assert (tmp_path / "unzipped" / top / "REVIEW").is_dir()
    if format_id == "DATASAUR_SCHEMA":
        assert zip_json_files(download.content, top) == fixture_json_files(NEWSROOM)
    else:  # the same bytes `labelport convert --zip` writes
        labelport.convert(labelport.load(NEWSROOM), format_id, tmp_path / "cli", zip="datasaur")
        assert download.content == (tmp_path / "cli" / "datasaur.zip").read_bytes()
        names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
        assert f"{top}/REVIEW/news.txt.tsv" in names and f"{top}/DOCUMENT-bob_example_com/news.txt.tsv" in names


def test_token_by_http_basic_and_lowercase_legacy_format(service):
    """requests-oauthlib (the official Python sample) sends the client as HTTP Basic."""
    answer = httpx.post(f"{service.base}/api/oauth/token", data={"grant_type": "client_credentials"},
                        auth=(CLIENT, SECRET))
    assert answer.status_code == 200
    token = answer.json()["access_token"]
    result = service.export(token=token, projectIds=["newsroom-p8Xk2Lq9"], fileName="legacy", format="iob",
                            method="FILE_STORAGE")
    assert service.wait(result["exportId"], token)["deliveryStatus"] == "DELIVERED"
    names = zipfile.ZipFile(io.BytesIO(httpx.get(result["fileUrl"]).content)).namelist()
    assert "newsroom-p8Xk2Lq9/REVIEW/news.txt.tsv" in names


def test_several_projects_give_one_zip_with_each_projects_folder(service):
    result = service.export(projectIds=["newsroom-p8Xk2Lq9", "support-tickets-r7Tt"], fileName="both",
                            format="DATASAUR_SCHEMA", method="FILE_STORAGE")
    assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    content = httpx.get(result["fileUrl"]).content
    assert zip_json_files(content, "newsroom-p8Xk2Lq9") == fixture_json_files(NEWSROOM)
    assert zip_json_files(content, "support-tickets-r7Tt") == fixture_json_files(TICKETS)


def test_a_project_added_while_running_is_served(service):
    shutil.copytree(TICKETS, service.projects / "late-arrival")
    try:
        result = service.export(projectIds=["late-arrival"], fileName="late", format="CSV", method="FILE_STORAGE")
        assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    finally:
        shutil.rmtree(service.projects / "late-arrival")  # its documents would make others' ambiguous
    names = zipfile.ZipFile(io.BytesIO(httpx.get(result["fileUrl"]).content)).namelist()
    assert "support-tickets-r7Tt/REVIEW/tickets.csv" in names


# -- 2. fileUrl: 404 until ready, Range, expiry ------------------------------------------------

def test_file_url_is_404_until_delivered_then_200_and_answers_range(service):
    result = service.export_document(documentId="5e1f-tickets", fileName="slow", format="CUSTOM",
                                     fileTransformerId="slow", method="FILE_STORAGE")
    assert result["fileUrl"].endswith("/slow.jsonl")  # a per-document transformer: one file, its EXTENSION
    early = httpx.get(result["fileUrl"])
    assert early.status_code == 404
    job = service.call(f"query {{ getJob(jobId: \"{result['exportId']}\") {{ {JOB_FIELDS} }} }}")["data"]["getJob"]
    assert job["status"] in ("QUEUED", "IN_PROGRESS")
    assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    done = httpx.get(result["fileUrl"])
    assert done.status_code == 200
    assert json.loads(done.content) == {"name": "tickets.csv"}
    probe = httpx.get(result["fileUrl"], headers={"Range": "bytes=0-0"})
    assert probe.status_code == 206 and probe.content == b"{"
    assert httpx.head(result["fileUrl"]).status_code == 200
    assert httpx.get(result["fileUrl"] + "x").status_code == 404
    assert httpx.get(f"{service.base}/files/not-a-token/slow.jsonl").status_code == 404


def test_an_expired_file_url_answers_410(service):
    files = service.app.state.service.files
    expiry = files.expiry
    files.expiry = 2.5
    started = time.monotonic()
    try:
        result = service.export(projectIds=["support-tickets-r7Tt"], fileName="short-lived", format="CSV",
                                method="FILE_STORAGE")
    finally:
        files.expiry = expiry
    assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    assert httpx.get(result["fileUrl"]).status_code == 200
    time.sleep(max(0.0, started + 2.7 - time.monotonic()))
    assert httpx.get(result["fileUrl"]).status_code == 410
    stored = files.get(result["fileUrl"].split("/")[-2])
    assert stored is not None and not stored.path.exists()  # the file itself is gone


# -- 3. roles and one document ---------------------------------------------------------------

def test_role_labeler_gives_document_and_root_folders_only(service):
    result = service.export(projectIds=["newsroom-p8Xk2Lq9"], fileName="labelers", format="DATASAUR_SCHEMA",
                            method="FILE_STORAGE", role="LABELER")
    assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    content = httpx.get(result["fileUrl"]).content
    assert folders_in(content) == {"DOCUMENT-alice_w_example_com", "DOCUMENT-bob_example_com",
                                   "ROOT-olga_example_com", "project-data.json"}
    expected = {k: v for k, v in fixture_json_files(NEWSROOM).items() if not k.startswith("REVIEW/")}
    assert zip_json_files(content, "newsroom-p8Xk2Lq9") == expected


def test_one_document_gives_its_review_version_as_one_file(service):
    result = service.export_document(documentId="5e1f-tickets", fileName="one", format="DATASAUR_SCHEMA",
                                     method="FILE_STORAGE")
    assert result["fileUrl"].endswith("/one.json")
    assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    written = canonical(httpx.get(result["fileUrl"]).json())
    assert written == canonical(json.loads((TICKETS / "REVIEW" / "tickets.csv.json").read_text("utf-8")))


def test_a_document_served_twice_is_asked_for_with_its_project(service):
    # news.txt is in the folder project and in the zip project: which one is ambiguous
    error = service.error(DOCUMENT_QUERY, documentId="news.txt", fileName="n", format="DATASAUR_SCHEMA",
                          method="FILE_STORAGE")
    assert "several projects ('newsroom-p8Xk2Lq9', 'newsroom-export')" in error["message"]
    assert "'newsroom-p8Xk2Lq9/news.txt'" in error["message"]
    result = service.export_document(documentId="newsroom-p8Xk2Lq9/0f6c1e2a-news", fileName="news",
                                     format="DATASAUR_SCHEMA", method="FILE_STORAGE")
    assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    written = canonical(httpx.get(result["fileUrl"]).json())
    assert written == canonical(json.loads((NEWSROOM / "REVIEW" / "news.txt.json").read_text("utf-8")))


def test_one_document_in_a_folder_format_is_a_zip(service):
    result = service.export_document(documentId="newsroom-export/news.txt", fileName="comprehend",
                                     format="AMAZON_COMPREHEND_CSV", method="FILE_STORAGE")
    assert result["fileUrl"].endswith("/comprehend.zip")
    assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    names = set(zipfile.ZipFile(io.BytesIO(httpx.get(result["fileUrl"]).content)).namelist())
    assert {"train/annotations/annotations.csv", "train/documents/documents.txt"} <= names


# -- 4. webhook, external object storage, e-mail ----------------------------------------------

def test_custom_webhook_gets_a_signed_put_with_a_link_to_the_file(service):
    receiver = start_webhook_receiver()
    try:
        result = service.export(projectIds=["newsroom-p8Xk2Lq9"], fileName="hooked", format="TSV_IOB",
                                method="CUSTOM_WEBHOOK", url=receiver.url, secret="hush")
        assert result["fileUrl"] is None and result["key"] is None
        assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
        document = service.export_document(documentId="5e1f-tickets", fileName="hooked-doc", format="CSV",
                                           method="CUSTOM_WEBHOOK", url=receiver.url, secret="hush")
        assert service.wait(document["exportId"])["deliveryStatus"] == "DELIVERED"
    finally:
        receiver.stop()
    assert [r.method for r in receiver.received] == ["PUT", "PUT"]
    project_call, document_call = receiver.received
    for call in receiver.received:
        assert verify(call.body, call.headers.get(SIGNATURE_HEADER), "hush")
        assert "json" in call.headers["Content-Type"]
    body = json.loads(project_call.body)
    assert body == {"userId": CLIENT, "fileUrl": body["fileUrl"], "projectId": "newsroom-p8Xk2Lq9"}
    assert body["fileUrl"].startswith(f"{service.base}/files/") and body["fileUrl"].endswith("/hooked.zip")
    names = zipfile.ZipFile(io.BytesIO(httpx.get(body["fileUrl"]).content)).namelist()
    assert "newsroom-p8Xk2Lq9/REVIEW/news.txt.tsv" in names
    body = json.loads(document_call.body)
    assert body["documentId"] == "5e1f-tickets" and body["projectId"] == "support-tickets-r7Tt"
    assert body["fileUrl"].endswith("/hooked-doc.csv") and httpx.get(body["fileUrl"]).status_code == 200


def test_external_object_storage_folder_returns_the_key(service):
    result = service.export(projectIds=["support-tickets-r7Tt"], fileName="to-eos", format="JSON_TABULAR",
                            method="EXTERNAL_OBJECT_STORAGE",
                            externalObjectStorageParameter={"externalObjectStorageId": "local1",
                                                            "prefix": "exports/2026/"})
    assert result["key"] == "exports/2026/to-eos.zip" and result["fileUrl"] is None
    assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    written = service.eos / result["key"]
    assert zipfile.ZipFile(written).namelist()[0].startswith("support-tickets-r7Tt/")
    assert sorted(p.name for p in written.parent.iterdir()) == ["to-eos.zip"]  # the zip only, no report
    error = service.error(projectIds=["support-tickets-r7Tt"], fileName="x", format="CSV",
                          method="EXTERNAL_OBJECT_STORAGE",
                          externalObjectStorageParameter={"externalObjectStorageId": "nowhere"})
    assert "external object storage 'nowhere' not found" in error["message"] and "local1" in error["message"]


def test_external_object_storage_s3(service):
    pytest.importorskip("boto3")
    pytest.importorskip("moto")
    import boto3
    from servers.s3 import start_s3

    s3 = start_s3()
    saved = {k: os.environ.get(k) for k in s3.env()}
    os.environ.update(s3.env())
    try:
        boto3.client("s3").create_bucket(Bucket="eos-bucket")
        # the storages file is read again when it changes: no restart
        service.storages.write_text(json.dumps({"local1": str(service.eos), "s3one": "s3://eos-bucket/team"}))
        result = service.export(projectIds=["newsroom-p8Xk2Lq9"], fileName="to-s3", format="CONLL_2003",
                                method="EXTERNAL_OBJECT_STORAGE",
                                externalObjectStorageParameter={"externalObjectStorageId": "s3one", "prefix": "p"})
        assert result["key"] == "team/p/to-s3.zip"
        assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
        body = boto3.client("s3").get_object(Bucket="eos-bucket", Key=result["key"])["Body"].read()
        assert "newsroom-p8Xk2Lq9/REVIEW/news.txt.conll" in zipfile.ZipFile(io.BytesIO(body)).namelist()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        s3.stop()


def test_email_goes_to_the_clients_address_with_a_link(service):
    pytest.importorskip("aiosmtpd")
    from servers.smtp import start_smtp

    smtp = start_smtp()
    saved = {k: os.environ.get(k) for k in smtp.env()}
    os.environ.update(smtp.env())
    try:
        result = service.export(projectIds=["support-tickets-r7Tt"], fileName="mailed", format="CSV", method="EMAIL")
        assert result["fileUrl"] is None
        assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        smtp.stop()
    (message,) = smtp.messages
    assert message["To"] == CLIENT_EMAIL
    text = message.get_body(("plain",)).get_content()
    link = next(word for word in text.split() if word.startswith(f"{service.base}/files/"))
    assert link.endswith("/mailed.zip") and httpx.get(link).status_code == 200
    # a client without an address cannot ask for EMAIL
    other = service.token(OTHER, OTHER_SECRET)
    body = service.call(EXPORT_KEY_QUERY, {"input": {"projectIds": ["support-tickets-r7Tt"], "fileName": "m",
                                                     "format": "CSV", "method": "EMAIL"}}, token=other)
    assert "no address for client 'other-client'" in body["errors"][0]["message"]


# -- 5. errors -------------------------------------------------------------------------------

def test_request_errors_are_graphql_errors_with_a_message(service):
    base = {"fileName": "x", "method": "FILE_STORAGE"}
    error = service.error(projectIds=["nope"], format="TSV_IOB", **base)
    assert error["extensions"]["type"] == "NotFoundError"
    assert error["message"].startswith("project 'nope' not found; the projects are: ")
    assert "'newsroom-p8Xk2Lq9'" in error["message"] and "'support-tickets-r7Tt'" in error["message"]
    error = service.error(DOCUMENT_QUERY, documentId="no-such-doc", format="TSV_IOB", **base)
    assert error["message"] == "document 'no-such-doc' not found"
    error = service.error(projectIds=["support-tickets-r7Tt"], format="TSV_IOB", **base)
    assert "TSV_IOB cannot serve a ROW_BASED project" in error["message"]
    assert "formats that can:" in error["message"] and "CSV" in error["message"]
    assert "support-tickets-r7Tt" in error["message"]
    error = service.error(projectIds=["newsroom-p8Xk2Lq9"], format="BOGUS", **base)
    assert "unknown format 'BOGUS'" in error["message"] and "TSV_IOB" in error["message"]
    error = service.error(projectIds=["newsroom-p8Xk2Lq9"], format="CUSTOM", fileTransformerId="nope", **base)
    assert "no such transformer" in error["message"] and "slow" in error["message"]
    error = service.error(projectIds=["newsroom-p8Xk2Lq9"], format="CUSTOM", fileTransformerId="/etc/evil.py", **base)
    assert "name of a transformer" in error["message"]
    error = service.error(projectIds=["newsroom-p8Xk2Lq9"], format="TSV_IOB", fileName="../up", method="FILE_STORAGE")
    assert "fileName" in error["message"]
    error = service.error(projectIds=["newsroom-p8Xk2Lq9"], format="TSV_IOB", fileName="x", method="CUSTOM_WEBHOOK")
    assert error["message"] == "CUSTOM_WEBHOOK needs url and secret"
    error = service.error(projectIds=["newsroom-p8Xk2Lq9", "newsroom-export"], format="TSV_IOB", **base)
    assert "same project" in error["message"]
    # bad input caught by the schema itself
    error = service.error(projectIds=["newsroom-p8Xk2Lq9"], format="TSV_IOB", fileName="x", method="TELEPATHY")
    assert "TELEPATHY" in error["message"]
    error = service.error(projectIds=["newsroom-p8Xk2Lq9"], format="TSV_IOB", method="FILE_STORAGE")
    assert "fileName" in error["message"]
    body = service.call("{ getExportDeliveryStatus(exportId: \"nope\") { deliveryStatus } }")
    assert body["errors"][0]["message"] == "export 'nope' not found"
    body = service.call("{ nonsense }")
    assert "nonsense" in body["errors"][0]["message"]
    answer = httpx.post(f"{service.base}/graphql", content=b"not json",
                        headers={"Authorization": f"Bearer {service.token()}"})
    assert answer.status_code == 200 and answer.json()["errors"][0]["message"].startswith("the body must be JSON")


def test_a_broken_project_is_an_error_and_hides_no_other(service):
    broken = service.projects / "broken" / "REVIEW"
    broken.mkdir(parents=True)
    (broken / "a.txt.json").write_text("{ this is not json")
    try:
        error = service.error(projectIds=["broken"], format="TSV_IOB", fileName="x", method="FILE_STORAGE")
        assert "broken/REVIEW/a.txt.json" in error["message"]
        assert str(service.projects) not in error["message"]  # paths relative to the projects folder
        result = service.export_document(documentId="5e1f-tickets", fileName="still", format="CSV",
                                         method="FILE_STORAGE")
        assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    finally:
        shutil.rmtree(service.projects / "broken")


def test_missing_or_bad_token_is_unauthorized(service):
    body = {"operationName": "G", "variables": {"exportId": "x"}, "query": STATUS_QUERY}
    for headers in ({}, {"Authorization": "Bearer " + "0" * 40}, {"Authorization": "Basic abc"}):
        answer = httpx.post(f"{service.base}/graphql", json=body, headers=headers)
        assert answer.status_code == 200
        (error,) = answer.json()["errors"]
        assert answer.json()["data"] is None and error["message"] == "Unauthorized"
        assert error["extensions"]["type"] == "AuthenticationError" and len(error["extensions"]["errorId"]) == 32


def test_wrong_client_secret_is_401_invalid_client(service):
    for client, secret in ((CLIENT, "wrong"), ("nobody", SECRET), (CLIENT, "")):
        answer = httpx.post(f"{service.base}/api/oauth/token",
                            data={"client_id": client, "client_secret": secret, "grant_type": "client_credentials"})
        assert answer.status_code == 401 and answer.json() == {"error": "invalid_client"}
    answer = httpx.post(f"{service.base}/api/oauth/token",
                        data={"client_id": CLIENT, "client_secret": SECRET, "grant_type": "password"})
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"


def test_a_failing_job_is_failed_with_job_errors(service):
    result = service.export(projectIds=["newsroom-p8Xk2Lq9"], fileName="doomed", format="CUSTOM",
                            fileTransformerId="boom", method="FILE_STORAGE")
    status = service.wait(result["exportId"])
    assert status["deliveryStatus"] == "FAILED"
    (error,) = status["errors"]
    assert set(error) == {"id", "stack", "args"} and error["id"]
    assert error["stack"].startswith("transformer 'boom' failed on document")
    assert "ValueError: boom: this transformer always fails" in error["stack"].splitlines()[0]
    assert error["args"]["type"] == "TransformerError"
    assert httpx.get(result["fileUrl"]).status_code == 404  # never delivered


# -- 6. jobs ---------------------------------------------------------------------------------

def test_get_job_and_get_jobs_give_the_job_fields(service):
    result = service.export(projectIds=["support-tickets-r7Tt"], fileName="jobbed", format="CSV",
                            method="FILE_STORAGE")
    service.wait(result["exportId"])
    body = service.call(f"query Q($id: String!) {{ getJob(jobId: $id) {{ {JOB_FIELDS} }} }}", {"id": result["exportId"]})
    job = body["data"]["getJob"]
    assert job["id"] == result["exportId"] and job["status"] == "DELIVERED" and job["progress"] == 100
    assert job["errors"] == [] and job["resultId"] and job["createdAt"] <= job["updatedAt"]
    assert job["result"]["fileUrl"] == result["fileUrl"] and job["result"]["fileName"] == "jobbed.zip"
    body = service.call(f"query Q($ids: [String!]!) {{ getJobs(jobIds: $ids) {{ {JOB_FIELDS} }} }}",
                        {"ids": [result["exportId"], "no-such-job"]})
    assert body["data"]["getJobs"] == [job, None]
    # another client does not see it
    other = service.token(OTHER, OTHER_SECRET)
    body = service.call("query Q($id: String!) { getJob(jobId: $id) { id } }", {"id": result["exportId"]}, token=other)
    assert body["data"]["getJob"] is None
    # it is a labelport job: the same store the command line reads
    from labelport.jobs.store import JobStore

    stored = JobStore().get(result["exportId"])
    assert stored is not None and stored.to_api() == job


def test_a_stopped_services_jobs_are_resumed_on_start(service):
    from labelport.jobs.store import IN_PROGRESS, JobStore
    from labelport.service.exporter import Service as Core

    result = service.export(projectIds=["support-tickets-r7Tt"], fileName="again", format="CSV",
                            method="FILE_STORAGE")
    assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    # make it a job whose service died halfway: IN_PROGRESS, its process gone, no file yet
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)
    store = JobStore()
    store.update(result["exportId"], status=IN_PROGRESS, pid=int(gone.stdout), progress=50)
    files = service.app.state.service.files
    files.get(result["fileUrl"].split("/")[-2]).path.unlink()
    assert httpx.get(result["fileUrl"]).status_code == 404
    core = Core(service.app.state.service.config)  # what `labelport serve` does when it starts
    core.start()
    try:
        job = store.get(result["exportId"]).wait(timeout=30)
    finally:
        core.stop()
    assert job.status == "DELIVERED" and job.attempts == 2
    assert httpx.get(result["fileUrl"]).status_code == 200


def test_client_option_parsing():
    from labelport.errors import UsageError
    from labelport.service.auth import Client, clients_from, parse_client

    assert parse_client("a:b") == Client("a", "b", None)
    assert parse_client("a:b:c:me@x.org") == Client("a", "b:c", "me@x.org")
    assert parse_client("a:b:c") == Client("a", "b:c", None)
    assert clients_from(["x:1"], env="y:2,z:3:z@x.org") == {
        "x": Client("x", "1"), "y": Client("y", "2"), "z": Client("z", "3", "z@x.org")}
    for bad in ("nosecret", ":s", "a:"):
        with pytest.raises(UsageError):
            parse_client(bad)


# -- the real command line -------------------------------------------------------------------

def test_the_real_command_line(tmp_path):
    projects = tmp_path / "projects"
    projects.mkdir()
    copy_projects(projects)
    port = free_port()
    env = {**os.environ, "LABELPORT_HOME": str(tmp_path / "home"), "LABELPORT_OAUTH_CLIENTS": "cli:pw,second:pw2",
           "PYTHONIOENCODING": "utf-8"}
    env.pop("LABELPORT_CONVERTERS", None)
    command = [sys.executable, "-m", "labelport", "serve", "--projects", str(projects), "--port", str(port),
               "--token-ttl", "1", "--file-expiry", "3"]
    refused = subprocess.run(command, check=False, env={**env, "LABELPORT_OAUTH_CLIENTS": ""},
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "no OAuth client: pass --client ID:SECRET or set LABELPORT_OAUTH_CLIENTS" in refused.stderr
    log = tmp_path / "serve.log"
    with open(log, "w") as sink:  # a file, not a pipe: nothing blocks the service however much it logs
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, timeout=30)
        service = Service(f"http://127.0.0.1:{port}", tmp_path, projects, tmp_path, tmp_path, None)
        token = service.token("cli", "pw")
        result = service.export(token=token, query=EXPORT_QUERY, projectIds=["support-tickets-r7Tt"],
                                fileName="from-cli", format="CSV", method="FILE_STORAGE")
        assert service.wait(result["exportId"], token=service.token("cli", "pw"))["deliveryStatus"] == "DELIVERED"
        assert httpx.get(result["fileUrl"]).status_code == 200
        time.sleep(1.2)  # the token (1 s) has expired
        answer = service.post(STATUS_QUERY, {"exportId": result["exportId"]}, token=token)
        assert answer.status_code == 200
        error = answer.json()["errors"][0]
        assert error["message"] == "Unauthorized" and error["extensions"]["type"] == "AuthenticationError"
        time.sleep(max(0.0, 3.2 - 1.2))  # the file (3 s) has expired
        assert httpx.get(result["fileUrl"]).status_code == 410
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert f"labelport: serving the Export API on http://127.0.0.1:{port}/graphql" in log.read_text()


def test_a_project_not_found_lists_the_ids_that_exist(tmp_path):
    from labelport.service.projects import KNOWN_IDS_SHOWN, NotFoundError, ProjectDirectory

    projects = ProjectDirectory(tmp_path)
    with pytest.raises(NotFoundError) as empty:
        projects.path("newsroom")
    assert str(empty.value) == "project 'newsroom' not found; the projects are: none (the projects folder is empty)"
    ids = [f"p{i:02d}" for i in range(KNOWN_IDS_SHOWN + 2)]
    for name in ids[:-1]:
        (tmp_path / name).mkdir()
    (tmp_path / f"{ids[-1]}.zip").write_bytes(b"")
    (tmp_path / ".hidden").mkdir()  # not a project: not offered
    with pytest.raises(NotFoundError) as some:
        projects.path("newsroom")
    shown = ", ".join(repr(i) for i in ids[:KNOWN_IDS_SHOWN])
    assert str(some.value) == f"project 'newsroom' not found; the projects are: {shown} and 2 more"
