"""A hostile (authenticated) client of ``labelport serve``, and what is left
for another local user to read.

The service runs through its real command line on 127.0.0.1, with a
permissive umask (0), a fresh LABELPORT_HOME, small limits and one allowed
webhook host (127.0.0.2). A webhook receiver on 127.0.0.1 stands for an
internal host: every case asserts it was never reached. A few cases need to
change how the service process resolves names or to force a bug: those run
the same app in this process (as tests/test_serve.py does).

Every refused request is checked by :func:`assert_refused_request`: one
GraphQL error with its message and errorId, no traceback and no server path
in the body, and nothing written to the job store or the file store.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

for _module in ("starlette", "uvicorn", "graphql", "msgspec", "cryptography"):
    pytest.importorskip(_module)
import httpx
from servers.ports import free_port, stop_process, wait_for_port
from servers.webhook import WebhookReceiver, start_webhook_receiver

from labelport.delivery.webhooks import SIGNATURE_HEADER, verify

from test_serve import SLOW_TRANSFORMER  # a CUSTOM transformer that takes 1.5 s a document

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures" / "datasaur"
NEWSROOM, TICKETS, TICKET_DOC = "newsroom-p8Xk2Lq9", "support-tickets-r7Tt", "5e1f-tickets"
CLIENT, SECRET = "hostile", "pw-of-the-hostile-client"
ALLOWED = "127.0.0.2"  # the one non-public host the operator allows
LIMITS = ("--max-exports", "3", "--max-ids", "5", "--max-body", "65536")

EXPORT = ("query E($input: ExportTextProjectInput!) { result: exportTextProject(input: $input) "
          "{ exportId fileUrl } }")
DOCUMENT = ("query D($input: ExportTextProjectDocumentInput!) { result: exportTextProjectDocument(input: $input) "
            "{ exportId fileUrl } }")
STATUS = ("query S($id: ID!) { getExportDeliveryStatus(exportId: $id) { deliveryStatus errors { id stack args } } }")
JOB = "query J($id: String!) { getJob(jobId: $id) { status errors { id stack args } result } }"
ERROR_ID = re.compile(r"^[0-9a-f]{32}$")


# -- webhook receivers (tests/servers/webhook.py) record whether they were reached ------------

def receiver(host: str = "127.0.0.1", answers: tuple[int, ...] = (), location: str | None = None) -> WebhookReceiver:
    started = start_webhook_receiver(host)
    started.answers, started.location = list(answers), location
    return started


# -- the service, by its command line -----------------------------------------------------------

def make_root(root: Path) -> Path:
    projects, converters = root / "projects", root / "converters"
    for source in FIXTURES.iterdir():
        shutil.copytree(source, projects / source.name)
    converters.mkdir()
    (converters / "slow.py").write_text(SLOW_TRANSFORMER)
    return root


class Served:
    def __init__(self, root: Path, *options: str, home: Path | None = None):
        self.root = root
        self.home = home or root / "home"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = root / f"serve-{self.port}.log"
        env = {**os.environ, "LABELPORT_HOME": str(self.home), "LABELPORT_CONVERTERS": str(root / "converters")}
        env.pop("LABELPORT_ALLOW_WEBHOOK_HOSTS", None)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "labelport", "serve", "--projects", str(root / "projects"),
                 "--port", str(self.port), "--client", f"{CLIENT}:{SECRET}", *options],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=lambda: os.umask(0),  # as permissive as a umask gets: modes must not depend on it
            )
        try:
            wait_for_port(self.port, 30)
        except TimeoutError:
            self.stop()
            raise AssertionError(self.log())

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def token(self) -> str:
        answer = httpx.post(f"{self.base}/api/oauth/token", data={
            "client_id": CLIENT, "client_secret": SECRET, "grant_type": "client_credentials"})
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]

    def post(self, content: bytes) -> httpx.Response:
        return httpx.post(f"{self.base}/graphql", content=content, timeout=30,
                          headers={"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"})

    def call(self, query: str, variables: dict | None = None) -> dict:
        answer = self.post(json.dumps({"query": query, "variables": variables or {}}).encode())
        assert answer.status_code == 200, answer.text
        return answer.json()

    def export(self, query: str = EXPORT, **fields: object) -> dict:
        body = self.call(query, {"input": fields})
        assert "errors" not in body, body
        return body["data"]["result"]

    def wait(self, export_id: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status = self.call(STATUS, {"id": export_id})["data"]["getExportDeliveryStatus"]
            if status["deliveryStatus"] in ("DELIVERED", "FAILED"):
                return status
            assert time.monotonic() < deadline, status
            time.sleep(0.2)

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    service = Served(make_root(tmp_path_factory.mktemp("hostile-serve")), "--allow-webhook-host", ALLOWED, *LIMITS)
    yield service
    service.stop()


@pytest.fixture(scope="module")
def internal():
    """An internal host: on loopback, not allowed. Nothing may reach it."""
    started = receiver("127.0.0.1")
    yield started
    started.stop()


def store_state(home: Path) -> tuple[int, list[str]]:
    """How many jobs, and every path of the file store."""
    jobs = 0
    if (home / "jobs.sqlite3").exists():
        with read_store(home) as db:
            jobs = db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
    serve = home / "serve"
    paths = sorted(p.relative_to(serve).as_posix() for p in serve.rglob("*")) if serve.exists() else []
    return jobs, paths


def assert_clean_error(body: dict, root: Path, *fragments: str) -> dict:
    """One GraphQL error (HTTP 200, data null) with a message, a type and an
    errorId; no traceback and no server path anywhere in the body."""
    text = json.dumps(body)
    assert "Traceback" not in text and 'File "' not in text and str(root) not in text, text
    assert body.get("data") is None and len(body["errors"]) == 1, body
    (error,) = body["errors"]
    assert ERROR_ID.match(error["extensions"]["errorId"]) and error["extensions"]["type"], error
    for fragment in fragments:
        assert fragment in error["message"], (fragment, error["message"])
    return error


def assert_refused_request(served: Served, query: str, variables: dict, *fragments: str) -> dict:
    before = store_state(served.home)
    error = assert_clean_error(served.call(query, variables), served.root, *fragments)
    assert store_state(served.home) == before, "a refused request wrote to the store"
    return error


def export_input(**fields: object) -> dict:
    return {"input": {"projectIds": [NEWSROOM], "fileName": "x", "format": "TSV_IOB", "method": "FILE_STORAGE",
                      **fields}}


# -- 1. webhooks to internal addresses (SSRF) ---------------------------------------------------

INTERNAL_URLS = {
    "loopback": "http://127.0.0.1:{port}/hook",
    "localhost-name": "http://localhost:{port}/hook",
    "loopback-short": "http://127.1:{port}/hook",
    "decimal": "http://2130706433:{port}/hook",
    "octal": "http://0177.0.0.1:{port}/hook",
    "hex": "http://0x7f.0.0.1:{port}/hook",
    "unspecified": "http://0.0.0.0:{port}/hook",
    "ipv6-loopback": "http://[::1]:{port}/hook",
    "ipv4-mapped-ipv6": "http://[::ffff:127.0.0.1]:{port}/hook",
    "nat64-loopback": "http://[64:ff9b::7f00:1]:{port}/hook",
    "6to4-loopback": "http://[2002:7f00:1::1]:{port}/hook",
    "cloud-metadata": "http://169.254.169.254/latest/meta-data/",
    "private-10": "http://10.0.0.1:{port}/hook",
    "private-192": "https://192.168.1.1/hook",
    "shared-cgnat": "http://100.64.0.1/hook",
    "multicast": "http://224.0.0.1/hook",
    "reserved": "http://240.0.0.1/hook",
    "ipv6-link-local": "http://[fe80::1%25lo]/hook",
    "ipv6-unique-local": "http://[fd00::1]/hook",
}


@pytest.mark.parametrize("url", INTERNAL_URLS.values(), ids=INTERNAL_URLS.keys())
def test_a_webhook_to_an_internal_address_is_refused_at_once(served, internal, url):
    url = url.format(port=internal.port)
    error = assert_refused_request(served, EXPORT, export_input(method="CUSTOM_WEBHOOK", url=url, secret="s"),
                                   "url: the service does not connect to loopback, private")
    assert error["extensions"]["type"] == "UserInputError"
    assert internal.received == []


def test_a_document_webhook_to_an_internal_address_is_refused(served, internal):
    assert_refused_request(served, DOCUMENT, {"input": {
        "documentId": TICKET_DOC, "fileName": "d", "format": "CSV", "method": "CUSTOM_WEBHOOK",
        "url": internal.url, "secret": "s"}}, "the service does not connect")
    assert internal.received == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://example.org/", "http:///nohost",
                                 "http://example.org:99999/"])
def test_a_webhook_url_that_is_not_http_to_a_host_is_refused(served, url):
    assert_refused_request(served, EXPORT, export_input(method="CUSTOM_WEBHOOK", url=url, secret="s"), "url:")


def test_a_redirect_from_an_allowed_host_to_an_internal_one_is_not_followed(served, internal):
    redirecting = receiver(ALLOWED, answers=(307,) * 5, location=internal.url)
    try:
        result = served.export(**export_input(method="CUSTOM_WEBHOOK", url=redirecting.url, secret="s")["input"])
        status = served.wait(result["exportId"])
    finally:
        redirecting.stop()
    assert status["deliveryStatus"] == "FAILED"
    assert len(redirecting.received) == 5 and internal.received == []  # asked 5 times, never followed


def test_an_allowed_host_gets_the_signed_webhook(served):
    allowed = receiver(ALLOWED)
    try:
        result = served.export(**export_input(method="CUSTOM_WEBHOOK", url=allowed.url, secret="hush")["input"])
        assert served.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    finally:
        allowed.stop()
    (put,) = allowed.received
    assert put.method == "PUT" and verify(put.body, put.headers.get(SIGNATURE_HEADER), "hush")


# -- 2. the same app in this process: name resolution and bugs ----------------------------------

class InProcess:
    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, allow: tuple[str, ...] = ()):
        import uvicorn

        from labelport.guards.egress import EgressPolicy
        from labelport.service.app import create_app
        from labelport.service.auth import Client
        from labelport.service.exporter import ServeConfig

        monkeypatch.setenv("LABELPORT_HOME", str(root / "home"))
        monkeypatch.setenv("LABELPORT_CONVERTERS", str(root / "converters"))
        self.root, self.home = root, root / "home"
        config = ServeConfig(projects=root / "projects", clients={CLIENT: Client(CLIENT, SECRET)},
                             egress=EgressPolicy(allow))
        self.app = create_app(config)
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def in_process(tmp_path, monkeypatch):
    service = InProcess(make_root(tmp_path), monkeypatch, allow=(ALLOWED,))
    client = Served.__new__(Served)  # the same client calls, against this app
    client.root, client.home, client.base = service.root, service.home, f"http://127.0.0.1:{service.port}"
    yield client
    service.stop()


def resolving(monkeypatch: pytest.MonkeyPatch, name: str, answers: list[str]) -> None:
    """The process's resolver answers ``name`` with each of ``answers`` in
    turn, then the last one again; other names as before."""
    resolve = socket.getaddrinfo
    pending = list(answers)

    def answer(host, port, *args, **kwargs):
        if host != name:
            return resolve(host, port, *args, **kwargs)
        address = pending.pop(0) if len(pending) > 1 else pending[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", answer)


def test_dns_rebinding_is_refused_at_connection_time(in_process, internal, monkeypatch):
    """The name resolves to a public address when the request is checked and
    to 127.0.0.1 when the job connects: the job fails, nothing is reached."""
    resolving(monkeypatch, "rebind.labelport.test", ["93.184.216.34", "127.0.0.1"])
    url = f"http://rebind.labelport.test:{internal.port}/hook"
    result = in_process.export(**export_input(method="CUSTOM_WEBHOOK", url=url, secret="s")["input"])
    status = in_process.wait(result["exportId"])
    assert status["deliveryStatus"] == "FAILED" and internal.received == []
    (error,) = status["errors"]
    assert error["stack"] == (f"webhook {url}: not sent: the service does not connect to loopback, private, "
                              "link-local or other non-public addresses (its operator can allow a host with "
                              "--allow-webhook-host)")
    assert "127.0.0.1" not in json.dumps(status)


def certificates(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """A certificate authority, and a certificate it signed for ``name``."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "labelport test CA")])

    def signed(subject, public_key, extensions):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(public_key)
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(hours=1)))
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical)
        return builder.sign(ca_key, hashes.SHA256())

    ca = signed(ca_name, ca_key.public_key(), [(x509.BasicConstraints(ca=True, path_length=None), True)])
    leaf = signed(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), key.public_key(),
                  [(x509.SubjectAlternativeName([x509.DNSName(name)]), False)])
    pem = serialization.Encoding.PEM
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(leaf.public_bytes(pem))
    paths[2].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


