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


_BLOCK = 1 << 20


class _Stream:
    """The state of one pass over a file: position, scheme, column count.

    The file is read and decoded a block at a time, not a line at a time:
    the per-line work is the cost of reading CoNLL, so it is kept minimal.
    """

    def __init__(self, fh: IO[bytes], source: Source):
        self.fh = fh
        self.label = source.label
        self.scheme: str | None = None
        self.columns = 0
        self.tab = True
        self.pending = False  # stopped at a -DOCSTART- line
        self.lines: list[str] = []  # the current block's lines
        self.pos = 0  # the next line to read in ``lines``
        self.base = 0  # physical number of the line before ``lines[0]``
        self._rest = b""

    def _refill(self) -> bool:
        """Read the next block of whole lines; False at the end of the file."""
        self.base += len(self.lines)
        self.lines, self.pos = [], 0
        while not self.lines:
            block = self.fh.read(_BLOCK)
            if not block:
                if not self._rest:
                    return False
                block, self._rest = self._rest + b"\n", b""
            else:
                block = self._rest + block
                cut = block.rfind(b"\n") + 1
                block, self._rest = block[:cut], block[cut:]
                if not block:
                    continue
            try:
                text = block.decode("utf-8")
            except UnicodeDecodeError as exc:
                number = self.base + block.count(b"\n", 0, exc.start) + 1
                column = exc.start - block.rfind(b"\n", 0, exc.start)
                raise InputError(f"not valid UTF-8 (byte {column} of the line)", self.label, number) from None
            lines = text.split("\n")
            lines.pop()  # after the last newline
            if "\r" in text:
                lines = [line[:-1] if line.endswith("\r") else line for line in lines]
            self.lines = lines
        return True

    def sentences(self) -> Iterator[tuple[list[str], list[str], int]]:
        """(tokens, tags, first line number) of each sentence up to the next
        -DOCSTART- or the end of the file."""
        tokens: list[str] = []
        tags: list[str] = []
        first = 0
        while self.pos < len(self.lines) or self._refill():
            lines, base, columns, tab = self.lines, self.base, self.columns, self.tab
            for i in range(self.pos, len(lines)):
                text = lines[i]
                if not text or text.isspace():
                    if tokens:
                        self.pos = i + 1
                        yield tokens, tags, first
                        tokens, tags = [], []
                    continue
                parts = text.split("\t") if tab else text.split()
                if parts[0] == DOCSTART or (len(parts) != columns and text.startswith(DOCSTART + " ")):
                    self.pos, self.pending = i + 1, True
                    if tokens:
                        yield tokens, tags, first
                    return
                if len(parts) != columns:
                    if columns:
                        raise InputError(f"{len(parts)} columns, the lines before it have {columns}", self.label, base + i + 1)
                    # the first token line sets the separator and the column count
                    tab = self.tab = "\t" in text
                    parts = text.split("\t") if tab else text.split()
                    columns = self.columns = len(parts)
                if not tokens:
                    first = base + i + 1
                tokens.append(parts[0])
                tags.append(parts[-1] if columns > 1 else "")
            self.pos = len(lines)
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
        while stream.pending:
            stream.pending = False
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
            line = Line(index, " ".join(tokens), tokens)
            if tags.count("O") != len(tags):  # most sentences hold no entity: no offsets needed
                line.spans = stream.spans(tags, first, index, line.starts, tokens, notes)
            yield line
            index += 1
            next_sentence = next(self._sentences, None)
            if next_sentence is None:
                return
            sentence = next_sentence

    def drain(self) -> None:
        """Skip what the consumer left unread, up to the next document."""
        for _ in self._sentences:
            pass
