"""CUSTOM: a file transformer (``--transformer NAME|PATH``) makes the files.

A transformer gets the DATASAUR_SCHEMA ``data`` of each document, rendered by
:class:`DatasaurSchemaWriter` and parsed back, so it sees exactly what
DATASAUR_SCHEMA writes (labelport.formats.transformers says how one is found and
what it defines).

``transform(document) -> str``: the per-document driver opens
``OUT/[<split>/]<document><EXTENSION>``, streams the document's lines or rows
of that split into a DATASAUR_SCHEMA rendering in memory, and writes what
``transform`` returns for it.

``transform_project(documents, project) -> dict[str, bytes]``: called once
per split with an iterator of the data of each document's part in that split
(without ``--split``, once, with every document); the files it returns go
under ``OUT/[<split>/]``. The project is read once: while the first split's
call consumes its iterator, the other splits' parts wait in spill files (in
memory while small), and their calls read them back. A split that gets no
document gets no call. ``project`` names the split and gives the label names
of the whole project (:class:`~labelport.formats.transformers.ProjectContext`),
gathered from every part as it is read; asked for before the first split's
documents are all read, they make the run read the rest ahead, that split's
parts spilled too. A transformer's ``relations_not_carried(document)`` is
called once for each document with arrows, as its parts are made, with the
whole document: its one part, or, when a split by line cuts it, a rendering
of all its lines made beside the parts (so each arrow is counted once).
"""

from __future__ import annotations

import io
import reprlib
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any, Iterator

import orjson

from ..errors import LabelportError
from ..guards.output import REPORT_NAME
from ..model import DOCUMENT_BASED, ROW_BASED, TOKEN_BASED, Document, Line, Project, Row
from .base import (
    ARROWS,
    COMMENTS,
    CONFLICTS,
    DOCUMENT_ANSWERS,
    LABEL_SETS,
    MULTILINE,
    OVERLAPS,
    Context,
    DocumentWriter,
    Format,
    FormatOptions,
    Item,
    items,
    options_of,
    write_per_document,
)
from .datasaur_schema import DatasaurSchemaWriter
from .transformers import LabelNames, ProjectContext, Transformer, load

_SPILL_IN_MEMORY = 16 << 20


class RenderedDocument(DocumentWriter):
    """One document's part of one split, rendered as DATASAUR_SCHEMA in memory;
    :meth:`data` gives its ``data`` dict."""

    def __init__(self, fh: Any, document: Document, ctx: Context, fmt: Format):
        super().__init__(fh, document, ctx, fmt)
        self._buffer = io.BytesIO()
        self._inner = DatasaurSchemaWriter(self._buffer, document, ctx, fmt)

    def line(self, line: Line) -> None:
        self._inner.line(line)

    def row(self, row: Row) -> None:
        self._inner.row(row)

    def document_answers(self, document: Document) -> None:
        self._inner.document_answers(document)

    def data(self) -> dict:
        self._inner.close()
        text = self._buffer.getvalue()
        self._buffer = io.BytesIO()
        return orjson.loads(text)["data"]


class TransformWriter(RenderedDocument):
    """Per-document: the file's content is ``transform(data)``."""

    transformer: Transformer  # set on the subclass made for each run
    failed = False  # set on that subclass once a call failed: the rest are not run

    def __init__(self, fh: IO[str], document: Document, ctx: Context, fmt: Format):
        super().__init__(fh, document, ctx, fmt)
        self._closed = False

    def close(self) -> None:
        if self._closed or type(self).failed:  # the driver closes the rest while unwinding
            return
        self._closed = True
        try:
            self.fh.write(self.transformer.run(self.data(), self.document.name))
        except BaseException:
            type(self).failed = True
            raise


def write(project: Project, out: Path, ctx: Context) -> None:
    transformer = load(options_of(ctx, CustomOptions).transformer)
    if transformer.per_document:
        writer = type("TransformWriter", (TransformWriter,), {"transformer": transformer})
        fmt = replace(FORMAT, extension=transformer.extension, writer=writer, write_project=None)
        write_per_document(fmt, project, out, ctx)
    else:
        ProjectRun(transformer, project, out, ctx).write()