def test_https_to_an_allowed_host_keeps_the_name_for_sni_certificate_and_host(in_process, tmp_path, monkeypatch):
    """The service connects to the address it checked, but TLS and HTTP still
    speak to the name: SNI, the certificate's name check and Host."""
    import ssl

    name = "hooks.labelport.test"
    ca, cert, key = certificates(tmp_path, name)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server_names: list[str | None] = []
    context.sni_callback = lambda sock, server_name, ctx: server_names.append(server_name)
    hooks = receiver(ALLOWED)
    hooks.server.socket = context.wrap_socket(hooks.server.socket, server_side=True)  # the same descriptor
    resolving(monkeypatch, name, [ALLOWED])
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    try:
        url = f"https://{name}:{hooks.port}/hook"
        result = in_process.export(**export_input(method="CUSTOM_WEBHOOK", url=url, secret="tls")["input"])
        status = in_process.wait(result["exportId"])
    finally:
        hooks.stop()
    assert status["deliveryStatus"] == "DELIVERED", status
    (put,) = hooks.received
    assert server_names == [name] and put.headers["Host"] == f"{name}:{hooks.port}"
    assert verify(put.body, put.headers[SIGNATURE_HEADER], "tls")


def assert_internal_error(in_process: "Served", caplog, *logged_fragments: str) -> None:
    """An export asked for, answered "internal error" with an id, and that id
    logged with the traceback."""
    body = in_process.call(EXPORT, export_input())
    error = assert_clean_error(body, in_process.root)
    assert error["message"] == "internal error" and error["extensions"]["type"] == "InternalError"
    (logged,) = [r.getMessage() for r in caplog.records if error["extensions"]["errorId"] in r.getMessage()]
    assert "Traceback (most recent call last)" in logged and all(f in logged for f in logged_fragments)


