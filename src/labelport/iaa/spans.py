"""What one version of a document says, in the units agreement is measured
on: its spans as keys that match exactly, each token's label, each
question's answer; and how two versions' spans match (exactly, or by
overlapping with the same label)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate
from operator import attrgetter
from typing import Any, NamedTuple

from ..model import CONFLICT, Line

#: A token's category when no span covers it.
OUTSIDE = "O"


class SpanKey(NamedTuple):
    """A span as exact matching sees it: where it starts and ends, by line
    index and token, and its label."""

    line: int
    token_start: int
    end_line: int
    token_end: int
    label: str

    @property
    def first(self) -> tuple[int, int]:
        return self.line, self.token_start

    @property
    def last(self) -> tuple[int, int]:
        return self.end_line, self.token_end


def span_keys(lines: Iterable[Line]) -> set[SpanKey]:
    """A version's spans, each once (a version may hold the same span twice).
    A span nobody resolved (labeled CONFLICT) is no one's decision: left out."""
    return {
        SpanKey(span.line, span.token_start, span.last_line, span.token_end, span.label)
        for line in lines
        for span in line.spans
        if span.labeled_by != CONFLICT
    }


def token_categories(lines: list[Line], keys: set[SpanKey]) -> dict[tuple[int, int], str]:
    """Each token's label, by (line index, token): the labels of the spans
    covering it, sorted and joined by "+" when several do, "O" when none."""
    sizes = {line.index: len(line.tokens) for line in lines}
    labels: dict[tuple[int, int], set[str]] = {}
    for key in keys:
        for index in range(key.line, key.end_line + 1):
            first = key.token_start if index == key.line else 0
            last = key.token_end if index == key.end_line else sizes.get(index, 0) - 1
            for token in range(first, last + 1):
                labels.setdefault((index, token), set()).add(key.label)
    return {
        (index, token): "+".join(sorted(labels[index, token])) if (index, token) in labels else OUTSIDE
        for index, size in sizes.items()
        for token in range(size)
    }


def answer_category(value: Any) -> str:
    """An answer as one category: a list of choices sorted and joined by "+"."""
    if isinstance(value, list):
        return "+".join(sorted(map(str, value)))
    return str(value)


class Matches(NamedTuple):
    """Two versions' spans of one label compared: A's spans, B's, how many
    are in both, and how many of A's (of B's) overlap one of the other's."""

    support_a: int
    support_b: int
    exact: int
    overlap_a: int
    overlap_b: int


def match(a: set[SpanKey], b: set[SpanKey]) -> Matches:
    """``a`` and ``b`` hold spans of one label."""
    return Matches(len(a), len(b), len(a & b), _overlapping(a, b), _overlapping(b, a))


def _overlapping(spans: set[SpanKey], others: set[SpanKey]) -> int:
    """How many of ``spans`` share a token with one of ``others``. A span
    meets one of the others that start before its last token when the
    farthest any of those reaches is at its first token or past it: with the
    others sorted by start, a search and a running maximum per span, where
    trying every pair would grow with the square of a long document's spans."""
    ordered = sorted(others, key=attrgetter("first"))
    starts = [other.first for other in ordered]
    reach = list(accumulate((other.last for other in ordered), max))
    found = 0
    for span in spans:
        before = bisect_right(starts, span.last)
        found += before > 0 and reach[before - 1] >= span.first
    return found
