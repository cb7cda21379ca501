"""Inputs in object storage: ``s3://BUCKET/PREFIX``, ``gs://…``, ``az://CONTAINER/PREFIX``.

The URL names one object (a file, or a zip of files) when an object's key is
PREFIX itself and the URL does not end with ``/``; else a folder: the objects
under ``PREFIX/``, read by the rules of a local folder
(:mod:`labelport.readers.layout`, the Datasaur export-all layout included).

The objects are listed and downloaded through the destinations' own SDK code
(:mod:`labelport.delivery.destinations`: the endpoint and credential
variables each reads), and held to what a zip's members are held to
(:mod:`labelport.guards.archives`): names made normal and refused when they
escape the folder (absolute, ``..``, a drive letter), hold control
characters, come twice or name both a file and a folder; at most
``LABELPORT_MAX_ZIP_ENTRIES`` objects and ``LABELPORT_MAX_UNZIP_BYTES`` bytes;
each object downloaded only while it is the version listed (its ETag, or
GCS's generation) and no bigger than listed. As :mod:`labelport.client.fetch`
does for a ``datasaur://`` export, they are laid out in a new folder under
``LABELPORT_HOME/fetched/`` (the home is private) and read from there as a
local path, every message and the report naming the URL; the folder is
removed when the project is (:func:`load_remote`), or at once when reading it
is refused.

The listing is also what ``--engine ray`` gives its tasks: a task on another
node than the parent's fetches only the files it converts (:func:`fetch_range`).
"""

from __future__ import annotations

import shutil
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence

from ..delivery.destinations import open_bucket, scheme_of
from ..delivery.destinations.base import BucketDestination, NoBucket, ObjectChanged, StoredObject
from ..errors import InputError, UsageError
from ..guards.archives import ENV_MAX_BYTES, ENV_MAX_ENTRIES, OBJECTS, Limits, MemberNames
from ..guards.output import NAME_MAX
from ..guards.private import fetched_folder, private_folder
from ..model import Project
from ..readers import ReadOptions
from ..readers.layout import load_path, readable

#: Objects downloaded at once.
CONCURRENCY = 8
NOTHING = "no object is named so, and none is under it"


@dataclass(frozen=True)
class Listed:
    """An object-storage input as listed once: what is downloaded, and what a task checks its objects against."""

    url: str  # as given, without a trailing "/": what messages and the report name
    bucket: str  # the bucket's or container's name (letters, digits, '.', '-' and '_' in all three stores)
    name: str  # the local name: the object's, or the folder's (the prefix's last part, else the bucket's)
    single: bool  # one object (a file or a zip), else a folder of objects
    objects: tuple[tuple[str, StoredObject], ...]  # (normal name under the folder, the object); one when single

    @property
    def names(self) -> list[str]:
        """The files read, in the order a folder's are read (:func:`labelport.readers.layout.readable`)."""
        return readable(name for name, _ in self.objects)


def list_input(url: str) -> Listed:
    """List ``url``'s objects once and vet them (the module's docstring says how);
    InputError naming the URL for a bucket that does not exist, nothing under
    the prefix, a name or a size refused."""
    bucket = open_bucket(url)
    shown = url.rstrip("/")
    limits = Limits.from_env()
    names = MemberNames(shown, limits, OBJECTS)
    under = _folder(bucket)
    try:
        single = _the_object(bucket, url)
        if single is not None:
            name = _local_name(names, bucket.prefix)
            _bounded([single], shown, limits)
            return Listed(shown, bucket.bucket, name, True, ((name, single),))
        stored = bucket.listing(under, limits.max_entries)
    except NoBucket as missing:
        raise InputError(missing.what, shown) from None
    _bounded(stored, shown, limits)  # (folder markers count: a listing cut short must not pass for whole)
    files = []
    for item in stored:
        raw = item.key[len(under):]
        name = names.normal(raw)
        if not name.strip("/") or name.endswith("/"):  # the prefix's own marker, a folder's marker
            continue
        names.add(name, raw)
        _fits(name, shown, raw)
        files.append((name, item))
    names.refuse_clashes((name, item.key[len(under):]) for name, item in files)
    if not files:
        raise InputError(NOTHING, shown)
    name = _local_name(names, bucket.prefix) if bucket.prefix else bucket.bucket
    return Listed(shown, bucket.bucket, name, False, tuple(files))


def look(url: str) -> None:
    """Refuse, with a request or two, a bucket that does not exist or a URL with
    no object under it (an export's preflight: the listing is vetted when the job runs)."""
    bucket = open_bucket(url)
    try:
        found = _the_object(bucket, url) is not None or bucket.listing(_folder(bucket), 0)
    except NoBucket as missing:
        raise InputError(missing.what, url.rstrip("/")) from None
    if not found:
        raise InputError(NOTHING, url.rstrip("/"))


