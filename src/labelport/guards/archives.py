"""Every zip labelport opens goes through here: vetted whole before any
entry is read or anything is written.

Input zips (a folder of files or a Datasaur export-all, zipped), XLSX
workbooks (zips of sheet XML), zips fetched from an Export API server, the
parts the service merges and the zips the validators look into are all
opened as an :class:`Archive`. Opening one reads the central directory and
refuses, as an :class:`~labelport.errors.InputError` naming the archive and
the entry (``in.zip:REVIEW/doc.json: ...``):

- a file that is not a zip, or a truncated or corrupt one;
- more entries, more uncompressed bytes or a higher compression ratio than
  the limits below;
- names that are absolute, hold ``..``, start with a drive letter, hold
  control characters, or are longer or deeper than the limits;
- symbolic links, devices and every other entry that is not a plain file or
  a folder; encrypted entries; compression methods Python cannot unpack;
- two entries of one name, also once ``\\`` is read as ``/`` and ``./``
  parts are dropped (a zip made on Windows names ``REVIEW\\doc.json``), and
  a name that is both a file and a folder.

Entry names are used in their normal form: ``/`` separators, no empty or
``.`` parts. Reading an entry counts the bytes actually unpacked and stops
at the size the directory declared (which the limits were checked against),
so a lying header cannot make an entry bigger; a failed CRC or a broken
stream is an InputError naming the entry.

Limits, each overridable by its environment variable:

- ``LABELPORT_MAX_UNZIP_BYTES`` = 10 GiB of uncompressed bytes in one
  archive: an export-all of 3,000 real documents in five version folders
  unpacks to 118 MB, so real exports fit many times over, while a bomb is
  stopped before it fills a disk.
- ``LABELPORT_MAX_ZIP_ENTRIES`` = 100,000 entries: that export-all holds
  15,000 (3,000 documents in REVIEW, ROOT and three labelers' folders).
- ``LABELPORT_MAX_ZIP_RATIO`` = 200 (uncompressed / compressed, per entry
  and for the whole archive, once past 1 MiB): text, JSON and sheet XML
  deflate 2-10x (measured on the fixtures and on WNUT-17 converted), while
  a deflated run of one byte, the zip bomb's material, reaches ~1,000x. The
  first MiB is exempt because a small file of one repeated character may
  compress that well and does no harm.
- ``LABELPORT_MAX_ZIP_NAME_LENGTH`` = 1,024 characters per entry name: a
  project folder, a version folder and a document name of 255 characters
  (most file systems' longest) fit with room to spare.
- ``LABELPORT_MAX_ZIP_DEPTH`` = 32 folders: an export-all is 2-3 deep plus
  the documents' own folders.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator

from ..errors import InputError, UsageError

ENV_MAX_BYTES = "LABELPORT_MAX_UNZIP_BYTES"
ENV_MAX_ENTRIES = "LABELPORT_MAX_ZIP_ENTRIES"
ENV_MAX_RATIO = "LABELPORT_MAX_ZIP_RATIO"
ENV_MAX_NAME_LENGTH = "LABELPORT_MAX_ZIP_NAME_LENGTH"
ENV_MAX_DEPTH = "LABELPORT_MAX_ZIP_DEPTH"

#: Below this many uncompressed bytes an entry (or archive) is not held to the ratio.
RATIO_EXEMPT_BYTES = 1 << 20

#: What Python's zipfile can unpack; anything else is refused up front.
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}

#: How a broken archive shows itself while zipfile reads it.
BROKEN_ZIP = (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error, struct.error, NotImplementedError)

_CHUNK = 1 << 20
#: An entry's read buffer: small, since a format is often told by its first few KiB.
_BUFFER = 1 << 16


@dataclass(frozen=True)
class Limits:
    """What one archive may hold; the defaults and their reasons are in the module's docstring."""

    max_bytes: int = 10 << 30
    max_entries: int = 100_000
    max_ratio: int = 200
    max_name_length: int = 1024
    max_depth: int = 32

    @classmethod
    def from_env(cls) -> "Limits":
        default = cls()
        return cls(
            max_bytes=env_int(ENV_MAX_BYTES, default.max_bytes),
            max_entries=env_int(ENV_MAX_ENTRIES, default.max_entries),
            max_ratio=env_int(ENV_MAX_RATIO, default.max_ratio),
            max_name_length=env_int(ENV_MAX_NAME_LENGTH, default.max_name_length),
            max_depth=env_int(ENV_MAX_DEPTH, default.max_depth),
        )


def env_int(name: str, default: int) -> int:
    """A limit from the environment variable ``name``: a positive whole number, ``default`` when unset."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise UsageError(f"{name} must be a positive whole number, not {value!r}")
    return number


@dataclass(frozen=True)
class Members:
    """What a container's members are called in messages: a zip's entries, unpacked; a bucket's objects, downloaded."""

    noun: str = "entry"
    container: str = "archive"
    verb: str = "unpacked"


