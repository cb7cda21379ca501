""":func:`labelport.agreement`'s figures as the tables
``labelport inspect --agreement`` prints."""

from __future__ import annotations

from typing import Any

from . import REVIEW


def render(result: dict[str, Any]) -> str:
    project = result["project"]
    heading = (f"agreement  {project['name']} ({project['id']}): {result['documents']} documents with labelers' "
               f"versions; labelers {', '.join(result['labelers'])}")
    out = [heading]
    if "not_paired" in result:
        out.append(result["not_paired"])
    if not any(entry["b"] == REVIEW for entry in result["span_f1"] + result["kappa"]):
        out.append("no reviewed version (REVIEW holds no label): the labelers are compared with each other only")
    if result["span_f1"]:
        out += ["", "span precision, recall, F1 of a against b: exact | overlapping with the same label"]
        rows = [["a", "b", "label", "P", "R", "F1", "P~", "R~", "F1~", "spans a", "spans b"]]
        for exact, overlap in zip(result["span_f1"], result["span_f1_overlap"]):
            rows.append([exact["a"], exact["b"], exact["label"] or "(all)",
                         *(_figure(exact[k]) for k in ("precision", "recall", "f1")),
                         *(_figure(overlap[k]) for k in ("precision", "recall", "f1")),
                         str(exact["support_a"]), str(exact["support_b"])])
        out += _columns(rows)
    if result["kappa"]:
        out += ["", "Cohen's kappa per pair (tokens: each token's label, O for none)"]
        out += _columns([["on", "a", "b", "kappa", "items"]] + [
            [entry["question"] or "tokens", entry["a"], entry["b"], _figure(entry["kappa"]), str(entry["items"])]
            for entry in result["kappa"]])
    if result["alpha"]:
        out += ["", "Krippendorff's alpha (nominal) over the labelers"]
        out += _columns([["on", "alpha", "items", "full agreement"]] + [
            [entry["question"] or "tokens", _figure(entry["alpha"]), str(entry["items"]),
             "-" if entry["full_agreement"] is None else f"{entry['full_agreement']:.1%}"]
            for entry in result["alpha"]])
    if result["disagreements"]:
        out += ["", "spans the labelers disagree on most (at most 5 per label)"]
        for label, spans in result["disagreements"].items():
            for span in spans:
                where = f"line {span['line']}" + (f"-{span['end_line']}" if span["end_line"] != span["line"] else "")
                out.append(f"  {label}  {span['document_name']} {where} \"{span['text']}\": marked by "
                           f"{', '.join(span['marked_by'])}; not by {', '.join(span['not_marked_by'])}"
                           f"{'; in REVIEW' if span['in_review'] else ''}")
    return "\n".join(out)


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
