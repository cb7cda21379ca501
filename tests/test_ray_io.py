"""Inputs in object storage (s3://, gs://, az://), converted on this machine
and with --engine ray, against moto's S3 server, the GCS emulator and
Azurite on 127.0.0.1: the bytes of converting the same files from a local
folder; a task on another node fetching its own files; an object changed
after it was listed refused; ``export --engine ray``.

The stores' environment is set before the module's local Ray (2 CPUs)
starts, so its workers find them as a cluster's nodes would find a bucket.
"""

from __future__ import annotations

import gc
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")
storage = pytest.importorskip("google.cloud.storage")

import test_parallel
from conftest import run_cli
from servers.azurite import AzuriteServer, start_azurite
from servers.gcs import GCSServer, start_gcs
from servers.s3 import S3Server, start_s3
from test_parallel import files

import labelport
from labelport.conversion import parallel
from labelport.conversion.ray_engine import ChunkResult, Origin, _result, _write_task, shared_by_tasks
from labelport.conversion.remote import fetch_range, list_input
from labelport.errors import UsageError
from labelport.formats.base import Context
from labelport.formats.registry import get_format
from labelport.formats.splits import Splitter
from labelport.jobs.spec import ExportSpec, decode_spec
from labelport.jobs.store import open_store
from labelport.progress import Progress
from labelport.readers import ReadOptions
from labelport.report import Report

SPLIT = {"train": 0.7, "test": 0.3}
BUCKET = "labelport-input"
CONTAINER = "labelport-input"

project_dir = test_parallel.project_dir  # (its fixture: a DATASAUR_SCHEMA project of 24 files)


@dataclass
class Stores:
    s3: S3Server
    gcs: GCSServer
    azurite: AzuriteServer | None  # None when Azurite is not installed


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """The three stores, their environment set for this process (and the Ray it
    starts), and LABELPORT_HOME a folder of the module's (downloads go under it)."""
    s3, gcs = start_s3(), start_gcs()
    try:
        azurite = start_azurite()
    except FileNotFoundError:
        azurite = None
    try:
        with pytest.MonkeyPatch.context() as mp:
            for server in (s3, gcs, azurite):
                for name, value in (server.env() if server else {}).items():
                    mp.setenv(name, value)
            mp.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
            mp.setenv("NO_PROXY", "127.0.0.1,localhost")
            mp.setenv("LABELPORT_HOME", str(tmp_path_factory.mktemp("home")))
            yield Stores(s3, gcs, azurite)
    finally:
        for server in (s3, gcs, azurite):
            if server is not None:
                server.stop()


@pytest.fixture(scope="module")
def local_ray(stores):
    """A local Ray of 2 CPUs for the module, started with the stores' environment; its address."""
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield context.address_info["address"]
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(project_dir, tmp_path_factory) -> Path:
    """test_parallel's 24 files in a local folder named ``corpus``, and under
    ``corpus/`` in the S3 bucket, the GCS bucket and the Azure container; the
    zip of them as the object ``project.zip`` in the S3 bucket."""
    local = tmp_path_factory.mktemp("local") / "corpus"
    shutil.copytree(project_dir, local)
    return local


@pytest.fixture(scope="module")
def s3_corpus(stores, corpus) -> str:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    for path in sorted(corpus.iterdir()):
        client.put_object(Bucket=BUCKET, Key=f"corpus/{path.name}", Body=path.read_bytes())
    with zipfile.ZipFile(corpus.parent / "project.zip", "w") as archive:
        for path in sorted(corpus.glob("*.json")):
            archive.write(path, path.name)
    client.put_object(Bucket=BUCKET, Key="project.zip", Body=(corpus.parent / "project.zip").read_bytes())
    return f"s3://{BUCKET}/corpus"


@pytest.fixture(scope="module")
def gcs_corpus(stores, corpus) -> str:
    client = storage.Client()
    client.create_bucket(BUCKET)
    for path in sorted(corpus.iterdir()):
        client.bucket(BUCKET).blob(f"corpus/{path.name}").upload_from_filename(str(path))
    return f"gs://{BUCKET}/corpus"


@pytest.fixture(scope="module")
def azure_container(stores, corpus):
    """The container holding the corpus under ``corpus/``, through the SDK."""
    if stores.azurite is None:
        pytest.skip("Azurite is not installed (make test installs it)")
    from azure.storage.blob import BlobServiceClient

    container = BlobServiceClient.from_connection_string(stores.azurite.connection_string()).create_container(CONTAINER)
    for path in sorted(corpus.iterdir()):
        container.upload_blob(f"corpus/{path.name}", path.read_bytes())
    return container


