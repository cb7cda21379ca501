"""Adversarial inputs in object storage (s3://, against moto's S3 server on
127.0.0.1): refused before anything is written (tests/hostile.py's
:func:`assert_refused`), and the download folder under LABELPORT_HOME/fetched/
removed; awkward but valid object names read as the local folder they name.

Objects are held to a zip's members' rules (labelport.guards.archives):
names that escape the folder, come twice or clash with a folder; more
objects or bytes than LABELPORT_MAX_ZIP_ENTRIES / LABELPORT_MAX_UNZIP_BYTES;
a zip object is opened by the archive guard like a local zip.
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")

import test_deliver_s3
from conftest import WNUT17_FIXTURES, run_cli
from hostile import assert_refused
from test_hostile_preflight import run_without
from test_parallel import files

s3_server = test_deliver_s3.s3_server  # (its fixture: moto's S3 server for the module)

LINES = b"EU B-ORG\nrejects O\nGerman B-MISC\ncall O\n\n"
WNUT_SLICE = WNUT17_FIXTURES / "wnut17train.head.conll"


@pytest.fixture
def bucket(s3_server, monkeypatch, tmp_path):
    """A new bucket; the stores' environment and a LABELPORT_HOME of the test's for the commands run."""
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    client = boto3.client("s3")
    name = f"b{time.monotonic_ns()}"
    client.create_bucket(Bucket=name)
    return client, name


def put(bucket, objects: dict[str, bytes]) -> None:
    client, name = bucket
    for key, data in objects.items():
        client.put_object(Bucket=name, Key=key, Body=data)


def refused(places, tmp_path: Path, *args: object) -> str:
    """``convert ARGS -f CONLL_2003 -o OUT``, refused; nothing left under LABELPORT_HOME/fetched/ either."""
    _, work, out = places
    message = assert_refused(*run_cli("convert", *args, "-f", "CONLL_2003", "-o", out), work, out)
    fetched = tmp_path / "home" / "fetched"
    assert not fetched.exists() or not list(fetched.iterdir()), "the download was left behind"
    return message


def test_a_bucket_that_does_not_exist(places, bucket, tmp_path):
    message = refused(places, tmp_path, "s3://no-such-bucket-here/corpus")
    assert message == "labelport: error: s3://no-such-bucket-here/corpus: the bucket does not exist"


def test_a_prefix_with_nothing_under_it(places, bucket, tmp_path):
    put(bucket, {"other/a.conll": LINES, "corpus-2/a.conll": LINES})  # (near names are not under corpus/)
    message = refused(places, tmp_path, f"s3://{bucket[1]}/corpus")
    assert message == f"labelport: error: s3://{bucket[1]}/corpus: no object is named so, and none is under it"


def test_export_of_an_empty_prefix_stores_no_job(places, bucket):
    """Looked up before the job exists: LABELPORT_HOME (OUT's parent here) stays empty."""
    _, work, out = places
    code, stdout, stderr = run_without((), "export", f"s3://{bucket[1]}/corpus", "-f", "CONLL_2003", "-o", out,
                                       "--to", work / "to", home=work)
    assert "none is under it" in assert_refused(code, stdout, stderr, work, out)


# (id, object key under corpus/, words of the refusal)
ESCAPING = [
    ("dot-dot", "a/../../x.conll", "escapes the folder it is downloaded into"),
    ("absolute", "/etc/x.conll", "escapes the folder it is downloaded into"),
    ("backslash-dot-dot", "sub\\..\\..\\x.conll", "escapes the folder it is downloaded into"),
    ("drive-letter", "C:\\x.conll", "escapes the folder it is downloaded into"),
    ("control-character", "a\x07.conll", "holds control characters"),
]


@pytest.mark.parametrize("case_id, key, words", ESCAPING, ids=[c[0] for c in ESCAPING])
def test_object_names_that_escape(places, bucket, tmp_path, case_id, key, words):
    put(bucket, {"corpus/good.conll": LINES, f"corpus/{key}": LINES})
    message = refused(places, tmp_path, f"s3://{bucket[1]}/corpus")
    assert f"s3://{bucket[1]}/corpus:" in message and words in message


def test_two_objects_of_one_name_once_backslashes_are_read(places, bucket, tmp_path):
    put(bucket, {"corpus/sub/a.conll": LINES, "corpus/sub\\a.conll": LINES})
    assert "the name appears twice in the listing" in refused(places, tmp_path, f"s3://{bucket[1]}/corpus")


def test_a_name_both_a_file_and_a_folder(places, bucket, tmp_path):
    put(bucket, {"corpus/sub": LINES, "corpus/sub/a.conll": LINES})
    assert "the name is both a file and a folder" in refused(places, tmp_path, f"s3://{bucket[1]}/corpus")


@pytest.mark.parametrize("marker", [False, True], ids=["files", "files-and-a-folder-marker"])
def test_more_objects_than_the_limit(places, bucket, tmp_path, monkeypatch, marker):
    """Five files, or a console's folder marker and three files: past a limit of 3
    (the listing stops there: what it did not list must not pass for nothing)."""
    put(bucket, {"corpus/": b"", **{f"corpus/{n}.conll": LINES for n in range(3)}} if marker
        else {f"corpus/{n}.conll": LINES for n in range(5)})
    monkeypatch.setenv("LABELPORT_MAX_ZIP_ENTRIES", "3")
    message = refused(places, tmp_path, f"s3://{bucket[1]}/corpus")
    assert "holds more than 3 objects; the limit is 3 (LABELPORT_MAX_ZIP_ENTRIES)" in message


def test_more_bytes_than_the_limit(places, bucket, tmp_path, monkeypatch):
    put(bucket, {f"corpus/{n}.conll": LINES for n in range(3)})
    monkeypatch.setenv("LABELPORT_MAX_UNZIP_BYTES", str(2 * len(LINES)))
    message = refused(places, tmp_path, f"s3://{bucket[1]}/corpus")
    assert f"holds {3 * len(LINES)} bytes; the limit is {2 * len(LINES)} (LABELPORT_MAX_UNZIP_BYTES)" in message


def test_a_zip_object_that_is_a_bomb(places, bucket, tmp_path):
    """One object, a zip unpacking 4 KiB to 8 MiB: the archive guard's refusal, naming the object."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.conll", b"\n" * (8 << 20))
    put(bucket, {"bomb.zip": data.getvalue()})
    message = refused(places, tmp_path, f"s3://{bucket[1]}/bomb.zip")
    assert message.startswith(f"labelport: error: s3://{bucket[1]}/bomb.zip:a.conll: unpacks ")
    assert message.endswith("a zip bomb?")


def test_a_file_object_that_is_not_what_it_says(places, bucket, tmp_path):
    """A reader's refusal names the object by its URL and line, not the download folder."""
    put(bucket, {"corpus/a.conll": LINES, "corpus/b.conll": b"EU B-ORG\nrejects\n\n"})
    message = refused(places, tmp_path, f"s3://{bucket[1]}/corpus")
    assert message.startswith(f"labelport: error: s3://{bucket[1]}/corpus/b.conll:2: ")


def test_without_the_sdk_nothing_is_converted(places, bucket):
    _, work, out = places
    code, stdout, stderr = run_without(("boto3",), "convert", f"s3://{bucket[1]}/corpus", "-f", "CONLL_2003",
                                       "-o", out, home=work)
    assert assert_refused(code, stdout, stderr, work, out).endswith("reading s3:// needs boto3: install labelport[s3]")


def test_export_without_the_sdk_stores_no_job(places, bucket):
    _, work, out = places
    code, stdout, stderr = run_without(("boto3",), "export", f"s3://{bucket[1]}/corpus", "-f", "CONLL_2003",
                                       "-o", out, "--to", work / "to", home=work)
    assert "install labelport[s3]" in assert_refused(code, stdout, stderr, work, out)


def test_export_on_ray_without_ray_stores_no_job(places):
    _, work, out = places
    code, stdout, stderr = run_without(("ray",), "export", WNUT_SLICE, "-f", "CONLL_2003", "-o", out,
                                       "--to", work / "to", "--engine", "ray", home=work)
    assert "--engine ray needs ray: install labelport[ray]" in assert_refused(code, stdout, stderr, work, out)


def test_backslashes_and_folder_markers_read_as_the_folder_they_name(bucket, tmp_path):
    """Keys made on Windows (``sub\\a.conll``), ``./`` parts and a console's
    empty folder marker: read as the local folder ``corpus/sub/a.conll``,
    ``corpus/b.conll`` would be, the same bytes."""
    local = tmp_path / "local" / "corpus"
    (local / "sub").mkdir(parents=True)
    (local / "sub" / "a.conll").write_bytes(LINES)
    (local / "b.conll").write_bytes(LINES.replace(b"EU", b"UN"))
    put(bucket, {"corpus/": b"", "corpus/sub\\a.conll": LINES, "corpus/./b.conll": LINES.replace(b"EU", b"UN")})
    code, _, stderr = run_cli("convert", local, "-f", "CONLL_2003", "-o", tmp_path / "one", "-q")
    assert code == 0, stderr
    code, _, stderr = run_cli("convert", f"s3://{bucket[1]}/corpus", "-f", "CONLL_2003", "-o", tmp_path / "s3", "-q")
    assert code == 0, stderr
    written, expected = files(tmp_path / "s3"), files(tmp_path / "one")
    written.pop("labelport-report.json"), expected.pop("labelport-report.json")
    assert written == expected
    # (re-read: each object's own text, in the file of its own name)
    assert b"\nUN -X- _ B-ORG\n" in written["b.conll"] and b"\nEU -X- _ B-ORG\n" in written["a.conll"]


def test_an_object_name_no_file_system_holds(places, bucket, tmp_path):
    """A key whose part is longer than a file name may be (the object is downloaded as a file)."""
    put(bucket, {"corpus/a.conll": LINES, f"corpus/{'x' * 300}.conll": LINES})
    assert "longer than 255 bytes" in refused(places, tmp_path, f"s3://{bucket[1]}/corpus")
