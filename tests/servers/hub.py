"""A Hugging Face Hub test server on 127.0.0.1: the endpoints huggingface_hub calls.

Enough of the Hub for ``HfApi`` and ``hf_hub_download`` to create repos, commit
regular and Git LFS files, branch, list trees and commits, and download files
back, held in memory. Clients must run with ``HF_HUB_DISABLE_XET=1``: this
server speaks Git LFS (basic and multipart transfers), not Xet.

What it keeps, per repo: its type, owner, visibility, the commits (each a
snapshot ``{path: Blob}`` with a parent, a title and an author), the branch
refs, and the repo's LFS objects (by sha256). Tokens map to users
(``hf_test_alice`` -> alice, ``hf_test_bob`` -> bob); a request without a
valid token gets 401, a write to someone else's repo or namespace 403, and a
private repo of someone else looks like a missing one (404), as on the Hub.
Every request is logged as ``METHOD /route/{template} -> status`` in
:attr:`HubServer.calls`, so a test can show which endpoints a client used.

Routes (``{T}`` is models, datasets or spaces; ``{prefix}`` is ``datasets/``,
``spaces/`` or nothing for models; revisions arrive URL-quoted as one path
segment, so ``refs%2Fpr%2F1`` is one revision):

    GET  /api/whoami-v2
    POST /api/repos/create | /api/repos/delete | /api/validate-yaml
    GET  /api/{T}/{repo}[/revision/{rev}]                repo info (siblings; ?blobs=1 adds sizes)
    POST /api/{T}/{repo}/preupload/{rev}                 uploadMode regular | lfs, remote oid
    POST /api/{T}/{repo}/commit/{rev}                    NDJSON: header, file, lfsFile, deletedFile, deletedFolder
    GET  /api/{T}/{repo}/tree/{rev}[/{path}]             ?recursive=1 ?expand=1
    POST /api/{T}/{repo}/paths-info/{rev}                form: paths=…&expand=…
    GET  /api/{T}/{repo}/commits/{rev} | /refs
    POST|DELETE /api/{T}/{repo}/branch/{branch}          JSON startingPoint
    GET  /api/{T}/{repo}/xet-{write,read}-token/{rev}    501: use HF_HUB_DISABLE_XET=1
    POST /{prefix}{repo}.git/info/lfs/objects/batch      upload actions (href back to this server), verify
    POST /{prefix}{repo}.git/info/lfs/objects/verify
    PUT  /lfs/{ticket}[/{part}]   POST /lfs/{ticket}     the upload hrefs (presigned: no auth header)
    HEAD|GET /{prefix}{repo}/resolve/{rev}/{path}        bytes, X-Repo-Commit, ETag, Range
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import math
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, unquote

from .ports import free_port, wait_for_port

MB = 1 << 20
TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
DEFAULT_TOKENS = {"hf_test_alice": "alice", "hf_test_bob": "bob"}
#: The .gitattributes a new repo gets in its first commit (a subset of the Hub's).
GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in ("*.7z", "*.arrow", "*.bin", "*.gz", "*.h5", "*.joblib", "*.lz4", "*.mds", "*.model",
                    "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.parquet", "*.pickle", "*.pkl", "*.pt", "*.pth",
                    "*.safetensors", "*.tar", "*.tflite", "*.wav", "*.zip", "*.zst", "*tfevents*")
).encode()


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class Blob:
    """A file in a commit: regular bytes, or an LFS pointer to the repo's store."""

    size: int
    sha256: str
    lfs: bool
    data: bytes | None = None  # regular files only

    @property
    def oid(self) -> str:
        """The git blob id: of the bytes, or of the LFS pointer."""
        return git_blob_sha1(self.data if not self.lfs else lfs_pointer(self.sha256, self.size))  # type: ignore[arg-type]

    def describe(self, path: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": "file", "oid": self.oid, "size": self.size, "path": path}
        if self.lfs:
            entry["lfs"] = {"oid": self.sha256, "size": self.size, "pointerSize": len(lfs_pointer(self.sha256, self.size))}
        return entry


@dataclass
class Commit:
    oid: str
    parent: str | None
    title: str
    message: str
    author: str
    date: str
    files: dict[str, Blob]


@dataclass
class Repo:
    type: str  # model, dataset, space
    owner: str
    name: str
    private: bool
    created: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit oid
    lfs: dict[str, bytes] = field(default_factory=dict)  # sha256 -> bytes, once uploaded and checked

    @property
    def id(self) -> str:
        return f"{self.owner}/{self.name}"

    def resolve(self, rev: str) -> Commit | None:
        if rev in self.branches:
            return self.commits[self.branches[rev]]
        return self.commits.get(rev)

    def history(self, commit: Commit) -> list[Commit]:
        out = [commit]
        while out[-1].parent is not None:
            out.append(self.commits[out[-1].parent])
        return out

    def last_commit(self, commit: Commit, path: str) -> Commit:
        """The newest commit (from ``commit`` back) that changed ``path``."""
        chain = self.history(commit)
        for newer, older in zip(chain, chain[1:]):
            if newer.files.get(path) != older.files.get(path):
                return newer
        return chain[-1]

    def content(self, blob: Blob) -> bytes:
        return blob.data if blob.data is not None else self.lfs[blob.sha256]


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}


