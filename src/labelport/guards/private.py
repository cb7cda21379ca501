"""LABELPORT_HOME, readable by its owner only.

The home holds the job store (whose specs carry sealed webhook secrets), the
key that seals them, the service's stored results and each export's files.
Every folder labelport makes there is created 0700 and every file it writes
0600, whatever the umask; the home itself is kept 0700, so nothing under it
is reachable by another local user even when a library wrote it with the
umask's mode.
"""

from __future__ import annotations

import os
import stat
import time
import uuid
from pathlib import Path

FOLDER_MODE, FILE_MODE = 0o700, 0o600


def home() -> Path:
    """LABELPORT_HOME, default ~/.labelport: the job store and kept exports."""
    return Path(os.environ.get("LABELPORT_HOME") or Path.home() / ".labelport")


def fetched_folder(label: str, suffix: str = "") -> Path:
    """A new name under LABELPORT_HOME/fetched/ for an input downloaded to be
    read (a ``datasaur://`` export, an object-storage input), unique across
    processes fetching at once; not created. ``label``: a name safe in a file name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return home() / "fetched" / f"{label}-{stamp}-{uuid.uuid4().hex[:6]}{suffix}"


def private_home() -> Path:
    """The home, created (or tightened) to 0700."""
    return private_folder(home())


def private_folder(path: Path) -> Path:
    """``path`` and the parents it needs, each created 0700; an existing
    ``path`` of this user's is tightened to 0700."""
    missing = []
    parent = path
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            pass
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode is reduced by the umask
    info = path.stat()
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) != FOLDER_MODE:
        os.chmod(path, FOLDER_MODE)
    return path


def private_file(path: Path, data: bytes | None = None, *, exclusive: bool = False) -> Path:
    """Create (or with ``data``, write) ``path`` with mode 0600: created with
    that mode, so it is never readable by others even for an instant."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else 0) | (os.O_TRUNC if data is not None else 0)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        if data is not None:
            os.write(fd, data)
    finally:
        os.close(fd)
    return path


def make_private(root: Path) -> None:
    """Tighten what another writer (a destination, a converter) left under
    ``root`` to 0700 folders and 0600 files."""
    for folder, folders, files in os.walk(root):
        os.chmod(folder, FOLDER_MODE)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, FILE_MODE)
