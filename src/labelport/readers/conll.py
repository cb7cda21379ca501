"""CoNLL and IOB files: ``token<TAB or space>...tag`` per line.

A line that is empty or only whitespace ends a sentence (WNUT-17 separates
most sentences with a lone tab); ``-DOCSTART-`` starts a document. Each
sentence becomes one line of its document, its text the tokens joined by
single spaces, so offsets are exact. A file is either IOB (``B-X``, ``I-X``,
``O``) or IO (bare labels, ``O`` or an empty tag outside); mixing the two, a
``B-``/``I-`` with no label, or a change in column count is an error.

Lines stream: a file that is one long document is read one sentence at a
time, so memory stays flat whatever its size.
"""

from __future__ import annotations

from typing import IO, Iterator

from ..errors import InputError
from ..model import TOKEN_BASED, Document, Line, Project, Span
from . import ReadOptions, Source

DOCSTART = "-DOCSTART-"
STRAY_I = "I- tags starting an entity (read as B-)"
_IOB, _IO = "IOB", "IO"


def read(source: Source, options: ReadOptions, format_id: str) -> Project:
    return Project(
        id=source.stem,
        name=source.stem,
        kinds=(TOKEN_BASED,),
        documents_factory=lambda: _documents(source),
        source=source.label,
    )


class _Stream:
    """The state of one pass over a file: position, scheme, column count."""

    def __init__(self, fh: IO[bytes], source: Source):
        self.fh = fh
        self.label = source.label
        self.number = 0  # physical line number of the last line read
        self.scheme: str | None = None
        self.columns = 0
        self.tab = True
        self.pending: str | None = None  # a -DOCSTART- line read ahead

    def next_text(self) -> str | None:
        raw = self.fh.readline()
        if not raw:
            return None
        self.number += 1
        try:
            return raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise InputError(f"not valid UTF-8 (byte {exc.start + 1} of the line)", self.label, self.number) from None

    def fail(self, what: str) -> InputError:
        return InputError(what, self.label, self.number)

    def split(self, text: str) -> list[str]:
        if not self.columns:
            self.tab = "\t" in text
        parts = text.split("\t") if self.tab else text.split()
        if len(parts) != self.columns:
            if self.columns:
                raise self.fail(f"{len(parts)} columns, the lines before it have {self.columns}")
            self.columns = len(parts)
        return parts

    def sentences(self) -> Iterator[tuple[list[str], list[str], int]]:
        """(tokens, tags, first line number) of each sentence up to the next
        -DOCSTART- or the end of the file."""
        tokens: list[str] = []
        tags: list[str] = []
        first = 0
        while (text := self.next_text()) is not None:
            if not text or text.isspace():
                if tokens:
                    yield tokens, tags, first
                    tokens, tags = [], []
                continue
            if not tokens:
                first = self.number
            if text.startswith(DOCSTART) and text.split(maxsplit=1)[0] == DOCSTART:
                self.pending = text
                break
            parts = self.split(text)
            tokens.append(parts[0])
            tags.append(parts[-1] if len(parts) > 1 else "")
        if tokens:
            yield tokens, tags, first

    def spans(
        self, tags: list[str], first: int, line_index: int, starts: list[int], tokens: list[str], notes: dict[str, int]
    ) -> list[Span]:
        spans: list[Span] = []
        current: Span | None = None
        for i, tag in enumerate(tags):
            if tag == "O" or not tag:
                current = None
                continue
            prefix = tag[:2]
            if prefix == "B-" or prefix == "I-":
                if self.scheme is not _IOB:
                    self._scheme(_IOB, first + i)
                label = tag[2:]
                if not label:
                    raise InputError(f"tag {tag!r} has no label", self.label, first + i)
                if prefix == "I-" and current is not None and current.label == label:
                    current.token_end = i
                    current.end = starts[i] + len(tokens[i])
                    continue
                if prefix == "I-":
                    notes[STRAY_I] = notes.get(STRAY_I, 0) + 1
            else:
                if self.scheme is not _IO:
                    self._scheme(_IO, first + i)
                label = tag
                if current is not None and current.label == label:
                    current.token_end = i
                    current.end = starts[i] + len(tokens[i])
                    continue
            current = Span(label, line_index, starts[i], starts[i] + len(tokens[i]), i, i)
            spans.append(current)
        return spans

    def _scheme(self, scheme: str, number: int) -> None:
        if self.scheme is not None:
            raise InputError(
                f"mixes IOB tags (B-X, I-X) with bare labels (this line is {scheme}); use one scheme per file",
                self.label,
                number,
            )
        self.scheme = scheme


def _documents(source: Source) -> Iterator[Document]:
    with source.open() as fh:
        stream = _Stream(fh, source)
        section = 0
        # Content before the first -DOCSTART- is the document named by the file.
        first = _Document(source.name, stream)
        if first.has_content():
            yield first.document
            first.drain()
        while stream.pending is not None:
            stream.pending = None
            section += 1
            doc = _Document(f"{source.name}#{section}", stream)
            yield doc.document
            doc.drain()


class _Document:
    """One document of the stream, its lines read as they are consumed."""

    def __init__(self, doc_id: str, stream: _Stream):
        self.stream = stream
        self._sentences = stream.sentences()
        self._first = next(self._sentences, None)
        self.document = Document(id=doc_id, name=doc_id, kinds=(TOKEN_BASED,), lines=self._lines())

    def has_content(self) -> bool:
        return self._first is not None

    def _lines(self) -> Iterator[Line]:
        index = 0
        stream = self.stream
        notes = self.document.notes
        if self._first is None:
            return
        sentence = self._first
        while True:
            tokens, tags, first = sentence
            starts = []
            position = 0
            for token in tokens:
                starts.append(position)
                position += len(token) + 1
            yield Line(index, " ".join(tokens), tokens, starts, stream.spans(tags, first, index, starts, tokens, notes))
            index += 1
            next_sentence = next(self._sentences, None)
            if next_sentence is None:
                return
            sentence = next_sentence

    def drain(self) -> None:
        """Skip what the consumer left unread, up to the next document."""
        for _ in self._sentences:
            pass
