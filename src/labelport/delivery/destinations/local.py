"""A folder (a path, or ``file://``): files copied in, each checked by sha256.

A push never deletes, and never overwrites a file labelport did not put
there: before anything is copied, every file already at DEST under a name
being pushed must hold the same bytes, or the bytes DEST's
labelport-report.json says an earlier push or conversion left there
(labelport.guards.output's rule for OUT). DEST is refused when it is, is inside or
holds the folder being pushed, and a path through a link leading out of DEST.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from ...errors import UsageError
from ...guards.output import NAME_MAX, REPORT_NAME, file_digest, first_few, fit, overlap, read_report
from .base import Delivered, DeliveryOptions, LocalFile, Remote, delivery_error
from .base import Destination as BaseDestination


class Destination(BaseDestination):
    scheme = "file"

    def __init__(self, url: str, options: DeliveryOptions):
        super().__init__(url, options)
        self.root = Path(url.split("://", 1)[1] if url.startswith("file://") else url).resolve()
        #: rel -> what DEST held before the push, as _check hashed it: stat takes it from here once
        self._held: dict[str, Remote] = {}

    def uri(self, rel: str) -> str:
        return str(self.root / rel)

    def prepare(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise delivery_error(f"{self.root}: cannot create the folder", exc) from None

    def preflight(self, folder: Path | None = None) -> None:
        """DEST apart from ``folder`` and a folder, if it exists."""
        how = None if folder is None else overlap(self.root, folder)
        if how is not None:
            raise UsageError(f"DEST {how} the folder being pushed, {str(folder)!r}; choose a DEST apart from it", file=self.root)
        if os.path.lexists(self.root) and not self.root.is_dir():
            raise UsageError("exists and is not a folder", file=self.root)

    def push(self, files: list[LocalFile], progress: Any) -> list[Delivered]:
        self._held = self._check(files)
        return super().push(files, progress)

    def _check(self, files: list[LocalFile]) -> dict[str, Remote]:
        """Refuse what the push must not overwrite; return what DEST already
        holds under the names being pushed (each file hashed once)."""
        held: dict[str, Remote] = {}
        if not files:
            return held
        first = files[0]
        self.preflight(first.path.parents[len(PurePosixPath(first.rel).parts) - 1])
        left = self._left_by_labelport()
        real_root = os.path.realpath(self.root)
        foreign = []
        for file in files:
            target = self.root / file.rel
            if os.path.commonpath([real_root, os.path.realpath(target.parent)]) != real_root:
                raise UsageError(f"{file.rel!r} would be written through a link leading out of DEST", file=self.root)
            if not os.path.lexists(target):
                continue
            if target.is_symlink() or not target.is_file():
                foreign.append(file.rel)
                continue
            held[file.rel] = found = Remote(*file_digest(target))
            if (found.size, found.sha256) == (file.size, file.sha256) or found.sha256 in left.get(file.rel, ()):
                continue
            if file.rel != REPORT_NAME or read_report(target) is None:
                foreign.append(file.rel)
        if foreign:
            raise UsageError(
                f"holds files labelport did not put there, which this push would overwrite: {first_few(foreign)}; "
                "move them away or push to another folder",
                file=self.root,
            )
        return held

    def _left_by_labelport(self) -> dict[str, set[str]]:
        """rel -> the sha256s DEST's labelport-report.json gives it (as
        converted, and as delivered: a rendered config differs)."""
        report = read_report(self.root / REPORT_NAME)
        if report is None:
            return {}
        left: dict[str, set[str]] = {}
        for rel, entry in report["files"].items():
            if isinstance(entry, dict):
                left.setdefault(rel, set()).add(entry.get("sha256"))
        delivery = report.get("delivery")
        for entry in delivery.get("objects", []) if isinstance(delivery, dict) else []:
            uri = entry.get("uri") if isinstance(entry, dict) else None
            if isinstance(uri, str) and uri.startswith(str(self.root) + os.sep):
                left.setdefault(Path(uri).relative_to(self.root).as_posix(), set()).add(entry.get("sha256"))
        return left

    def stat(self, rel: str) -> Remote | None:
        held = self._held.pop(rel, None)  # hashed by _check moments ago; after an upload, hashed anew
        if held is not None:
            return held
        path = self.root / rel
        if not path.is_file():
            return None
        return Remote(*file_digest(path))

    def upload(self, file: LocalFile) -> Remote:
        target = self.root / file.rel
        partial = target.with_name("." + fit(target.name, ".partial", NAME_MAX - 1))  # fits beside any name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with file.open() as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            os.replace(partial, target)  # a reader never sees half a file
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise delivery_error(f"{target}: cannot write", exc) from None
        remote = self.stat(file.rel)
        assert remote is not None
        return remote

    def verify(self, file: LocalFile, remote: Remote) -> dict[str, str]:
        if remote.sha256 != file.sha256:
            raise delivery_error(f"{self.uri(file.rel)}: sha256 mismatch after copying")
        return {"sha256": file.sha256}

