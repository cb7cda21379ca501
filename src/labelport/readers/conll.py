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

import re
from dataclasses import dataclass
from itertools import accumulate, compress
from typing import IO, Iterator

from ..errors import InputError
from ..model import TOKEN_BASED, Document, Line, Project, Span
from . import ReadOptions, Source
from .lines import LineBlocks

DOCSTART = "-DOCSTART-"
STRAY_I = "I- tags starting an entity (read as B-)"
_IOB, _IO = "IOB", "IO"


def read(source: Source, options: ReadOptions, format_id: str) -> Project:
    options.refuse_table_options(format_id, source.label)
    return Project(
        id=source.stem,
        name=source.stem,
        kinds=(TOKEN_BASED,),
        documents_factory=lambda: _documents(source),
        source=source.label,
    )


@dataclass(frozen=True)
class Resume:
    """Where a byte range of a file starts reading as one pass from the file's
    start would be there (readers.long_document plans it): the lines and
    sentences before it, and what the file's first lines set (the separator,
    the column count, the tag scheme, None if no tag came yet)."""

    line: int  # lines before the range
    index: int  # sentences before the range
    tab: bool
    columns: int
    scheme: str | None


_BLOCK = 1 << 18
#: Up to this many columns a line with too many tabs is looked for from each
#: tab; more, from each line start (see _Stream._set_columns).
_FEW_COLUMNS = 8
#: One or more lines that are empty or only white space: the end of a sentence.
_BLANK_RUN = re.compile(r"^[^\S\n]*\n(?:[^\S\n]*\n)*", re.MULTILINE)
#: The end of a sentence where a -DOCSTART- may come: a blank run as above,
#: or a -DOCSTART- line (its first field, as str.split sees fields), which
#: sets group 1. Found in the same scan, so that a file of many documents is
#: read in one pass however short they are.
_BOUNDARY = re.compile(rf"^[^\S\n]*(?:({DOCSTART})(?=\s).*\n|\n(?:[^\S\n]*\n)*)", re.MULTILINE)
#: The newline ending a sentence's last line and the blank lines after it (a
#: capturing split of a block: sentence, separator, sentence, ...).
_SENTENCE_END = re.compile(r"(\n(?:[^\S\n]*\n)+)")