class ProjectRun:
    """``transform_project`` once per split, in one pass over the project."""

    def __init__(self, transformer: Transformer, project: Project, out: Path, ctx: Context):
        self.transformer = transformer
        self.project = project
        self.out = out
        self.ctx = ctx
        self.names = ctx.splitter.names
        self.first = self.names[0]
        self.spills: dict[str, IO[bytes]] = {s: tempfile.SpooledTemporaryFile(_SPILL_IN_MEMORY) for s in self.names[1:]}
        self.parts_in: dict[str, int] = dict.fromkeys(self.names, 0)
        self.parts = self._parts()
        self.own_error: BaseException | None = None  # labelport's own failure while reading
        self.names_seen = LabelNames()  # of every part read so far
        self.read_all = False
        self.ahead: Iterator[dict] | None = None  # the first split's parts, once read ahead

    def write(self) -> None:
        try:
            head = self._next_first()
            if head is not None or not self.ctx.splitter.active:
                self._call(self.first, self._first_split(head))
            for _ in iter(self._next_first, None):  # what the first call left unread
                pass
            for split in self.names[1:]:
                if self.parts_in[split]:
                    self._call(split, self._spilled(split))
        finally:
            for spill in self.spills.values():
                spill.close()

    # -- the documents ----------------------------------------------------------------
    def _parts(self) -> Iterator[tuple[str, dict]]:
        """(split, data) of each document's part in each split, in document order."""
        fmt, ctx = FORMAT, self.ctx
        writers: dict[str, RenderedDocument] = {}
        start: Item | None = None
        whole: RenderedDocument | None = None  # the whole of a document with arrows that the split cuts

        def finish() -> Iterator[tuple[str, dict]]:
            if start is not None and start.kind != DOCUMENT_BASED and not writers:
                writers[start.split] = RenderedDocument(None, start.document, ctx, fmt)  # an empty document
            parts = [(split, writers.pop(split).data()) for split in self.names if split in writers]
            if start is not None and start.document.arrows and self.transformer.relations_not_carried:
                self._relations_not_carried(whole.data() if whole is not None else parts[0][1])
            for split, data in parts:
                self.names_seen.add(data)
                yield split, data

        try:
            for entry in items(fmt, self.project, ctx):
                if entry.item is None:
                    yield from finish()
                    start, whole = entry, self._whole(entry.document)
                    continue
                writer = writers.get(entry.split)
                if writer is None:
                    writer = writers[entry.split] = RenderedDocument(None, entry.document, ctx, fmt)
                _render(writer, entry)
                if whole is not None:
                    _render(whole, entry)
            yield from finish()
        except GeneratorExit:
            raise
        except BaseException as exc:
            self.own_error = exc
            raise

    def _whole(self, document: Document) -> RenderedDocument | None:
        """A rendering of the whole document, for relations_not_carried, when
        its lines may go to several splits (else its one part is whole); its
        losses are counted by the parts' renderings, not again."""
        if not (document.arrows and self.transformer.relations_not_carried):
            return None
        if self.ctx.splitter.document_split(document) is not None:
            return None
        return RenderedDocument(None, document, replace(self.ctx, report=self.ctx.report.fresh()), FORMAT)

    def _relations_not_carried(self, data: dict) -> None:
        """Record in the report each arrow the transformer says it leaves out."""
        hook = self.transformer.relations_not_carried
        assert hook is not None
        where = f"document {str((data.get('document') or {}).get('name'))!r}"
        try:
            lost = list(hook(data))
        except LabelportError:
            raise
        except Exception as exc:
            raise self.transformer.failure(exc, where) from exc
        for entry in lost:
            if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)
                    and isinstance(entry[1], dict)):
                raise self.transformer.error(
                    where, f"relations_not_carried gave {reprlib.repr(entry)}, expected (str, dict) pairs")
            try:
                orjson.dumps(entry[1])
            except TypeError as exc:
                raise self.transformer.error(
                    where, f"relations_not_carried gave an example the report cannot hold: {exc}") from exc
            self.ctx.report.drop(*entry)

    def _next_first(self) -> dict | None:
        """The next part of the first split; the other splits' parts met on
        the way go to their spill files."""
        if self.ahead is not None:
            return next(self.ahead, None)
        for split, data in self.parts:
            self.parts_in[split] += 1
            if split == self.first:
                return data
            self.spills[split].write(orjson.dumps(data) + b"\n")
        self.read_all = True
        return None

    def label_names(self) -> LabelNames:
        """The whole project's label names; read ahead to the end if need be,
        the first split's parts not yet given spilled like the others'."""
        if not self.read_all:
            spill = self.spills[self.first] = tempfile.SpooledTemporaryFile(_SPILL_IN_MEMORY)
            for split, data in self.parts:
                self.parts_in[split] += 1
                self.spills[split].write(orjson.dumps(data) + b"\n")
            self.read_all = True
            self.ahead = self._spilled(self.first) if spill.tell() else iter(())
        return self.names_seen

    def _first_split(self, head: dict | None) -> Iterator[dict]:
        data = head
        while data is not None:
            yield data
            data = self._next_first()

    def _spilled(self, split: str) -> Iterator[dict]:
        spill = self.spills[split]
        spill.seek(0)
        for line in spill:
            yield orjson.loads(line)

    # -- the call ---------------------------------------------------------------------
    def _call(self, split: str, documents: Iterator[dict]) -> None:
        given = _Given(documents)
        transform_project = self.transformer.transform_project
        assert transform_project is not None
        try:
            if self.transformer.takes_project:
                active = self.ctx.splitter.active
                project = ProjectContext(split if active else None, self.names if active else [], self.label_names)
                result = transform_project(iter(given), project=project)
            else:
                result = transform_project(iter(given))
        except LabelportError:
            raise
        except Exception as exc:
            if self.own_error is not None:
                raise self.own_error from None
            raise self.transformer.failure(exc, given.where(during=True)) from exc
        if self.own_error is not None:  # swallowed by the transformer
            raise self.own_error
        files = self.transformer.files(result, given.where(during=False))
        folder = self.out / split if self.ctx.splitter.active else self.out
        for relative, content in files.items():
            if not self.ctx.splitter.active and str(relative) == REPORT_NAME:
                raise self.transformer.error(given.where(during=False), f"path {REPORT_NAME!r} is labelport's report")
            path = folder.joinpath(*relative.parts)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
            except OSError as exc:
                raise self.transformer.error(given.where(during=False), f"cannot write {str(relative)!r}: {exc.strerror or exc}") from exc
            self.ctx.report.split_count(split, "files")


