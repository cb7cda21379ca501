"""How far a project's labelers agree: with each other, and each with the
final (REVIEW) version.

:func:`agreement` reads the project once. For token labeling it gives span
precision, recall and F1 per pair and label (exact, and overlapping with the
same label), token-level Cohen's kappa per pair and Krippendorff's alpha over
the labelers; for row and document labeling the same two coefficients per
question; and per label the spans the labelers disagree on most.

In a pair (a, b), b is the reference: precision is the share of a's spans
that b has, recall the share of b's that a has. Pairs are every two labelers,
in the project's order, then each labeler against REVIEW.

:class:`Tally` holds what the figures are made from, filled one document at a
time: :func:`agreement` fills one, and so does every conversion of a project
with labelers' versions, for its report's "agreement" section
(:mod:`labelport.iaa.summary`). A ``--jobs`` worker's or a Ray task's tally is
pickled back with its report and merged (:meth:`Tally.merge`); what it holds
is bounded by labelers, labels and categories, whatever the project's size.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import partial
from operator import itemgetter
from typing import Any, Iterable, TypeVar

from ..errors import InputError
from ..model import ROW_BASED, TOKEN_BASED, Document, Line, Project, Question
from .spans import Matches, SpanKey, answer_category, match, span_keys, token_values
from .statistics import UnitValues, cohen_kappa, krippendorff_alpha, unit_values

__all__ = ["MOST_PAIRED", "REVIEW", "Tally", "agreement"]

#: The final version's name as a rater.
REVIEW = "REVIEW"
T = TypeVar("T")

#: Spans listed per label in "disagreements".
WORST = 5
#: Labelers measured two by two at most: beyond, each is measured against
#: REVIEW, and alpha over all (a project of 1,500 labelers' versions would
#: otherwise count 1.1 million pairs on every token).
MOST_PAIRED = 20


def agreement(project: Project) -> dict[str, Any]:
    """The agreement figures of ``project`` as a dict (``--json``'s shape).

    Raises :class:`labelport.InputError` when no document has a labeler's version.
    """
    tally = Tally.of(project)
    for document in project.documents():
        if document.versions:
            tally.add(document)
    if not tally.documents:
        raise InputError("no labelers' versions to compare: agreement needs each labeler's own version of the "
                         "documents (an export-all zip, a datasaur:// project, or a folder with "
                         "DOCUMENT-<labeler>/ folders)", project.source)
    return tally.result(project)


def _pairs(labelers: list[str]) -> list[tuple[str, str]]:
    """Every two labelers, then each against REVIEW; past :data:`MOST_PAIRED`
    labelers, each against REVIEW only (every two of n labelers are n(n-1)/2
    pairs, each counted on every token)."""
    against_review = [(a, REVIEW) for a in labelers]
    if len(labelers) > MOST_PAIRED:
        return against_review
    return [(a, b) for i, a in enumerate(labelers) for b in labelers[i + 1:]] + against_review


@dataclass
class _Agreement:
    """Kappa per pair, alpha and full agreement over the labelers, on one
    kind of unit (tokens, or one question's items)."""

    pairs: defaultdict[tuple[str, str], Counter[tuple[str, str]]] = field(default_factory=partial(defaultdict, Counter))
    units: Counter[UnitValues] = field(default_factory=Counter)

    def add(self, values: dict[str, str], pairs: list[tuple[str, str]], times: int = 1) -> None:
        """``times`` units alike: each rater's category (raters who gave none left out)."""
        for a, b in pairs:
            if a in values and b in values:
                self.pairs[a, b][values[a], values[b]] += times
        given = [value for rater, value in values.items() if rater != REVIEW]
        if given:
            self.units[unit_values(given)] += times

    def merge(self, other: _Agreement) -> None:
        for pair, confusion in other.pairs.items():
            self.pairs[pair].update(confusion)
        self.units.update(other.units)

    def kappa(self, pairs: list[tuple[str, str]], question: str | None) -> list[dict[str, Any]]:
        return [{"a": a, "b": b, "label": None, "question": question, "kappa": cohen_kappa(self.pairs[a, b]),
                 "items": sum(self.pairs[a, b].values())} for a, b in pairs]

    def alpha(self, question: str | None) -> dict[str, Any]:
        pairable = {unit: times for unit, times in self.units.items() if sum(n for _, n in unit) >= 2}
        items = sum(pairable.values())
        agreed = sum(times for unit, times in pairable.items() if len(unit) == 1)
        return {"label": None, "question": question, "alpha": krippendorff_alpha(self.units),
                "items": items, "full_agreement": agreed / items if items else None}


class Tally:
    """What agreement counts, filled one document at a time (:meth:`add`),
    and tallies of consecutive parts of a project added up (:meth:`merge`).
    Picklable: no lambda in it."""

    def __init__(self, labelers: list[str], token: bool, row_questions: list[Question],
                 document_questions: list[Question]):
        self.labelers = labelers
        self.token = token
        self.row_questions = row_questions
        self.document_questions = document_questions
        self.pairs = _pairs(labelers)
        self.documents = 0
        self.matches: defaultdict[tuple[str, str, str | None], list[int]] = defaultdict(_no_matches)
        self.tokens = _Agreement()
        self.questions: defaultdict[str, _Agreement] = defaultdict(_Agreement)
        self.candidates: defaultdict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = defaultdict(list)
        #: REVIEW's spans per label (the label's support in the report's summary)
        self.review_spans: Counter[str] = Counter()
        #: the labelers' spans per label, all together (a label's support where REVIEW has no span)
        self.labeler_spans: Counter[str] = Counter()
        #: how many items REVIEW answered, per question
        self.review_answers: Counter[str] = Counter()

    @classmethod
    def of(cls, project: Project) -> Tally:
        """An empty tally for ``project``'s labelers, kinds and questions."""
        return cls([labeler.email for labeler in project.labelers], TOKEN_BASED in project.kinds,
                   project.questions if ROW_BASED in project.kinds else [], project.document_questions)

    def add(self, document: Document) -> None:
        """Count ``document`` (one with labelers' versions). Its lines and
        rows, when a reader streams them, are made lists first: its writer
        reads them after."""
        self.documents += 1
        final_lines = document.lines = _listed(document.lines)
        final_rows = document.rows = _listed(document.rows)
        by_email = {version.labeler.email: version for version in document.versions.values()
                    if version.labeler is not None}
        for email in by_email:
            if email not in self.labelers:  # a version by someone the project's labelers do not name
                self.labelers.append(email)
                self.pairs = _pairs(self.labelers)
        versions = {email: by_email[email] for email in self.labelers if email in by_email}
        if self.token:
            lines = {email: list(version.lines) for email, version in versions.items()}
            lines[REVIEW] = final_lines
            self._add_spans(document, lines, list(versions))
        if self.row_questions:
            rows = {email: {row.index: row.answers for row in version.rows} for email, version in versions.items()}
            rows[REVIEW] = {row.index: row.answers for row in final_rows}
            indexes = sorted({index for answers in rows.values() for index in answers})
            for question in self.row_questions:
                for index in indexes:
                    self._add_answers(question, {rater: answers[index] for rater, answers in rows.items()
                                                 if index in answers})
        for question in self.document_questions:
            answers = {email: version.answers for email, version in versions.items()}
            self._add_answers(question, {**answers, REVIEW: document.answers})

    def merge(self, other: Tally) -> None:
        """Add ``other``, the tally of the documents that follow this one's
        (the next chunk of ``--jobs``): the same figures as one tally of all.
        Its labelers this one lacks come after this one's, as they would
        have been met; its disputed spans rank after this one's of the same
        standing, as they come later in the project."""
        for email in other.labelers:
            if email not in self.labelers:
                self.labelers.append(email)
        self.pairs = _pairs(self.labelers)
        for key, totals in other.matches.items():
            mine = self.matches[key]
            for i, n in enumerate(totals):
                mine[i] += n
        self.tokens.merge(other.tokens)
        for name, figures in other.questions.items():
            self.questions[name].merge(figures)
        for label, found in other.candidates.items():
            for (share, missed, position, key), entry in found:
                self._keep_candidate(label, (share, missed, self.documents + position, key), entry)
        self.review_spans.update(other.review_spans)
        self.review_answers.update(other.review_answers)
        self.labeler_spans.update(other.labeler_spans)
        self.documents += other.documents

    def _add_answers(self, question: Question, answers: dict[str, dict[str, Any]]) -> None:
        values = {rater: answer_category(given[question.id]) for rater, given in answers.items()
                  if given.get(question.id) not in (None, "", [])}
        if REVIEW in values:
            self.review_answers[question.name] += 1
        self.questions[question.name].add(values, self.pairs)

    def _add_spans(self, document: Document, lines: dict[str, list[Line]], labelers: list[str]) -> None:
        keys = {rater: span_keys(rater_lines) for rater, rater_lines in lines.items()}
        self.review_spans.update(key.label for key in keys[REVIEW])
        self.labeler_spans.update(key.label for labeler in labelers for key in keys[labeler])
        by_label: dict[str, dict[str, set[SpanKey]]] = {rater: {} for rater in keys}
        for rater, rater_keys in keys.items():
            for key in rater_keys:
                by_label[rater].setdefault(key.label, set()).add(key)
        for a, b in self.pairs:
            if a not in keys or b not in keys:
                continue
            for label in sorted(by_label[a].keys() | by_label[b].keys()):
                found = match(by_label[a].get(label, set()), by_label[b].get(label, set()))
                for scope in (label, None):
                    totals = self.matches[a, b, scope]
                    for i, n in enumerate(found):
                        totals[i] += n
        for values, times in token_values(lines, keys).items():
            self.tokens.add(dict(values), self.pairs, times)
        if len(labelers) >= 2:
            self._add_disagreements(document, lines, keys, labelers)

    def _add_disagreements(self, document: Document, lines: dict[str, list[Line]], keys: dict[str, set[SpanKey]],
                           labelers: list[str]) -> None:
        tokens = {line.index: line.tokens for line in lines[REVIEW]}  # the final version has every line
        for key in set().union(*(keys[labeler] for labeler in labelers)):
            marked = [labeler for labeler in labelers if key in keys[labeler]]
            missed = [labeler for labeler in labelers if key not in keys[labeler]]
            if not missed:
                continue
            words = [word for index in range(key.line, key.end_line + 1)
                     for word in tokens.get(index, [])[key.token_start if index == key.line else 0:
                                                       key.token_end + 1 if index == key.end_line else None]]
            rank = (-len(missed) / len(labelers), -len(missed), self.documents, key)
            self._keep_candidate(key.label, rank, {
                "label": key.label, "document": document.id, "document_name": document.name,
                "line": key.line + 1, "end_line": key.end_line + 1,
                "token_start": key.token_start, "token_end": key.token_end, "text": " ".join(words),
                "marked_by": marked, "not_marked_by": missed, "in_review": key in keys[REVIEW]})

    def _keep_candidate(self, label: str, rank: tuple[Any, ...], entry: dict[str, Any]) -> None:
        """A disputed span of ``label``, ranked by the share of labelers who
        did not mark it, then place (its document's position among those
        counted, then the span)."""
        found = self.candidates[label]
        found.append((rank, entry))
        if len(found) > 4 * WORST:  # keep only the most disputed: memory must not grow with the project
            found[:] = sorted(found, key=itemgetter(0))[:WORST]

    def result(self, project: Project) -> dict[str, Any]:
        """:func:`agreement`'s dict."""
        return {"project": {"id": project.id, "name": project.name, "source": project.source}, **self.figures()}

    def _pairs_measured(self, reviewed: bool) -> list[tuple[str, str]]:
        """The pairs, those with REVIEW only where it ``reviewed``: an export
        without a reviewed version has an unlabeled copy (or an owner's
        empty one) in its place, and no labeler is measured against that."""
        return self.pairs if reviewed else [pair for pair in self.pairs if pair[1] != REVIEW]

    def figures(self) -> dict[str, Any]:
        """The figures without the project's name."""
        span_pairs = self._pairs_measured(bool(self.review_spans))
        span_f1: list[dict[str, Any]] = []
        overlap: list[dict[str, Any]] = []
        for (a, b, label), totals in sorted(self.matches.items(), key=_entry_order(self.pairs)):
            if (a, b) not in span_pairs:
                continue
            found = Matches(*totals)
            span_f1.append(_scores(a, b, label, found.exact, found.exact, found))
            overlap.append(_scores(a, b, label, found.overlap_a, found.overlap_b, found))
        kappa = self.tokens.kappa(span_pairs, None) if self.token else []
        alphas = [self.tokens.alpha(None)] if self.token else []
        for name, figures in self.questions.items():
            kappa += figures.kappa(self._pairs_measured(self.review_answers[name] > 0), name)
            alphas.append(figures.alpha(name))
        unpaired = {"not_paired": f"{len(self.labelers):,} labelers: pairs of labelers are measured up to "
                                  f"{MOST_PAIRED}; each is measured against REVIEW, alpha over all"
                    } if len(self.labelers) > MOST_PAIRED else {}
        return {
            "labelers": self.labelers,
            "documents": self.documents,
            **unpaired,
            "span_f1": span_f1,
            "span_f1_overlap": overlap,
            "kappa": kappa,
            "alpha": alphas,
            "disagreements": {label: [entry for _, entry in sorted(found, key=itemgetter(0))[:WORST]]
                              for label, found in sorted(self.candidates.items())},
        }


def _listed(items: Iterable[T]) -> list[T]:
    return items if isinstance(items, list) else list(items)


def _no_matches() -> list[int]:
    return [0] * len(Matches._fields)


def _entry_order(pairs: list[tuple[str, str]]) -> Any:
    """Pairs in their order, each pair's all-labels entry first, then its labels by name."""
    position = {pair: i for i, pair in enumerate(pairs)}
    return lambda item: (position[item[0][:2]], item[0][2] is not None, item[0][2] or "")


def _scores(a: str, b: str, label: str | None, matched_a: int, matched_b: int, found: Matches) -> dict[str, Any]:
    """Precision and recall (None when a side has no span of the label), and
    F1, their harmonic mean: 0 when nothing matches, as either side has spans."""
    precision = matched_a / found.support_a if found.support_a else None
    recall = matched_b / found.support_b if found.support_b else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else 0.0
    return {"a": a, "b": b, "label": label, "precision": precision,
            "recall": recall, "f1": f1, "support_a": found.support_a, "support_b": found.support_b}
