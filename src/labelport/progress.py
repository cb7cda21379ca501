"""Progress on a terminal, silence elsewhere.

Writers call :meth:`Progress.tick` once per line or row; the bar is redrawn
every few thousand items so counting costs next to nothing. rich is imported
only when stderr is a terminal.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

_EVERY = 4096


class Progress:
    def __init__(self, description: str, enabled: bool | None = None):
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.items = 0
        self.documents = 0
        self._next = _EVERY
        self._bar: Any = None
        self._task: Any = None
        if enabled:
            from rich.progress import Progress as RichProgress  # (start-up: rich ~25 ms; only a terminal shows a bar)
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            self._bar = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TextColumn("{task.fields[documents]:,} documents, {task.completed:,.0f} lines/rows"),
                TimeElapsedColumn(),
                transient=True,
            )
            self._task = self._bar.add_task(description, total=None, documents=0)
            self._bar.start()

    def tick(self, n: int = 1) -> None:
        self.items += n
        if self.items >= self._next:
            self._next = self.items + _EVERY
            self._refresh()

    def document(self) -> None:
        self.documents += 1
        self._refresh()

    def restart(self) -> None:
        """The work starts over (a first try was given up): count from zero."""
        self.items = self.documents = 0
        self._next = _EVERY
        self._refresh()

    def _refresh(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self.items, documents=self.documents)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ByteProgress:
    """Bytes delivered out of a known total; thread-safe ``advance``."""

    def __init__(self, description: str, total: int, enabled: bool | None = None, listener: Any = None):
        if enabled is None:
            enabled = sys.stderr.isatty()
        self._lock = threading.Lock()
        self._bar: Any = None
        self.total, self.done, self._listener = total, 0, listener
        if enabled:
            from rich.progress import BarColumn, DownloadColumn, TextColumn, TransferSpeedColumn
            from rich.progress import Progress as RichProgress  # (start-up: rich ~25 ms; only a terminal shows a bar)

            self._bar = RichProgress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), transient=True
            )
            self._task = self._bar.add_task(description, total=total)
            self._bar.start()

    def advance(self, n: int) -> None:
        with self._lock:
            self.done += n
            if self._bar is not None:
                self._bar.update(self._task, advance=n)
            if self._listener is not None:
                self._listener(self.done, self.total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> "ByteProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
