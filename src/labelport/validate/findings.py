"""The findings of one check, capped: one collector for every checker.

A finding names its rule, says what is wrong, and where: the file (as the
walker names it, see :mod:`labelport.validate.walk`) and, when it is about
one line or row, its 1-based number. At most :data:`CAP` findings of one
rule in one file are listed (a checker may set a lower cap for a rule that
only recommends); the rest of them become one more finding, placed right
after the last one listed: ``and N more (M in all) like: <the first one>``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from ..report import Finding

#: Findings of one rule in one file listed one by one; the rest are counted.
CAP = 20

_Key = tuple[str, "str | None"]
#: What :meth:`Findings.mark` saves.
Mark = tuple[int, Counter[_Key], dict[_Key, Finding], dict[_Key, int]]


class Findings:
    """Findings in the order they are found, capped per rule and file.

    ``name`` turns a :class:`~pathlib.Path` given as ``file`` into the name
    findings show (the folder being checked sets it); a ``str`` is shown as
    it is.
    """

    def __init__(self, caps: Mapping[str, int] | None = None):
        self.caps = dict(caps or {})
        self.items: list[Finding] = []
        self.name = Path.as_posix
        self._counts: Counter[_Key] = Counter()
        self._first: dict[_Key, Finding] = {}  # the first finding, or the first hard one, of a rule in a file
        self._last: dict[_Key, int] = {}  # where the last one listed is in items

    def add(self, rule: str, message: str, hard: bool, file: str | Path | None = None, line: int | None = None) -> None:
        name = self.name(file) if isinstance(file, Path) else file
        key = (rule, name)
        self._counts[key] += 1
        n = self._counts[key]
        finding = Finding(rule, message, hard, name, line)  # (never changed once made: one object serves both)
        first = self._first.get(key)
        if first is None or (hard and not first.hard):
            self._first[key] = finding
        if n <= self.caps.get(rule, CAP):
            self._last[key] = len(self.items)
            self.items.append(finding)

    def count_more(self, rule: str, file: str | None, n: int) -> None:
        """Count ``n`` more findings of ``rule`` in ``file`` that a checker
        found but did not keep (it keeps no more than the cap lists)."""
        if n > 0:
            self._counts[(rule, file)] += n

    def mark(self) -> Mark:
        return len(self.items), self._counts.copy(), dict(self._first), dict(self._last)

    def restore(self, mark: Mark) -> None:
        """Forget what was added since :meth:`mark`."""
        del self.items[mark[0] :]
        self._counts, self._first, self._last = mark[1].copy(), dict(mark[2]), dict(mark[3])

    def done(self) -> list[Finding]:
        """Every finding listed, each summary of those not listed after the
        last listed of its rule and file."""
        after: dict[int, list[Finding]] = {}
        for key, n in self._counts.items():
            cap = self.caps.get(key[0], CAP)
            if n > cap:
                first = self._first[key]
                summary = Finding(first.rule, f"and {n - cap:,} more ({n:,} in all) like: {first.message}",
                                  first.hard, first.file)
                after.setdefault(self._last[key], []).append(summary)
        if not after:
            return self.items
        out: list[Finding] = []
        for i, finding in enumerate(self.items):
            out.append(finding)
            out.extend(after.get(i, ()))
        return out
