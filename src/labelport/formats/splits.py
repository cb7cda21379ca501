"""Reproducible train/validation/test assignment (README, Command line: "Splits are reproducible").

A *unit* goes to a split by ``sha256("<seed>:<unit id>")``, its first 8 bytes
read as a fraction of 2**64, against the cumulative shares in the order
given. The unit (``--split-by``) is a whole document (id: the document id), a
line or row (``<document id>:<index>``), or the group of rows or documents
sharing a value of a table column or a document field (``<field>=<value>``).
A unit's split depends on nothing but its own id, so adding documents never
moves existing units.

``--stratify`` (:func:`stratified_plan`) sees every unit first: each unit
joins the group of its rarest label, the hash orders the units inside their
group, and the group is dealt out in the shares' proportions from a start the
hash also picks. The result is a table unit id -> split.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from hashlib import sha256
from typing import Callable

from ..errors import UsageError
from ..guards.output import plain_name
from ..model import Document, Row

TRAIN = "train"
#: The splitting units (``--split-by``); any other name is a table column or
#: a document field whose value groups rows or documents.
DOCUMENT, LINE = "document", "line"
#: Names ``--split-by`` takes for a line: a row of a table is its line.
LINE_NAMES = (LINE, "row", "sentence")


RowSplitter = Callable[[Row], str]


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


def unit_name(split_by: str) -> str:
    """``--split-by``'s value as a unit: DOCUMENT, LINE or the field's name."""
    name = split_by.strip()
    if not name:
        raise UsageError("--split-by: give document, line or a column or document field name")
    return LINE if name.lower() in LINE_NAMES else DOCUMENT if name.lower() == DOCUMENT else name


def _point(key: str) -> int:
    return int.from_bytes(sha256(key.encode("utf-8")).digest()[:8], "big")


class Splitter:
    """Assigns units to named shares; without shares everything is ``train``.

    ``unit`` is DOCUMENT, LINE or a field name (see the module's docstring);
    ``plan`` is a stratified assignment (unit id -> split), the hash deciding
    for a unit it does not hold.
    """

    def __init__(
        self,
        shares: dict[str, float] | None = None,
        seed: int = 0,
        unit: str = LINE,
        plan: dict[str, str] | None = None,
    ):
        shares = dict(shares or {})
        for name, share in shares.items():  # a split is a folder and part of file names under OUT
            plain_name(name, "--split")
            if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
                raise UsageError(f"--split: the share of {name!r} is {share!r}, not a fraction from 0 to 1")
        if shares and abs(sum(shares.values()) - 1.0) > 1e-6:
            raise UsageError(f"--split: the shares add up to {sum(shares.values()):g}, not 1")
        self.shares = shares
        self.seed = seed
        self.unit = unit
        self.plan = plan
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

    @property
    def by_field(self) -> str | None:
        """The column or document field whose values are the units, if any."""
        return None if self.unit in (DOCUMENT, LINE) else self.unit

    def split_of(self, unit_id: str) -> str:
        if not self.shares:
            return TRAIN
        if self.plan is not None:
            planned = self.plan.get(unit_id)
            if planned is not None:
                return planned
        return self.names[bisect_right(self._bounds, _point(self._prefix + unit_id))]

    def assign(self, document_id: str, index: int | None = None) -> str:
        """The split of a whole document, or of its line or row ``index``."""
        if self.plan is not None or not self.shares:
            return self.split_of(document_id if index is None else f"{document_id}:{index}")
        # The hot path of a split by line: one string, one hash, _point inlined
        # (a call per line costs ~3% of a table's conversion).
        key = self._prefix + document_id if index is None else f"{self._prefix}{document_id}:{index}"
        point = int.from_bytes(sha256(key.encode("utf-8")).digest()[:8], "big")
        return self.names[bisect_right(self._bounds, point)]

    def group_id(self, value: object) -> str:
        """The unit id of the rows or documents whose field holds ``value``."""
        return f"{self.unit}={value}"

    def document_unit(self, document: Document) -> str | None:
        """The unit id every item of ``document`` shares; None when its lines
        or rows are units of their own (LINE) or grouped by a column."""
        if self.unit == DOCUMENT:
            return document.id
        if self.unit == LINE or self.unit in document.columns:
            return None
        if self.unit not in document.extra:
            raise UsageError(f"--split-by {self.unit}: document {document.name!r} has no such column or field")
        return self.group_id(document.extra[self.unit])

    def document_split(self, document: Document) -> str | None:
        """The split every item of ``document`` goes to; None when each line or row has its own."""
        if not self.shares:
            return TRAIN
        unit = self.document_unit(document)
        return None if unit is None else self.split_of(unit)

    def whole_document_split(self, document: Document) -> str:
        """The split of a document labeled as a whole (document labeling)."""
        split = self.document_split(document)
        return self.assign(document.id) if split is None else split

    def row_units(self, document: Document) -> Callable[[Row], str]:
        """Each row's unit id (a document whose rows are units, see :meth:`document_unit`)."""
        if self.unit == LINE:
            return lambda row: f"{document.id}:{row.index}"
        column = document.columns.index(self.unit)
        return lambda row: self.group_id(row.cells[column] if column < len(row.cells) else "")

    def row_splitter(self, document: Document) -> RowSplitter:
        """Each row's split when a column's value groups rows (each value hashed once)."""
        unit_of = self.row_units(document)
        known: dict[str, str] = {}

        def split_of_row(row: Row) -> str:
            unit = unit_of(row)
            split = known.get(unit)
            if split is None:
                split = known[unit] = self.split_of(unit)
            return split

        return split_of_row


def stratified_plan(units: dict[str, frozenset[str]], shares: dict[str, float], seed: int) -> dict[str, str]:
    """Each unit's split, each label's units shared out in the shares' proportions.

    A unit belongs to the group of its rarest label (the fewest units hold
    it; ties by name), unlabeled units to a group of their own. Inside a
    group of n units, ordered by their hash, unit r takes the split whose
    cumulative share holds ``(r + start) / n``, ``start`` in [0, 1) from the
    hash of the group's label: each split gets its share of the group within
    one unit. A new unit shifts the later units of its group by one place, so
    it moves at most one unit across each boundary of that group (and the
    units whose rarest label changes, when labels' counts cross).
    """
    held: Counter[str] = Counter()
    for labels in units.values():
        held.update(labels)
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    prefix = f"{seed}:"
    for unit_id, labels in units.items():
        group = min(labels, key=lambda label: (held[label], label)) if labels else ""
        groups[group].append((_point(prefix + unit_id), unit_id))
    names = list(shares)
    bounds: list[float] = []
    total = 0.0
    for share in shares.values():
        total += share
        bounds.append(total)
    bounds = bounds[:-1]
    plan: dict[str, str] = {}
    for group, members in groups.items():
        members.sort()
        start = _point(f"{prefix}label={group}") / 2**64
        n = len(members)
        for rank, (_, unit_id) in enumerate(members):
            plan[unit_id] = names[bisect_right(bounds, (rank + start) / n)]
    return plan
