"""A folder (a path, or ``file://``): files copied in, each checked by sha256."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from .base import Destination as BaseDestination
from .base import DeliveryOptions, LocalFile, Remote, delivery_error


class Destination(BaseDestination):
    scheme = "file"

    def __init__(self, url: str, options: DeliveryOptions):
        super().__init__(url, options)
        self.root = Path(url.split("://", 1)[1] if url.startswith("file://") else url).resolve()

    def uri(self, rel: str) -> str:
        return str(self.root / rel)

    def prepare(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise delivery_error(f"{self.root}: cannot create the folder", exc) from None

    def stat(self, rel: str) -> Remote | None:
        path = self.root / rel
        if not path.is_file():
            return None
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        return Remote(path.stat().st_size, digest.hexdigest())

    def upload(self, file: LocalFile) -> Remote:
        target = self.root / file.rel
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        try:
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