ZIP_ENTRIES = Members()
OBJECTS = Members("object", "listing", "downloaded")


class MemberNames:
    """The members' names of one container, vetted one by one as they are
    read from its directory (a zip's) or listing (a bucket's): each made
    normal (:meth:`normal`), none twice (:meth:`add`), none both a file and a
    folder (:meth:`refuse_clashes`)."""

    def __init__(self, label: str, limits: Limits, members: Members = ZIP_ENTRIES):
        self.label = label
        self.limits = limits
        self.members = members
        self._seen: dict[str, str] = {}
        self._folders: set[str] = set()

    def normal(self, raw: str) -> str:
        """The member's normal name, once it is safe to use: ``\\`` read as
        ``/``, empty and ``.`` parts dropped, a folder's trailing ``/`` kept."""
        where = f"{self.label}:{raw if raw.isprintable() else ascii(raw)}"  # one line, whatever the name holds
        limits, noun = self.limits, self.members.noun
        if not raw.isprintable():
            raise InputError(f"the {noun}'s name holds control characters", where)
        if len(raw) > limits.max_name_length:
            raise InputError(f"the {noun}'s name is {len(raw):,} characters long; the limit is "
                             f"{limits.max_name_length:,} ({ENV_MAX_NAME_LENGTH})", f"{self.label}:{raw[:60]}...")
        posix = raw.replace("\\", "/")
        parts = [p for p in posix.split("/") if p not in ("", ".")]
        if posix.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
            raise InputError(f"the {noun}'s name escapes the folder it is {self.members.verb} into "
                             "(absolute, '..' or a drive letter)", where)
        if len(parts) - 1 > limits.max_depth:
            raise InputError(f"the {noun} is {len(parts) - 1} folders deep; the limit is {limits.max_depth} "
                             f"({ENV_MAX_DEPTH})", where)
        return "/".join(parts) + ("/" if parts and raw.endswith(("/", "\\")) else "")  # a folder keeps its "/"

    def add(self, name: str, raw: str) -> None:
        """Refuse ``name`` (normal, from ``raw``) when a member of that name was added before."""
        key = name.rstrip("/")
        if key in self._seen:
            same = "" if self._seen[key] == raw else f" (as {self._seen[key]!r} and {raw!r})"
            raise InputError(f"the name appears twice in the {self.members.container}{same}", f"{self.label}:{raw}")
        self._seen[key] = raw
        self._folders.update(_parents(key))

    def refuse_clashes(self, members: Iterable[tuple[str, str]]) -> None:
        """Refuse a file (normal name, raw name) whose name is also a folder of another member's."""
        for name, raw in members:
            if not name.endswith("/") and name in self._folders:
                raise InputError("the name is both a file and a folder", f"{self.label}:{raw}")


