"""FILE_STORAGE: the results ``labelport serve`` keeps and serves itself.

An export delivered to file storage gets a folder
``LABELPORT_HOME/serve/files/<token>/`` holding the result only; what the
service knows of it (its job, its name, when it expires) is kept apart, in
``LABELPORT_HOME/serve/meta/<token>.json``, where no result name can reach
it. The token is random (32 URL-safe characters), so the URL
``{base}/files/<token>/<name>`` is the capability, like a presigned URL: no
bearer token is needed to download. Folders are 0700 and files 0600.

``GET`` (and ``HEAD``) of that URL answers 404 until the job is DELIVERED and
the file is there (the Export API's "404 until it is uploaded"), then the
file, with ``Range`` requests answered 206; after the expiry (6 h by default,
``--file-expiry``) the file is deleted and the URL answers 410 Gone. The
folders of expired files are removed a day later.

That is :class:`LocalFileStorage`, the default; ``serve --file-storage
s3://…`` keeps the same layout and behaviour in object storage instead
(:mod:`.object_files`), for several replicas. Both are a :class:`FileStorage`.
"""

from __future__ import annotations

import re
import secrets
import shutil
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import quote

import orjson

from ..guards.private import private_file, private_folder

DEFAULT_FILE_EXPIRY = 6 * 3600
#: How long the folder of an expired file is kept, so its URL answers 410.
KEEP_EXPIRED = 24 * 3600
SWEEP_EVERY = 60.0

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")

MISSING, PENDING, EXPIRED, READY = "missing", "pending", "expired", "ready"


def iso(epoch: float) -> str:
    """ISO 8601 in UTC with milliseconds, like the jobs' timestamps."""
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class StoredFile:
    token: str
    name: str
    job_id: str
    expires: float  # epoch seconds
    folder: str  # where the job delivers the file: a folder, or the URL of files/<token> in object storage
    size: int | None = None  # the file's size, once found READY

    @property
    def path(self) -> Path:
        """The file, in a local storage."""
        return Path(self.folder) / self.name

    @property
    def expires_at(self) -> str:
        return iso(self.expires)

    def url(self, base: str) -> str:
        return f"{base.rstrip('/')}/files/{self.token}/{quote(self.name)}"


class FileStorage(ABC):
    """The bookkeeping every file storage shares (tokens, expiry, the sweep);
    a storage says where a token's metadata and file are kept."""

    def __init__(self, expiry: float, ready: Callable[[str], bool]):
        self.expiry = expiry
        self.ready = ready  # whether the job that writes a file has not FAILED (service.exporter)
        self._last_sweep = 0.0
        self._lock = threading.Lock()

    # -- where things are kept ------------------------------------------------------------
    @abstractmethod
    def folder(self, token: str) -> str:
        """Where the job of ``token`` delivers its file (made ready for it)."""

    @abstractmethod
    def write_meta(self, token: str, data: bytes) -> None: ...

    @abstractmethod
    def read_meta(self, token: str) -> bytes | None: ...

    @abstractmethod
    def meta_tokens(self) -> Iterator[str]: ...

    @abstractmethod
    def remove_meta(self, token: str) -> None: ...

    @abstractmethod
    def file_size(self, stored: StoredFile) -> int | None:
        """The size of the delivered file, or None while it is not there."""

    @abstractmethod
    def remove_file(self, stored: StoredFile) -> None:
        """Delete the file (its URL then answers 410 from the metadata)."""

    # -- shared ---------------------------------------------------------------------------
    def create(self, job_id: str, name: str) -> StoredFile:
        """Reserve a URL for the result ``name`` that job ``job_id`` will write."""
        self.sweep()
        token = secrets.token_urlsafe(24)
        expires = time.time() + self.expiry
        meta = {"job": job_id, "name": name, "expires": expires, "expiresAt": iso(expires)}
        self.write_meta(token, orjson.dumps(meta))
        return StoredFile(token, name, job_id, expires, self.folder(token))

    def get(self, token: str) -> StoredFile | None:
        if not _TOKEN.match(token):
            return None
        try:
            meta = orjson.loads(self.read_meta(token) or b"")
            return StoredFile(token, meta["name"], meta["job"], float(meta["expires"]), self.folder_of(token))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None

    def folder_of(self, token: str) -> str:
        """Where ``token``'s file is, without making anything."""
        return self.folder(token)

    def lookup(self, token: str, name: str) -> tuple[str, StoredFile | None]:
        """(MISSING | PENDING | EXPIRED | READY, the file; its size once READY)."""
        self.sweep()
        stored = self.get(token)
        if stored is None or stored.name != name:
            return MISSING, None
        if time.time() >= stored.expires:
            self.remove_file(stored)
            return EXPIRED, stored
        size = self.file_size(stored)
        if size is None or not self.ready(stored.job_id):
            return PENDING, stored
        return READY, replace(stored, size=size)

    def sweep(self, force: bool = False) -> None:
        """Delete expired files (at most once a minute unless forced). Safe
        with several processes sweeping the same storage: removing what
        another removed already is no error."""
        now = time.time()
        with self._lock:
            if not force and now - self._last_sweep < SWEEP_EVERY:
                return
            self._last_sweep = now
        for token in list(self.meta_tokens()):
            stored = self.get(token)
            if stored is None or now < stored.expires:
                continue
            self.remove_file(stored)
            if now >= stored.expires + KEEP_EXPIRED:
                self.remove_meta(token)


class LocalFileStorage(FileStorage):
    """Results under ``root/files/<token>/``, their bookkeeping under ``root/meta/``."""

    def __init__(self, root: str | Path, expiry: float = DEFAULT_FILE_EXPIRY,
                 ready: Callable[[str], bool] = lambda job_id: True):
        super().__init__(expiry, ready)
        self.files = private_folder(Path(root) / "files")
        self.meta = private_folder(Path(root) / "meta")

    def folder(self, token: str) -> str:
        return str(private_folder(self.files / token))

    def folder_of(self, token: str) -> str:
        return str(self.files / token)

    def write_meta(self, token: str, data: bytes) -> None:
        private_file(self.meta / f"{token}.json", data, exclusive=True)

    def read_meta(self, token: str) -> bytes | None:
        try:
            return (self.meta / f"{token}.json").read_bytes()
        except OSError:
            return None

    def meta_tokens(self) -> Iterator[str]:
        return (meta.stem for meta in self.meta.glob("*.json"))

    def remove_meta(self, token: str) -> None:
        (self.meta / f"{token}.json").unlink(missing_ok=True)

    def file_size(self, stored: StoredFile) -> int | None:
        return stored.path.stat().st_size if stored.path.is_file() else None

    def remove_file(self, stored: StoredFile) -> None:
        shutil.rmtree(stored.folder, ignore_errors=True)