def test_a_bug_in_a_request_is_internal_error_with_an_id_and_the_traceback_is_logged(in_process, monkeypatch, caplog):
    from labelport.service import exporter

    secret_path = f"{in_process.home}/serve/private-thing"

    def broken(value):
        raise OSError(f"[Errno 13] Permission denied: '{secret_path}'")

    monkeypatch.setattr(exporter, "resolve_format", broken)
    assert_internal_error(in_process, caplog, "Permission denied", secret_path)  # (the body names no path)


def test_a_bug_in_graphql_itself_is_the_same_internal_error(in_process, monkeypatch, caplog):
    """Beyond any resolver (graphql-core failed): the body and the log of a bug in a resolver."""
    from labelport.service import app

    def broken(schema, body, context):
        raise RuntimeError(f"graphql-core broke reading {in_process.root}/projects")

    monkeypatch.setattr(app, "execute", broken)
    assert_internal_error(in_process, caplog, "graphql-core broke")


def test_a_bug_in_a_job_fails_it_with_an_id_and_no_traceback(in_process, monkeypatch, caplog):
    from labelport.service import exporter

    def broken(task, work, target):
        raise KeyError(f"{in_process.root}/projects/{NEWSROOM}/REVIEW/x.json")

    monkeypatch.setattr(exporter, "_convert_projects", broken)
    result = in_process.export(**export_input()["input"])
    status = in_process.wait(result["exportId"])
    (error,) = status["errors"]
    assert status["deliveryStatus"] == "FAILED" and ERROR_ID.match(error["id"])
    assert error["stack"].startswith("internal error") and error["args"] == {"type": "InternalError"}
    assert str(in_process.root) not in json.dumps(status) and "Traceback" not in json.dumps(status)
    (logged,) = [r.getMessage() for r in caplog.records if error["id"] in r.getMessage()]
    assert "Traceback (most recent call last)" in logged and "KeyError" in logged


