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
"""

from __future__ import annotations

import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
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
    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / self.name

    @property
    def expires_at(self) -> str:
        return iso(self.expires)

    def url(self, base: str) -> str:
        return f"{base.rstrip('/')}/files/{self.token}/{quote(self.name)}"


class FileStorage:
    """Results under ``root/files/<token>/``, their bookkeeping under ``root/meta/``."""

    def __init__(self, root: str | Path, expiry: float = DEFAULT_FILE_EXPIRY,
                 ready: Callable[[str], bool] = lambda job_id: True):
        self.files = private_folder(Path(root) / "files")
        self.meta = private_folder(Path(root) / "meta")
        self.expiry = expiry
        self.ready = ready  # whether the job that writes a file has DELIVERED
        self._last_sweep = 0.0
        self._lock = threading.Lock()

    def create(self, job_id: str, name: str) -> StoredFile:
        """Reserve a URL for the result ``name`` that job ``job_id`` will write."""
        self.sweep()
        token = secrets.token_urlsafe(24)
        stored = StoredFile(token, name, job_id, time.time() + self.expiry, self.files / token)
        meta = {"job": job_id, "name": name, "expires": stored.expires, "expiresAt": stored.expires_at}
        private_file(self.meta / f"{token}.json", orjson.dumps(meta), exclusive=True)
        private_folder(stored.folder)
        return stored

    def get(self, token: str) -> StoredFile | None:
        if not _TOKEN.match(token):
            return None
        try:
            meta = orjson.loads((self.meta / f"{token}.json").read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        return StoredFile(token, meta["name"], meta["job"], float(meta["expires"]), self.files / token)

    def lookup(self, token: str, name: str) -> tuple[str, StoredFile | None]:
        """(MISSING | PENDING | EXPIRED | READY, the file)."""
        self.sweep()
        stored = self.get(token)
        if stored is None or stored.name != name:
            return MISSING, None
        if time.time() >= stored.expires:
            stored.path.unlink(missing_ok=True)
            return EXPIRED, stored
        if not stored.path.is_file() or not self.ready(stored.job_id):
            return PENDING, stored
        return READY, stored

    def sweep(self, force: bool = False) -> None:
        """Delete expired files (at most once a minute unless forced)."""
        now = time.time()
        with self._lock:
            if not force and now - self._last_sweep < SWEEP_EVERY:
                return
            self._last_sweep = now
        for meta in self.meta.glob("*.json"):
            stored = self.get(meta.stem)
            if stored is None or now < stored.expires:
                continue
            shutil.rmtree(stored.folder, ignore_errors=True)  # the file; its URL answers 410 from the meta
            if now >= stored.expires + KEEP_EXPIRED:
                meta.unlink(missing_ok=True)
