"""The rules of each target service, as checks on files on disk.

``labelport validate DIR --target NAME`` runs them on any folder (labelport's
output or another tool's); every cloud format runs the same checks on what it
has just written. A check module defines ``check(folder) -> list[Finding]``:
a *hard* finding breaks a rule the service enforces (the job would fail); a
soft one misses a minimum or a recommendation (not ready for training).

The checkers share one kernel, which a checker may import wherever it lives:
:mod:`labelport.validate.walk` finds the files (a folder's, or those of the
zips in it, with one rule for hidden files) and
:mod:`labelport.validate.findings` collects what is found (capped per rule
and file, "and N more").
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from ..errors import InputError, UsageError
from ..report import Finding

TARGETS: dict[str, str] = {
    "comprehend": "labelport.targets.comprehend.checker",
    "azure": "labelport.targets.azure.checker",
    "vertex": "labelport.targets.vertex.checker",
    "hf": "labelport.targets.hf.checker",
}


def validate(folder: str | Path, target: str) -> list[Finding]:
    if target not in TARGETS:
        raise UsageError(f"unknown target {target!r}; labelport validates for {', '.join(TARGETS)}")
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("no such folder", folder)
    return import_module(TARGETS[target]).check(folder)