class Archive:
    """A zip, vetted: its plain files by normal name, read within limits.

    ``file`` is a path or a seekable binary file (then the caller keeps it
    open and closes it). ``label`` names the archive in errors.
    """

    def __init__(self, file: str | Path | IO[bytes], label: str | Path | None = None):
        self._path = Path(file) if isinstance(file, (str, Path)) else None
        self.label = str(label if label is not None else file)
        self.limits = Limits.from_env()
        self._file = file
        self._zip = self._open_zip()
        self._pid = os.getpid()
        try:
            #: (normal name, entry) of every entry, folders included, in the archive's order
            self.entries: list[tuple[str, zipfile.ZipInfo]] = self._vet(self._archive_size())
        except BaseException:
            self._zip.close()
            raise
        self._files = {name: info for name, info in self.entries if not name.endswith("/")}
        #: the plain files' normal names, in the archive's order
        self.names = list(self._files)

    # -- opening and vetting -------------------------------------------------------------

    def _open_zip(self) -> zipfile.ZipFile:
        try:
            return zipfile.ZipFile(self._file)
        except BROKEN_ZIP as exc:
            raise InputError(f"not a zip archive, or a truncated or corrupt one ({exc})", self.label) from None

    def _archive_size(self) -> int:
        fp = self._zip.fp
        assert fp is not None
        return fp.seek(0, io.SEEK_END)

    def _vet(self, archive_size: int) -> list[tuple[str, zipfile.ZipInfo]]:
        limits = self.limits
        infos = self._zip.infolist()
        if len(infos) > limits.max_entries:
            raise InputError(f"holds {len(infos):,} entries; the limit is {limits.max_entries:,} ({ENV_MAX_ENTRIES})",
                             self.label)
        names = MemberNames(self.label, limits)
        entries: list[tuple[str, zipfile.ZipInfo]] = []
        total = 0
        for info in infos:
            name = names.normal(info.filename)  # printable from here on
            where = f"{self.label}:{info.filename}"
            self._vet_kind(info, where)
            if not name.strip("/"):  # "./": the archive's own top folder
                if info.is_dir() or info.filename.endswith("\\"):
                    continue
                raise InputError("the entry has no name", where)
            names.add(name, info.filename)
            if info.header_offset + info.compress_size > archive_size:
                raise InputError("the entry's data runs past the end of the archive: truncated", where)
            if info.file_size > RATIO_EXEMPT_BYTES and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise InputError(
                    f"unpacks {info.compress_size:,} bytes to {info.file_size:,}, over {limits.max_ratio}x "
                    f"({ENV_MAX_RATIO}): a zip bomb?", where)
            total += info.file_size
            entries.append((name, info))
        if total > limits.max_bytes:
            raise InputError(f"unpacks to {total:,} bytes; the limit is {limits.max_bytes:,} ({ENV_MAX_BYTES})",
                             self.label)
        if total > RATIO_EXEMPT_BYTES and total > limits.max_ratio * max(archive_size, 1):
            raise InputError(f"unpacks {archive_size:,} bytes to {total:,}, over {limits.max_ratio}x "
                             f"({ENV_MAX_RATIO}): a zip bomb?", self.label)
        names.refuse_clashes((name, info.filename) for name, info in entries)
        return entries

    @staticmethod
    def _vet_kind(info: zipfile.ZipInfo, where: str) -> None:
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode)
        if stat.S_ISLNK(mode):
            raise InputError("the entry is a symbolic link; links are not read", where)
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
            raise InputError("the entry is a device or another special file, not a plain file", where)
        if info.flag_bits & 0x1:
            raise InputError("the entry is encrypted; labelport reads unencrypted zips only", where)
        if info.compress_type not in _METHODS:
            raise InputError(f"the entry uses compression method {info.compress_type}, which labelport cannot "
                             "unpack (stored, deflate, bzip2 and lzma can be)", where)

    # -- reading -------------------------------------------------------------------------

    def _current_zip(self) -> zipfile.ZipFile:
        """The zip, opened again in a forked worker: a file position shared
        across processes would make their reads interleave."""
        if self._pid != os.getpid() and self._path is not None:
            self._zip = self._open_zip()
            self._pid = os.getpid()
        return self._zip

    def open(self, name: str) -> IO[bytes]:
        """The plain file ``name`` (a normal name), unpacked as it is read."""
        info = self._files[name]
        where = f"{self.label}:{name}"
        try:
            stream = self._current_zip().open(info)
        except (*BROKEN_ZIP, RuntimeError) as exc:
            raise InputError(f"the entry cannot be read ({exc})", where) from None
        return io.BufferedReader(_Counted(stream, info.file_size, where), _BUFFER)

    def read(self, name: str) -> bytes:
        with self.open(name) as fh:
            return fh.read()

    def extract(self, into: str | Path) -> list[Path]:
        """Unpack every entry into the folder ``into``; the files written.

        The archive was vetted whole when opened, so a refused name or kind
        never gets here; a corrupt entry stops the unpacking part way:
        unpack into a fresh folder and remove it when this raises.
        """
        root = Path(into)
        root.mkdir(parents=True, exist_ok=True)
        root = root.resolve()
        written: list[Path] = []
        for name, _ in self.entries:
            target = root.joinpath(*name.rstrip("/").split("/"))
            if name.endswith("/"):
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with self.open(name) as src, open(target, "wb") as dst:
                while chunk := src.read(_CHUNK):
                    dst.write(chunk)
            written.append(target)
        return written

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parents(name: str) -> Iterator[str]:
    parts = name.split("/")
    for n in range(1, len(parts)):
        yield "/".join(parts[:n])


class _Counted(io.RawIOBase):
    """An entry's bytes as unpacked, counted: never more than ``limit``, the
    size its directory entry declared; a broken stream is an InputError."""

    def __init__(self, stream: IO[bytes], limit: int, where: str):
        self._stream = stream
        self._left = limit
        self._where = where

    def readable(self) -> bool:
        return True

    def _read(self, size: int) -> bytes:
        try:
            data = self._stream.read(size)
        except BROKEN_ZIP as exc:
            raise InputError(f"the entry is corrupt ({exc})", self._where) from None
        self._left -= len(data)
        if self._left < 0:
            raise InputError("the entry unpacks to more bytes than the archive declares for it", self._where)
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        # in one call: RawIOBase's own would go 8 KiB at a time
        return self._read(-1)

    def close(self) -> None:
        self._stream.close()
        super().close()


def is_zip_of_files(path: Path) -> bool:
    """Whether the file ``path`` is read as a zip of files: a ``.zip``
    always (opening refuses one that is not a zip), another name when it is
    one; an ``.xlsx`` never (a zip too, but one workbook)."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return False
    return suffix == ".zip" or zipfile.is_zipfile(path)


def safe_extract(zip_path: str | Path, into: str | Path) -> list[Path]:
    """Unpack the zip ``zip_path`` into the folder ``into``, vetted first."""
    with Archive(zip_path) as archive:
        return archive.extract(into)
