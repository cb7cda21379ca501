"""Delivering a folder of files: what every destination shares.

:func:`deliver` lists the files of a converted folder, renders the files that
name data locations (Comprehend and Vertex configs) with the destination's
real URIs, and hands each file to the destination, which skips it when the
remote object already holds the same bytes, or uploads it in parts and checks
the checksum the service reports. The report then lists every object with its
URI and checksums, and is uploaded last.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import sys
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import orjson

from ...errors import DeliveryError, InputError, UsageError
from ...guards.redaction import redact
from ...progress import counted

MiB = 1 << 20
#: Files that name data locations by path relative to OUT; rendered at upload.
LOCATION_FILES = ("entity_recognizer.json", "document_classifier.json", "vertex_dataset.json", "vertex_import.csv")


@dataclass
class DeliveryOptions:
    part_size: int = 8 * MiB  # multipart / resumable / block size
    concurrency: int = 4  # files (and parts) in flight at once
    private: bool = False  # hf: create the repo private
    revision: str | None = None  # hf: the branch to commit to
    commit_message: str | None = None  # hf
    progress: bool | None = None  # a bar on a terminal
    listener: Any = None  # called with (bytes done, bytes in all) as files go up (job progress)


@dataclass
class LocalFile:
    rel: str  # POSIX path relative to the folder
    path: Path
    size: int
    sha256: str
    md5: bytes
    data: bytes | None = None  # the bytes to upload when they differ from the file (rendered)

    def open(self) -> io.BufferedIOBase:
        return io.BytesIO(self.data) if self.data is not None else open(self.path, "rb")  # type: ignore[return-value]


@dataclass
class Delivered:
    rel: str
    uri: str
    size: int
    sha256: str
    checksums: dict[str, str] = field(default_factory=dict)  # what the service reported
    uploaded: bool = True


@dataclass
class DeliveryResult:
    destination: str
    objects: list[Delivered] = field(default_factory=list)
    link: str | None = None  # what a notice points to: the zip, or the report listing every object

    @property
    def uploaded(self) -> int:
        return sum(o.uploaded for o in self.objects)

    def summary(self) -> str:
        unchanged = len(self.objects) - self.uploaded
        if not self.uploaded:
            return f"labelport: {self.destination}: already up to date, nothing uploaded ({counted(unchanged, 'objects')})"
        return f"labelport: {self.destination}: {counted(self.uploaded, 'objects')} uploaded, {unchanged:,} unchanged"


@dataclass
class Remote:
    """What the service says of an object: enough to tell whether it is ours."""

    size: int
    sha256: str | None  # labelport stores the sha256 in the object's metadata
    checksums: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredObject:
    """An object as a bucket's listing gives it: what reading it as input needs."""

    key: str
    size: int
    version: str  # its ETag (S3, Azure) or generation (GCS): another value is another object


class NoBucket(DeliveryError):
    """The bucket or container a URL names does not exist."""


class ObjectChanged(DeliveryError):
    """An object is no longer the one its listing gave (another version, another size, gone)."""


class Bounded:
    """Where an object's bytes are written as they arrive: never more than
    its listed size (:meth:`done` refuses fewer), so a listing that does not
    hold for the object stops the download."""

    def __init__(self, into: BinaryIO, stored: StoredObject, uri: str):
        self._into = into
        self._left = stored.size
        self._uri = uri

    def write(self, data: bytes) -> int:
        self._left -= len(data)
        if self._left < 0:
            raise ObjectChanged(f"{self._uri}: holds more bytes than its listing said: changed since it was listed")
        return self._into.write(data)

    def done(self) -> None:
        if self._left:
            raise ObjectChanged(f"{self._uri}: holds fewer bytes than its listing said: changed since it was listed")


class Destination(ABC):
    """One place files go. Subclasses talk to one service through its SDK."""

    scheme = ""

    def __init__(self, url: str, options: DeliveryOptions):
        self.url = url
        self.options = options

    # -- what a destination defines --------------------------------------------
    @abstractmethod
    def uri(self, rel: str) -> str:
        """The object's URI, e.g. ``s3://bucket/prefix/rel``."""

    @abstractmethod
    def stat(self, rel: str) -> Remote | None:
        """The remote object at ``rel``, or None."""

    @abstractmethod
    def upload(self, file: LocalFile) -> Remote:
        """Upload in parts; return what the service then reports."""

    @abstractmethod
    def verify(self, file: LocalFile, remote: Remote) -> dict[str, str]:
        """Compare the service's checksums with the bytes sent; raise
        DeliveryError on a mismatch; return the checksums compared."""

    def link(self, rel: str, expires: int = 7 * 24 * 3600) -> str:
        """A link a notice can carry (presigned, signed or SAS URL)."""
        return self.uri(rel)

    #: Whether :meth:`prepare` only looks (a bucket or container is looked up,
    #: nothing is made), so an export may run it before converting.
    prepare_only_looks = False

    def prepare(self) -> None:
        """Check the place exists and credentials work, before any upload."""

    def preflight(self, folder: Path | None = None) -> None:
        """Refuse, before anything is converted or sent, what can be told
        without the network: opening the destination has imported its SDK,
        parsed the URL and read the SDK's configuration; a destination adds
        what its SDK can tell offline (credentials found or not). ``folder``:
        the folder that will be delivered, when known."""

    # -- shared ---------------------------------------------------------------
    def push(self, files: list[LocalFile], progress: Any) -> list[Delivered]:
        self.prepare()

        def one(file: LocalFile) -> Delivered:
            remote = self.stat(file.rel)
            if remote is not None and remote.size == file.size and remote.sha256 == file.sha256:
                progress.advance(file.size)
                return Delivered(file.rel, self.uri(file.rel), file.size, file.sha256, remote.checksums, uploaded=False)
            remote = self.upload(file)
            checksums = self.verify(file, remote)
            progress.advance(file.size)
            return Delivered(file.rel, self.uri(file.rel), file.size, file.sha256, checksums)

        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            return list(pool.map(one, files))