def test_a_jobs_input_error_names_the_file_inside_the_projects_folder_only(in_process, monkeypatch):
    from labelport.errors import InputError
    from labelport.service import exporter

    def broken(task, work, target):
        raise InputError("not valid JSON", in_process.root / "projects" / NEWSROOM / "REVIEW" / "a.json", 3)

    monkeypatch.setattr(exporter, "_convert_projects", broken)
    status = in_process.wait(in_process.export(**export_input()["input"])["exportId"])
    (error,) = status["errors"]
    assert error["stack"] == f"{NEWSROOM}/REVIEW/a.json:3: not valid JSON"
    assert error["args"]["file"] == f"{NEWSROOM}/REVIEW/a.json" and str(in_process.root) not in json.dumps(status)


# -- 3. file names and the file store -----------------------------------------------------------

BAD_FILE_NAMES = {
    "meta-file": (".meta", "must not begin with '.'"),
    "hidden": (".hidden", "must not begin with '.'"),
    "too-long": ("x" * 300, "at most 200 bytes"),
    "too-long-utf8": ("é" * 101, "at most 200 bytes"),
    "slash": ("a/b", "no folders"),
    "backslash": ("up\\..\\x", "no folders"),
    "dot-dot": ("..", "must not begin with '.'"),
    "nul": ("a\x00b", "no control"),
    "newline": ("a\nb", "no control"),
    "bidi-override": ("a\u202egnp.exe", "no control, format"),
    "windows-device": ("CON", "a reserved name"),
    "windows-device-ext": ("lpt1.txt", "a reserved name"),
    "report-name": ("labelport-report", "a reserved name"),
    "trailing-dot": ("name.", "must not end with"),
    "blank": ("   ", "give a name"),
}