def fetched_left() -> list[str]:
    """What is left under LABELPORT_HOME/fetched/ once every project is garbage."""
    gc.collect()
    folder = labelport_home() / "fetched"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def labelport_home() -> Path:
    import os

    return Path(os.environ["LABELPORT_HOME"])


def same_output(remote: Path, local: Path, url: str) -> None:
    """Every file of ``remote`` is the bytes of ``local``'s, the report too
    once its source (the URL, the folder's path) is set aside."""
    got, expected = files(remote), files(local)
    got_report, expected_report = json.loads(got.pop(REPORT)), json.loads(expected.pop(REPORT))
    assert got == expected
    assert got_report.pop("source") == url
    expected_report.pop("source")
    assert got_report == expected_report
    assert got_report["counts"]["documents"] == 24


REPORT = "labelport-report.json"


@pytest.mark.parametrize("fmt", ["DATASAUR_SCHEMA", "CONLL_2003", "TSV_IOB", "JSON_ADVANCED"])
def test_an_s3_folder_converts_as_the_local_folder(local_ray, s3_corpus, corpus, tmp_path, fmt):
    """Project-wide formats (merged: DATASAUR_SCHEMA, CONLL_2003, JSON_ADVANCED) and a
    per-document one (TSV_IOB), on this machine and as Ray tasks: the local folder's bytes."""
    labelport.convert(labelport.load(corpus), fmt, tmp_path / "local", split=SPLIT)
    labelport.convert(s3_corpus, fmt, tmp_path / "s3", split=SPLIT)
    labelport.convert(s3_corpus, fmt, tmp_path / "ray", split=SPLIT, engine="ray")
    same_output(tmp_path / "s3", tmp_path / "local", s3_corpus)
    same_output(tmp_path / "ray", tmp_path / "local", s3_corpus)
    assert fetched_left() == []  # the downloaded copy went with its project


def test_the_command_line_with_jobs_and_a_zip_object(local_ray, s3_corpus, corpus, tmp_path):
    """`convert s3://…/project.zip --engine ray --jobs 3 --ray-address`: one object, a zip,
    its members shared out to 12 tasks: the bytes of the local zip."""
    code, _, stderr = run_cli("convert", corpus.parent / "project.zip", "-f", "CONLL_2003", "-o", tmp_path / "local",
                              "--split", "train=0.7,test=0.3", "-q", timeout=300)
    assert code == 0, stderr
    url = f"s3://{BUCKET}/project.zip"
    code, _, stderr = run_cli("convert", url, "-f", "CONLL_2003", "-o", tmp_path / "ray", "--split",
                              "train=0.7,test=0.3", "-q", "--engine", "ray", "--jobs", "3", "--ray-address", local_ray,
                              timeout=300)
    assert code == 0, stderr
    got, expected = files(tmp_path / "ray"), files(tmp_path / "local")
    assert json.loads(got.pop(REPORT))["source"] == url
    expected.pop(REPORT)
    assert got == expected and got
    assert fetched_left() == []  # the command's process removed its copy


def test_one_object_that_is_a_file(s3_corpus, corpus, tmp_path):
    """`s3://…/corpus/NAME.json`: the object itself, read as the local file of that name."""
    name = sorted(p.name for p in corpus.glob("*.json"))[0]
    labelport.convert(labelport.load(corpus / name), "CONLL_2003", tmp_path / "local", split=SPLIT)
    labelport.convert(f"{s3_corpus}/{name}", "CONLL_2003", tmp_path / "s3", split=SPLIT)
    got, expected = files(tmp_path / "s3"), files(tmp_path / "local")
    report = json.loads(got.pop(REPORT))
    assert report["source"] == f"{s3_corpus}/{name}" and report["counts"]["documents"] == 1
    expected.pop(REPORT)
    assert got == expected and got


def test_a_gcs_folder_on_ray(local_ray, gcs_corpus, corpus, tmp_path):
    url = f"{gcs_corpus}/"  # (a trailing "/": the folder, named without it)
    labelport.convert(labelport.load(corpus), "TSV_IOB", tmp_path / "local", split=SPLIT)
    labelport.convert(url, "TSV_IOB", tmp_path / "ray", split=SPLIT, engine="ray")
    same_output(tmp_path / "ray", tmp_path / "local", url.rstrip("/"))


