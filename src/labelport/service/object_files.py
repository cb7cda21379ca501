"""FILE_STORAGE in object storage: ``labelport serve --file-storage s3://BUCKET/PREFIX`` (or ``gs://``, ``az://``).

The layout and behaviour of :class:`.files.LocalFileStorage`, under PREFIX
in a bucket every ``serve`` replica and every ``labelport worker`` reaches:

``files/<token>/<name>``
    the result, uploaded by whichever process runs the job: the job's spec
    carries the URL of ``files/<token>`` (``FileStorageTarget.folder``), so
    a worker needs no flag, only the bucket's credentials.
``meta/<token>.json``
    what the service knows of it (job, name, expiry), written by the replica
    that answered the request and read by any. No result reaches it: a result
    name is one path segment (``check_file_name`` refuses ``/`` and ``\\``)
    inside ``files/<token>/``, and a token matches ``[A-Za-z0-9_-]``.

Keeping the metadata beside the result rather than in the broker's Redis: it
works with or without ``--broker`` (one service then keeps no result on
its own disk), it lives and dies with the file it describes, and the sweep
lists it where the files are.

The file is served through the replica, not redirected to a presigned URL:
the URL keeps every behaviour of the local storage (404 until ready, 410
once expired, ``HEAD``, ``Range`` answered 206) for clients that do not
follow redirects, the bucket stays private with no route from the clients,
and no signing credential is needed (GCS user credentials and Azure SAS
connection strings cannot sign). The cost is the result's bytes passing
through the replica.

Several replicas sweep the same bucket: each deletes what has expired, and
deleting what another deleted already is no error. A metadata object never
changes once written, so each replica keeps those it read (a few hundred
bytes each) until the sweep no longer lists them: a download then costs one
request for the file's size before its bytes, and a sweep one listing plus
one read per new file.

The SDK work is the destinations' (:mod:`labelport.delivery.destinations`):
their credentials and endpoints from the environment, as ``export --to`` uses them.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterator

from ..delivery.destinations import open_destination, scheme_of
from ..delivery.destinations.base import BucketDestination
from ..errors import DeliveryError, UsageError
from .files import FileStorage, StoredFile

SCHEMES = ("s3", "gs", "az")
FILES, META = "files", "meta"


class ObjectFileStorage(FileStorage):
    """Results and their metadata under ``url``; UsageError (exit 2, before
    anything starts) for another scheme, a missing SDK, no credentials, or a
    bucket that does not exist or cannot be reached."""

    def __init__(self, url: str, expiry: float, ready: Callable[[str], bool]):
        super().__init__(expiry, ready)
        if scheme_of(url) not in SCHEMES:
            raise UsageError(f"--file-storage {url!r}: expected s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or "
                             "az://CONTAINER/PREFIX")
        scheme, _, place = url.partition("://")
        self.url = f"{scheme}://{place.rstrip('/')}"
        try:
            store = open_destination(self.url)
            assert isinstance(store, BucketDestination)
            store.preflight()
            store.prepare()
        except (DeliveryError, UsageError) as exc:  # the SDK missing, the URL, credentials, the bucket
            raise UsageError(f"--file-storage: {exc.what}") from None
        self.store = store
        self._metas: dict[str, bytes] = {}  # token -> its metadata, as read or written here
        self._metas_lock = threading.Lock()

    def folder(self, token: str) -> str:
        return f"{self.url}/{FILES}/{token}"

    def write_meta(self, token: str, data: bytes) -> None:
        self.store.write(f"{META}/{token}.json", data)
        with self._metas_lock:
            self._metas[token] = data

    def read_meta(self, token: str) -> bytes | None:
        with self._metas_lock:
            known = self._metas.get(token)
        if known is not None:
            return known
        data = self.store.read_all(f"{META}/{token}.json")
        if data is not None:
            with self._metas_lock:
                self._metas[token] = data
        return data

    def meta_tokens(self) -> Iterator[str]:
        tokens = [name[: -len(".json")] for name in (rel[len(META) + 1:] for rel in self.store.names(META))
                  if name.endswith(".json") and "/" not in name]
        with self._metas_lock:  # forget what another replica's sweep removed
            self._metas = {token: self._metas[token] for token in tokens if token in self._metas}
        return iter(tokens)

    def remove_meta(self, token: str) -> None:
        self.store.delete(f"{META}/{token}.json")
        with self._metas_lock:
            self._metas.pop(token, None)

    def file_size(self, stored: StoredFile) -> int | None:
        remote = self.store.stat(_rel(stored))
        return None if remote is None else remote.size

    def remove_file(self, stored: StoredFile) -> None:
        self.store.delete(_rel(stored))

    def read(self, stored: StoredFile, start: int, stop: int) -> Iterator[bytes]:
        """Bytes ``start`` to ``stop`` (exclusive) of a READY file."""
        return self.store.read(_rel(stored), start, stop)


def _rel(stored: StoredFile) -> str:
    return f"{FILES}/{stored.token}/{stored.name}"
