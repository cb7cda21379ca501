"""Progress on a terminal, silence elsewhere.

A run goes through phases: convert, check, upload, notify. On a terminal each
phase is a line (rich) that stays when the phase is done: with its total,
percent, rate and time left when the total is known before the work starts
(a project's input bytes, :class:`~labelport.model.SizeHint`; the bytes to
upload; the notices to send), a spinner and counters when it is not. Off a
terminal nothing is drawn. The command line sets how much is said
(:func:`set_level`): ``--quiet`` draws nothing, ``--verbose`` adds a line per
phase with its timing, and what was skipped (:func:`say`).

Writers call :meth:`Progress.tick` once per thousand lines or rows; the bar
is redrawn every few thousand items, and only then are the input's bytes read
so far asked for, so counting costs next to nothing. rich is imported only
when a bar is shown.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Protocol

_EVERY = 4096

class InputSize(Protocol):
    """What the convert phase asks of a project's input (labelport.model.SizeHint)."""

    @property
    def total(self) -> int: ...

    def read(self) -> int: ...

    def read_through(self, n: int) -> None: ...

    def bytes_read_through(self, n: int) -> None: ...


def counted(n: int, noun: str) -> str:
    """``n`` and a plural ``noun``, made singular for one: "1 document", "2 documents"."""
    return f"{n:,} {noun[:-1] if n == 1 and noun.endswith('s') else noun}"


#: How much a run says on stderr (the command line's --quiet, --verbose).
QUIET, NORMAL, VERBOSE = 0, 1, 2
_level = NORMAL


def set_level(level: int) -> None:
    global _level
    _level = level


def output_level() -> int:
    return _level


def say(line: str) -> None:
    """A line for --verbose only: a phase's timing, what was skipped."""
    if _level >= VERBOSE:
        print(f"labelport: {line}", file=sys.stderr)


def _shown(enabled: bool | None) -> bool:
    """``enabled`` None: a bar when stderr is a terminal, unless --quiet."""
    if enabled is None:
        return _level > QUIET and sys.stderr.isatty()
    return enabled


class Phase:
    """One phase of a run: a line on a terminal while it runs and after;
    with --verbose, a line saying how long it took.

    ``total`` is what the phase will have done when it ends, in ``unit``
    ("bytes" or "items"), or None when not known. ``enabled`` False (a
    worker's, a trial pass's) shows and says nothing.
    """

    unit = "items"

    def __init__(self, name: str, total: int | None = None, enabled: bool | None = None):
        self.name = name
        self.total = total
        self.done = 0
        #: what the phase came to, said in place of the amount done ("2 findings")
        self.outcome = ""
        self._reports = enabled is not False
        self._started = time.perf_counter()
        self._bar: Any = None
        self._task: Any = None
        if _shown(enabled):
            self._bar = _rich_bar(self.unit, total is not None)
            self._task = self._bar.add_task(name, total=total, counts="")
            self._bar.start()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)

    def counts(self) -> str:
        """What the phase did, for its lines ("" when the bar says it all)."""
        return ""

    def close(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, counts=self.counts())
            self._bar.stop()
            self._bar = None
        if self._reports:  # (once: close may be called again)
            self._reports = False
            say(self._timing())

    def _timing(self) -> str:
        seconds = time.perf_counter() - self._started
        done = f"{_bytes(self.done)}" if self.unit == "bytes" else f"{self.done:,}"
        if self.total is not None:
            done += f" of {_bytes(self.total)}" if self.unit == "bytes" else f" of {self.total:,}"
        done = self.outcome or done
        extra = self.counts()
        return f"{self.name}: {done}{', ' + extra if extra else ''} in {seconds:.2f} s"

    def __enter__(self) -> "Phase":
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            self._reports = False  # (a failed phase: the error says what happened)
        else:
            self.finished()
        self.close()

    def finished(self) -> None:
        """The phase's work is all done (called on leaving its ``with`` without an error)."""


class Progress(Phase):
    """The convert phase: documents and lines or rows written, and, when
    the project's input size is known, the input's bytes read so far."""

    def __init__(self, description: str, enabled: bool | None = None, size: InputSize | None = None):
        self.items = 0
        self.documents = 0
        self._next = _EVERY
        self._size = size
        if size is not None:
            self.unit = "bytes"
        super().__init__(description, size.total if size is not None and _shown(enabled) else None, enabled)

    def tick(self, n: int = 1) -> None:
        self.items += n
        if self.items >= self._next:
            self._next = self.items + _EVERY
            self._refresh()

    def document(self) -> None:
        self.documents += 1
        self._refresh()

    def files_read(self, n: int) -> None:
        """The project's first ``n`` files were read by other processes (--jobs)."""
        if self._size is not None and self._bar is not None:
            self._size.read_through(n)
            self._refresh()

    def bytes_read(self, n: int) -> None:
        """The first ``n`` bytes of the project's one file were read by other
        processes (a long document's ranges under --jobs)."""
        if self._size is not None and self._bar is not None:
            self._size.bytes_read_through(n)
            self._refresh()

    def restart(self) -> None:
        """The work starts over (a first try was given up): count from zero."""
        self.items = self.documents = 0
        self._next = _EVERY
        self._refresh()

    def counts(self) -> str:
        return f"documents: {self.documents:,}, lines or rows: {self.items:,}"

    def _refresh(self) -> None:
        if self._bar is not None:
            if self._size is not None:
                self.done = max(self.done, min(self._size.read(), self.total or 0))
            else:
                self.done = self.items
            self._bar.update(self._task, completed=self.done, counts=self.counts())

    def finished(self) -> None:
        if self._size is not None and (self._bar is not None or (self._reports and _level >= VERBOSE)):
            # all of it was read (a stream that cannot tell its position counts now)
            self.total = self.done = self._size.total


class ByteProgress(Phase):
    """The upload phase: bytes delivered out of a known total; thread-safe
    ``advance``; ``listener`` is called with (bytes done, bytes in all)."""

    unit = "bytes"

    def __init__(self, description: str, total: int, enabled: bool | None = None, listener: Any = None):
        self._lock = threading.Lock()
        self._listener = listener
        super().__init__(description, total, enabled)

    def advance(self, n: int = 1) -> None:
        with self._lock:
            super().advance(n)
            if self._listener is not None:
                self._listener(self.done, self.total)


def _rich_bar(unit: str, known: bool) -> Any:
    """A rich display of one line on stderr: a bar with percent, amount, rate and
    time left when the total is ``known``, else a spinner with the counts."""
    # (start-up, these imports: rich ~25 ms; only a terminal shows a bar)
    from rich.console import Console  # (start-up: rich, as in _rich_bar)
    from rich.progress import (  # (start-up: rich)  # (start-up: rich)  # (start-up: rich)
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.progress import Progress as RichProgress  # (start-up: rich)

    name = TextColumn("{task.description:<8}")
    counts = TextColumn("{task.fields[counts]}")
    if not known:
        columns: list[Any] = [name, SpinnerColumn(), counts, TimeElapsedColumn()]
    elif unit == "bytes":
        columns = [name, BarColumn(), TaskProgressColumn(), DownloadColumn(), TransferSpeedColumn(),
                   TimeRemainingColumn(), counts]
    else:
        columns = [name, BarColumn(), TaskProgressColumn(), MofNCompleteColumn(), TimeRemainingColumn(), counts]
    return RichProgress(*columns, console=Console(stderr=True))


def _bytes(n: int) -> str:
    if n < 1000:
        return f"{n:,} bytes"
    size = n / 1000
    for unit in ("kB", "MB"):
        if size < 1000:
            return f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"
