"""Text files read in blocks of whole lines, for the line-based readers
(CoNLL and IOB, CSV, TSV).

A file's first line end says how its lines end: ``\\n`` or ``\\r\\n`` (a lone
``\\r`` further on is then data, as it always was), or a lone ``\\r`` (old Mac
files: then ``\\r``, ``\\n`` and ``\\r\\n`` all end a line). Only the bytes just
read are searched for a line end, so a line of any length costs time linear
in it.
"""

from __future__ import annotations

from functools import partial
from typing import IO, Iterator

from ..errors import InputError
from ..guards.archives import env_int

#: The longest line read, in bytes: a line is held whole while it is read,
#: so a file of one endless line would take memory without bound. Checked
#: on the part of a line that outlasts a block (a line within one block is
#: held anyway, and blocks are small).
ENV_MAX_LINE_BYTES = "LABELPORT_MAX_LINE_BYTES"
MAX_LINE_BYTES = 16 << 20


class LineBlocks:
    """The bytes of a file in blocks of whole lines: about ``size`` bytes
    each, or one line when that is longer; only the last block may lack its
    line end. ``cr_only`` is known by the time the first block is handed on;
    given (``False`` or ``True``), it is the style of a file whose reading
    starts further on (a byte range of a long document, readers.long_document),
    and ``first_line`` the number of the lines before it. A line longer than
    ``LABELPORT_MAX_LINE_BYTES`` is refused, naming ``label`` and its line."""

    def __init__(self, fh: IO[bytes], size: int, cr_only: bool | None = None, *, label: str, first_line: int = 0):
        self.fh = fh
        self.size = size
        self.label = label
        self.max_line = env_int(ENV_MAX_LINE_BYTES, MAX_LINE_BYTES)
        self.lines_before = first_line  # the lines ended in the blocks handed on
        self.cr_only = bool(cr_only)  # a lone "\r" ends a line: the file's first line end is one
        self._known = cr_only is not None  # whether the first line end has been seen
        #: bytes searched for a line end or copied into a block: about twice
        #: the file's size, whatever its lines (tests/test_hostile_readers.py)
        self.work = 0

    def __iter__(self) -> Iterator[bytes]:
        pending: list[bytes] = []  # the start of a line that has not ended yet
        unended = 0  # its bytes
        for data in iter(partial(self.fh.read, self.size), b""):
            if not self._known:
                self._learn(data, pending[-1][-1:] if pending else b"")
            end = self._after_last_line_end(data)
            self.work += len(data)
            if end:
                pending.append(data[:end])
                block = b"".join(pending)
                self.work += len(block)
                pending = [data[end:]]  # (before the block is handed on: the pieces are freed meanwhile)
                unended = len(data) - end
                yield block
                self.lines_before += self.count_line_ends(block)
            else:
                pending.append(data)  # a line longer than a block
                unended += len(data)
            if unended > self.max_line:
                raise InputError(f"a line of more than {self.max_line:,} bytes (the limit, {ENV_MAX_LINE_BYTES})",
                                 self.label, self.lines_before + 1)
        tail = b"".join(pending)
        if not self._known and tail.endswith(b"\r"):
            self.cr_only = True  # the file's one line end is a lone "\r"
        if tail:
            yield tail

    def _learn(self, data: bytes, before: bytes) -> None:
        """Take the style from the first line end, in ``data`` or at its start
        (``before``: the byte just before ``data``)."""
        if before == b"\r":
            self.cr_only, self._known = not data.startswith(b"\n"), True
            return
        lf, cr = data.find(b"\n"), data.find(b"\r")
        if cr == -1 or -1 < lf < cr:
            self._known = lf != -1
        elif cr + 1 < len(data):  # (a "\r" ending the block waits for the next byte)
            self.cr_only, self._known = data[cr + 1] != 0x0A, True

    def _after_last_line_end(self, data: bytes) -> int:
        """Where the last whole line of ``data`` ends (0: no line does). A
        ``\\r`` as the very last byte may be the first half of a ``\\r\\n``,
        so it waits for the next block."""
        if not self.cr_only:
            return data.rfind(b"\n") + 1
        return max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1

    def count_line_ends(self, data: bytes) -> int:
        """How many lines end in ``data``."""
        ends = data.count(b"\n")
        if self.cr_only and b"\r" in data:
            ends += data.count(b"\r") - data.count(b"\r\n")
        return ends

    def line_start(self, data: bytes, position: int) -> int:
        """Where the line holding byte ``position`` of ``data`` starts."""
        start = data.rfind(b"\n", 0, position)
        if self.cr_only:
            start = max(start, data.rfind(b"\r", 0, position))
        return start + 1

    def normalised(self, data: bytes) -> bytes:
        """``data`` with every line ending in ``\\n`` (CoNLL, TSV: no quoting,
        so no line end is data)."""
        if b"\r" not in data:
            return data
        data = data.replace(b"\r\n", b"\n")
        return data.replace(b"\r", b"\n") if self.cr_only else data
