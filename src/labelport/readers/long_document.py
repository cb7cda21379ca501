"""A CoNLL/IOB file that is one long document, in byte ranges that ``--jobs``
and ``--engine ray`` share out (labelport.conversion.parallel). Its
:func:`read` is the reader the registry names for CoNLL/IOB files:
readers.conll's, with the ranges of a plain local file (:class:`LongDocument`,
planned only when asked for).

The file is cut into ranges of at least :data:`MIN_RANGE` bytes (at most
:data:`MOST_RANGES`), each starting at a sentence: the first cut is looked
for at an even share of the file, read forward (at most :data:`SEARCH`
bytes) to the end of the next run of blank lines. A range is read by the
CoNLL reader itself, from its first byte to its last (seek and a bounded
read), told what one pass from the file's start would know there
(readers.conll.Resume): the lines before it (error messages name the file's
line), the sentences before it (a line's index: the splitter keys lines by
it), the columns and the tag scheme the file's first lines set. Those are
counted here once, a range at a time: newlines with bytes.count, sentences
as the runs of blank lines, the lines the reader takes as blank
(``[^\\S\\n]*``: Unicode white space): with the ASCII white space deleted,
runs of empty lines; where a line may be made of other white space alone,
with a regular expression that matches it in UTF-8.

One pass is kept, so the same bytes come out whatever the ranges, for a
file that has:

- a ``-DOCSTART-`` anywhere (a file of several documents; a token that
  merely contains it too, to be safe);
- lines that end in a lone ``\\r`` (their numbering differs from the bytes');
- no entity tag in its first range (the scheme, IOB or bare labels, that a
  later range must hold to is not known before reading further), or a line
  in its first range that the reader refuses (it gives the message);
- fewer bytes than two ranges' least.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import InputError
from ..model import TOKEN_BASED, Project
from . import ReadOptions, Source, conll
from .conll import DOCSTART, Resume, _documents, _Stream, first_scheme

if TYPE_CHECKING:
    from mmap import mmap

#: The fewest bytes of a range: below two of them, a file is read in one pass.
#: LABELPORT_LONG_DOCUMENT_RANGE sets it (the tests' small files).
MIN_RANGE = int(os.environ.get("LABELPORT_LONG_DOCUMENT_RANGE", str(1 << 20)))
#: The most ranges a file is cut into (--jobs groups consecutive ones into
#: chunks), unless that would make a range longer than :data:`MOST_BYTES`
#: (each is held in memory once while the ranges are planned).
MOST_RANGES = 64
MOST_BYTES = 1 << 26
#: How far past a cut the end of a sentence is looked for; a longer sentence there leaves the cut out.
SEARCH = 1 << 20

#: The ASCII white space the reader takes as blank in a line (``[^\S\n]``).
_ASCII_SPACE = b"\t\x0b\x0c\r\x1c\x1d\x1e\x1f "


class _Blank(NamedTuple):
    """Patterns of the lines the reader takes as blank, in UTF-8 (the rest of its
    white space is 2 or 3 bytes long): made when a file is first planned."""

    run: re.Pattern[bytes]  # a line end and the blank lines after it: where a sentence ends
    leading: re.Pattern[bytes]  # the blank lines a file starts with (an editor's byte-order mark before them)
    tail: re.Pattern[bytes]  # what is left of a file that holds no further sentence
    #: the first bytes of wide white space made NUL (with the ASCII white space deleted, a line
    #: that starts with one may be blank: "\n\0")
    mark_wide: bytes


@cache
def _blank() -> _Blank:
    wide = [chr(c).encode() for c in range(0x80, 0x3001) if chr(c).isspace()]
    space = b"(?:[" + re.escape(_ASCII_SPACE) + b"]|" + b"|".join(map(re.escape, wide)) + b")"
    return _Blank(
        re.compile(rb"\n(?:" + space + rb"*\n)+"),
        re.compile(rb"(?:\xef\xbb\xbf)?(?:" + space + rb"*\n)*"),
        re.compile(space + rb"*(?:\n" + space + rb"*)*\Z"),
        bytes.maketrans(firsts := bytes(sorted({w[0] for w in wide})), bytes(len(firsts))),
    )


def read(source: Source, options: ReadOptions, format_id: str) -> Project:
    project = conll.read(source, options, format_id)
    return project if source.path is None else replace(project, long_document=LongDocument(source))


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start``..``stop`` of the file, and where reading resumes there."""

    start: int
    stop: int
    resume: Resume


