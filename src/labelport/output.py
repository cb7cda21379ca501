"""Output folders: written beside the target, moved in place only when whole.

A failed conversion leaves nothing behind; a successful one replaces an
earlier labelport output at the same place, but never a folder of other files.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import UsageError

REPORT_NAME = "labelport-report.json"


def files_under(folder: str | os.PathLike[str], prefix: str = "") -> Iterator[str]:
    """The paths of the files under ``folder``, relative to it, ``/``-separated
    (as Path.rglob and is_file find them, at a fraction of their cost: a
    project and its output can be thousands of files)."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield from files_under(entry.path, f"{prefix}{entry.name}/")
            elif entry.is_file():
                yield prefix + entry.name

_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f]")


@contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``out``; on success it becomes ``out``."""
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise UsageError("exists and is not a folder", file=out)
        if any(out.iterdir()) and not (out / REPORT_NAME).exists():
            raise UsageError("folder is not empty and holds no labelport output; choose another -o", file=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if out.exists():
        old = out.with_name(f".{out.name}.{os.getpid()}.old")
        out.rename(old)
        stage.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        stage.rename(out)


def safe_name(name: str) -> str:
    """A document name made safe as a file name (formats.md, "Names and ids")."""
    name = _UNSAFE.sub("_", name)
    if name in ("", ".", ".."):
        name = name.replace(".", "_") or "_"
    return name


class FileNamer:
    """Gives each document a unique ``<name><ext>`` inside one folder."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def name(self, document_name: str, extension: str) -> str:
        base = safe_name(document_name)
        if extension and base.endswith(extension):
            base = base[: -len(extension)]
        candidate, n = base + extension, 1
        while candidate in self._taken:
            n += 1
            candidate = f"{base}-{n}{extension}"
        self._taken.add(candidate)
        return candidate
