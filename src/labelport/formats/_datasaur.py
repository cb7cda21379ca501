"""Writing Datasaur JSON in one pass (DATASAUR_SCHEMA, JSON_ADVANCED).

Both formats list span labels after the lines they sit on, so span entries
wait in a spill file (kept in memory while small) and are copied in at the
end; memory does not grow with the document.
"""

from __future__ import annotations

import tempfile
from typing import IO, Any

import orjson

from .. import datasaur_json as dj
from ..model import Document, Line, Span
from ..report import Report
from .base import MULTILINE

_SPILL_IN_MEMORY = 1 << 20  # past this, label entries wait on disk: memory stays flat


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


class JsonArraySpill:
    """Entries of a JSON array kept aside until their place in the file comes."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(_SPILL_IN_MEMORY)
        self.count = 0

    def add(self, entry: Any) -> None:
        self._file.write((b",\n" if self.count else b"\n") + orjson.dumps(entry))
        self.count += 1

    def copy_to(self, fh: IO[str], more: list[Any] = ()) -> None:  # type: ignore[assignment]
        """Write the whole array, the spilled entries then ``more``."""
        for entry in more:
            self.add(entry)
        fh.write("[")
        self._file.seek(0)
        while chunk := self._file.read(1 << 20):
            fh.write(chunk.decode("utf-8"))
        fh.write("\n]" if self.count else "]")
        self._file.close()


class SpanEntries(JsonArraySpill):
    """Span entries of streamed lines; a span across lines is written once its
    last line has come (Datasaur places its end inside that line's tokens)."""

    def __init__(self, names: dj.LabelNames, with_type: bool):
        super().__init__()
        self.names = names
        self.with_type = with_type
        self.starts: dict[int, list[int]] = {}
        self.pending: list[Span] = []

    def add_line(self, line: Line) -> None:
        if not line.spans and not self.pending:
            return
        self.starts[line.index] = line.starts
        for span in [s for s in self.pending if s.last_line == line.index]:
            self.add(dj.span_to(span, self.starts.__getitem__, self.names, self.with_type))
            self.pending.remove(span)
        for span in line.spans:
            if span.last_line == line.index:
                self.add(dj.span_to(span, self.starts.__getitem__, self.names, self.with_type))
            else:
                self.pending.append(span)
        if not self.pending:
            self.starts.clear()

    def finish(self, fh: IO[str], report: Report, document: str, more: list[Any] = ()) -> None:  # type: ignore[assignment]
        for span in self.pending:  # its last line went to another split
            report.drop(MULTILINE, {"document": document, "line": span.line, "label": span.label})
        self.copy_to(fh, more)


def write_document_tail(fh: IO[str], document: Document) -> None:
    """The comments and the keys labelport does not model, as read."""
    fh.write(',\n"comments":' + dumps(document.comments))
    for key, value in document.extra.items():
        fh.write(f",\n{dumps(key)}:{dumps(value)}")
