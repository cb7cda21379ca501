"""A Hugging Face Hub dataset repo (``hf://datasets/owner/name[@revision]``) through huggingface_hub.

Endpoint and token come from the SDK's own chain: HF_ENDPOINT (a mirror, a
private Hub, the test server) and HF_TOKEN (else the token ``hf auth login``
stored). The repo is created if missing (private with ``--private``), the
branch if the revision is not ``main`` and does not exist yet.

The Hub is commit-based, so this destination replaces the shared per-file
push: the whole folder goes up as ONE commit (``create_commit``; large and
binary files through Git LFS, or Xet where the SDK and the Hub use it). The
remote tree is compared with the local files first, by the Hub's own object
ids (the git blob sha1 of a regular file, the sha256 of an LFS file), and only
the files that differ go into the commit, so pushing the same files again
makes no commit at all. Files under the folders the push writes into (say
``data/``) that the folder no longer has are deleted in the same commit, so a
re-split never leaves an old shard for ``load_dataset`` to pick up; files
elsewhere in the repo are left alone. After the commit, each new file's size
and object id on the Hub are checked against the bytes sent.

:func:`labelport.delivery.push` hands over the data files first and the
report (which lists them) second. When the folder has a report, the data
files are staged (their LFS bytes uploaded, nothing committed) and the
commit is made with the report, so data and report land together. The
commit is made against the head seen at the start (``parent_commit``): a
concurrent commit to the branch fails the push instead of mixing two pushes.
"""

from __future__ import annotations

import hashlib
import os
import re
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, Iterator
from urllib.parse import quote

import orjson

from ..._version import __version__
from ...errors import DeliveryError, LabelportError, UsageError, missing_extra
from ...guards.output import REPORT_NAME
from .base import Delivered, DeliveryOptions, LocalFile, Remote
from .base import Destination as BaseDestination

DEFAULT_REVISION = "main"
USAGE = "use hf://datasets/owner/name or hf://datasets/owner/name@revision"
#: Where the SDK's connection errors come from (httpx in huggingface_hub 1.x and
#: later, requests before).
NETWORK_MODULES = ("httpx", "httpx2", "httpcore", "requests", "urllib3")


def _sdk() -> Any:
    try:
        import huggingface_hub  # (extra: labelport[hf]; a missing SDK is named by missing_extra below)
        import huggingface_hub.hf_api
        import huggingface_hub.utils
    except ImportError:
        raise missing_extra("huggingface_hub", "hf", "writing to hf://") from None
    return huggingface_hub


def parse(url: str) -> tuple[str, str | None]:
    """``hf://datasets/owner/name[@revision]`` -> (``owner/name``, revision or None)."""
    rest = url.split("://", 1)[1].strip("/")
    kind, _, repo = rest.partition("/")
    if kind != "datasets":
        raise UsageError(f"{url}: only dataset repos take deliveries: {USAGE}")
    repo, _, revision = repo.partition("@")
    parts = repo.split("/")
    if len(parts) != 2 or not all(parts):
        raise UsageError(f"{url}: name the repo as owner/name: {USAGE}")
    return repo, revision or None


def git_blob_sha1(file: LocalFile) -> str:
    """The git object id of the file's bytes (the Hub's oid of a regular file)."""
    digest = hashlib.sha1(b"blob %d\0" % file.size)
    with file.open() as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def remote_oid(entry: Any) -> str:
    """The oid the Hub compares: the sha256 of an LFS file, else the git blob id."""
    return entry.lfs.sha256 if getattr(entry, "lfs", None) else entry.blob_id


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:400]


#: What a Hub token looks like (user tokens "hf_…", legacy "api_org_…"); case matters, so the
#: names of environment variables (HF_TOKEN, HF_ENDPOINT) stay readable in advice.
_TOKEN = re.compile(r"\b(hf_|api_org_)[A-Za-z0-9_]+|(?i:bearer\s+)\S+")


def delivery_error(what: str, exc: BaseException | None = None) -> DeliveryError:
    """One line: labelport's own words as they are, the SDK's with any token cut out."""
    detail = _TOKEN.sub("***", one_line(exc)) if exc is not None else ""
    return DeliveryError(f"{what}: {detail}" if detail else what)


class _Quiet:
    def advance(self, n: int) -> None:
        pass


