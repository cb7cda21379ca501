"""What one version of a document says, in the units agreement is measured
on: its spans as keys that match exactly, each token's label, each
question's answer; and how two versions' spans match (exactly, or by
overlapping with the same label)."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
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


#: Each rater's category of one token, (rater, category) in the raters' order: raters who did not see it left out.
TokenValues = tuple[tuple[str, str], ...]


def labeled_tokens(sizes: dict[int, int], keys: set[SpanKey]) -> dict[tuple[int, int], str]:
    """The tokens a version's spans cover, by (line index, token), each with
    its category: the labels of the spans covering it, sorted and joined by
    "+" when several do. ``sizes``: the version's lines' token counts, by
    line index (a place past them is no token of the version)."""
    labels: dict[tuple[int, int], set[str]] = {}
    for key in keys:
        for index in range(key.line, key.end_line + 1):
            size = sizes.get(index, 0)
            first = key.token_start if index == key.line else 0
            last = min(key.token_end if index == key.end_line else size - 1, size - 1)
            for token in range(first, last + 1):
                labels.setdefault((index, token), set()).add(key.label)
    return {place: "+".join(sorted(names)) for place, names in labels.items()}


def token_values(lines: dict[str, list[Line]], keys: dict[str, set[SpanKey]]) -> Counter[TokenValues]:
    """Each token's categories, one per rater who saw it, counted: a token is
    a (line index, token) place, a rater saw it when their version's line has
    that many tokens, and their category is :func:`labeled_tokens`' or "O"
    (no span covers it). The tokens no rater labeled are counted a stretch of
    a line at a time: most tokens of NER data are O for everyone, and a
    token at a time would cost a dict per token and rater."""
    sizes = {rater: {line.index: len(line.tokens) for line in rater_lines} for rater, rater_lines in lines.items()}
    labeled = {rater: labeled_tokens(sizes[rater], keys[rater]) for rater in lines}
    marked: dict[int, set[int]] = {}  # line index -> the tokens some rater labeled
    for places in labeled.values():
        for index, token in places:
            marked.setdefault(index, set()).add(token)
    found: Counter[TokenValues] = Counter()
    for index in sorted(set().union(*sizes.values())):
        seen = [(rater, sizes[rater][index]) for rater in lines if index in sizes[rater]]
        tokens = marked.get(index, set())
        for token in tokens:
            found[tuple((rater, labeled[rater].get((index, token), OUTSIDE)) for rater, size in seen
                        if token < size)] += 1
        start = 0
        for end in sorted({size for _, size in seen}):  # tokens start..end-1: seen by the raters reaching end
            unlabeled = end - start - sum(start <= token < end for token in tokens)
            if unlabeled:
                found[tuple((rater, OUTSIDE) for rater, size in seen if size >= end)] += unlabeled
            start = end
    return found


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
    exact = len(a & b)
    if exact == len(a) == len(b) or not a or not b:  # the same spans, or none on a side: nothing else overlaps
        return Matches(len(a), len(b), exact, exact, exact)
    return Matches(len(a), len(b), exact, _overlapping(a, b), _overlapping(b, a))


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