def test_an_azure_folder(azure_container, corpus, tmp_path):
    url = f"az://{CONTAINER}/corpus"
    labelport.convert(labelport.load(corpus), "CONLL_2003", tmp_path / "local", split=SPLIT)
    labelport.convert(url, "CONLL_2003", tmp_path / "az", split=SPLIT)
    same_output(tmp_path / "az", tmp_path / "local", url)


def _task_args(url: str, tmp_path: Path, lo: int, hi: int):
    """What the parent gives the task of files lo..hi: the project as listed and
    downloaded, and a chunk written here from the local copy to compare with."""
    project = labelport.load(url)
    fmt = get_format("TSV_IOB")
    ctx = Context(project, Report(project.source, fmt.id, {}), Splitter(SPLIT, 0, "document"), fmt.options(),
                  Progress("", enabled=False))
    placed, _ = parallel.write_chunk(fmt, parallel.chunk_of(project, (project.parts or [])[lo:hi]), tmp_path / "here",
                                     ctx)
    listed = list_input(url)
    # The parent's copy is on its own node: a task elsewhere cannot read that path, so give one that is not there.
    origin = Origin(str(tmp_path / "not-on-this-node"), ReadOptions(), listed)
    return project, fmt, placed, origin, shared_by_tasks(project, ctx)


def test_a_task_on_another_node_fetches_its_own_files(local_ray, s3_corpus, tmp_path):
    """A task whose node is not the parent's (the node id it compares with is
    another's) downloads its range from the bucket, not the parent's copy, and
    hands its files back: the bytes and report of the chunk written here."""
    _, fmt, placed, origin, shared = _task_args(s3_corpus, tmp_path, 5, 11)
    result: ChunkResult = ray.get(ray.remote(_write_task).remote(
        origin, 5, 11, 24, fmt.id, str(tmp_path / "there"), "another node", shared))
    assert result.documents == 6
    assert result.files == files(tmp_path / "here") and len(result.files) == 6
    assert result.part.report.files == placed.report.files and result.part.report.counts == placed.report.counts
    assert not (tmp_path / "there").exists()  # the parent places them


def test_an_object_changed_after_listing_is_refused_by_the_task(local_ray, s3_corpus, corpus, tmp_path):
    """The parent listed the objects (ETags); one in a task's range is then
    written again (same size, other bytes): the task refuses, naming it."""
    _, fmt, _, origin, shared = _task_args(s3_corpus, tmp_path, 5, 11)
    changed = sorted(p.name for p in corpus.glob("*.json"))[7]
    client = boto3.client("s3")
    data = (corpus / changed).read_bytes()
    other = data[:-1] + (b"\n" if data.endswith(b" ") else b" ")  # (JSON still, and of the same size)
    client.put_object(Bucket=BUCKET, Key=f"corpus/{changed}", Body=other)
    try:
        ref = ray.remote(_write_task).options(max_retries=0).remote(
            origin, 5, 11, 24, fmt.id, str(tmp_path / "there"), "another node", shared)
        with pytest.raises(UsageError, match=f"changed while it was converted.*corpus/{changed}"):
            _result(ray, ref)
    finally:
        client.put_object(Bucket=BUCKET, Key=f"corpus/{changed}", Body=data)


def test_export_on_ray_delivers_the_files_of_export(local_ray, s3_corpus, tmp_path):
    """`export s3://… --engine ray --to FOLDER`: the files `export` without it delivers."""
    for name, extra in (("one", ()), ("ray", ("--engine", "ray", "--ray-address", local_ray))):
        code, _, stderr = run_cli("export", s3_corpus, "-f", "CONLL_2003", "--split", "train=0.7,test=0.3",
                                  "-o", tmp_path / f"out-{name}", "--to", tmp_path / f"to-{name}", "-q", *extra,
                                  timeout=300)
        assert code == 0, stderr
    one, on_ray = files(tmp_path / "to-one"), files(tmp_path / "to-ray")
    reports = [json.loads(delivered.pop(REPORT)) for delivered in (one, on_ray)]
    assert on_ray == one and len(one) == 24  # (a file a document)
    for report in reports:
        report.pop("delivery")  # (names each destination folder)
    assert reports[0] == reports[1] and reports[0]["source"] == s3_corpus
    last, before = open_store().list(2)
    assert (last.spec.engine, last.spec.ray_address) == ("ray", local_ray) and before.spec.engine == "local"


def test_an_export_spec_stored_before_engines_runs_on_this_machine():
    stored = {"kind": "export", "input": "/in", "format": "TSV_IOB", "out": "/out"}
    spec = decode_spec(stored)
    assert isinstance(spec, ExportSpec) and spec.engine == "local" and spec.ray_address is None


