"""Whether a process is still running: what tells a killed run's leftovers
(a job IN_PROGRESS, a stage beside OUT) from those of a run still going."""

from __future__ import annotations

import os


def alive(pid: int | None) -> bool:
    """Whether ``pid`` runs on this machine. A zombie (killed, not yet
    reaped) is dead; a pid this user may not signal, or one too large to be
    a pid, is taken as alive, to be safe."""
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True
