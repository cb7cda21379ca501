"""``labelport push`` and the delivery half of ``labelport export``.

Delivers a converted folder to a destination, then sends the notices (a
signed webhook, an e-mail). The folder's labelport-report.json gains a
``delivery`` section listing every object with its URI and checksums, and is
uploaded last, so a report in the bucket always describes a whole delivery.
The section holds nothing that changes between pushes of the same files, so
pushing again uploads nothing, the report included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .destinations import open_destination
from .destinations.base import Delivered, DeliveryOptions, LocalFile, render_locations, scan, with_data
from .output import REPORT_NAME
from .progress import ByteProgress


@dataclass
class Notice:
    """Who to tell once the files are delivered (the Export API's methods)."""

    method: str  # CUSTOM_WEBHOOK or EMAIL
    url: str | None = None
    secret: str | None = None
    email: str | None = None
    user_id: Any = None
    project_id: str | None = None
    document_id: str | None = None
    #: Set by ``labelport serve``: the webhook may reach only public addresses
    #: and these hosts (labelport.egress); None (the command line): any host.
    allowed_hosts: list[str] | None = None


@dataclass
class DeliveryResult:
    destination: str
    objects: list[Delivered] = field(default_factory=list)
    link: str | None = None  # what a notice points to: the zip, or the report listing every object

    @property
    def uploaded(self) -> int:
        return sum(o.uploaded for o in self.objects)

    def summary(self) -> str:
        unchanged = len(self.objects) - self.uploaded
        if not self.uploaded:
            return f"labelport: {self.destination}: already up to date, nothing uploaded ({unchanged} objects)"
        return f"labelport: {self.destination}: {self.uploaded} objects uploaded, {unchanged} unchanged"


def push(
    folder: str | Path,
    destination: str,
    options: DeliveryOptions | None = None,
    notices: list[Notice] | tuple[Notice, ...] = (),
) -> DeliveryResult:
    """Deliver the files of ``folder`` to ``destination``, then send ``notices``."""
    folder = Path(folder)
    options = options or DeliveryOptions()
    dest = open_destination(destination, options)
    files = render_locations(scan(folder), dest.uri)
    report = next((f for f in files if f.rel == REPORT_NAME), None)
    data_files = [f for f in files if f is not report]
    result = DeliveryResult(destination)
    total = sum(f.size for f in files)
    with ByteProgress(f"push {destination}", total, options.progress, options.listener) as progress:
        result.objects = dest.push(data_files, progress)
        if report is not None:
            report = with_data(report, _report_with_delivery(report, result))
            report.path.write_bytes(report.data or b"")  # the local report says where everything went
            result.objects += dest.push([report], progress)
    result.link = dest.link(_link_target(files))
    if notices:
        from .notices import send

        for notice in notices:
            send(notice, result, folder)
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