def _the_object(bucket: BucketDestination, url: str) -> StoredObject | None:
    """The object ``url`` names itself (a file or a zip), if it names one."""
    if bucket.prefix and not url.endswith("/"):
        first = bucket.listing(bucket.prefix, 0)  # (the key itself comes first of those it begins)
        if first and first[0].key == bucket.prefix:
            return first[0]
    return None


def _folder(bucket: BucketDestination) -> str:
    """The prefix of the objects read as a folder."""
    return f"{bucket.prefix}/" if bucket.prefix else ""


def _local_name(names: MemberNames, key: str) -> str:
    """The last part of ``key``, vetted as a member's name: what the download is called locally."""
    name = PurePosixPath(names.normal(key).rstrip("/")).name
    _fits(name, names.label, key)
    return name


def _fits(name: str, url: str, raw: str) -> None:
    """Refuse a name with a part no file system holds (the object is written as a local file)."""
    if any(len(part.encode("utf-8", "surrogatepass")) > NAME_MAX for part in name.split("/")):
        raise InputError(f"a part of the object's name is longer than {NAME_MAX} bytes, the most a file "
                         "name may have", f"{url}:{raw[:60]}...")


def _bounded(stored: Sequence[StoredObject], url: str, limits: Limits) -> None:
    if len(stored) > limits.max_entries:
        raise InputError(f"holds more than {limits.max_entries:,} objects; the limit is {limits.max_entries:,} "
                         f"({ENV_MAX_ENTRIES})", url)
    total = sum(item.size for item in stored)
    if total > limits.max_bytes:
        raise InputError(f"holds {total:,} bytes; the limit is {limits.max_bytes:,} ({ENV_MAX_BYTES})", url)


def download(listed: Listed, into: Path, only: Iterable[str] | None = None) -> Path:
    """Download the objects of ``listed`` (those named in ``only``, when given)
    into the new folder ``into``, laid out as :attr:`Listed.name`; that path.
    UsageError when an object is no longer the one listed."""
    wanted = None if only is None else set(only)
    top = into / listed.name
    jobs = [(top if listed.single else top / name, item) for name, item in listed.objects
            if wanted is None or name in wanted]
    bucket = open_bucket(listed.url)
    for target, _ in jobs:
        target.parent.mkdir(parents=True, exist_ok=True)

    def one(job: tuple[Path, StoredObject]) -> None:
        target, item = job
        with open(target, "xb") as fh:
            bucket.download(item, fh)

    try:
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            list(pool.map(one, jobs))
    except ObjectChanged as changed:
        raise UsageError(f"{listed.url} changed while it was converted ({changed.what})") from None
    return top


def load_remote(url: str, options: ReadOptions) -> tuple[Project, Listed, Path]:
    """The project at ``url`` (downloaded, read as a local path), its listing,
    and where it was downloaded to: a folder removed when the project is
    garbage (or this process ends), or at once when reading it is refused."""
    listed = list_input(url)
    work = private_folder(fetched_folder(f"{scheme_of(url)}-{listed.bucket}"))
    try:
        project = load_path(download(listed, work), options, shown_as=listed.url)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    weakref.finalize(project, shutil.rmtree, work, ignore_errors=True)
    return project, listed, work


def fetch_range(listed: Listed, lo: int, hi: int, n_parts: int, into: Path, options: ReadOptions) -> list[Project]:
    """Files ``lo``..``hi`` of the project ``listed`` holds (of ``n_parts``
    files, as the parent read it), each downloaded into ``into`` and read
    there: for a folder, those objects and the first one (whose format and
    header the others are read by, as :func:`labelport.readers.layout.load_path`
    reads a folder), for one object (a zip) that object."""
    changed = UsageError(f"{listed.url} changed while it was converted")
    if listed.single:
        loaded = load_path(download(listed, into), options, shown_as=listed.url)
        parts = list(loaded.parts or ())
        if len(parts) != n_parts:
            raise changed
        return parts[lo:hi]
    names = listed.names
    if len(names) != n_parts:
        raise changed
    wanted = [names[0], *names[max(lo, 1):hi]]
    loaded = load_path(download(listed, into, wanted), options, shown_as=listed.url)
    parts = list(loaded.parts or (loaded,))  # (one file: the project is that file's)
    if len(parts) != len(wanted):
        raise changed
    return parts[:hi] if lo == 0 else parts[1:]