def _render(writer: RenderedDocument, entry: Item) -> None:
    if entry.kind == TOKEN_BASED:
        writer.line(entry.item)  # type: ignore[arg-type]
    elif entry.kind == ROW_BASED:
        writer.row(entry.item)  # type: ignore[arg-type]
    else:
        writer.document_answers(entry.item)  # type: ignore[arg-type]


class _Given:
    """The documents a transform_project call is given, remembering which."""

    def __init__(self, documents: Iterator[dict]):
        self.documents = documents
        self.names: list[str] = []
        self.done = False

    def __iter__(self) -> Iterator[dict]:
        for data in self.documents:
            self.names.append(str((data.get("document") or {}).get("name")))
            yield data
        self.done = True

    def where(self, during: bool) -> str:
        if not self.names:
            return "the project before its first document"
        if during and not self.done:
            return f"document {self.names[-1]!r}"
        if len(self.names) == 1:
            return f"document {self.names[0]!r}"
        shown = ", ".join(repr(n) for n in self.names[:3])
        more = f" and {len(self.names) - 3} more" if len(self.names) > 3 else ""
        return f"documents {shown}{more}"


@dataclass(frozen=True)
class CustomOptions(FormatOptions):
    #: a transformer from converters/ (a name) or a .py file
    transformer: str | None = None


FORMAT = Format(
    id="CUSTOM",
    kinds=frozenset({TOKEN_BASED, ROW_BASED, DOCUMENT_BASED}),
    write_project=write,
    carries=frozenset({OVERLAPS, LABEL_SETS, CONFLICTS, MULTILINE, ARROWS, DOCUMENT_ANSWERS, COMMENTS}),
    options=CustomOptions,
)
