"""The Hugging Face Hub test server (tests/servers/hub.py), driven through huggingface_hub itself.

Whatever labelport's hf:// tests prove rests on this server answering as the
Hub does, so it is checked here with the real SDK: repos, regular and LFS
files (basic and multipart), downloads, trees, commits, branches, and who may
do what.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest

from servers.hub import MB, start_hub  # noqa: E402

hf = pytest.importorskip("huggingface_hub")
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download  # noqa: E402
from huggingface_hub.utils import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError, get_session  # noqa: E402

ALICE, BOB = "hf_test_alice", "hf_test_bob"
# huggingface_hub itself PUTs LFS bytes with httpx's deprecated data=<file>.
pytestmark = pytest.mark.filterwarnings("ignore:Use .content=<...>. to upload raw bytes:DeprecationWarning")


@pytest.fixture(scope="module")
def hub():
    # Small thresholds so that the size rule and multipart uploads cost kilobytes, not megabytes.
    server = start_hub(lfs_threshold=2 * MB, lfs_chunk_size=1 * MB)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in server.env().items():
            mp.setenv(key, value)
        mp.delenv("HF_HUB_OFFLINE", raising=False)
        mp.setattr(hf.constants, "HF_HUB_DISABLE_XET", True)  # read once, when huggingface_hub was imported
        mp.setattr(hf.constants, "HF_HUB_DISABLE_PROGRESS_BARS", True)
        yield server
    server.stop()


@pytest.fixture(scope="module")
def alice(hub) -> HfApi:
    return HfApi(endpoint=hub.endpoint, token=ALICE)


@pytest.fixture(scope="module")
def bob(hub) -> HfApi:
    return HfApi(endpoint=hub.endpoint, token=BOB)


def download(hub, repo_id: str, path: str, tmp_path, revision: str | None = None) -> bytes:
    local = hf_hub_download(repo_id, path, repo_type="dataset", revision=revision, cache_dir=tmp_path / "cache",
                            endpoint=hub.endpoint, token=ALICE)
    with open(local, "rb") as fh:
        return fh.read()


def test_tokens_map_to_users_and_anything_else_gets_401(hub, alice, bob):
    assert alice.whoami()["name"] == "alice"
    assert bob.whoami()["name"] == "bob"
    with pytest.raises(HfHubHTTPError) as bad:
        HfApi(endpoint=hub.endpoint, token="hf_test_nobody").whoami()
    assert bad.value.response.status_code == 401
    anonymous = get_session().get(f"{hub.endpoint}/api/whoami-v2")
    assert anonymous.status_code == 401


def test_create_repo_private_conflict_and_namespaces(hub, alice, bob):
    url = alice.create_repo("alice/created", repo_type="dataset", private=True)
    assert url.repo_id == "alice/created" and url.repo_type == "dataset"
    with pytest.raises(HfHubHTTPError) as again:
        alice.create_repo("alice/created", repo_type="dataset")
    assert again.value.response.status_code == 409
    assert alice.create_repo("alice/created", repo_type="dataset", exist_ok=True).repo_id == "alice/created"

    info = alice.repo_info("alice/created", repo_type="dataset")
    assert info.private is True and info.id == "alice/created"
    assert [s.rfilename for s in info.siblings] == [".gitattributes"]  # the Hub's initial commit
    assert [c.title for c in alice.list_repo_commits("alice/created", repo_type="dataset")] == ["initial commit"]

    with pytest.raises(RepositoryNotFoundError):  # someone else's private repo looks missing
        bob.repo_info("alice/created", repo_type="dataset")
    with pytest.raises(HfHubHTTPError) as other:
        bob.create_repo("alice/by-bob", repo_type="dataset")
    assert other.value.response.status_code == 403
    assert alice.repo_exists("alice/created", repo_type="dataset")
    assert not alice.repo_exists("alice/missing", repo_type="dataset")


def test_regular_lfs_and_multipart_files_round_trip(hub, alice, tmp_path):
    repo = "alice/files"
    alice.create_repo(repo, repo_type="dataset")
    files = {
        "README.md": b"---\nlicense: mit\n---\n# files\n",
        "data/train.jsonl": b'{"text": "hello"}\n' * 10,
        "data/train-00000-of-00001.parquet": b"PAR1" + os.urandom(2000) + b"PAR1",  # LFS by .gitattributes
        "blob.dat": b"\0binary\0" * 100,  # LFS: a NUL byte in the sample
        "big.jsonl": b'{"text": "%d"}\n' % 7 * (5 * MB // 14),  # LFS by size, multipart (1 MiB parts)
    }
    info = alice.create_commit(repo, [CommitOperationAdd(p, d) for p, d in files.items()], commit_message="add files",
                               repo_type="dataset")
    assert len(info.oid) == 40
    assert info.commit_url.endswith(f"/datasets/{repo}/commit/{info.oid}")

    tree = {e.path: e for e in alice.list_repo_tree(repo, repo_type="dataset", recursive=True)}
    assert set(tree) == set(files) | {".gitattributes", "data"}
    for path, data in files.items():
        entry = tree[path]
        assert entry.size == len(data)
        lfs = path not in ("README.md", "data/train.jsonl")
        assert (entry.lfs is not None) is lfs, path
        if lfs:
            assert entry.lfs.sha256 == hashlib.sha256(data).hexdigest()
        else:
            assert entry.blob_id == hf.utils.sha.git_hash(data)  # git's blob id, as on the Hub
        assert download(hub, repo, path, tmp_path) == data
    top = [e.path for e in alice.list_repo_tree(repo, repo_type="dataset")]
    assert top == ["data", ".gitattributes", "README.md", "big.jsonl", "blob.dat"]  # folders first, not recursive
    assert {e.path for e in alice.list_repo_tree(repo, "data", repo_type="dataset")} == {
        "data/train.jsonl", "data/train-00000-of-00001.parquet"}

    info_paths = alice.get_paths_info(repo, ["README.md", "data", "missing.txt"], repo_type="dataset", expand=True)
    assert [p.path for p in info_paths] == ["README.md", "data"]
    assert info_paths[0].last_commit.title == "add files"
    assert any(c.startswith("PUT /lfs/{ticket}/{part} -> 200") for c in hub.calls)
    assert any(c.startswith("POST /datasets/{repo}.git/info/lfs/objects/verify -> 200") for c in hub.calls)

    siblings = alice.repo_info(repo, repo_type="dataset", files_metadata=True).siblings
    assert {s.rfilename: s.size for s in siblings}["big.jsonl"] == len(files["big.jsonl"])


def test_unchanged_files_make_no_commit_and_deletes_do(hub, alice):
    repo = "alice/skip"
    alice.create_repo(repo, repo_type="dataset")
    ops = lambda: [CommitOperationAdd("a.txt", b"a\n"), CommitOperationAdd("b.parquet", b"PAR1b")]  # noqa: E731
    first = alice.create_commit(repo, ops(), commit_message="one", repo_type="dataset")
    again = alice.create_commit(repo, ops(), commit_message="two", repo_type="dataset")
    assert again.oid == first.oid  # preupload told the SDK both files are already there
    assert len(alice.list_repo_commits(repo, repo_type="dataset")) == 2

    alice.create_commit(repo, [CommitOperationDelete("a.txt")], commit_message="drop a", repo_type="dataset")
    commits = alice.list_repo_commits(repo, repo_type="dataset")
    assert [c.title for c in commits] == ["drop a", "one", "initial commit"]
    assert commits[0].authors == ["alice"]
    assert not alice.file_exists(repo, "a.txt", repo_type="dataset")
    assert alice.file_exists(repo, "a.txt", repo_type="dataset", revision=first.oid)  # history keeps it


def test_stale_parent_commit_is_refused(hub, alice):
    repo = "alice/race"
    alice.create_repo(repo, repo_type="dataset")
    start = alice.repo_info(repo, repo_type="dataset").sha
    alice.create_commit(repo, [CommitOperationAdd("x.txt", b"x")], commit_message="x", repo_type="dataset",
                        parent_commit=start)
    with pytest.raises(HfHubHTTPError) as stale:
        alice.create_commit(repo, [CommitOperationAdd("y.txt", b"y")], commit_message="y", repo_type="dataset",
                            parent_commit=start)
    assert stale.value.response.status_code == 412


def test_branches(hub, alice, tmp_path):
    repo = "alice/branches"
    alice.create_repo(repo, repo_type="dataset")
    main = alice.repo_info(repo, repo_type="dataset").sha
    with pytest.raises(RevisionNotFoundError):
        alice.repo_info(repo, repo_type="dataset", revision="dev")
    alice.create_branch(repo, branch="dev", repo_type="dataset")
    alice.create_branch(repo, branch="dev", repo_type="dataset", exist_ok=True)
    alice.upload_file(path_or_fileobj=b"on dev\n", path_in_repo="dev.txt", repo_id=repo, repo_type="dataset",
                      revision="dev")
    refs = {b.name: b.target_commit for b in alice.list_repo_refs(repo, repo_type="dataset").branches}
    assert refs["main"] == main and refs["dev"] != main
    assert download(hub, repo, "dev.txt", tmp_path, revision="dev") == b"on dev\n"
    assert not alice.file_exists(repo, "dev.txt", repo_type="dataset")
    with pytest.raises(RevisionNotFoundError):
        alice.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo, repo_type="dataset",
                          revision="nope")


def test_someone_elses_public_repo_is_readable_not_writable(hub, alice, bob, tmp_path):
    bob.create_repo("bob/public", repo_type="dataset")
    bob.upload_file(path_or_fileobj=b"bob's\n", path_in_repo="bob.txt", repo_id="bob/public", repo_type="dataset")
    assert download(hub, "bob/public", "bob.txt", tmp_path) == b"bob's\n"
    with pytest.raises(HfHubHTTPError) as denied:
        alice.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="bob/public", repo_type="dataset")
    assert denied.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as branch:
        alice.create_branch("bob/public", branch="mine", repo_type="dataset")
    assert branch.value.response.status_code == 403


def test_lfs_bytes_are_checked_and_commits_need_uploaded_objects(hub, alice):
    repo = "alice/strict"
    alice.create_repo(repo, repo_type="dataset")
    session, auth = get_session(), {"authorization": f"Bearer {ALICE}"}
    data = b"PAR1 real bytes"
    oid = hashlib.sha256(data).hexdigest()
    batch = session.post(f"{hub.endpoint}/datasets/{repo}.git/info/lfs/objects/batch", headers=auth,
                         json={"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": len(data)}]})
    href = batch.json()["objects"][0]["actions"]["upload"]["href"]
    assert href.startswith(hub.endpoint)  # uploads come back to this server
    assert session.put(href, content=b"PAR1 other bytes").status_code == 400  # sha256 and size checked

    def commit(lines):
        body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
        return session.post(f"{hub.endpoint}/api/datasets/{repo}/commit/main", content=body,
                            headers={**auth, "content-type": "application/x-ndjson"})

    header = {"key": "header", "value": {"summary": "lfs", "description": ""}}
    lfs_file = {"key": "lfsFile", "value": {"path": "a.parquet", "algo": "sha256", "oid": oid, "size": len(data)}}
    regular = {"key": "file", "value": {"path": "b.txt", "content": base64.b64encode(b"b").decode(), "encoding": "base64"}}
    assert commit([header, lfs_file]).status_code == 422  # not uploaded yet
    assert session.put(href, content=data).status_code == 200
    done = commit([header, lfs_file, regular])
    assert done.status_code == 200 and len(done.json()["commitOid"]) == 40
    again = session.post(f"{hub.endpoint}/datasets/{repo}.git/info/lfs/objects/batch", headers=auth,
                         json={"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]})
    assert "actions" not in again.json()["objects"][0]  # stored objects are not uploaded twice

    ranged = session.get(f"{hub.endpoint}/datasets/{repo}/resolve/main/a.parquet", headers={**auth, "Range": "bytes=5-8"})
    assert ranged.status_code == 206 and ranged.content == data[5:9]
    assert ranged.headers["X-Repo-Commit"] == done.json()["commitOid"]
    assert ranged.headers["Content-Range"] == f"bytes 5-8/{len(data)}"

    xet = session.get(f"{hub.endpoint}/api/datasets/{repo}/xet-write-token/main", headers=auth)
    assert xet.status_code == 501 and "HF_HUB_DISABLE_XET" in xet.headers["X-Error-Message"]


def test_calls_are_logged_by_route(hub, alice):
    assert "GET /api/whoami-v2 -> 200" in hub.calls
    assert any(c.startswith("POST /api/datasets/{repo}/preupload/{rev} -> 200") for c in hub.calls)
    assert any(c.startswith("POST /api/datasets/{repo}/commit/{rev} -> 200") for c in hub.calls)
