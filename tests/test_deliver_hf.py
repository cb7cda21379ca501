"""Delivery to hf://datasets/… with the real huggingface_hub SDK, against the project's Hub test server.

The server (tests/servers/hub.py) runs on 127.0.0.1 and speaks Git LFS, so the
SDK runs with HF_HUB_DISABLE_XET=1; everything is read back through
huggingface_hub (hf_hub_download, list_repo_tree, list_repo_commits) and, when
datasets is installed, through ``datasets.load_dataset`` as a training script
would.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

hf = pytest.importorskip("huggingface_hub")
from huggingface_hub import HfApi, RepoFile, hf_hub_download  # noqa: E402
from huggingface_hub.utils import RepositoryNotFoundError  # noqa: E402
from huggingface_hub.utils.sha import git_hash  # noqa: E402

import labelport  # noqa: E402
from labelport import __version__  # noqa: E402
from labelport.delivery import push  # noqa: E402
from labelport.delivery.destinations import open_destination  # noqa: E402
from labelport.delivery.destinations.base import DeliveryOptions, scan  # noqa: E402
from labelport.errors import DeliveryError, UsageError  # noqa: E402

from servers.hub import start_hub  # noqa: E402
from servers.ports import free_port  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Use .content=<...>. to upload raw bytes:DeprecationWarning")

FIXTURES = Path(__file__).parent / "fixtures"
WNUT_SLICE = FIXTURES / "wnut17" / "wnut17train.head.conll"
SHARD = "data/train-00000-of-00001.parquet"
ALICE, BOB = "hf_test_alice", "hf_test_bob"


@pytest.fixture(scope="module")
def hub_server():
    server = start_hub()
    yield server
    server.stop()


@pytest.fixture
def hub(hub_server, monkeypatch):
    for key, value in hub_server.env(ALICE).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hf.constants, "HF_HUB_DISABLE_XET", True)  # read once, when huggingface_hub was imported
    return hub_server


@pytest.fixture
def api(hub) -> HfApi:
    return HfApi(endpoint=hub.endpoint, token=ALICE)


def dataset_folder(out: Path) -> Path:
    """An HF_DATASET folder (README.md card, data/*.parquet, labelport-report.json).

    Made by labelport's HF_DATASET format when it is there; else a small
    parquet written with pyarrow and a card, so this module tests delivery
    whatever the state of the format.
    """
    from labelport.formats.registry import FORMATS

    if "HF_DATASET" in FORMATS:
        labelport.convert(labelport.load(WNUT_SLICE), "HF_DATASET", out)
        return out
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    (out / "data").mkdir(parents=True)
    table = pa.table({"tokens": [["Hello", "Paris"], ["Bye"]], "ner_tags": [[0, 1], [0]]})
    pq.write_table(table, out / SHARD)
    (out / "README.md").write_text("---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n"
                                   "    path: data/train-*\n---\n# ner\n", encoding="utf-8")
    return out


def local_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def remote_files(api: HfApi, repo: str, revision: str | None = None) -> dict[str, RepoFile]:
    return {e.path: e for e in api.list_repo_tree(repo, repo_type="dataset", recursive=True, revision=revision)
            if isinstance(e, RepoFile)}


def titles(api: HfApi, repo: str, revision: str | None = None) -> list[str]:
    return [c.title for c in api.list_repo_commits(repo, repo_type="dataset", revision=revision)]


def test_push_creates_the_repo_in_one_commit_and_reads_back(hub, api, tmp_path):
    out = dataset_folder(tmp_path / "out")
    calls = len(hub.calls)
    result = labelport.push(out, "hf://datasets/alice/ner")

    assert hub.repo("alice/ner") is not None
    assert titles(api, "alice/ner")[1:] == ["initial commit"]  # the Hub's own first commit, then ours: one
    assert [c for c in hub.calls[calls:] if "/commit/" in c] == ["POST /api/datasets/{repo}/commit/{rev} -> 200"]

    local = local_files(out)  # the report now holds the delivery section: that is what went up
    assert {"README.md", SHARD} <= set(local)
    remote = remote_files(api, "alice/ner")
    assert set(remote) == set(local) | {".gitattributes"}
    for rel, data in local.items():
        path = hf_hub_download("alice/ner", rel, repo_type="dataset", cache_dir=tmp_path / "cache",
                               endpoint=hub.endpoint, token=ALICE)
        got = Path(path).read_bytes()
        assert got == data, rel
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    shard_sha = hashlib.sha256(local[SHARD]).hexdigest()
    assert remote[SHARD].lfs is not None and remote[SHARD].lfs.sha256 == shard_sha  # the parquet went as LFS
    assert remote["README.md"].lfs is None and remote["README.md"].blob_id == git_hash(local["README.md"])

    objects = {o.rel: o for o in result.objects}
    assert set(objects) == set(local)
    assert objects[SHARD].uri == f"hf://datasets/alice/ner@main/{SHARD}"
    assert objects[SHARD].checksums == {"oid": shard_sha} and objects[SHARD].sha256 == shard_sha
    assert objects["README.md"].checksums == {"oid": git_hash(local["README.md"])}
    assert result.uploaded == len(local)
    if "labelport-report.json" in local:
        report = json.loads(local["labelport-report.json"])
        listed = {o["uri"]: o for o in report["delivery"]["objects"]}
        assert listed[f"hf://datasets/alice/ner@main/{SHARD}"]["oid"] == shard_sha
        assert result.link == f"{hub.endpoint}/datasets/alice/ner/resolve/main/labelport-report.json"


def test_pushing_identical_data_again_makes_no_commit(hub, api, tmp_path):
    out = dataset_folder(tmp_path / "out")
    labelport.push(out, "hf://datasets/alice/again")
    before = titles(api, "alice/again")

    result = labelport.push(out, "hf://datasets/alice/again")
    assert result.uploaded == 0 and len(result.objects) == len(local_files(out))
    assert "already up to date" in result.summary()
    assert titles(api, "alice/again") == before

    (out / "README.md").write_text((out / "README.md").read_text(encoding="utf-8") + "\nMore words.\n", encoding="utf-8")
    changed = labelport.push(out, "hf://datasets/alice/again")
    assert len(titles(api, "alice/again")) == len(before) + 1  # one commit, only what changed
    uploaded = {o.rel for o in changed.objects if o.uploaded}
    assert "README.md" in uploaded and SHARD not in uploaded


def test_files_the_folder_no_longer_has_leave_its_folders(hub, api, tmp_path):
    out = dataset_folder(tmp_path / "out")
    old_shard = "data/test-00000-of-00001.parquet"
    shutil.copy(out / SHARD, out / old_shard)
    labelport.push(out, "hf://datasets/alice/resplit")
    api.upload_file(path_or_fileobj=b"kept\n", path_in_repo="NOTES.txt", repo_id="alice/resplit", repo_type="dataset")

    (out / old_shard).unlink()
    labelport.push(out, "hf://datasets/alice/resplit")
    remote = remote_files(api, "alice/resplit")
    assert old_shard not in remote  # no old shard for load_dataset to pick up
    assert SHARD in remote and "NOTES.txt" in remote  # files outside the pushed folders stay


def test_private_repo_and_revision_branch(hub, api, tmp_path):
    out = dataset_folder(tmp_path / "out")
    labelport.push(out, "hf://datasets/alice/secret", private=True)
    assert hub.repo("alice/secret").private
    assert api.repo_info("alice/secret", repo_type="dataset").private is True
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.endpoint, token=BOB).repo_info("alice/secret", repo_type="dataset")

    result = labelport.push(out, "hf://datasets/alice/branchy", revision="dev")
    assert titles(api, "alice/branchy") == ["initial commit"]  # main untouched
    assert titles(api, "alice/branchy", revision="dev")[1:] == ["initial commit"]
    assert set(remote_files(api, "alice/branchy", revision="dev")) == set(local_files(out)) | {".gitattributes"}
    assert {o.uri.split("@", 1)[1].split("/", 1)[0] for o in result.objects} == {"dev"}
    assert result.link.startswith(f"{hub.endpoint}/datasets/alice/branchy/resolve/dev/")

    labelport.push(out, "hf://datasets/alice/branchy@feature")  # the revision in the URL
    assert SHARD in remote_files(api, "alice/branchy", revision="feature")
    again = labelport.push(out, "hf://datasets/alice/branchy@other", revision="dev")  # the option wins
    assert {o.uri.split("@", 1)[1].split("/", 1)[0] for o in again.objects} == {"dev"}
    assert {b.name for b in api.list_repo_refs("alice/branchy", repo_type="dataset").branches} == {"main", "dev", "feature"}

    with pytest.raises(DeliveryError, match="the repo exists and is public"):
        labelport.push(out, "hf://datasets/alice/branchy", private=True)  # never pushed public by mistake


def test_someone_elses_repo_and_bad_tokens_fail_in_one_line(hub, monkeypatch, tmp_path, run_cli):
    out = dataset_folder(tmp_path / "out")
    bob = HfApi(endpoint=hub.endpoint, token=BOB)
    bob.create_repo("bob/x", repo_type="dataset")
    bob.create_repo("bob/hidden", repo_type="dataset", private=True)
    for repo in ("bob/x", "bob/hidden", "bob/new"):
        with pytest.raises(DeliveryError) as denied:
            labelport.push(out, f"hf://datasets/{repo}")
        message = str(denied.value)
        assert denied.value.exit_code == 3
        assert message == f"hf://datasets/{repo}: not allowed: the repo belongs to someone else"
    assert titles(bob, "bob/x") == ["initial commit"]

    code, stdout, stderr = run_cli("push", out, "hf://datasets/bob/x")
    assert code == 3 and stdout == ""
    assert stderr.strip().count("\n") == 0 and "not allowed" in stderr and "hf_test" not in stderr

    monkeypatch.setenv("HF_TOKEN", "hf_test_invalid")
    with pytest.raises(DeliveryError) as invalid:
        labelport.push(out, "hf://datasets/alice/ner-invalid")
    assert str(invalid.value) == "hf: the token is missing or invalid (set HF_TOKEN)"
    code, _, stderr = run_cli("push", out, "hf://datasets/alice/ner-invalid")
    assert code == 3 and stderr.strip().count("\n") == 0 and "hf_test" not in stderr

    monkeypatch.setenv("HF_TOKEN", ALICE)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    with pytest.raises(DeliveryError, match="cannot reach") as down:
        labelport.push(out, "hf://datasets/alice/ner-down")
    assert "\n" not in str(down.value)


def test_commit_message_names_the_source_and_version(hub, api, tmp_path):
    out = dataset_folder(tmp_path / "out")
    labelport.push(out, "hf://datasets/alice/message")
    title = titles(api, "alice/message")[0]
    if (out / "labelport-report.json").exists():
        assert title == f"labelport {__version__}: {WNUT_SLICE.name} -> HF_DATASET"
    else:
        assert title.startswith(f"labelport {__version__}: ")

    (out / "README.md").write_text("---\n---\n# changed\n", encoding="utf-8")
    push(out, "hf://datasets/alice/message", DeliveryOptions(commit_message="Refresh the card", progress=False))
    assert titles(api, "alice/message")[0] == "Refresh the card"


def test_a_commit_by_someone_else_meanwhile_fails_the_push(hub, api, tmp_path):
    out = dataset_folder(tmp_path / "out")
    api.create_repo("alice/race", repo_type="dataset")
    dest = open_destination("hf://datasets/alice/race", DeliveryOptions())
    dest.prepare()
    api.upload_file(path_or_fileobj=b"meanwhile\n", path_in_repo="other.txt", repo_id="alice/race", repo_type="dataset")

    class Quiet:
        def advance(self, n: int) -> None:
            pass

    files = [f for f in scan(out) if f.rel != "labelport-report.json"]
    with pytest.raises(DeliveryError, match="someone else committed"):
        dest.push(files + [f for f in scan(out) if f.rel == "labelport-report.json"], Quiet())
    assert "other.txt" in remote_files(api, "alice/race") and SHARD not in remote_files(api, "alice/race")


def test_destination_urls_and_missing_sdk(hub, monkeypatch):
    for url in ("hf://alice/ner", "hf://models/alice/ner", "hf://datasets/alice", "hf://datasets/a/b/c"):
        with pytest.raises(UsageError) as bad:
            open_destination(url)
        assert bad.value.exit_code == 2 and "hf://datasets/owner/name" in str(bad.value)
    dest = open_destination("hf://datasets/alice/ner@v2", DeliveryOptions())
    assert dest.uri("data/x.parquet") == "hf://datasets/alice/ner@v2/data/x.parquet"
    assert dest.link("data/x.parquet") == f"{hub.endpoint}/datasets/alice/ner/resolve/v2/data/x.parquet"

    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(UsageError, match=r"install labelport\[hf\]"):
        open_destination("hf://datasets/alice/ner")


def test_a_training_script_loads_it_with_datasets(hub, tmp_path):
    pytest.importorskip("datasets")
    out = dataset_folder(tmp_path / "out")
    labelport.push(out, "hf://datasets/alice/train-me")
    script = (
        "import datasets\n"
        "ds = datasets.load_dataset('alice/train-me')\n"
        "print(ds['train'].num_rows, ds['train'].features['ner_tags'].feature.names[0])\n"
    )
    env = dict(os.environ, HF_HOME=str(tmp_path / "hf-home"), HF_DATASETS_CACHE=str(tmp_path / "hf-home" / "datasets"))
    env.pop("HF_HUB_OFFLINE", None)
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows, first_label = proc.stdout.split()
    assert int(rows) > 0
    if (out / "labelport-report.json").exists():
        report = json.loads((out / "labelport-report.json").read_text(encoding="utf-8"))
        assert int(rows) == report["counts"]["lines"] and first_label == "O"


def test_a_large_file_goes_up_in_lfs_parts(hub, api, tmp_path):
    out = dataset_folder(tmp_path / "out")
    big = os.urandom(11 << 20)  # over the Hub's 10 MB line; the server asks for 8 MiB parts
    (out / "data" / "extra.bin").write_bytes(big)
    calls = len(hub.calls)
    result = labelport.push(out, "hf://datasets/alice/large")
    puts = sorted(c for c in hub.calls[calls:] if c.startswith("PUT /lfs/"))
    # the shard in one PUT, the big file in two parts
    assert puts == ["PUT /lfs/{ticket} -> 200"] + ["PUT /lfs/{ticket}/{part} -> 200"] * 2
    entry = remote_files(api, "alice/large")["data/extra.bin"]
    delivered = {o.rel: o for o in result.objects}["data/extra.bin"]
    assert entry.lfs.sha256 == hashlib.sha256(big).hexdigest() == delivered.checksums["oid"]
    path = hf_hub_download("alice/large", "data/extra.bin", repo_type="dataset", cache_dir=tmp_path / "cache",
                           endpoint=hub.endpoint, token=ALICE)
    assert Path(path).read_bytes() == big


def test_the_per_file_interface_and_partial_pushes_delete_nothing(hub, api, tmp_path):
    out = dataset_folder(tmp_path / "out")
    labelport.push(out, "hf://datasets/alice/single")
    (out / "data" / "more.jsonl").write_text('{"text": "more"}\n', encoding="utf-8")
    dest = open_destination("hf://datasets/alice/single", DeliveryOptions())
    file = next(f for f in scan(out) if f.rel == "data/more.jsonl")
    remote = dest.upload(file)  # one file, one commit, now
    assert dest.verify(file, remote) == {"oid": git_hash(file.path.read_bytes())}
    assert dest.stat("data/more.jsonl") == remote and dest.stat("nothing/here.txt") is None
    assert titles(api, "alice/single")[0].startswith(f"labelport {__version__}")
    assert SHARD in remote_files(api, "alice/single")  # a push of part of the folder deletes nothing
