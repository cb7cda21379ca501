"""Reproducible train/validation/test assignment (README, Command line: "Splits are reproducible").

An item goes to a split by ``sha256("<seed>:<document id>:<index>")`` (index
left out for whole documents), its first 8 bytes read as a fraction of 2**64,
against the cumulative shares in the order given. An item's split depends on
nothing but its own id, so adding documents never moves existing items.
"""

from __future__ import annotations

from bisect import bisect_right
from hashlib import sha256

from ..errors import UsageError
from ..guards.output import plain_name

TRAIN = "train"


def parse_split(text: str) -> dict[str, float]:
    """``"train=0.8,test=0.2"`` -> ``{"train": 0.8, "test": 0.2}``."""
    shares: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            share = float(value)
        except ValueError:
            share = -1.0
        if not sep or not name or not 0 <= share <= 1:
            raise UsageError(f"--split: {part.strip()!r} is not NAME=FRACTION (e.g. train=0.8,test=0.2)")
        plain_name(name, "--split")
        if name in shares:
            raise UsageError(f"--split: {name!r} is given twice")
        shares[name] = share
    return shares


class Splitter:
    """Assigns items to named shares; without shares everything is ``train``."""

    def __init__(self, shares: dict[str, float] | None = None, seed: int = 0):
        shares = dict(shares or {})
        for name in shares:  # a split is a folder and part of file names under OUT
            plain_name(name, "--split")
        if shares and abs(sum(shares.values()) - 1.0) > 1e-6:
            raise UsageError(f"--split: the shares add up to {sum(shares.values()):g}, not 1")
        self.shares = shares
        self.seed = seed
        self.names = list(shares) or [TRAIN]
        bounds, total = [], 0.0
        for share in shares.values():
            total += share
            bounds.append(int(total * 2**64))
        self._bounds = bounds[:-1]  # the last share takes everything above
        self._prefix = f"{seed}:"

    @property
    def active(self) -> bool:
        return bool(self.shares)

    def assign(self, document_id: str, index: int | None = None) -> str:
        if not self.shares:
            return TRAIN
        key = self._prefix + document_id if index is None else f"{self._prefix}{document_id}:{index}"
        point = int.from_bytes(sha256(key.encode("utf-8")).digest()[:8], "big")
        return self.names[bisect_right(self._bounds, point)]
