"""Zip archives from elsewhere: names checked, unpacked within limits.

Shared by the readers (which read zip entries in place) and the Export API
client (which unpacks what a server sends). An entry may never land outside
the folder it is unpacked into: absolute names, ``..`` parts, drive letters
and symbolic links are refused with an :class:`InputError` naming the entry.
Unpacking streams every entry to disk in chunks and stops at a cap on the
total uncompressed bytes (``LABELPORT_MAX_UNZIP_BYTES``, default 10 GiB) and
on the number of entries (default 100,000), so a zip bomb fails early.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

from .errors import InputError

ENV_MAX_BYTES = "LABELPORT_MAX_UNZIP_BYTES"
DEFAULT_MAX_BYTES = 10 << 30
DEFAULT_MAX_ENTRIES = 100_000
_CHUNK = 1 << 20


def check_entry(zip_path: str | Path, name: str) -> None:
    """Refuse entries that would land outside the folder they are unpacked to."""
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or ".." in posix.parts or (posix.parts and ":" in posix.parts[0]):
        raise InputError(f"zip entry {name!r} escapes the target folder", zip_path)


def is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def max_unzip_bytes() -> int:
    value = os.environ.get(ENV_MAX_BYTES, "").strip()
    if not value:
        return DEFAULT_MAX_BYTES
    try:
        return int(value)
    except ValueError:
        raise InputError(f"{ENV_MAX_BYTES} must be a number of bytes, not {value!r}") from None


def safe_extract(
    zip_path: str | Path,
    into: str | Path,
    max_bytes: int | None = None,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> list[Path]:
    """Unpack ``zip_path`` into the folder ``into``; return the files written.

    Every entry is checked before anything is written; then the entries are
    streamed out with their CRC checked (a corrupt archive is an InputError)
    and the bytes actually written counted against ``max_bytes``. On an
    error, what was written so far stays: unpack into a fresh folder and
    remove it when this raises.
    """
    zip_path = Path(zip_path)
    into = Path(into)
    limit = max_unzip_bytes() if max_bytes is None else max_bytes
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"not a readable zip archive ({exc})", zip_path) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > max_entries:
            raise InputError(f"holds {len(infos):,} entries; at most {max_entries:,} are unpacked", zip_path)
        declared = 0
        for info in infos:
            check_entry(zip_path, info.filename)
            if is_symlink(info):
                raise InputError(f"zip entry {info.filename!r} is a symbolic link; links are not unpacked", zip_path)
            declared += info.file_size
        if declared > limit:
            raise InputError(
                f"unpacks to {declared:,} bytes; the limit is {limit:,} ({ENV_MAX_BYTES})", zip_path
            )
        into.mkdir(parents=True, exist_ok=True)
        root = into.resolve()
        written: list[Path] = []
        total = 0
        for info in infos:
            parts = [p for p in PurePosixPath(info.filename.replace("\\", "/")).parts if p not in ("", ".")]
            if not parts:
                continue
            target = root.joinpath(*parts)
            if root not in target.resolve().parents and target.resolve() != root:
                # a folder of the tree that is itself a link (never made by us), or a name we do not expect
                raise InputError(f"zip entry {info.filename!r} escapes the target folder", zip_path)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(_CHUNK):
                        total += len(chunk)
                        if total > limit:
                            raise InputError(
                                f"unpacks to more than {limit:,} bytes ({ENV_MAX_BYTES})", zip_path
                            )
                        dst.write(chunk)
            except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
                raise InputError(f"zip entry {info.filename!r} cannot be unpacked ({exc})", zip_path) from None
            written.append(target)
    return written
