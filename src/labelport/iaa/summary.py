"""The agreement an export carries: labelport-report.json's "agreement"
section, made from a :class:`~labelport.iaa.Tally` of the documents the
conversion read, and the summary's line naming the labels agreed on least.

The section holds the overall figures of :func:`labelport.agreement` (each
pair's span F1 over all labels, exact and overlapping; kappa per pair and
alpha over the labelers, on tokens and per question), each labeler's span F1
against REVIEW per label, and one figure per label, its *agreement*:

- the mean, over the labelers, of each one's exact span F1 against REVIEW on
  that label: how far the labelers come to the reviewed result, the version a
  model is trained on. A labeler counts for a label when REVIEW or they have a
  span of it in a document they have a version of.
- when REVIEW holds no span at all (an export of labelers' versions only,
  whose final copy is an unlabeled one), the mean over the pairs of labelers
  of their exact span F1 on that label instead.

Each label's ``support`` is REVIEW's spans of it (the labelers' spans, all
together, in the second case), in the documents with labelers' versions.
Without token labeling, "label_agreement" and "label_support" are null and
"labels" empty; the summary line then names the questions with the lowest
Krippendorff's alpha over the labelers.
"""

from __future__ import annotations

from statistics import fmean
from typing import TYPE_CHECKING, Any

from ..progress import counted
from . import REVIEW

if TYPE_CHECKING:
    from . import Tally

#: Labels the summary line names.
LOWEST = 3


def section(tally: Tally) -> dict[str, Any]:
    """labelport-report.json's "agreement" for the documents ``tally`` counted."""
    figures = tally.figures()
    measure, support, labels = label_agreement(figures, tally) if tally.token else (None, None, [])
    return {
        "documents": figures["documents"],
        "labelers": figures["labelers"],
        "span_f1": [entry for entry in figures["span_f1"] if entry["label"] is None],
        "span_f1_overlap": [entry for entry in figures["span_f1_overlap"] if entry["label"] is None],
        "span_f1_against_review": [entry for entry in figures["span_f1"]
                                   if entry["label"] is not None and entry["b"] == REVIEW],
        "kappa": figures["kappa"],
        "alpha": figures["alpha"],
        "label_agreement": measure,
        "label_support": support,
        "labels": labels,
        **({"not_paired": figures["not_paired"]} if "not_paired" in figures else {}),
    }


def label_agreement(figures: dict[str, Any], tally: Tally) -> tuple[str, str, list[dict[str, Any]]]:
    """What a label's agreement and its support are here (the module's
    docstring says which), and each label's: ``{"label", "agreement", "f1":
    {labeler or "a / b": F1}, "support"}``, by label."""
    labelers = figures["labelers"]
    per_label = [entry for entry in figures["span_f1"] if entry["label"] is not None]
    if tally.review_spans:
        chosen = [entry for entry in per_label if entry["b"] == REVIEW]
        measure = f"F1 against REVIEW, mean over {counted(len(labelers), 'labelers')}"
        support, counts = "REVIEW's spans of the label", tally.review_spans
    else:  # (figures has no pair with REVIEW then)
        chosen = per_label
        measure = f"F1 between labelers, mean over {counted(len(labelers) * (len(labelers) - 1) // 2, 'pairs')}"
        support, counts = "the labelers' spans of the label, all together", tally.labeler_spans
    by_label: dict[str, dict[str, float]] = {}
    for entry in chosen:
        name = entry["a"] if entry["b"] == REVIEW else f"{entry['a']} / {entry['b']}"
        by_label.setdefault(entry["label"], {})[name] = entry["f1"]
    labels = [{"label": label, "agreement": fmean(f1.values()), "f1": f1, "support": counts[label]}
              for label, f1 in sorted(by_label.items())]
    return measure, f"{support} (in the documents with labelers' versions)", labels


def summary_line(found: dict[str, Any]) -> str:
    """The stderr summary's one line about ``found`` (a :func:`section`): the
    labels agreed on least, with their figures; else, in a project with no
    span labels, the questions with the lowest alpha."""
    see = 'see labelport-report.json "agreement"'
    if found["labels"]:
        lowest = sorted(found["labels"], key=lambda entry: (entry["agreement"], entry["label"]))[:LOWEST]
        named = ", ".join(f"{entry['label']} {entry['agreement']:.2f}" for entry in lowest)
        return f"agreement: lowest {_noun(lowest, 'labels')} {named} ({found['label_agreement']}); {see}"
    questions = [entry for entry in found["alpha"] if entry["question"] is not None and entry["alpha"] is not None]
    if questions:
        lowest = sorted(questions, key=lambda entry: (entry["alpha"], entry["question"]))[:LOWEST]
        named = ", ".join(f"{entry['question']} {entry['alpha']:.2f}" for entry in lowest)
        return (f"agreement: lowest {_noun(lowest, 'questions')} {named} (Krippendorff's alpha over "
                f"{counted(len(found['labelers']), 'labelers')}); {see}")
    return f"agreement: {counted(found['documents'], 'documents')} with labelers' versions; {see}"


def _noun(named: list[Any], noun: str) -> str:
    return counted(len(named), noun).partition(" ")[2]