@pytest.mark.parametrize(("name", "problem"), BAD_FILE_NAMES.values(), ids=BAD_FILE_NAMES.keys())
def test_a_file_name_the_service_could_not_write_is_refused(served, name, problem):
    assert_refused_request(served, EXPORT, export_input(fileName=name), "fileName", problem)


def test_a_document_file_name_that_would_be_the_bookkeeping_is_refused(served):
    assert_refused_request(served, DOCUMENT, {"input": {"documentId": TICKET_DOC, "fileName": ".meta",
                                                        "format": "JSON", "method": "FILE_STORAGE"}},
                           "must not begin with '.'")


def test_an_awkward_but_writable_file_name_is_delivered_under_that_name(served, tmp_path):
    name = "résumé 2026-01-01T10:00 (v2)"
    result = served.export(**export_input(fileName=name)["input"])
    assert served.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    assert result["fileUrl"].endswith("/r%C3%A9sum%C3%A9%202026-01-01T10%3A00%20%28v2%29.zip")
    download = httpx.get(result["fileUrl"])
    assert download.status_code == 200 and download.content[:2] == b"PK"
    stored = served.home / "serve" / "files" / result["fileUrl"].split("/")[-2] / f"{name}.zip"
    assert stored.read_bytes() == download.content


def test_the_store_keeps_its_bookkeeping_where_no_result_reaches(served):
    result = served.export(DOCUMENT, documentId=TICKET_DOC, fileName="meta", format="JSON", method="FILE_STORAGE")
    assert served.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    token = result["fileUrl"].split("/")[-2]
    folder = served.home / "serve" / "files" / token
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json"]  # the result only
    assert json.loads((served.home / "serve" / "meta" / f"{token}.json").read_bytes())["name"] == "meta.json"
    assert httpx.get(result["fileUrl"]).status_code == 200


# -- 4. declared input types and limits ---------------------------------------------------------

BAD_INPUTS = {
    "unknown-method": ({"method": "TELEPATHY"}, "TELEPATHY"),
    "unknown-role": ({"role": "ADMIN"}, "ADMIN"),
    "file-name-not-a-string": ({"fileName": 5}, "String cannot represent a non string value"),
    "project-ids-an-object": ({"projectIds": {"a": 1}}, "projectIds"),
    "mask-not-boolean": ({"maskPIIEntities": "yes"}, "Boolean cannot represent a non boolean value"),
    "unknown-comment-type": ({"includedCommentType": ["EVERYTHING"]}, "EVERYTHING"),
    "unknown-field": ({"sneaky": 1}, "sneaky"),
    "null-required": ({"format": None}, "format"),
    "url-too-long": ({"method": "CUSTOM_WEBHOOK", "url": "https://example.org/" + "a" * 3000, "secret": "s"},
                     "input.url: Expected `str` of length <= 2048"),
    "too-many-project-ids": ({"projectIds": [f"p{i}" for i in range(6)]}, "at most 5 ids in one query"),
    "eos-without-parameter": ({"method": "EXTERNAL_OBJECT_STORAGE"}, "externalObjectStorageId"),
}


