"""What one version of a document says, in the units agreement is measured
on: its spans as keys that match exactly, each token's label, each
question's answer; and how two versions' spans match (exactly, or by
overlapping with the same label)."""

from __future__ import annotations

from collections.abc import Iterable
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

    def overlaps(self, other: SpanKey) -> bool:
        return (self.line, self.token_start) <= (other.end_line, other.token_end) and (
            other.line, other.token_start) <= (self.end_line, self.token_end)


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
    return Matches(
        len(a),
        len(b),
        len(a & b),
        sum(any(x.overlaps(y) for y in b) for x in a),
        sum(any(y.overlaps(x) for x in a) for y in b),
    )