class LongDocument:
    """:class:`labelport.model.ByteRanges` of a CoNLL/IOB file: planned when
    first asked (a pass over the file's bytes), read by the CoNLL reader."""

    def __init__(self, source: Source):
        assert source.path is not None
        self.source = source
        self._ranges: list[ByteRange] | None = None

    def ranges(self) -> list[ByteRange]:
        if self._ranges is None:
            self._ranges = self._plan()
        return self._ranges

    def joined(self, lo: int, hi: int) -> ByteRange:
        ranges = self.ranges()
        return replace(ranges[lo], stop=ranges[hi - 1].stop)

    def read(self, byte_range: ByteRange) -> Project:
        source = replace(self.source, opener=lambda: _Bounded(self.path, byte_range.start, byte_range.stop))
        return Project(
            id=source.stem,
            name=source.stem,
            kinds=(TOKEN_BASED,),
            documents_factory=lambda: _documents(source, byte_range.resume),
            source=source.label,
        )

    @property
    def path(self) -> Path:
        assert self.source.path is not None
        return self.source.path

    def _plan(self) -> list[ByteRange]:
        size = os.stat(self.path).st_size
        pieces = min(max(MOST_RANGES, size // MOST_BYTES), size // max(MIN_RANGE, 1))
        if pieces < 2:
            return []
        from mmap import ACCESS_READ, mmap  # (start-up: a C module; only a file shared out is mapped)

        with open(self.path, "rb") as fh, mmap(fh.fileno(), 0, access=ACCESS_READ) as data:
            if data.find(DOCSTART.encode()) != -1 or _cr_only(data):
                return []
            lead = _blank().leading.match(data).end()  # type: ignore[union-attr]  # (it matches nothing at worst)
            cuts = _cuts(data, size, pieces, lead)
            first = self._first_lines(cuts[0]) if cuts else None
            if first is None:
                return []
            ranges = []
            line = index = start = 0
            for stop in cuts:
                ranges.append(ByteRange(start, stop, replace(first, line=line, index=index)))
                text = data[max(start, lead) : stop]
                line += text.count(b"\n") + data[start : max(start, lead)].count(b"\n")
                index += _sentences(text)
                start = stop
            ranges.append(ByteRange(start, size, replace(first, line=line, index=index)))
        return ranges

    def _first_lines(self, limit: int) -> Resume | None:
        """What the first range (its first ``limit`` bytes, whole sentences) sets:
        separator, columns, scheme; None when it holds no entity tag before a
        line the reader refuses (reading it gives the message)."""
        with _Bounded(self.path, 0, limit) as fh:
            stream = _Stream(fh, self.source)
            try:
                for _, tags, _ in stream.sentences():
                    scheme = first_scheme(tags)
                    if scheme is not None or stream.columns == 1:
                        return Resume(0, 0, stream.tab, stream.columns, scheme)
            except InputError:
                pass
        return None


def _cr_only(data: mmap) -> bool:
    """Whether the file's first line end is a lone ``\\r`` (readers.lines.LineBlocks)."""
    lf = data.find(b"\n")
    cr = data.find(b"\r", 0, lf if lf != -1 else len(data))
    return cr != -1 and cr + 1 != lf


def _cuts(data: mmap, size: int, pieces: int, lead: int) -> list[int]:
    """Where each range after the first starts: the start of a sentence at or after
    an even share of the file, each after the one before."""
    cuts: list[int] = []
    for n in range(1, pieces):
        at = max(size * n // pieces, lead, cuts[-1] if cuts else 0)
        found = _blank().run.search(data, at, min(size, at + SEARCH))
        if found is None:
            continue
        end = _blank().run.match(data, found.start()).end()  # type: ignore[union-attr]  # (past the bound: the whole run)
        if end < size and _blank().tail.match(data, end) is None and (not cuts or end > cuts[-1]):
            cuts.append(end)
    return cuts


def _sentences(text: bytes) -> int:
    """The sentences that end in ``text`` (whole lines, the first one not blank):
    its runs of blank lines. With the ASCII white space deleted, a run of empty
    lines, collapsed to one and counted; where a line may be made of wider
    white space alone, matched by the exact pattern."""
    blank = _blank()
    bare = text.translate(blank.mark_wide, _ASCII_SPACE)
    if b"\n\0" in bare:
        return sum(1 for _ in blank.run.finditer(text))
    while b"\n\n\n" in bare:  # (each pass takes a third of a run: passes are few, their data shrinking)
        bare = bare.replace(b"\n\n\n", b"\n\n")
    return bare.count(b"\n\n")


class _Bounded(io.RawIOBase):
    """Bytes ``start``..``stop`` of the file ``path``, read as a file of their own."""

    def __init__(self, path: Path, start: int, stop: int):
        super().__init__()
        self.fh = open(path, "rb")  # noqa: SIM115  (closed with this file: close())
        self.fh.seek(start)
        self.left = stop - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.fh.readinto(memoryview(buffer)[: self.left])
        self.left -= n
        return n

    def close(self) -> None:
        if not self.closed:
            self.fh.close()
        super().close()
