"""Token-per-line formats (TSV_IOB, TSV_NON_IOB, CONLL_2003): tags and tokens.

These formats put one token on a line, so a token holding the column
separator, a line break, or nothing but white space (which reads back as a
sentence break) cannot be written as is: it is repaired and counted.

Every format of a tag per token (these, AZURE_AUTOML_CSV's NER files and
HF_DATASET's ner_tags) takes its spans through :func:`whole_token_spans`.
"""

from __future__ import annotations

from ..model import Line, Span
from ..report import Report
from .base import span_example

UNWRITABLE_TOKENS = "tokens with white space, tabs or line breaks (repaired)"
ADJACENT_SPANS = "adjacent spans of one label (read back as one span without B- tags)"
OFF_TOKEN_BOUNDARIES = "spans that do not start and end on token boundaries"


def whole_token_spans(line: Line, spans: list[Span], report: Report, document: str,
                      what: str = OFF_TOKEN_BOUNDARIES) -> list[Span]:
    """The spans (of ``line``, ending on it) that tags can give exactly: those
    starting where their first token starts and ending where their last ends.
    Tagging the whole tokens of another (``1843`` for a span on its ``43``)
    would teach a label on characters nobody labeled, so it is left out and
    listed under ``what``."""
    if all(map(line.on_token_boundaries, spans)):  # (nearly always)
        return spans
    kept = []
    for span in spans:
        if line.on_token_boundaries(span):
            kept.append(span)
        else:
            report.drop(what, span_example(document, line, span), unit="spans", labels=(span.label,))
    return kept


def iob_tags(n_tokens: int, spans: list[Span]) -> list[str]:
    """IOB2 tags; ``spans`` are non-overlapping and in order (see kept_spans)."""
    tags = ["O"] * n_tokens
    for span in spans:
        tags[span.token_start] = "B-" + span.label
        if span.token_end > span.token_start:
            inside = "I-" + span.label
            for i in range(span.token_start + 1, span.token_end + 1):
                tags[i] = inside
    return tags


def io_tags(n_tokens: int, spans: list[Span], report: Report, document: str, line: Line) -> list[str]:
    """Bare-label tags; two spans of one label side by side would merge."""
    tags = ["O"] * n_tokens
    previous: Span | None = None
    for span in spans:
        if previous is not None and previous.label == span.label and previous.token_end + 1 == span.token_start:
            report.drop(ADJACENT_SPANS, {"document": document, "line": line.index, "label": span.label},
                        unit="spans", labels=(span.label,))  # (read back as one span with the one before)
        for i in range(span.token_start, span.token_end + 1):
            tags[i] = span.label
        previous = span
    return tags


def writable_tokens(line: Line, forbidden_space: bool, report: Report, document: str) -> list[str]:
    """The line's tokens, each repaired if it cannot stand alone on a line
    (``forbidden_space``: the format separates columns with spaces)."""
    tokens = line.tokens
    # text.split() holds no empty or white-space token: if it equals the
    # tokens (it does for CoNLL), none needs repairing
    if line.text.split() == tokens or " ".join(tokens).split() == tokens:
        return tokens
    repaired = []
    for token in tokens:
        fixed = token
        if not token or token.isspace():
            fixed = "_"
        elif forbidden_space:
            fixed = "_".join(token.split())
        elif any(c.isspace() and c != " " for c in token):  # a space is fine between tabs
            fixed = " ".join(token.split())
        if fixed != token:
            report.drop(UNWRITABLE_TOKENS, {"document": document, "line": line.index, "token": token, "written": fixed})
        repaired.append(fixed)
    return repaired