class Destination(BaseDestination):
    scheme = "hf"

    def __init__(self, url: str, options: DeliveryOptions):
        super().__init__(url, options)
        self.repo_id, url_revision = parse(url)
        self.revision = options.revision or url_revision or DEFAULT_REVISION
        self.name = f"hf://datasets/{self.repo_id}"
        self.hub = _sdk()
        self.api = self.hub.HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None,
                                  token=os.environ.get("HF_TOKEN") or None)
        self.endpoint = self.api.endpoint.rstrip("/")
        self._head: str | None = None  # the branch's commit when this push began
        self._remote: dict[str, Any] | None = None  # path -> RepoFile at that commit
        self._staged: list[tuple[LocalFile, Any]] = []  # (file, CommitOperationAdd) waiting for the commit
        self._kept: set[str] = set()  # paths of the folder already on the Hub unchanged
        self._root: Path | None = None  # the local folder the files come from

    # -- names ----------------------------------------------------------------------
    def uri(self, rel: str) -> str:
        return f"hf://datasets/{self.repo_id}@{quote(self.revision, safe='')}/{rel}"

    def link(self, rel: str, expires: int = 7 * 24 * 3600) -> str:
        return f"{self.endpoint}/datasets/{self.repo_id}/resolve/{quote(self.revision, safe='')}/{quote(rel)}"

    # -- errors -------------------------------------------------------------------------
    def _fail(self, what: str, exc: BaseException) -> LabelportError:
        if isinstance(exc, LabelportError):
            return exc
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        if status == 401:
            return delivery_error("hf: the token is missing or invalid (set HF_TOKEN)")
        if status == 403:
            return delivery_error(f"{self.name}: not allowed: {self._whose()}")
        if status == 412:
            return delivery_error(
                f"{self.name}@{self.revision}: someone else committed to the branch during the push; push again")
        if isinstance(exc, getattr(self.hub.utils, "OfflineModeIsEnabled", ())):
            return delivery_error("hf: HF_HUB_OFFLINE is set: unset it to push")
        if isinstance(exc, self.hub.utils.RevisionNotFoundError):
            return delivery_error(f"{self.name}: no revision {self.revision!r}")
        if isinstance(exc, self.hub.utils.RepositoryNotFoundError):
            return delivery_error(f"{self.name}: the repo does not exist or the token cannot see it")
        if status is None and (isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in NETWORK_MODULES):
            return delivery_error(f"hf: cannot reach {self.endpoint} (HF_ENDPOINT)", exc)
        return delivery_error(what, exc)

    def _whose(self) -> str:
        """Why a 403: the repo is someone else's, or the token cannot write."""
        owner = self.repo_id.split("/")[0]
        try:
            me = self.api.whoami()
            mine = {me.get("name")} | {org.get("name") for org in me.get("orgs", [])}
        except Exception:
            mine = set()
        if mine and owner in mine:
            return "the token cannot write to this repo (it needs the write role)"
        return "the repo belongs to someone else"

    # -- the repo ---------------------------------------------------------------------
    def preflight(self, folder: Path | None = None) -> None:
        """What the SDK tells offline: whether it may go online at all, and
        whether it has a token (HF_TOKEN, else the one ``hf auth login`` stored)."""
        if self.hub.constants.HF_HUB_OFFLINE:
            raise delivery_error("hf: HF_HUB_OFFLINE is set: unset it to push")
        if not (self.api.token or self.hub.get_token()):
            raise delivery_error("hf: no token: set HF_TOKEN, or sign in with `hf auth login`")

    def prepare(self) -> None:
        """Create the repo and the branch if needed; note the head and its files."""
        if self._head is not None:
            return
        api, utils = self.api, self.hub.utils
        try:
            # Look before creating: an existing repo costs one call, and create_repo(exist_ok=True) on a repo
            # the token cannot create (someone else's) builds its URL from the endpoint of import time.
            info, created = None, False
            try:
                info = api.repo_info(self.repo_id, repo_type="dataset", revision=self.revision)
            except utils.RevisionNotFoundError:
                pass
            except utils.RepositoryNotFoundError:
                api.create_repo(self.repo_id, repo_type="dataset", exist_ok=True, private=self.options.private or None)
                created = True
            if info is None:
                try:
                    info = api.repo_info(self.repo_id, repo_type="dataset", revision=self.revision)
                except utils.RevisionNotFoundError:
                    if self.revision == DEFAULT_REVISION or self.revision.startswith("refs/"):
                        raise
                    api.create_branch(self.repo_id, branch=self.revision, repo_type="dataset", exist_ok=True)
                    info = api.repo_info(self.repo_id, repo_type="dataset", revision=self.revision)
            if self.options.private and not created and info.private is False:
                raise delivery_error(
                    f"{self.name}: the repo exists and is public; --private applies only when the repo is created "
                    "(make it private on the Hub first, or push without --private)"
                )
            self._head = info.sha
            self._remote = {
                entry.path: entry
                for entry in api.list_repo_tree(self.repo_id, repo_type="dataset", revision=self._head, recursive=True)
                if isinstance(entry, self.hub.hf_api.RepoFile)
            }
        except Exception as exc:
            raise self._fail(f"{self.name}: cannot open the repo", exc) from None

    # -- delivering ---------------------------------------------------------------------
    def push(self, files: list[LocalFile], progress: Any) -> list[Delivered]:
        return self._push(files, progress, commit=not self._report_follows(files))

    def _push(self, files: list[LocalFile], progress: Any, commit: bool) -> list[Delivered]:
        self.prepare()
        assert self._remote is not None
        if files:
            first = files[0]
            self._root = first.path.parents[len(PurePosixPath(first.rel).parts) - 1]
        delivered, changed = [], []
        for file in files:
            entry = self._remote.get(file.rel)
            if entry is not None and entry.size == file.size:
                oid = file.sha256 if entry.lfs else git_blob_sha1(file)
                if remote_oid(entry) == oid:
                    self._kept.add(file.rel)
                    progress.advance(file.size)
                    delivered.append(
                        Delivered(file.rel, self.uri(file.rel), file.size, file.sha256, {"oid": oid}, uploaded=False))
                    continue
            changed.append(file)
        operations = self._stage(changed)
        for file, op in operations:
            progress.advance(file.size)
            oid = self._local_oid(file, op)
            delivered.append(Delivered(file.rel, self.uri(file.rel), file.size, file.sha256, {"oid": oid}))
        self._staged += operations
        if commit:
            self._commit()
        order = {f.rel: i for i, f in enumerate(files)}
        return sorted(delivered, key=lambda d: order[d.rel])

    def _stage(self, files: list[LocalFile]) -> list[tuple[LocalFile, Any]]:
        """Ask the Hub how each file goes up and upload the LFS ones (no commit yet)."""
        if not files:
            return []
        add = self.hub.CommitOperationAdd
        ops = [(f, add(path_in_repo=f.rel, path_or_fileobj=f.data if f.data is not None else str(f.path))) for f in files]
        with self._quiet_sdk():
            try:
                self.api.preupload_lfs_files(
                    self.repo_id, [op for _, op in ops], repo_type="dataset", revision=self.revision,
                    num_threads=max(1, self.options.concurrency), free_memory=False,
                )
            except Exception as exc:
                raise self._fail(f"{self.name}: upload failed", exc) from None
        return ops

    @staticmethod
    def _local_oid(file: LocalFile, op: Any) -> str:
        # The upload mode the Hub chose (preupload); "lfs" files are named by sha256.
        return file.sha256 if getattr(op, "_upload_mode", None) == "lfs" else git_blob_sha1(file)

    @staticmethod
    def _report_follows(files: list[LocalFile]) -> bool:
        """delivery.push sends the report in a second call: wait for it to commit."""
        if not files or any(f.rel == REPORT_NAME for f in files):
            return False
        first = files[0]
        return (first.path.parents[len(PurePosixPath(first.rel).parts) - 1] / REPORT_NAME).is_file()

    def _stale(self, ours: set[str]) -> list[str]:
        """Remote files in the folders this push writes that the local folder no longer has.

        Only when the push carries the whole folder: a push of some of its
        files deletes nothing.
        """
        assert self._remote is not None
        if self._root is None:
            return []
        local = {p.relative_to(self._root).as_posix() for p in self._root.rglob("*") if p.is_file()}
        if not local <= ours:
            return []
        folders = {rel.split("/", 1)[0] for rel in ours if "/" in rel}
        return sorted(p for p in self._remote if "/" in p and p.split("/", 1)[0] in folders and p not in ours)

    def _commit(self) -> None:
        staged, self._staged = self._staged, []
        assert self._remote is not None
        stale = self._stale({f.rel for f, _ in staged} | self._kept)
        if not staged and not stale:
            return  # nothing changed: no commit
        operations = [op for _, op in staged] + [self.hub.CommitOperationDelete(path_in_repo=p) for p in stale]
        with self._quiet_sdk():
            try:
                info = self.api.create_commit(
                    self.repo_id, operations, commit_message=self.commit_message(), repo_type="dataset",
                    revision=self.revision, parent_commit=self._head, num_threads=max(1, self.options.concurrency),
                )
            except Exception as exc:
                raise self._fail(f"{self.name}@{self.revision}: the commit failed", exc) from None
        self._remote.update(self._check(staged, info.oid))
        for path in stale:
            self._remote.pop(path, None)
        self._head = info.oid
        self._kept.update(f.rel for f, _ in staged)

    def _check(self, staged: list[tuple[LocalFile, Any]], commit: str) -> dict[str, Any]:
        """Each committed file's size and oid on the Hub against the bytes sent."""
        if not staged:
            return {}
        try:
            paths = [f.rel for f, _ in staged]
            found = {e.path: e for e in self.api.get_paths_info(self.repo_id, paths, repo_type="dataset", revision=commit)}
        except Exception as exc:
            raise self._fail(f"{self.name}: cannot check the commit {commit}", exc) from None
        for file, op in staged:
            entry = found.get(file.rel)
            expected = self._local_oid(file, op)
            if entry is None or entry.size != file.size or remote_oid(entry) != expected:
                got = "nothing" if entry is None else f"{entry.size} bytes, oid {remote_oid(entry)}"
                raise delivery_error(
                    f"{self.uri(file.rel)}: checksum mismatch after the commit {commit} (the Hub has {got}, "
                    f"expected {file.size} bytes, oid {expected})"
                )
        return found

    def commit_message(self) -> str:
        if self.options.commit_message:
            return self.options.commit_message
        source = fmt = None
        if self._root is not None:
            try:
                content = orjson.loads((self._root / REPORT_NAME).read_bytes())
                source, fmt = content.get("source"), content.get("format")
            except (OSError, ValueError, AttributeError):
                pass
        if source and "://" not in source:
            source = Path(source).name  # a local path: its name, not the machine's folders
        if source and fmt:
            return f"labelport {__version__}: {source} -> {fmt}"
        return f"labelport {__version__}: upload" + (f" {fmt}" if fmt else "")

    @contextmanager
    def _quiet_sdk(self) -> Iterator[None]:
        """huggingface_hub's own tqdm bars off while it works: labelport shows its own."""
        utils = self.hub.utils
        # HF_HUB_DISABLE_PROGRESS_BARS is the user's choice and stands.
        switch = os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS") is None and not utils.are_progress_bars_disabled()
        if switch:
            utils.disable_progress_bars()
        try:
            yield
        finally:
            if switch:
                utils.enable_progress_bars()

    # -- the per-file interface (one file, one commit) ---------------------------------
    def stat(self, rel: str) -> Remote | None:
        try:
            found = self.api.get_paths_info(self.repo_id, [rel], repo_type="dataset", revision=self.revision)
        except Exception as exc:
            raise self._fail(f"{self.uri(rel)}: cannot read", exc) from None
        entry = next((e for e in found if isinstance(e, self.hub.hf_api.RepoFile)), None)
        if entry is None:
            return None
        return Remote(entry.size, entry.lfs.sha256 if entry.lfs else None, {"oid": remote_oid(entry)})

    def upload(self, file: LocalFile) -> Remote:
        self._push([file], _Quiet(), commit=True)
        remote = self.stat(file.rel)
        if remote is None:
            raise delivery_error(f"{self.uri(file.rel)}: committed but not found afterwards")
        return remote

    def verify(self, file: LocalFile, remote: Remote) -> dict[str, str]:
        oid = remote.checksums.get("oid")
        if remote.size != file.size or oid not in (file.sha256, git_blob_sha1(file)):
            raise delivery_error(f"{self.uri(file.rel)}: checksum mismatch (the Hub has oid {oid}, {remote.size} bytes)")
        return {"oid": oid}  # type: ignore[dict-item]
