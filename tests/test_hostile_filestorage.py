"""``serve --file-storage`` and ``LABELPORT_SECRET_KEY`` that cannot be used,
and URLs or result names that try to reach what the storage keeps beside the
results.

Refused at start-up (``labelport serve``, ``labelport worker``): exit 2, one
line, nothing written (LABELPORT_HOME is inside the test's empty folder).
Served: a FILE_STORAGE URL whose token or name climbs out of
``files/<token>/`` answers 404 and never the metadata; a result named like
the metadata lands in its own ``files/<token>/`` and leaves the metadata as
it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile import assert_refused
from servers.ports import free_port

import labelport

pytest.importorskip("starlette")
pytest.importorskip("boto3")
pytest.importorskip("moto")
pytest.importorskip("cryptography")
import httpx
from servers.s3 import start_s3
from servers.service import serving
from test_file_storage import make_app
from test_serve import Service, copy_projects

SRC = Path(labelport.__file__).resolve().parent.parent
PROJECTS = Path(__file__).resolve().parent / "fixtures" / "datasaur"
BLOCK_BOTO3 = "sys.modules['boto3'] = None; "  # as if labelport[s3] were not installed
BUCKET = "hostile-results"
MAKE_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


@pytest.fixture(scope="module")
def s3():
    server = start_s3()
    try:
        import boto3

        boto3.client("s3", **_client(server.env())).create_bucket(Bucket=BUCKET)
        yield server
    finally:
        server.stop()


def _client(env: dict[str, str]) -> dict[str, str]:
    return {"endpoint_url": env["AWS_ENDPOINT_URL"], "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"], "region_name": env["AWS_DEFAULT_REGION"]}


def run(work: Path, args: list[str], env: dict[str, str], block_boto3: bool = False) -> tuple[int, str, str]:
    code = f"import sys; {BLOCK_BOTO3 if block_boto3 else ''}from labelport.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, **env, "PYTHONPATH": str(SRC), "LABELPORT_HOME": str(work / "home"), "AWS_MAX_ATTEMPTS": "1"}
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=work, env=env, capture_output=True, timeout=60,
                          check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def serve(*flags: str) -> list[str]:
    return ["serve", "--projects", str(PROJECTS), "--client", "a:b", "--port", str(free_port()), *flags]


def unreachable_s3() -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


#: case: (the command line, whether it needs moto's environment, whether boto3 is blocked, the message)
CASES = {
    "another scheme": (serve("--file-storage", "ftp://host/results"), False, False,
                       "--file-storage 'ftp://host/results': expected s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or "
                       "az://CONTAINER/PREFIX"),
    "a folder": (serve("--file-storage", "/srv/shared/files"), False, False,
                 "--file-storage '/srv/shared/files': expected s3://BUCKET/PREFIX"),
    "an https URL": (serve("--file-storage", "https://results.s3.amazonaws.com/x"), False, False,
                     "--file-storage 'https://results.s3.amazonaws.com/x': expected s3://"),
    "no bucket named": (serve("--file-storage", "s3://"), True, False,
                        "--file-storage: s3://: no bucket or container named (use s3://bucket/prefix)"),
    "not a bucket name": (serve("--file-storage", "s3://Not a bucket!/x"), True, False,
                          "--file-storage: s3://Not a bucket!/x: 'Not a bucket!' is not an S3 bucket name"),
    "a bucket that does not exist": (serve("--file-storage", "s3://no-such-bucket/x"), True, False,
                                     "--file-storage: s3://no-such-bucket: the bucket does not exist"),
    "an endpoint nobody answers": (serve("--file-storage", f"s3://{BUCKET}/x"), False, False,
                                   f"--file-storage: s3://{BUCKET}: cannot reach the bucket"),
    "no SDK": (serve("--file-storage", f"s3://{BUCKET}/x"), True, True,
               "--file-storage: writing to s3:// needs boto3: install labelport[s3]"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_unusable_file_storage_is_refused_before_anything_starts(tmp_path, s3, case):
    args, on_moto, block_boto3, message = CASES[case]
    work = tmp_path / "work"
    work.mkdir()
    code, stdout, stderr = run(work, args, s3.env() if on_moto else unreachable_s3(), block_boto3)
    refused = assert_refused(code, stdout, stderr, work, work / "out")
    assert refused.startswith(f"labelport: error: {message}"), refused


KEYS = {
    "not base64": "not a key at all!",
    "too short": "c2hvcnQta2V5",  # base64 of 9 bytes
    "33 bytes": "A" * 44,
    "a secret.key path": "/home/me/.labelport/secret.key",
}
KEY_COMMANDS = {
    "serve": serve(),
    "worker": ["worker", "--broker", f"redis://127.0.0.1:{free_port()}/0", "--burst"],
}


@pytest.mark.parametrize("command", sorted(KEY_COMMANDS))
@pytest.mark.parametrize("key", sorted(KEYS))
def test_a_malformed_secret_key_is_refused_at_start_up_naming_the_variable(tmp_path, command, key):
    if command == "worker":
        pytest.importorskip("rq")
    work = tmp_path / "work"
    work.mkdir()
    code, stdout, stderr = run(work, KEY_COMMANDS[command], {"LABELPORT_SECRET_KEY": KEYS[key]})
    refused = assert_refused(code, stdout, stderr, work, work / "out")
    assert refused == (f"labelport: error: LABELPORT_SECRET_KEY is not a Fernet key (32 bytes, URL-safe base64): "
                       f"make one with {MAKE_KEY}")
    assert KEYS[key] not in refused


# -- served: what climbs out of files/<token>/ ----------------------------------------------------

@pytest.fixture(scope="module")
def service(s3, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-file-storage")
    (root / "projects").mkdir()
    copy_projects(root / "projects")
    with pytest.MonkeyPatch.context() as patch:  # one attempt per request: a stopped bucket is told at once
        for name, value in {**s3.env(), "LABELPORT_HOME": str(root / "home"), "AWS_MAX_ATTEMPTS": "1"}.items():
            patch.setenv(name, value)
        app = make_app(root / "projects", f"s3://{BUCKET}/p")
        with serving(app) as base:
            yield Service(base, root, root / "projects", root, root, app)


def keys() -> list[str]:
    import boto3

    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="p/")
    return sorted(item["Key"] for item in listed.get("Contents", []))


def delivered(service: Service, file_name: str) -> dict:
    result = service.export(projectIds=["support-tickets-r7Tt"], fileName=file_name, format="CSV",
                            method="FILE_STORAGE")
    assert service.wait(result["exportId"])["deliveryStatus"] == "DELIVERED"
    return result


ESCAPES = [
    "/files/{token}/..%2F..%2Fmeta%2F{token}.json",
    "/files/{token}/..%2Fmeta%2F{token}.json",
    "/files/..%2Fmeta/{token}.json",
    "/files/{token}%2F..%2F..%2Fmeta/{token}.json",
    "/files/%2E%2E/meta%2F{token}.json",
    "/files/{token}/%2E%2E",
    "/files/{token}/..",
    "/files/meta/{token}.json",
    "/files/{token}/{token}.json",
]


@pytest.mark.parametrize("path", ESCAPES)
def test_a_url_climbing_out_of_its_folder_answers_404_and_never_the_metadata(service, path):
    result = delivered(service, "climb")
    token = result["fileUrl"].split("/")[-2]
    meta = json.dumps(result["exportId"])[1:-1]
    answer = httpx.get(service.base + path.format(token=token))
    assert answer.status_code == 404 and meta not in answer.text
    assert httpx.get(result["fileUrl"]).status_code == 200  # the file itself is still there


def test_a_result_named_like_the_metadata_stays_in_its_own_folder(service):
    before = set(keys())
    for name, problem in (("../meta/x", "must not begin with '.'"), ("x/../../meta/y", "no folders")):
        refused = service.error(projectIds=["support-tickets-r7Tt"], fileName=name, format="CSV",
                                method="FILE_STORAGE")
        assert refused["message"].startswith(f"fileName {name!r}: {problem}")
    assert set(keys()) == before  # refused: nothing reserved
    named = {name: delivered(service, name) for name in ("meta", "x%2F..%2F..%2Fmeta%2Fx", "meta.json")}
    made = sorted(set(keys()) - before)
    tokens = {name: result["fileUrl"].split("/")[-2] for name, result in named.items()}
    assert made == sorted([f"p/files/{tokens[n]}/{n}.zip" for n in named] + [f"p/meta/{t}.json" for t in tokens.values()])
    import boto3

    for name, token in tokens.items():
        meta = json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key=f"p/meta/{token}.json")["Body"].read())
        assert meta["name"] == f"{name}.zip" and meta["job"] == named[name]["exportId"]
        got = httpx.get(named[name]["fileUrl"])
        assert got.status_code == 200 and got.content[:2] == b"PK"


def test_a_bucket_that_stops_answering_gives_503_then_the_file_again(service, s3):
    """Last in this module: it stops moto (which keeps its buckets) and starts it again."""
    result = delivered(service, "outage")
    s3.stop()
    try:
        down = httpx.get(result["fileUrl"])
        head = httpx.head(result["fileUrl"])
    finally:
        s3.start()
    assert down.status_code == 503 and head.status_code == 503
    message = down.json()["error"]
    assert message.startswith("the file storage cannot be read now: ") and "\n" not in message
    assert "Traceback" not in down.text and "testing" not in message  # no credential either
    assert httpx.get(result["fileUrl"]).status_code == 200
