"""The kinds of job, in one table: each kind's spec type and what runs it.

What runs a kind is a dotted path, imported when a job of that kind runs:
the export pipeline and the service stand above the jobs package, which must
not import them. :func:`run_job` runs a spec of any kind (a job run here, a
resumed job, the service's workers).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, Callable

from .spec import ExportSpec, ServiceExportSpec, Spec

if TYPE_CHECKING:
    from ..delivery.notices import Ledger
    from ..model import Project

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Local:
    """What the process running a job holds besides its spec. An export uses
    the project the caller already loaded (read again otherwise) and where to
    print its summary lines; the service's exports neither. Both send their
    notices through the job's ledger (jobs.store.run gives it), once per job."""

    project: "Project | None" = None
    echo: Callable[[str], None] | None = None
    ledger: "Ledger | None" = None


#: Each kind's spec type (its ``kind`` tag names the kind: jobs.spec) and the
#: "module:function" that runs it, called with (spec, progress, local) and
#: returning the job's result.
JOB_KINDS: dict[type, str] = {
    ExportSpec: "labelport.jobs.export:run_export",
    ServiceExportSpec: "labelport.service.exporter:run_service_export",
}


def import_kinds() -> None:
    """Import what runs each kind now: a process that forks one child per job
    (``labelport worker``'s RQ work-horses) then gives each child these
    modules instead of each importing them again (about 0.1 s of CPU a job)."""
    for path in JOB_KINDS.values():
        import_module(path.partition(":")[0])


def run_job(spec: Spec, progress: Progress, local: Local = Local()) -> dict[str, Any]:
    """Run a spec of any kind; return the job's result."""
    module, _, name = JOB_KINDS[type(spec)].partition(":")
    return getattr(import_module(module), name)(spec, progress, local)
