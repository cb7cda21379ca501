"""The files a checker reads: a folder's, or, when the folder holds nothing
the checker recognises, those of the zips in it.

One rule decides which files are seen (:func:`hidden`), for every checker.
A zip is opened through :class:`~labelport.guards.archives.Archive` (vetted whole
first) and unpacked into a temporary folder that is removed afterwards, so
a checker reads plain files on disk whether they came from a folder or a
zip; findings name a zip's files ``<zip>/<name inside>``.
"""

from __future__ import annotations

import os
import tempfile
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

from ..errors import InputError
from ..guards.archives import safe_extract
from ..guards.output import REPORT_NAME


def hidden(rel: str) -> bool:
    """Whether a file (its path relative to the folder checked, ``/``
    separated) is left out: a part starting with ``.`` or ``__`` (the files
    ``datasets`` ignores too, and a zip's ``__MACOSX/``), or labelport's own
    report."""
    parts = rel.split("/")
    return parts[-1] == REPORT_NAME or any(part.startswith((".", "__")) for part in parts)


def visible_files(folder: Path) -> list[Path]:
    """The files of ``folder`` (a tree on disk) that are not :func:`hidden`, sorted."""
    return sorted(p for p in folder.rglob("*") if not hidden(p.relative_to(folder).as_posix()) and p.is_file())


class Folder:
    """A folder of files to check: the folder given, or a zip in it unpacked.

    ``files`` are its visible files, sorted as paths; ``prefix`` starts the
    names findings give them (``""``, or ``"out.zip/"``).
    """

    def __init__(self, path: Path, prefix: str = ""):
        self.path = path
        self.prefix = prefix
        self.files = sorted(p for p in path.rglob("*") if not hidden(self.rel(p)) and p.is_file())

    def rel(self, path: Path) -> str:
        """``path`` relative to this folder, ``/`` separated."""
        try:
            return path.relative_to(self.path).as_posix()
        except ValueError:
            return path.as_posix()

    def name(self, path: Path) -> str:
        """What findings call the file ``path``."""
        return self.prefix + self.rel(path)


class NothingToCheck(InputError):
    """The folder holds none of the files a target's checker reads: it is not
    that target's export (:func:`labelport.validate.validate` names the target)."""


def walk(folder: Path, check: Callable[[Folder], bool], expected: str) -> None:
    """``check`` the folder; if it finds nothing to check there, each zip in
    it (not hidden), unpacked. NothingToCheck when no call found anything:
    ``expected`` says what the checker looks for."""
    top = Folder(Path(os.path.normpath(folder)))  # "a/../b" as "b": names stay relative to it
    if check(top):
        return
    found = False
    for archive in [p for p in top.files if p.suffix.lower() == ".zip"]:
        with _unpacked(archive, top.name(archive) + "/") as inner:
            found = check(inner) or found
    if not found:
        raise NothingToCheck(f"no {expected} here, nor in a zip in it", folder)


@contextmanager
def _unpacked(archive: Path, prefix: str) -> Iterator[Folder]:
    """The zip ``archive`` unpacked into a temporary folder, removed on leaving."""
    with tempfile.TemporaryDirectory(prefix="labelport-validate-") as tmp:
        safe_extract(archive, tmp)
        yield Folder(Path(tmp), prefix)


def files_below(folder: Folder, sub: Path) -> Iterator[Path]:
    """The visible files of ``folder`` inside its sub folder ``sub``: a run
    of ``folder.files``, which are sorted by their parts."""
    parts = sub.parts
    n = len(parts)
    for path in islice(folder.files, bisect_left(folder.files, sub), None):
        if path.parts[:n] != parts:
            break
        if len(path.parts) > n:
            yield path
