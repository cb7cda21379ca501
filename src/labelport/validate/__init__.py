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
from typing import NamedTuple

from ..errors import InputError, UsageError
from ..guards.output import REPORT_NAME, read_report
from ..report import Finding
from .walk import NothingToCheck


class Target(NamedTuple):
    checker: str  # the module whose check(folder) lists the findings
    format: str  # the format labelport writes for the service
    export: str  # what the service imports, as errors name it


TARGETS: dict[str, Target] = {
    "comprehend": Target("labelport.targets.comprehend.checker", "AMAZON_COMPREHEND_CSV", "an Amazon Comprehend export"),
    "azure": Target("labelport.targets.azure.checker", "AZURE_AUTOML_CSV", "an Azure AutoML NLP export"),
    "vertex": Target("labelport.targets.vertex.checker", "GCP_VERTEX_AI_CSV", "a Vertex AI export"),
    "hf": Target("labelport.targets.hf.checker", "HF_DATASET", "a Hugging Face dataset"),
}


def validate(folder: str | Path, target: str) -> list[Finding]:
    """The findings of ``target``'s checker on ``folder``. InputError (exit 2)
    when the folder is not that target's export: its checker finds none of
    the files it reads, or labelport's report in it names another format."""
    if target not in TARGETS:
        raise UsageError(f"unknown target {target!r}; labelport validates for {', '.join(TARGETS)}")
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("no such folder", folder)
    expected = TARGETS[target]
    made = (read_report(folder / REPORT_NAME) or {}).get("format")
    if isinstance(made, str) and made != expected.format:
        other = next((name for name, t in TARGETS.items() if t.format == made), None)
        hint = f" (validate it with --target {other})" if other else ""
        raise InputError(f"not {expected.export}: its {REPORT_NAME} says labelport wrote {made} here{hint}; "
                         f"--target {target} checks {expected.format} files", folder)
    try:
        return import_module(expected.checker).check(folder)
    except NothingToCheck as exc:
        raise InputError(f"not {expected.export}: {exc.what}", folder) from None