def not_found(what: str = "Repository not found") -> HubError:
    return HubError(404, what, "RepoNotFound")


class HubApp:
    """The WSGI application: routing, auth, and the in-memory Hub."""

    def __init__(self, tokens: dict[str, str], lfs_threshold: int, lfs_chunk_size: int, allow_anonymous_reads: bool):
        self.tokens = dict(tokens)
        self.lfs_threshold = lfs_threshold  # preupload answers "lfs" above this size
        self.lfs_chunk_size = lfs_chunk_size  # LFS objects above this go up in multipart
        self.allow_anonymous_reads = allow_anonymous_reads
        self.repos: dict[tuple[str, str, str], Repo] = {}  # (type, owner, name)
        self.tickets: dict[str, dict[str, Any]] = {}  # LFS upload hrefs: ticket -> repo, oid, size, parts
        self.calls: list[str] = []
        self.lock = threading.RLock()
        self.endpoint = ""
        self._counter = 0
        self._route = threading.local()

    # -- WSGI --------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Any) -> Any:
        from werkzeug.exceptions import HTTPException
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        raw = environ.get("REQUEST_URI") or environ.get("RAW_URI") or quote(environ.get("PATH_INFO", "/"))
        raw = raw.split("?", 1)[0]
        if "://" in raw:  # absolute-form request target
            raw = "/" + raw.split("://", 1)[1].split("/", 1)[1]
        segments = [unquote(s) for s in raw.split("/")[1:]]
        self._route.name = "(unknown) " + raw
        try:
            try:
                _, response = self.dispatch(request, segments)
            except HTTPException as exc:  # werkzeug's own, e.g. a body that is not JSON
                raise HubError(exc.code or 400, exc.description or exc.name) from exc
            except (KeyError, ValueError, TypeError, AttributeError) as exc:  # a malformed request, not a retryable 5xx
                raise HubError(400, f"bad request: {type(exc).__name__}: {exc}") from exc
        except HubError as exc:
            body = json.dumps({"error": exc.message}).encode()
            response = Response(body, exc.status, content_type="application/json")
            response.headers["X-Error-Message"] = " ".join(exc.message.split()).encode("ascii", "replace").decode()
            if exc.code:
                response.headers["X-Error-Code"] = exc.code
            for key, value in exc.headers.items():
                response.headers[key] = value
        with self.lock:
            self.calls.append(f"{request.method} {self._route.name} -> {response.status_code}")
        return response(environ, start_response)

    def at(self, route: str) -> str:
        """Name the route being answered (before its handler runs, so errors are logged under it)."""
        self._route.name = route
        return route

    def dispatch(self, request: Any, seg: list[str]) -> tuple[str, Any]:
        m = request.method
        if seg[:1] == ["api"]:
            rest = seg[1:]
            if rest == ["whoami-v2"] and m == "GET":
                return self.at("/api/whoami-v2"), self.whoami(request)
            if rest == ["repos", "create"] and m == "POST":
                return self.at("/api/repos/create"), self.create_repo(request)
            if rest == ["repos", "delete"] and m == "DELETE":
                return self.at("/api/repos/delete"), self.delete_repo(request)
            if rest == ["validate-yaml"] and m == "POST":
                return self.at("/api/validate-yaml"), self.validate_yaml(request)
            if len(rest) >= 3 and rest[0] in TYPES:
                kind, key, op = TYPES[rest[0]], (rest[1], rest[2]), rest[3:]
                t = "/api/" + rest[0] + "/{repo}"
                if not op and m == "GET":
                    return self.at(t), self.info(request, kind, key, "main")
                if len(op) == 2 and op[0] == "revision" and m == "GET":
                    return self.at(t + "/revision/{rev}"), self.info(request, kind, key, op[1])
                if len(op) == 2 and op[0] == "preupload" and m == "POST":
                    return self.at(t + "/preupload/{rev}"), self.preupload(request, kind, key, op[1])
                if len(op) == 2 and op[0] == "commit" and m == "POST":
                    return self.at(t + "/commit/{rev}"), self.commit(request, kind, key, op[1])
                if len(op) >= 2 and op[0] == "tree" and m == "GET":
                    path = "/".join(op[2:]).strip("/")
                    return self.at(t + "/tree/{rev}" + ("/{path}" if path else "")), self.tree(request, kind, key, op[1], path)
                if len(op) == 2 and op[0] == "paths-info" and m == "POST":
                    return self.at(t + "/paths-info/{rev}"), self.paths_info(request, kind, key, op[1])
                if len(op) == 2 and op[0] == "commits" and m == "GET":
                    return self.at(t + "/commits/{rev}"), self.list_commits(request, kind, key, op[1])
                if op == ["refs"] and m == "GET":
                    return self.at(t + "/refs"), self.refs(request, kind, key)
                if len(op) == 2 and op[0] == "branch" and m in ("POST", "DELETE"):
                    return self.at(t + "/branch/{branch}"), self.branch(request, kind, key, op[1])
                if len(op) >= 1 and op[0] in ("xet-write-token", "xet-read-token"):
                    self.at(t + "/" + op[0] + "/{rev}")
                    raise HubError(501, "this test Hub speaks Git LFS only, not Xet: set HF_HUB_DISABLE_XET=1")
        if seg[:1] == ["lfs"] and len(seg) in (2, 3):
            if m == "PUT":
                return self.at("/lfs/{ticket}" + ("/{part}" if len(seg) == 3 else "")), self.lfs_put(request, seg[1:])
            if m == "POST" and len(seg) == 2:
                return self.at("/lfs/{ticket}"), self.lfs_complete(request, seg[1])
        kind = TYPES.get(seg[0], "model") if seg else "model"
        rest = seg[1:] if seg and seg[0] in TYPES else seg
        prefix = "/" + PREFIX[kind]
        if len(rest) == 6 and rest[1].endswith(".git") and rest[2:5] == ["info", "lfs", "objects"] and m == "POST":
            key = (rest[0], rest[1][: -len(".git")])
            if rest[5] == "batch":
                return self.at(prefix + "{repo}.git/info/lfs/objects/batch"), self.lfs_batch(request, kind, key)
            if rest[5] == "verify":
                return self.at(prefix + "{repo}.git/info/lfs/objects/verify"), self.lfs_verify(request, kind, key)
        if len(rest) >= 5 and rest[2] == "resolve" and m in ("GET", "HEAD"):
            key, rev, path = (rest[0], rest[1]), rest[3], "/".join(rest[4:])
            return self.at(prefix + "{repo}/resolve/{rev}/{path}"), self.resolve(request, kind, key, rev, path)
        raise HubError(404, f"no such route: {request.method} {request.path}")

    # -- auth and lookup ------------------------------------------------------------
    def user(self, request: Any, required: bool = True) -> str | None:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        if token is not None and token in self.tokens:
            return self.tokens[token]
        if token is not None:
            raise HubError(401, "Invalid credentials in Authorization header")
        if required:
            raise HubError(401, "Invalid username or password.")
        return None

    def repo(self, request: Any, kind: str, key: tuple[str, str], write: bool = False) -> tuple[Repo, str | None]:
        user = self.user(request, required=write or not self.allow_anonymous_reads)
        repo = self.repos.get((kind, *key))
        if repo is None or (repo.private and repo.owner != user):
            raise not_found()
        if write and repo.owner != user:
            raise HubError(403, f"You don't have the rights to write to {repo.type} {repo.id}: it belongs to {repo.owner}")
        return repo, user

    def commit_of(self, repo: Repo, rev: str) -> Commit:
        commit = repo.resolve(rev)
        if commit is None:
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return commit

    def new_oid(self, *parts: Any) -> str:
        self._counter += 1
        return hashlib.sha1(json.dumps([self._counter, now(), *map(str, parts)]).encode()).hexdigest()

    def repo_url(self, repo: Repo) -> str:
        return f"{self.endpoint}/{PREFIX[repo.type]}{repo.id}"

    # -- endpoints ------------------------------------------------------------------
    def whoami(self, request: Any) -> Any:
        name = self.user(request)
        return _json({
            "type": "user", "id": hashlib.md5(name.encode()).hexdigest()[:24], "name": name,  # type: ignore[union-attr]
            "fullname": name.title(), "email": f"{name}@example.test", "orgs": [],  # type: ignore[union-attr]
            "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "write"}},
        })

    def create_repo(self, request: Any) -> Any:
        user = self.user(request)
        body = request.get_json(force=True)
        kind = body.get("type") or "model"
        if kind not in PREFIX:
            raise HubError(400, f"invalid repo type {kind!r}")
        owner, name = body.get("organization") or user, body.get("name") or ""
        if not name or "/" in name:
            raise HubError(400, f"invalid repo name {name!r}")
        if owner != user:
            raise HubError(403, f'You don\'t have the rights to create a {kind} under the namespace "{owner}"')
        with self.lock:
            if (kind, owner, name) in self.repos:  # the Hub's 409 still names the repo's URL
                existing = self.repos[(kind, owner, name)]
                return _json({"error": "You already created this repo", "url": self.repo_url(existing)}, 409)
            private = body.get("visibility") == "private" or body.get("private") is True
            repo = Repo(kind, owner, name, private, now())
            attributes = Blob(len(GITATTRIBUTES), hashlib.sha256(GITATTRIBUTES).hexdigest(), False, GITATTRIBUTES)
            first = Commit(self.new_oid(repo.id), None, "initial commit", "", user, now(),  # type: ignore[arg-type]
                           {".gitattributes": attributes})
            repo.commits[first.oid] = first
            repo.branches["main"] = first.oid
            self.repos[(kind, owner, name)] = repo
        return _json({"url": self.repo_url(repo), "name": repo.id, "id": repo.id})

    def delete_repo(self, request: Any) -> Any:
        user = self.user(request)
        body = request.get_json(force=True)
        key = (body.get("type") or "model", body.get("organization") or user, body.get("name"))
        with self.lock:
            repo = self.repos.get(key)  # type: ignore[arg-type]
            if repo is None or (repo.private and repo.owner != user):
                raise not_found()
            if repo.owner != user:
                raise HubError(403, "You don't have the rights to delete this repo")
            del self.repos[key]  # type: ignore[arg-type]
        return _json({})

    def validate_yaml(self, request: Any) -> Any:
        import yaml

        self.user(request)
        content = (request.get_json(force=True) or {}).get("content", "")
        if content.startswith("---"):
            end = content.find("\n---", 3)
            if end < 0:
                return _json({"errors": [{"message": "unterminated YAML front matter"}]}, 400)
            try:
                meta = yaml.safe_load(content[3:end])
            except yaml.YAMLError as exc:
                return _json({"errors": [{"message": f"invalid YAML: {exc}"}]}, 400)
            if meta is not None and not isinstance(meta, dict):
                return _json({"errors": [{"message": "the metadata must be a mapping"}]}, 400)
        return _json({"errors": [], "warnings": []})

    def info(self, request: Any, kind: str, key: tuple[str, str], rev: str) -> Any:
        with self.lock:
            repo, _ = self.repo(request, kind, key)
            commit = self.commit_of(repo, rev)
            blobs = request.args.get("blobs") in ("1", "true", "True")
            siblings = []
            for path, blob in sorted(commit.files.items()):
                sibling: dict[str, Any] = {"rfilename": path}
                if blobs:
                    sibling.update(size=blob.size, blobId=blob.oid)
                    if blob.lfs:
                        sibling["lfs"] = {"sha256": blob.sha256, "size": blob.size,
                                          "pointerSize": len(lfs_pointer(blob.sha256, blob.size))}
                siblings.append(sibling)
            return _json({
                "_id": hashlib.md5(repo.id.encode()).hexdigest()[:24], "id": repo.id, "author": repo.owner,
                "sha": commit.oid, "private": repo.private, "gated": False, "disabled": False,
                "createdAt": repo.created, "lastModified": commit.date, "downloads": 0, "likes": 0, "tags": [],
                "siblings": siblings, "usedStorage": sum(b.size for b in commit.files.values()),
            })

    def branch_for_write(self, repo: Repo, rev: str) -> Commit:
        if rev not in repo.branches:
            if repo.resolve(rev) is not None:
                raise HubError(400, f"Invalid rev id: {rev} is not a branch: commits go to a branch")
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return repo.commits[repo.branches[rev]]

    def upload_mode(self, repo: Repo, commit: Commit, path: str, size: int, sample: bytes) -> str:
        if size > self.lfs_threshold:
            return "lfs"
        attributes = commit.files.get(".gitattributes")
        for line in (repo.content(attributes).decode("utf-8", "replace") if attributes else "").splitlines():
            pattern, _, attrs = line.strip().partition(" ")
            name = path.rsplit("/", 1)[-1]
            if "filter=lfs" in attrs.split() and (fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(name, pattern)):
                return "lfs"
        return "lfs" if b"\0" in sample else "regular"

    def preupload(self, request: Any, kind: str, key: tuple[str, str], rev: str) -> Any:
        if request.args.get("create_pr"):
            raise HubError(400, "this test Hub does not open pull requests")
        with self.lock:
            repo, _ = self.repo(request, kind, key, write=True)
            commit = self.branch_for_write(repo, rev)
            body = request.get_json(force=True)
            files = []
            for item in body.get("files", []):
                path, size = item["path"], int(item["size"])
                mode = self.upload_mode(repo, commit, path, size, base64.b64decode(item.get("sample", "")))
                remote = commit.files.get(path)
                oid = None if remote is None else (remote.sha256 if remote.lfs else remote.oid)
                files.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
            return _json({"files": files, "commitOid": commit.oid})

    def commit(self, request: Any, kind: str, key: tuple[str, str], rev: str) -> Any:
        if request.args.get("create_pr"):
            raise HubError(400, "this test Hub does not open pull requests")
        lines = [json.loads(line) for line in request.get_data().splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "the first line of a commit must be its header")
        header = lines[0]["value"]
        with self.lock:
            repo, user = self.repo(request, kind, key, write=True)
            head = self.branch_for_write(repo, rev)
            parent = header.get("parentCommit")
            if parent and parent != head.oid:
                raise HubError(412, f"A commit has happened since {parent} on {rev} (head is {head.oid}): refresh and retry")
            files = dict(head.files)
            for line in lines[1:]:
                op, value = line.get("key"), line.get("value") or {}
                path = str(value.get("path", "")).strip("/")
                if op == "file":
                    data = base64.b64decode(value["content"]) if value.get("encoding") == "base64" else value["content"].encode()
                    if len(data) > self.lfs_threshold:
                        raise HubError(400, f"{path}: files over {self.lfs_threshold} bytes must go through LFS")
                    files[path] = Blob(len(data), hashlib.sha256(data).hexdigest(), False, data)
                elif op == "lfsFile":
                    oid = value.get("oid")
                    if value.get("algo", "sha256") != "sha256" or oid not in repo.lfs:
                        raise HubError(422, f"{path}: LFS object {oid} was not uploaded to this repo")
                    if value.get("size") is not None and int(value["size"]) != len(repo.lfs[oid]):
                        raise HubError(422, f"{path}: LFS object {oid} has {len(repo.lfs[oid])} bytes, not {value['size']}")
                    files[path] = Blob(len(repo.lfs[oid]), oid, True)
                elif op == "deletedFile":
                    if files.pop(path, None) is None:
                        raise HubError(404, f"{path}: A file with this name doesn't exist", "EntryNotFound")
                elif op == "deletedFolder":
                    doomed = [p for p in files if p.startswith(path + "/")]
                    if not doomed:
                        raise HubError(404, f"{path}: A folder with this name doesn't exist", "EntryNotFound")
                    for p in doomed:
                        del files[p]
                else:
                    raise HubError(400, f"unknown commit operation {op!r}")
            summary = header.get("summary") or ""
            description = header.get("description") or ""
            message = summary + ("\n\n" + description if description else "")
            commit = Commit(self.new_oid(repo.id, head.oid, summary), head.oid, summary, message, user, now(), files)  # type: ignore[arg-type]
            repo.commits[commit.oid] = commit
            repo.branches[rev] = commit.oid
        return _json({"success": True, "commitOid": commit.oid, "commitUrl": f"{self.repo_url(repo)}/commit/{commit.oid}",
                      "commitMessage": message, "pullRequestUrl": None})

    def entries(self, repo: Repo, commit: Commit, paths: list[str], expand: bool) -> list[dict[str, Any]]:
        """Tree entries for these paths (files and folders) as the Hub lists them."""
        out = []
        for path in paths:
            if path in commit.files:
                entry = commit.files[path].describe(path)
                touched = [path]
            else:
                inside = sorted(p for p in commit.files if p.startswith(path + "/"))
                if not inside:
                    continue
                tree_id = hashlib.sha1("".join(f"{p}:{commit.files[p].oid}\n" for p in inside).encode()).hexdigest()
                entry = {"type": "directory", "oid": tree_id, "size": 0, "path": path}
                touched = inside
            if expand:
                last = max((repo.last_commit(commit, p) for p in touched), key=lambda c: len(repo.history(c)))
                entry["lastCommit"] = {"id": last.oid, "title": last.title, "date": last.date}
            out.append(entry)
        return out

    def tree(self, request: Any, kind: str, key: tuple[str, str], rev: str, path: str) -> Any:
        recursive = request.args.get("recursive", "").lower() in ("1", "true")
        expand = request.args.get("expand", "").lower() in ("1", "true")
        with self.lock:
            repo, _ = self.repo(request, kind, key)
            commit = self.commit_of(repo, rev)
            if path and (path in commit.files or not any(p.startswith(path + "/") for p in commit.files)):
                raise HubError(404, f"{path}: no such folder at {rev}", "EntryNotFound")
            base = path + "/" if path else ""
            names: set[str] = set()
            for p in commit.files:
                if not p.startswith(base):
                    continue
                parts = p[len(base):].split("/")
                depth = len(parts) if recursive else 1
                for i in range(1, depth + 1):
                    names.add(base + "/".join(parts[:i]))
            listed = self.entries(repo, commit, sorted(names), expand)
            listed.sort(key=lambda e: (e["type"] != "directory", e["path"]) if not recursive else e["path"])
            return _json(listed)

    def paths_info(self, request: Any, kind: str, key: tuple[str, str], rev: str) -> Any:
        if request.mimetype == "application/json":
            body = request.get_json(force=True)
            paths, expand = body.get("paths", []), bool(body.get("expand"))
        else:
            paths, expand = request.form.getlist("paths"), request.form.get("expand", "").lower() in ("1", "true")
        with self.lock:
            repo, _ = self.repo(request, kind, key)
            commit = self.commit_of(repo, rev)
            return _json(self.entries(repo, commit, [p.strip("/") for p in paths], expand))

    def list_commits(self, request: Any, kind: str, key: tuple[str, str], rev: str) -> Any:
        with self.lock:
            repo, _ = self.repo(request, kind, key)
            commit = self.commit_of(repo, rev)
            return _json([
                {"id": c.oid, "title": c.title, "message": c.message, "date": c.date, "authors": [{"user": c.author}],
                 "parents": [c.parent] if c.parent else []}
                for c in repo.history(commit)
            ])

    def refs(self, request: Any, kind: str, key: tuple[str, str]) -> Any:
        with self.lock:
            repo, _ = self.repo(request, kind, key)
            branches = [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": oid} for n, oid in sorted(repo.branches.items())]
            return _json({"branches": branches, "converts": [], "tags": [], "pullRequests": []})

    def branch(self, request: Any, kind: str, key: tuple[str, str], name: str) -> Any:
        with self.lock:
            repo, _ = self.repo(request, kind, key, write=True)
            if request.method == "DELETE":
                if name not in repo.branches or name == "main":
                    raise HubError(404 if name not in repo.branches else 403, f"cannot delete branch {name}")
                del repo.branches[name]
                return _json({})
            if name in repo.branches:
                raise HubError(409, f"Reference refs/heads/{name} already exists")
            body = request.get_json(force=True, silent=True) or {}
            start = self.commit_of(repo, body.get("startingPoint") or "main")
            repo.branches[name] = start.oid
            return _json({})

    # -- Git LFS ------------------------------------------------------------------
    def lfs_batch(self, request: Any, kind: str, key: tuple[str, str]) -> Any:
        body = request.get_json(force=True)
        operation = body.get("operation")
        with self.lock:
            repo, _ = self.repo(request, kind, key, write=operation == "upload")
            transfers = body.get("transfers") or ["basic"]
            multipart_ok = "multipart" in transfers
            objects = []
            for obj in body.get("objects", []):
                oid, size = obj.get("oid"), obj.get("size")
                item: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
                if not isinstance(oid, str) or len(oid) != 64 or not isinstance(size, int) or size < 0:
                    item["error"] = {"code": 422, "message": "oid must be a sha256 and size an integer"}
                elif operation == "download":
                    if oid in repo.lfs:
                        item["actions"] = {"download": {"href": f"{self.endpoint}/lfs/{self.ticket(repo, oid, size)}"}}
                    else:
                        item["error"] = {"code": 404, "message": "Object does not exist"}
                elif oid not in repo.lfs:  # stored objects get no actions: nothing to upload
                    ticket = self.ticket(repo, oid, size)
                    href = f"{self.endpoint}/lfs/{ticket}"
                    upload: dict[str, Any] = {"href": href}
                    if multipart_ok and size > self.lfs_chunk_size:
                        parts = math.ceil(size / self.lfs_chunk_size)
                        upload["header"] = {"chunk_size": str(self.lfs_chunk_size),
                                            **{str(n): f"{href}/{n}" for n in range(1, parts + 1)}}
                    verify_href = f"{self.endpoint}/{PREFIX[repo.type]}{repo.id}.git/info/lfs/objects/verify"
                    item["actions"] = {"upload": upload, "verify": {"href": verify_href}}
                objects.append(item)
            chosen = "multipart" if multipart_ok else "basic"
            return _json({"transfer": chosen, "objects": objects, "hash_algo": "sha256"},
                         content_type="application/vnd.git-lfs+json")

    def ticket(self, repo: Repo, oid: str, size: int) -> str:
        ticket = secrets.token_urlsafe(16)
        self.tickets[ticket] = {"repo": (repo.type, repo.owner, repo.name), "oid": oid, "size": size, "parts": {}}
        return ticket

    def _ticket(self, ticket: str) -> dict[str, Any]:
        found = self.tickets.get(ticket)
        if found is None:
            raise HubError(403, "unknown or expired upload URL")
        return found

    def store(self, found: dict[str, Any], data: bytes) -> None:
        if len(data) != found["size"] or hashlib.sha256(data).hexdigest() != found["oid"]:
            raise HubError(400, f"the bytes do not match the LFS object {found['oid']} ({found['size']} bytes): "
                                f"got {len(data)} bytes with sha256 {hashlib.sha256(data).hexdigest()}")
        repo = self.repos.get(found["repo"])
        if repo is None:
            raise not_found()
        repo.lfs[found["oid"]] = data

    def lfs_put(self, request: Any, seg: list[str]) -> Any:
        from werkzeug.wrappers import Response

        data = request.get_data()
        with self.lock:
            found = self._ticket(seg[0])
            if len(seg) == 1:
                self.store(found, data)
                self.tickets.pop(seg[0], None)
                return Response(b"", 200)
            part = int(seg[1])
            found["parts"][part] = data
            response = Response(b"", 200)
            response.headers["ETag"] = f'"{hashlib.md5(data).hexdigest()}"'
            return response

    def lfs_complete(self, request: Any, ticket: str) -> Any:
        body = request.get_json(force=True)
        with self.lock:
            found = self._ticket(ticket)
            if body.get("oid") != found["oid"]:
                raise HubError(400, "the completion names another object")
            chunks = []
            for n, part in enumerate(body.get("parts", []), 1):
                data = found["parts"].get(part.get("partNumber"))
                etag = str(part.get("etag", "")).strip('"')
                if part.get("partNumber") != n or data is None or etag != hashlib.md5(data).hexdigest():
                    raise HubError(400, f"part {n} is missing or its ETag does not match")
                chunks.append(data)
            self.store(found, b"".join(chunks))
            self.tickets.pop(ticket, None)
            return _json({"oid": found["oid"], "size": found["size"]})

    def lfs_verify(self, request: Any, kind: str, key: tuple[str, str]) -> Any:
        body = request.get_json(force=True)
        with self.lock:
            repo, _ = self.repo(request, kind, key, write=True)
            data = repo.lfs.get(body.get("oid"))
            if data is None or len(data) != body.get("size"):
                raise HubError(404, f"LFS object {body.get('oid')} ({body.get('size')} bytes) is not stored")
            return _json({"message": "Object verified"})

    # -- downloads --------------------------------------------------------------------
    def resolve(self, request: Any, kind: str, key: tuple[str, str], rev: str, path: str) -> Any:
        from werkzeug.wrappers import Response

        with self.lock:
            repo, _ = self.repo(request, kind, key)
            commit = self.commit_of(repo, rev)
            blob = commit.files.get(path)
            if blob is None:
                raise HubError(404, f"{path}: Entry not found", "EntryNotFound", {"X-Repo-Commit": commit.oid})
            data = repo.content(blob)
        etag = blob.sha256 if blob.lfs else blob.oid
        status, body, headers = 200, data, {"X-Repo-Commit": commit.oid, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
        if blob.lfs:
            headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(blob.size)})
        ranged = request.headers.get("Range", "")
        if ranged.startswith("bytes=") and "," not in ranged:
            first, _, last = ranged[6:].partition("-")
            if first == "":
                start, end = max(0, len(data) - int(last)), len(data) - 1
            else:
                start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
            if start >= len(data) and len(data) > 0:
                raise HubError(416, "Range Not Satisfiable", headers={"Content-Range": f"bytes */{len(data)}"})
            status, body = 206, data[start:end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        response = Response(body, status, content_type="application/octet-stream")
        for k, v in headers.items():
            response.headers[k] = v
        return response


def _json(value: Any, status: int = 200, content_type: str = "application/json") -> Any:
    from werkzeug.wrappers import Response

    return Response(json.dumps(value).encode(), status, content_type=content_type)


@dataclass
class HubServer:
    """The running server: its endpoint, its state, and the calls it answered."""

    port: int
    app: HubApp
    server: Any = None
    thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def calls(self) -> list[str]:
        return self.app.calls

    def env(self, token: str = "hf_test_alice") -> dict[str, str]:
        return {"HF_ENDPOINT": self.endpoint, "HF_TOKEN": token, "HF_HUB_DISABLE_XET": "1",
                "HF_HUB_DISABLE_TELEMETRY": "1"}

    def repo(self, repo_id: str, kind: str = "dataset") -> Repo | None:
        owner, name = repo_id.split("/")
        return self.app.repos.get((kind, owner, name))

    def start(self) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log(self, type: str, message: str, *args: Any) -> None:  # calls are kept in HubServer.calls
                pass

        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True, request_handler=Quiet)
        self.thread = threading.Thread(target=self.server.serve_forever, name="hub-test-server", daemon=True)
        self.thread.start()
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def start_hub(
    tokens: dict[str, str] | None = None,
    lfs_threshold: int = 10 * MB,
    lfs_chunk_size: int = 8 * MB,
    allow_anonymous_reads: bool = False,
) -> HubServer:
    """Start the server on a free loopback port, in a background thread."""
    app = HubApp(tokens or DEFAULT_TOKENS, lfs_threshold, lfs_chunk_size, allow_anonymous_reads)
    server = HubServer(free_port(), app)
    app.endpoint = server.endpoint
    server.start()
    return server


if __name__ == "__main__":  # `cd tests && python -m servers.hub`: a Hub to try pushes against by hand
    import time

    hub = start_hub()
    print(" ".join(f"{k}={v}" for k, v in hub.env().items()), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        hub.stop()