@pytest.mark.parametrize("store", ["gs", "az"])
def test_an_object_changed_after_listing_is_refused_on_gcs_and_azure(request, corpus, tmp_path, store):
    """The other stores' downloads (a task's range fetched on another node):
    Azure's blob written again after listing (another ETag); GCS's written
    again one byte longer (the emulator does not hold reads to
    ifGenerationMatch as GCS does: the listed size still holds them).
    Refused, naming the object; the range's files are fetched otherwise."""
    name = sorted(p.name for p in corpus.glob("*.json"))[3]
    data = (corpus / name).read_bytes()
    if store == "gs":
        url = request.getfixturevalue("gcs_corpus")
        blob = storage.Client().bucket(BUCKET).blob(f"corpus/{name}")
        rewrite, restore = (lambda: blob.upload_from_string(data + b" ")), (lambda: blob.upload_from_string(data))
    else:
        container = request.getfixturevalue("azure_container")
        url = f"az://{CONTAINER}/corpus"
        rewrite = restore = lambda: container.upload_blob(f"corpus/{name}", data, overwrite=True)
    listed = list_input(url)
    assert len(fetch_range(listed, 5, 8, 24, tmp_path / "before", ReadOptions())) == 3
    fetched = sorted(p.name for p in (tmp_path / "before" / "corpus").iterdir())
    assert fetched == sorted([listed.names[0], *listed.names[5:8]])  # its range, and the first file it is read by
    rewrite()
    try:
        with pytest.raises(UsageError, match=f"changed while it was converted.*corpus/{name}: "):
            fetch_range(listed, 2, 5, 24, tmp_path / "after", ReadOptions())
    finally:
        restore()


def test_one_long_document_object_in_ranges(local_ray, s3_corpus, monkeypatch, tmp_path):
    """One long CoNLL object (readers.long_document, its least range lowered): with
    --engine ray and --jobs 2, the bytes of one process; a task on another node
    downloads the object and writes its range as one written here from the parent's copy."""
    from test_long_document import SMALL_RANGE, wnut

    from labelport.readers import long_document

    monkeypatch.setattr(long_document, "MIN_RANGE", SMALL_RANGE)
    boto3.client("s3").put_object(Bucket=BUCKET, Key="long/long.conll", Body=wnut() * 40)
    url = f"s3://{BUCKET}/long/long.conll"
    labelport.convert(url, "CONLL_2003", tmp_path / "one", split=SPLIT)
    for name, kwargs in {"ray": {"engine": "ray"}, "jobs": {"jobs": 2}}.items():
        labelport.convert(url, "CONLL_2003", tmp_path / name, split=SPLIT, **kwargs)
        assert files(tmp_path / name) == files(tmp_path / "one"), name
    project = labelport.load(url)
    assert project.long_document is not None and len(project.long_document.ranges()) > 10
    fmt = get_format("CONLL_2003")
    ctx = Context(project, Report(project.source, fmt.id, {}), Splitter(SPLIT, 0, "line"), fmt.options(),
                  Progress("", enabled=False))
    placed, _ = parallel.write_chunk(fmt, parallel.chunk_between(project, 3, 6), tmp_path / "here", ctx)
    origin = Origin(str(tmp_path / "not-on-this-node"), ReadOptions(), list_input(url))
    result: ChunkResult = ray.get(ray.remote(_write_task).remote(
        origin, 3, 6, 0, fmt.id, str(tmp_path / "there"), "another node", shared_by_tasks(project, ctx),
        project.long_document.joined(3, 6)))
    assert result.files == files(tmp_path / "here") and len(result.files) == 2
    assert result.part.report.counts == placed.report.counts


def test_to_ray_tasks_on_another_node_fetch_their_files_from_the_bucket(local_ray, s3_corpus, corpus):
    """to_ray of a project read from s3://: read tasks where the driver's downloaded
    copy is not (here: every task, the copy's path being given as elsewhere) fetch their
    files from the bucket, and the rows are those of the same files read locally."""
    from labelport.conversion import _ORIGINS

    project = labelport.load(s3_corpus)
    path, read, listed = _ORIGINS[id(project)]
    _ORIGINS[id(project)] = (str(corpus.parent / "not-on-this-node"), read, listed)
    split = {"train": 0.5, "test": 0.5}
    remote = labelport.to_ray(project, split=split, seed=3)
    local = labelport.to_ray(labelport.load(corpus), split=split, seed=3)
    assert remote.label_names == local.label_names
    for name in ("train", "test"):
        assert remote[name].take_all() == local[name].take_all() != []
