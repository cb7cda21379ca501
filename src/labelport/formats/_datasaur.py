"""Writing Datasaur JSON in one pass (DATASAUR_SCHEMA, JSON_ADVANCED).

Both formats list span labels after the lines they sit on, so span entries
wait in a spill file (kept in memory while small) and are copied in at the
end; memory does not grow with the document.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from typing import IO, Any

import orjson

from ..datasaur import pieces as dj
from ..model import TOKEN_BASED, Document, Line, Project, Span
from ..report import Report
from .base import MULTILINE

_SPILL_IN_MEMORY = 1 << 20  # past this, label entries wait on disk: memory stays flat

#: The writers write bytes: orjson makes them, and the file takes them as they are.
dumps = orjson.dumps


class JsonArraySpill:
    """Entries of a JSON array kept aside until their place in the file
    comes: in a buffer while they are small, in a temporary file past that.
    (The buffer copies each entry: the bytes orjson returns hold about 4 KiB
    however short they are.)"""

    def __init__(self) -> None:
        self._buffer = bytearray()  # the entries not spilled, each after a ",\n" but the first
        self._file: IO[bytes] | None = None
        self.count = 0

    def add(self, entry: Any) -> None:
        if self.count:
            self._buffer += b",\n"
        self._buffer += orjson.dumps(entry)
        self.count += 1
        if len(self._buffer) > _SPILL_IN_MEMORY:
            if self._file is None:
                self._file = tempfile.TemporaryFile()
            self._file.write(self._buffer)
            self._buffer.clear()

    def copy_to(self, fh: IO[bytes], more: list[Any] = ()) -> None:  # type: ignore[assignment]
        """Write the whole array, the spilled entries then ``more``."""
        for entry in more:
            self.add(entry)
        if not self.count:
            fh.write(b"[]")
            return
        fh.write(b"[\n")
        if self._file is not None:
            self._file.seek(0)
            shutil.copyfileobj(self._file, fh)
            self._file.close()
        fh.write(self._buffer)
        fh.write(b"\n]")


class SpanEntries(JsonArraySpill):
    """Span entries of streamed lines; a span across lines is written once its
    last line has come (Datasaur places its end inside that line's tokens)."""

    def __init__(self, names: dj.LabelNames, with_type: bool):
        super().__init__()
        self.names = names
        self.with_type = with_type
        self.lines: dict[int, Line] = {}  # the lines the spans to write are on
        self.pending: list[Span] = []

    def add_line(self, line: Line) -> None:
        if not line.spans and not self.pending:
            return
        self.lines[line.index] = line
        for span in [s for s in self.pending if s.last_line == line.index]:
            self.add(dj.span_to(span, self.lines.__getitem__, self.names, self.with_type))
            self.pending.remove(span)
        for span in line.spans:
            if span.last_line == line.index:
                self.add(dj.span_to(span, self.lines.__getitem__, self.names, self.with_type))
            else:
                self.pending.append(span)
        if not self.pending:
            self.lines.clear()

    def finish(self, fh: IO[bytes], report: Report, document: str, more: list[Any] = ()) -> None:  # type: ignore[assignment]
        for span in self.pending:  # its last line went to another split
            report.drop(MULTILINE, {"document": document, "line": span.line, "label": span.label}, unit="spans",
                        labels=(span.label,))
        self.copy_to(fh, more)


def with_project_label_sets(project: Project) -> Project:
    """The project with label sets that list every label it uses (its
    Format.first_pass): each file of an output of several files lists them,
    not the labels of its own part."""
    if TOKEN_BASED not in project.kinds:
        return project  # rows and documents name no label set item
    return replace(project, label_sets=dj.label_sets_using(project.label_sets, project.documents()))


def write_document_tail(fh: IO[bytes], document: Document) -> None:
    """The comments and the keys labelport does not model, as read."""
    fh.write(b',\n"comments":' + dumps(document.comments))
    for key, value in document.extra.items():
        fh.write(b",\n" + dumps(key) + b":" + dumps(value))
