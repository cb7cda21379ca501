"""``labelport push`` and the delivery half of ``labelport export``.

Delivers a converted folder to a destination, then sends the notices (a
signed webhook, an e-mail). The folder's labelport-report.json gains a
``delivery`` section listing every object with its URI and checksums, and is
uploaded last, so a report in the bucket always describes a whole delivery.
The section holds nothing that changes between pushes of the same files, so
pushing again uploads nothing, the report included.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from ..guards.output import REPORT_NAME
from ..progress import ByteProgress, Phase, say
from .destinations import open_destination
from .destinations.base import DeliveryOptions, DeliveryResult, LocalFile, render_locations, scan, with_data
from .notices import Ledger, Notice, send


def push(
    folder: str | Path,
    destination: str,
    options: DeliveryOptions | None = None,
    notices: list[Notice] | tuple[Notice, ...] = (),
    ledger: Ledger | None = None,
) -> DeliveryResult:
    """Deliver the files of ``folder`` to ``destination``, then send ``notices``
    (each once per job, given the job's ``ledger``: delivery.notices)."""
    folder = Path(folder)
    options = options or DeliveryOptions()
    dest = open_destination(destination, options)
    files = render_locations(scan(folder), dest.uri)
    report = next((f for f in files if f.rel == REPORT_NAME), None)
    data_files = [f for f in files if f is not report]
    result = DeliveryResult(destination)
    total = sum(f.size for f in files)
    with ByteProgress("upload", total, options.progress, options.listener) as progress:
        result.objects = dest.push(data_files, progress)
        if report is not None:
            report = with_data(report, _report_with_delivery(report, result))
            report.path.write_bytes(report.data or b"")  # the local report says where everything went
            result.objects += dest.push([report], progress)
    unchanged = [o.rel for o in result.objects if not o.uploaded]
    if unchanged:
        say(f"upload: skipped {len(unchanged):,} unchanged (the same bytes are there): {', '.join(unchanged[:5])}"
            + (", …" if len(unchanged) > 5 else ""))
    result.link = dest.link(_link_target(files))
    if notices:
        with Phase("notify", len(notices), options.progress) as phase:
            for i, notice in enumerate(notices):
                send(notice, result, folder, ledger, str(i))
                phase.advance()
    else:
        say("notify: skipped (no notice asked for)")
    return result


def _report_with_delivery(report: LocalFile, result: DeliveryResult) -> bytes:
    content = orjson.loads(report.path.read_bytes())
    content["delivery"] = {
        "destination": result.destination,
        "objects": [{"uri": o.uri, "bytes": o.size, "sha256": o.sha256, **o.checksums} for o in result.objects],
    }
    return orjson.dumps(content, option=orjson.OPT_INDENT_2) + b"\n"


def _link_target(files: list[LocalFile]) -> str:
    """One zip at the top is what a notice links to; else the report."""
    zips = [f.rel for f in files if "/" not in f.rel and f.rel.endswith(".zip")]
    return zips[0] if len(zips) == 1 else REPORT_NAME


def preflight(
    destination: str,
    options: DeliveryOptions | None = None,
    folder: str | Path | None = None,
    *,
    look: bool = False,
) -> None:
    """Refuse a delivery before any work: its SDK missing (UsageError naming
    the extra), a malformed URL, no credentials or endpoint the SDK can find
    offline, a DEST that overlaps ``folder`` (the folder to deliver). With
    ``look``, also look the place up (the bucket or container exists and the
    credentials reach it: the network, read only) where that only looks."""
    dest = open_destination(destination, options)
    dest.preflight(None if folder is None else Path(folder))
    if look and dest.prepare_only_looks:
        dest.prepare()