class _Stream:
    """The state of one pass over a file: position, scheme, column count.

    The file is read and decoded a block at a time, and a sentence's lines
    are split into columns all at once (a few C-level string operations per
    sentence, none per line); a line is looked at on its own only to name
    the line of an error or of a -DOCSTART-.
    """

    def __init__(self, fh: IO[bytes], source: Source, resume: Resume | None = None):
        self.label = source.label
        self.scheme: str | None = None
        self.columns = 0
        self.tab = True
        self.at_file_start = resume is None or resume.line == 0  # a byte-order mark may come
        self.pending = False  # stopped at a -DOCSTART- line
        self.text = ""  # decoded whole lines, each ending in "\n" (see LineBlocks.normalised)
        self.docstart_in_text = False
        self.pos = 0  # where the next unread line starts in ``text``
        self.number = 0  # physical number of the line before ``pos``
        # (a long document's range: its file's lines end in "\n" or "\r\n", see readers.long_document)
        self._lines = LineBlocks(fh, _BLOCK, None if resume is None else False, label=source.label,
                                 first_line=0 if resume is None else resume.line)
        #: characters of text the passes over it searched, all together:
        #: linear in the file, whatever its shape (tests/test_hostile_readers.py)
        self.scanned = 0
        self._blocks = iter(self._lines)
        self._short_line: re.Pattern[str] | None = None  # a line with too few tabs, between newlines
        self._long_line: re.Pattern[str] | None = None  # a line with too many tabs (see _set_columns)
        if resume is not None:
            self.number = resume.line
            self._use_columns(resume.tab, resume.columns)
            self.scheme = {_IOB: _IOB, _IO: _IO}.get(resume.scheme or "")  # (the constants: compared by identity)

    def _refill(self) -> bool:
        """Add the next blocks of whole lines to what is unread; False at the
        end of the file (the text is then left as it is).

        At least as many bytes are added as are still unread (an unfinished
        sentence): each scan of the text then covers at least as many new
        bytes as old ones, so reading stays linear in the file however long
        its lines and sentences, and memory within a few times the longest
        sentence.
        """
        unread = self.text[self.pos :]
        blocks: list[bytes] = []
        size = 0
        for block in self._blocks:
            blocks.append(block)
            size += len(block)
            if size >= len(unread):
                break
        if not blocks:
            return False
        data = b"".join(blocks)
        data = self._lines.normalised(data)
        if not data.endswith(b"\n"):
            data += b"\n"  # the file's last line has no line end
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            number = self.number + unread.count("\n") + data.count(b"\n", 0, exc.start) + 1
            column = exc.start - data.rfind(b"\n", 0, exc.start)
            raise InputError(f"not valid UTF-8 (byte {column} of the line)", self.label, number) from None
        # the file's first block: a byte-order mark is an editor's, not the first token's
        if self.at_file_start and not self.text:
            text = text.removeprefix("\ufeff")
        self.text, self.pos = unread + text, 0
        self.docstart_in_text = DOCSTART in self.text
        return True

    def sentences(self) -> Iterator[tuple[list[str], list[str], int]]:
        """(tokens, tags, first line number) of each sentence up to the next
        -DOCSTART- or the end of the file."""
        while True:
            text = self.text
            if not self.columns and not self.docstart_in_text:
                self._first_line_columns(text)
            if self._regular(text):
                self.scanned += len(text) - self.pos
                yield from self._split_block(text)
            else:
                ends = _BOUNDARY if self.docstart_in_text else _BLANK_RUN
                for end_of_sentence in ends.finditer(text, self.pos):
                    start, end = end_of_sentence.span()
                    self.scanned += end - self.pos
                    sentence = self._take(text, self.pos, start) if start > self.pos else None
                    self.number += text.count("\n", start, end)
                    self.pos = end
                    if sentence is not None:
                        yield sentence
                    if end_of_sentence.lastindex:  # a -DOCSTART- line: this document ends
                        self.pending = True
                        return
                self.scanned += len(text) - self.pos  # searched to the end for another
            if not self._refill():
                if self.pos < len(self.text):  # the last sentence, with no blank line after it
                    yield self._take(self.text, self.pos, len(self.text))
                return

    def _regular(self, text: str) -> bool:
        """Whether the unread text can be split all at once: the columns are
        known and tab-separated, no -DOCSTART- comes, and no line has more
        tabs than the columns need (so a sentence with the right number of
        tabs in all has the right number on every line)."""
        return (
            self.tab
            and self.columns > 1
            and not self.docstart_in_text
            and self._long_line.search(text, self.pos) is None  # type: ignore[union-attr]
        )

    def _split_block(self, text: str) -> Iterator[tuple[list[str], list[str], int]]:
        """Every sentence of a regular block, split with a few C-level
        string operations per sentence; the last, unfinished one stays
        unread for the next block."""
        blanks = _BLANK_RUN.match(text, self.pos)
        if blanks is not None:
            self.number += text.count("\n", self.pos, blanks.end())
            self.pos = blanks.end()
        pieces = _SENTENCE_END.split(text[self.pos :])
        columns = self.columns
        last = len(pieces) - 1
        for k in range(0, last, 2):
            chunk = pieces[k]
            n_lines = chunk.count("\n") + 1
            first = self.number + 1
            parts = chunk.replace("\n", "\t").split("\t")
            if len(parts) == columns * n_lines:
                sentence = parts[::columns], parts[columns - 1 :: columns], first
            else:
                sentence = self._columns(chunk.split("\n"), first)
            self.number += n_lines - 1 + pieces[k + 1].count("\n")
            yield sentence
        self.pos = len(text) - len(pieces[last])

    def _take(self, text: str, start: int, end: int) -> tuple[list[str], list[str], int]:
        """The sentence of the lines ``text[start:end]`` (no blank or
        -DOCSTART- line among them)."""
        chunk = text[start : end - 1]  # without the last newline
        first = self.number + 1
        self.number += chunk.count("\n") + 1
        self.pos = end
        columns = self.columns
        if columns and self.tab:
            n_lines = chunk.count("\n") + 1
            parts = chunk.replace("\n", "\t").split("\t")
            # the right number of tabs, and no line short of them: every line is right
            if len(parts) == columns * n_lines and (
                columns == 1 or self._short_line.search(f"\n{chunk}\n") is None  # type: ignore[union-attr]
            ):
                tags = parts[columns - 1 :: columns] if columns > 1 else [""] * n_lines
                return parts[::columns], tags, first
        return self._columns(chunk.split("\n"), first)

    def _columns(self, lines: list[str], first: int) -> tuple[list[str], list[str], int]:
        """Token and tag of each line, one line at a time: the first token
        line of the file sets the separator and the column count; a line
        whose count differs is an error naming it."""
        tokens: list[str] = []
        tags: list[str] = []
        for number, line in enumerate(lines, first):
            parts = line.split("\t") if self.tab else line.split()
            if len(parts) != self.columns:
                if self.columns:
                    found = f"{len(parts)} column" + ("" if len(parts) == 1 else "s")
                    raise InputError(f"{found}, the lines before it have {self.columns}", self.label, number)
                parts = self._set_columns(line)
            tokens.append(parts[0])
            tags.append(parts[-1] if self.columns > 1 else "")
        return tokens, tags, first

    def _set_columns(self, line: str) -> list[str]:
        """Take the separator and column count from the file's first token
        line; its columns."""
        tab = "\t" in line
        parts = line.split("\t") if tab else line.split()
        self._use_columns(tab, len(parts))
        return parts

    def _use_columns(self, tab: bool, columns: int) -> None:
        self.tab = tab
        self.columns = columns
        self._short_line = re.compile(rf"\n(?:[^\t\n]*\t){{0,{max(self.columns - 2, 0)}}}[^\t\n]*\n")
        if self.columns <= _FEW_COLUMNS:
            # tried from each tab (found at C speed: only what follows a tab
            # goes through the regex engine), each try crossing at most
            # columns - 1 cells
            self._long_line = re.compile(rf"\t(?:[^\t\n]*\t){{{self.columns - 1}}}")
        else:
            # from each tab, a line of many columns would cost the square of
            # its length: tried from each line start instead, once per line
            self._long_line = re.compile(rf"^(?:[^\t\n]*\t){{{self.columns}}}", re.MULTILINE)

    def _first_line_columns(self, text: str) -> None:
        """The columns from the file's first token line, once the text holds it
        whole, so that the first block can be split at once too."""
        blanks = _BLANK_RUN.match(text, self.pos)
        start = blanks.end() if blanks is not None else self.pos
        end = text.find("\n", start)
        if end > start:
            self._set_columns(text[start:end])

    def spans(self, tags: list[str], first: int, line_index: int, tokens: list[str], notes: dict[str, int]) -> list[Span]:
        """The spans of a sentence's tags; offsets in the tokens joined by spaces."""
        spans: list[Span] = []
        current: Span | None = None
        ends = list(accumulate(map(len, tokens)))  # token i ends at ends[i] + i
        previous = -2
        # only the tags that are not O, found at C speed: most tokens are outside
        for i in compress(range(len(tags)), map("O".__ne__, tags)):
            tag = tags[i]
            if i != previous + 1:  # an O came between
                current = None
            previous = i
            if not tag:
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
                    current.end = ends[i] + i
                    continue
                if prefix == "I-":
                    notes[STRAY_I] = notes.get(STRAY_I, 0) + 1
            else:
                if self.scheme is not _IO:
                    self._scheme(_IO, first + i)
                label = tag
                if current is not None and current.label == label:
                    current.token_end = i
                    current.end = ends[i] + i
                    continue
            end = ends[i] + i
            current = Span(label, line_index, end - len(tokens[i]), end, i, i)
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