@pytest.mark.parametrize(("fields", "problem"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_an_input_of_the_wrong_type_or_size_is_a_graphql_error(served, fields, problem):
    assert_refused_request(served, EXPORT, export_input(**fields), problem)


def test_a_missing_required_field_is_a_graphql_error(served):
    variables = export_input()
    del variables["input"]["fileName"]
    assert_refused_request(served, EXPORT, variables, "required field 'fileName'")


def test_too_many_exports_in_one_request_is_refused_before_any_runs(served):
    fields = "exportId"
    query = ("query Q($input: ExportTextProjectInput!) { "
             + " ".join(f"e{i}: exportTextProject(input: $input) {{ {fields} }}" for i in range(4)) + " }")
    assert_refused_request(served, query, export_input(), "at most 3 exports in one request")
    hidden = ("query Q($input: ExportTextProjectInput!) { ...A ...B } "
              "fragment A on Query { a1: exportTextProject(input: $input) { exportId } "
              "a2: exportTextProject(input: $input) { exportId } } "
              "fragment B on Query { b1: exportTextProject(input: $input) { exportId } "
              "b2: exportTextProject(input: $input) { exportId } }")
    assert_refused_request(served, hidden, export_input(), "at most 3 exports in one request")


def test_too_many_job_ids_or_fields_in_one_query_is_refused(served):
    assert_refused_request(served, "query Q($ids: [String!]!) { getJobs(jobIds: $ids) { id } }",
                           {"ids": [f"j{i}" for i in range(6)]}, "jobIds: at most 5 ids in one query")
    query = "{ " + " ".join(f'j{i}: getJob(jobId: "j{i}") {{ id }}' for i in range(6)) + " }"
    assert_refused_request(served, query, {}, "at most 5 fields in one request")
    hidden = ("query Q { ...Many } fragment Many on Query { "
              + " ".join(f'j{i}: getJob(jobId: "j{i}") {{ id }}' for i in range(6)) + " }")
    assert_refused_request(served, hidden, {}, "at most 5 fields in one request")  # a fragment hides none


def test_a_body_over_the_limit_is_refused_unread(served):
    before = store_state(served.home)
    padding = "x" * 70_000
    answer = served.post(json.dumps({"query": EXPORT, "variables": export_input(), "padding": padding}).encode())
    assert answer.status_code == 200
    assert_clean_error(answer.json(), served.root, "the request body is larger than 65536 bytes")
    assert store_state(served.home) == before


@pytest.mark.parametrize(("content", "problem"), [
    (b"{not json", "the body must be JSON"),
    (b"[1, 2]", "the body must be a JSON object"),
    (b'{"query": "{ getJob(jobId: \\"x\\") { id } }", "variables": [1]}', "variables must be a JSON object"),
    (json.dumps({"query": "{" * 5000}).encode(), "Syntax Error"),
    (json.dumps({"query": "{ " + "id " * 12_000 + "}"}).encode(), "Document contains more than"),
], ids=["not-json", "not-an-object", "variables-not-an-object", "unbalanced", "too-many-tokens"])
def test_a_malformed_request_is_a_clean_error(served, content, problem):
    before = store_state(served.home)
    answer = served.post(content)
    assert answer.status_code == 200
    assert_clean_error(answer.json(), served.root, problem)
    assert store_state(served.home) == before


# -- 5. what is left on disk: modes, secrets, redaction -----------------------------------------

def test_everything_under_labelport_home_is_owner_only_whatever_the_umask(served):
    allowed = receiver(ALLOWED)
    try:
        for method in ("FILE_STORAGE", "CUSTOM_WEBHOOK"):
            extra = {"url": allowed.url, "secret": "s"} if method == "CUSTOM_WEBHOOK" else {}
            result = served.export(**export_input(fileName=f"modes-{method}", method=method, **extra)["input"])
            assert served.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    finally:
        allowed.stop()
    paths = [served.home, *served.home.rglob("*")]
    assert {p.name for p in paths} >= {"jobs.sqlite3", "secret.key", "files", "meta"}
    wrong = {str(p.relative_to(served.home)): oct(stat.S_IMODE(p.stat().st_mode)) for p in paths
             if stat.S_IMODE(p.stat().st_mode) != (0o700 if p.is_dir() else 0o600)}
    assert wrong == {}


def test_webhook_secrets_and_url_credentials_are_not_in_the_job_store(served):
    allowed = receiver(ALLOWED)
    secret, password, token = "wh-SECRET-7f3a9c", "pa55-WORD-91x", "TOK-55aa-kept"
    url = f"http://hookuser:{password}@{ALLOWED}:{allowed.port}/hook?token={token}"
    try:
        result = served.export(**export_input(method="CUSTOM_WEBHOOK", url=url, secret=secret)["input"])
        assert served.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    finally:
        allowed.stop()
    (put,) = allowed.received
    assert verify(put.body, put.headers[SIGNATURE_HEADER], secret) and put.path == f"/hook?token={token}"  # unsealed
    stored = b"".join(p.read_bytes() for p in served.home.glob("jobs.sqlite3*"))
    for plain in (secret, password, token):
        assert plain.encode() not in stored


def test_credentials_in_a_webhook_url_are_redacted_in_status_job_and_log(served):
    failing = receiver(ALLOWED, answers=(500,) * 5)
    password, sig = "pa55-LEAK-22", "SIG-LEAK-33"
    url = f"http://hookuser:{password}@{ALLOWED}:{failing.port}/hook?sig={sig}&x=1"
    try:
        result = served.export(**export_input(method="CUSTOM_WEBHOOK", url=url, secret="s")["input"])
        status = served.wait(result["exportId"])
        job = served.call(JOB, {"id": result["exportId"]})["data"]["getJob"]
    finally:
        failing.stop()
    assert status["deliveryStatus"] == "FAILED"
    (error,) = status["errors"]
    assert error["stack"] == (f"webhook http://***@{ALLOWED}:{failing.port}/hook?sig=***&x=1: "
                              "failed after 5 attempts (answered 500)")
    for text in (json.dumps(status), json.dumps(job), served.log()):
        assert password not in text and sig not in text


def test_the_command_line_redacts_too_and_is_not_held_to_the_service_rule(tmp_path, monkeypatch):
    """`labelport export` runs as its user, who may notify a receiver on
    their own machine: loopback is reached (and answers 500 here). The
    credentials of its url appear nowhere: stderr, status, jobs, job store."""
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    local = receiver("127.0.0.1", answers=(500,) * 5)
    password, sig = "pw-CLI-77q", "SIG-CLI-88q"
    url = f"http://u:{password}@127.0.0.1:{local.port}/h?sig={sig}"
    try:
        run = subprocess.run([sys.executable, "-m", "labelport", "export", str(FIXTURES / TICKETS), "-f", "CSV",
                              "--to", str(tmp_path / "dest"), "--method", "CUSTOM_WEBHOOK", "--url", url,
                              "--secret", "s"], capture_output=True, text=True, timeout=120)
    finally:
        local.stop()
    assert run.returncode == 3 and len(local.received) == 5
    assert run.stderr.splitlines()[-1] == (f"labelport: error: webhook http://***@127.0.0.1:{local.port}/h?sig=***: "
                                           "failed after 5 attempts (answered 500)")
    job_id = run.stderr.split("job ", 1)[1].split(":", 1)[0]
    status = subprocess.run([sys.executable, "-m", "labelport", "status", job_id], capture_output=True, text=True)
    jobs = subprocess.run([sys.executable, "-m", "labelport", "jobs"], capture_output=True, text=True)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "home").glob("jobs.sqlite3*"))
    for text in (run.stdout + run.stderr, status.stdout, jobs.stdout, stored.decode("utf-8", "replace")):
        assert password not in text and sig not in text


