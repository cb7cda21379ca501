"""What the workers of ``--jobs`` (:mod:`labelport.conversion.parallel`) hand
back, and the tools a project-wide format's ``merge_parts`` puts them
together with."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..report import Report

#: Bytes copied at a time when chunks' files are put together.
COPY_BLOCK = 1 << 20


@dataclass
class Part:
    """What one worker of ``--jobs`` (:mod:`labelport.conversion.parallel`) wrote for
    one chunk: its folder, its report, and that report's notes kept apart
    (they describe the chunk's output alone: a format's ``merge_parts`` makes
    the whole output's notes from them)."""

    folder: Path
    report: Report
    notes: dict[str, Any]


@dataclass(frozen=True)
class Pieces:
    """How a per-document format's file written in pieces (a long document's
    consecutive byte ranges, each written by a worker of ``--jobs``) is joined
    into the file one writer writes: every piece after the first without
    ``head`` (what the writer opens a file with), ``separator`` between two."""

    head: bytes = b""
    separator: bytes = b""

    def join(self, sources: list[Path], target: Path) -> None:
        """Write the pieces ``sources`` (files, in order) as one file, ``target``."""
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as fh:
            for n, source in enumerate(sources):
                with open(source, "rb") as src:
                    if n:
                        head = src.read(len(self.head))
                        assert head == self.head, f"{source} does not start with {self.head!r}"
                        fh.write(self.separator)
                    shutil.copyfileobj(src, fh, COPY_BLOCK)


def merge_reports(report: Report, parts: list[Part]) -> None:
    """Add the chunks' reports to ``report`` in chunk order: counts, splits,
    losses (the first examples stay the first), findings, the agreement
    tallies (labelport.iaa.Tally.merge). Their notes are kept apart, in
    Part.notes."""
    for part in parts:
        report.merge(part.report)


def concatenate(sources: Iterable[Path], target: Path, separator: bytes = b"") -> list[int]:
    """Write the sources' bytes one after another into ``target`` (created
    with its folders), ``separator`` between each two; the line breaks
    (``\n``) each source held, counted on the way."""
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    with open(target, "wb") as fh:
        for n, source in enumerate(sources):
            if n:
                fh.write(separator)
            count = 0
            with open(source, "rb") as src:
                while block := src.read(COPY_BLOCK):
                    fh.write(block)
                    count += block.count(b"\n")
            lines.append(count)
    return lines