def first_scheme(tags: list[str]) -> str | None:
    """The scheme the first tag of ``tags`` that is not outside sets (see _Stream.spans), if any."""
    for tag in tags:
        if tag and tag != "O":
            return _IOB if tag[:2] in ("B-", "I-") else _IO
    return None


def _documents(source: Source, resume: Resume | None = None) -> Iterator[Document]:
    """The documents of ``source``; of a range of its one document (readers.long_document)
    when it opens at the range's start and ``resume`` says what came before."""
    with source.open() as fh:
        stream = _Stream(fh, source, resume)
        if resume is not None:  # (a range holds no -DOCSTART-)
            document = _Document(source.name, stream, resume.index)
            yield document.document
            document.drain()
            return
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

    def __init__(self, doc_id: str, stream: _Stream, first_index: int = 0):
        self.stream = stream
        self.first_index = first_index
        self._sentences = stream.sentences()
        self._first = next(self._sentences, None)
        self.document = Document(id=doc_id, name=doc_id, kinds=(TOKEN_BASED,), lines=self._lines())

    def has_content(self) -> bool:
        return self._first is not None

    def _lines(self) -> Iterator[Line]:
        index = self.first_index
        stream = self.stream
        notes = self.document.notes
        if self._first is None:
            return
        sentence = self._first
        while True:
            tokens, tags, first = sentence
            line = Line(index, " ".join(tokens), tokens)
            if tags.count("O") != len(tags):  # most sentences hold no entity: no offsets needed
                line.spans = stream.spans(tags, first, index, tokens, notes)
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