# -- 6. killed jobs are picked up by `labelport serve` ------------------------------------------

def read_store(home: Path) -> sqlite3.Connection:
    """The job store, read-only: never created by the test."""
    return sqlite3.connect(f"file:{home / 'jobs.sqlite3'}?mode=ro", uri=True)


def wait_for_status(home: Path, job_id: str, wanted: set[str], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with read_store(home) as db:
                row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
        except sqlite3.OperationalError:
            row = None
        if row and row[0] in wanted:
            return row[0]
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} not {wanted} after {timeout} s")


def only_job(home: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with read_store(home) as db:
                rows = db.execute("SELECT id FROM jobs").fetchall()
        except sqlite3.OperationalError:  # not made yet
            rows = []
        if rows:
            return rows[0][0]
        time.sleep(0.1)
    raise AssertionError("no job was created")


def test_a_killed_command_line_job_and_a_never_started_one_are_finished_by_serve(tmp_path):
    root = make_root(tmp_path)
    home = tmp_path / "home"
    env = {**os.environ, "LABELPORT_HOME": str(home)}
    slow = root / "converters" / "slow.py"
    killed = subprocess.Popen([sys.executable, "-m", "labelport", "export", str(FIXTURES / TICKETS), "-f", "CUSTOM",
                               "--transformer", str(slow), "--to", str(tmp_path / "killed-dest")],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed_id = only_job(home)
    wait_for_status(home, killed_id, {"IN_PROGRESS"})
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    # a process that queued a job and died before starting it
    queued = subprocess.run([sys.executable, "-c", (
        "import sys, labelport.jobs.export as e; from labelport.jobs.store import JobStore\n"
        "print(JobStore().create(e.make_spec(sys.argv[1], 'CSV', to=sys.argv[2])).id)"),
        str(FIXTURES / TICKETS), str(tmp_path / "queued-dest")], env=env, capture_output=True, text=True, check=True)
    queued_id = queued.stdout.strip()
    with read_store(home) as db:
        states = dict(db.execute("SELECT id, status FROM jobs").fetchall())
    assert states == {killed_id: "IN_PROGRESS", queued_id: "QUEUED"}  # what the dead processes left
    service = Served(root, home=home)
    try:
        assert wait_for_status(home, killed_id, {"DELIVERED", "FAILED"}) == "DELIVERED"
        assert wait_for_status(home, queued_id, {"DELIVERED", "FAILED"}) == "DELIVERED"
    finally:
        service.stop()
    assert "resumed 2 job(s) of a stopped process" in service.log()
    assert any(p.suffix == ".jsonl" for p in (tmp_path / "killed-dest").rglob("*"))
    assert any(p.suffix == ".csv" for p in (tmp_path / "queued-dest").rglob("*"))


def test_a_killed_service_job_is_finished_by_the_next_service(tmp_path):
    root = make_root(tmp_path)
    first = Served(root)
    result = first.export(DOCUMENT, documentId=TICKET_DOC, fileName="slow", format="CUSTOM",
                          fileTransformerId="slow", method="FILE_STORAGE")
    wait_for_status(first.home, result["exportId"], {"IN_PROGRESS"})
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    second = Served(root)
    try:
        status = second.wait(result["exportId"])
        download = httpx.get(result["fileUrl"].replace(first.base, second.base))
    finally:
        second.stop()
    assert status["deliveryStatus"] == "DELIVERED"
    assert download.status_code == 200 and json.loads(download.text.splitlines()[0])["name"]


# -- 7. the rule itself -------------------------------------------------------------------------

def test_the_operator_allows_hosts_by_name_address_or_network_and_nothing_else():
    import ipaddress

    from labelport.guards.egress import EgressPolicy, HostRefused

    policy = EgressPolicy.from_options(["Hooks.Internal", "10.1.2.3"], env="192.168.0.0/16, [fd00::7]")
    assert policy.allowed == ("hooks.internal", "10.1.2.3", "192.168.0.0/16", "fd00::7")
    loopback = [ipaddress.ip_address("127.0.0.1")]
    policy.check_addresses("hooks.internal.", loopback)  # the name is allowed, whatever it resolves to
    for allowed in ("10.1.2.3", "192.168.44.5", "fd00::7", "::ffff:10.1.2.3", "93.184.216.34", "2606:4700::1111"):
        policy.check_addresses("any.example", [ipaddress.ip_address(allowed)])
    for refused in ("10.1.2.4", "127.0.0.1", "fd00::8", "::ffff:127.0.0.1", "169.254.169.254", "0.0.0.0"):
        with pytest.raises(HostRefused):
            policy.check_addresses("any.example", [ipaddress.ip_address(refused)])
    with pytest.raises(HostRefused):  # one internal address among public ones is enough to refuse
        policy.check_addresses("any.example", [ipaddress.ip_address("93.184.216.34"), *loopback])