class BucketDestination(Destination):
    """A destination addressed as ``scheme://bucket/prefix`` (S3, GCS, Azure)."""

    def __init__(self, url: str, options: DeliveryOptions):
        super().__init__(url, options)
        self.bucket, _, prefix = url.split("://", 1)[1].partition("/")
        self.prefix = prefix.strip("/")
        if not self.bucket:
            raise UsageError(f"{url}: no bucket or container named (use {self.scheme}://bucket/prefix)")

    prepare_only_looks = True

    def key(self, rel: str) -> str:
        """The object key of a file, under the prefix."""
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def uri(self, rel: str) -> str:
        return f"{self.scheme}://{self.bucket}/{self.key(rel)}"

    # -- what a bucket also does for the service's file storage (service.object_files)
    @abstractmethod
    def read(self, rel: str, start: int, stop: int) -> Iterator[bytes]:
        """The bytes ``start`` to ``stop`` (exclusive) of the object at
        ``rel``, in chunks; the request is made before the first chunk is asked for."""

    @abstractmethod
    def delete(self, rel: str) -> None:
        """Remove the object at ``rel``; one already gone is no error (several
        processes may remove the same object)."""

    def write(self, rel: str, data: bytes) -> None:
        """Store ``data`` at ``rel``, checked as an uploaded file is."""
        file = with_data(LocalFile(rel, Path(rel), 0, "", b""), data)
        self.verify(file, self.upload(file))

    def read_all(self, rel: str) -> bytes | None:
        """The whole (small) object at ``rel``, or None when there is none."""
        remote = self.stat(rel)
        return None if remote is None else b"".join(self.read(rel, 0, remote.size))

    # -- read as an input (labelport.conversion.remote) ---------------------------------
    @abstractmethod
    def listing(self, prefix: str, most: int) -> list[StoredObject]:
        """The objects whose keys start with ``prefix``, in key order, at most
        ``most`` + 1 of them (one more tells that there are too many);
        NoBucket when the bucket does not exist."""

    @abstractmethod
    def download(self, stored: StoredObject, into: BinaryIO) -> None:
        """Write the object's bytes into ``into``, only while it is the
        version listed (ObjectChanged otherwise)."""

    def object_uri(self, key: str) -> str:
        return f"{self.scheme}://{self.bucket}/{key}"

    def names(self, folder: str) -> Iterator[str]:
        """The ``rel`` of every object under ``folder`` (a rel without the trailing '/')."""
        skip = len(self.key(""))
        return iter([stored.key[skip:] for stored in self.listing(self.key(folder) + "/", sys.maxsize)])


# -- the local side ---------------------------------------------------------------

def scan(folder: Path) -> list[LocalFile]:
    if not folder.is_dir():
        raise InputError("no such folder", folder)
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        sha, md5 = hashlib.sha256(), hashlib.md5()
        with open(path, "rb") as fh:
            while chunk := fh.read(MiB):
                sha.update(chunk)
                md5.update(chunk)
        files.append(LocalFile(path.relative_to(folder).as_posix(), path, path.stat().st_size, sha.hexdigest(), md5.digest()))
    if not files:
        raise InputError("holds no files to deliver", folder)
    return files


def with_data(file: LocalFile, data: bytes) -> LocalFile:
    return LocalFile(file.rel, file.path, len(data), hashlib.sha256(data).hexdigest(), hashlib.md5(data).digest(), data)


def render_locations(files: list[LocalFile], uri: Any) -> list[LocalFile]:
    """Files that name data by relative path get the destination's URIs."""
    known = {f.rel for f in files}
    folders = {rel.rsplit("/", 1)[0] + "/" for rel in known if "/" in rel}

    def render(value: str) -> str:
        stripped = value.removeprefix("./")
        if stripped in known or stripped in folders:
            return uri(stripped)
        return value

    rendered = []
    for file in files:
        name = file.rel.rsplit("/", 1)[-1]
        if name not in LOCATION_FILES:
            rendered.append(file)
            continue
        raw = file.path.read_bytes()
        if name.endswith(".json"):
            data = orjson.dumps(_map_strings(orjson.loads(raw), render), option=orjson.OPT_INDENT_2) + b"\n"
        else:
            rows = [[render(cell) for cell in row] for row in csv.reader(io.StringIO(raw.decode("utf-8")))]
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(rows)
            data = out.getvalue().encode("utf-8")
        rendered.append(with_data(file, data) if data != raw else file)
    return rendered


def _map_strings(value: Any, render: Any) -> Any:
    if isinstance(value, str):
        return render(value)
    if isinstance(value, list):
        return [_map_strings(v, render) for v in value]
    if isinstance(value, dict):
        return {k: _map_strings(v, render) for k, v in value.items()}
    return value


def md5_b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def delivery_error(what: str, exc: BaseException | None = None) -> DeliveryError:
    detail = f": {redact(str(exc))}" if exc is not None and str(exc) else ""
    return DeliveryError(redact(what) + detail)
