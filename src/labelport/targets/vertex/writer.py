"""GCP_VERTEX_AI_CSV: Vertex AI text dataset import files (docs/vertex-ai.md).

Token labeling (entity extraction)::

    OUT/vertex_dataset.jsonl  one line per labelport line: {"textContent", "textSegmentAnnotations":
                              [{"startOffset", "endOffset", "displayName"}], "dataItemResourceLabels"}
    OUT/vertex_import.csv     lists the JSONL file (relative until the files are uploaded)
    OUT/vertex_dataset.json   {"importSchemaUri": <extraction>, "gcsSource": {"uris": ["vertex_dataset.jsonl"]}}

Row and document labeling (classification)::

    OUT/vertex_import.csv     no header; ml_use,"text",label[,label...]
    OUT/vertex_import.jsonl   the same examples as import JSONL lines
    OUT/vertex_dataset.json   {"importSchemaUri": <single- or multi-label>, "gcsSource": {"uris": ["vertex_import.jsonl"]}}

Offsets are end-exclusive code points into ``textContent`` (``--offset-unit
utf16`` counts UTF-16 code units instead). With ``--split`` the shares
``train``, ``validation`` and ``test`` become ``ml_use`` ``training``,
``validation`` and ``test``; without it ``ml_use`` is left out, so Vertex AI
splits the items itself (80/10/10). ``vertex_dataset.json`` is an
ImportDataConfig: with its URIs made gs:// it is the body of a dataset import.
The files are then checked by :mod:`labelport.targets.vertex.checker`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import orjson

from ...errors import UsageError
from ...formats._classify import UNLABELED, classification_kind, drop_other_answers, examples, label_question
from ...formats.base import Context, Format, OffsetUnitOption, QuestionOption, items, kept_spans, options_of
from ...formats.parts import Part, concatenate, merge_reports
from ...model import DOCUMENT_BASED, ROW_BASED, TOKEN_BASED, Line, Project
from ...offsets import UTF16, converter, has_astral
from .rules import (
    DATASET_JSONL,
    EXTRACTION_SCHEMA,
    IMPORT_CSV,
    IMPORT_JSONL,
    MANIFEST,
    ML_USE,
    ML_USE_KEY,
    MULTI,
    MULTI_LABEL_SCHEMA,
    SINGLE,
    SINGLE_LABEL_SCHEMA,
)

EMPTY_TEXT = "lines or examples without text (Vertex AI imports no empty document)"
EXTRA_LABELS = "labels beyond the first of a single-label question"

#: JSON lines kept before they are written, in one piece.
_PENDING = 512
_LINE_START = b'{"textContent":'  # how every JSON line starts
_LINE_SEP = b"\n" + _LINE_START


def write_project(project: Project, out: Path, ctx: Context) -> None:
    ml_use = ml_use_names(ctx)
    out.mkdir(parents=True, exist_ok=True)
    if TOKEN_BASED in project.kinds:
        _write_extraction(project, out, ctx, ml_use)
    else:
        _write_classification(project, out, ctx, ml_use)


def ml_use_names(ctx: Context) -> dict[str, str] | None:
    """Split name -> ml_use; None without --split (Vertex AI then splits)."""
    if not ctx.splitter.active:
        return None
    unknown = [name for name in ctx.splitter.names if name not in ML_USE]
    if unknown:
        raise UsageError(
            f"--split: {', '.join(repr(n) for n in unknown)} has no Vertex AI ml_use; "
            f"use the shares {', '.join(ML_USE)} (written as ml_use {', '.join(ML_USE.values())})"
        )
    return {name: ML_USE[name] for name in ctx.splitter.names}


def _notes(ctx: Context, dataset: str, schema: str, ml_use: dict[str, str] | None, **more: Any) -> None:
    ctx.report.notes["vertex"] = {
        "dataset": dataset,
        "import_schema_uri": schema,
        "ml_use": ml_use
        or "not set: without --split Vertex AI splits the items itself (80% training, 10% validation, 10% test)",
        **more,
    }


def _write_manifest(out: Path, schema: str, source: str) -> None:
    manifest = {"importSchemaUri": schema, "gcsSource": {"uris": [source]}}
    (out / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")


# -- entity extraction ----------------------------------------------------------------


def _write_extraction(project: Project, out: Path, ctx: Context, ml_use: dict[str, str] | None) -> None:
    """One JSON line per line: ``{"textContent":…,"textSegmentAnnotations":[…]}``
    (and ``dataItemResourceLabels`` with --split), the bytes orjson.dumps
    gives for that object, built from the dumped text and kept in a list
    written a block at a time."""
    fmt = replace(FORMAT, kinds=frozenset({TOKEN_BASED}))
    report, unit = ctx.report, options_of(ctx, VertexOptions).offset_unit
    astral_lines = 0
    dumps = orjson.dumps
    # what follows the annotations in a line of each split; the same for all without --split
    tails = {
        name: (b',"dataItemResourceLabels":' + dumps({ML_USE_KEY: ml_use[name]}) if ml_use is not None else b"") + b"}"
        for name in ctx.splitter.names
    }
    no_spans = {name: b',"textSegmentAnnotations":[]' + tail for name, tail in tails.items()}
    pending: list[bytes] = []  # lines without '{"textContent":' and the newline
    with open(out / DATASET_JSONL, "wb") as fh:

        def flush() -> None:
            if pending:
                fh.write(_LINE_START)
                fh.write(_LINE_SEP.join(pending))
                fh.write(b"\n")
                pending.clear()

        for entry in items(fmt, project, ctx):
            line: Line | None = entry.item  # type: ignore[assignment]  (a T format's items are lines)
            if line is None:  # a document starts
                continue
            text = line.text
            spans = kept_spans(line, fmt.carries, report, entry.document.name) if line.spans else None
            if not text or text.isspace():
                report.drop(EMPTY_TEXT, {"document": entry.document.name, "line": line.index}, unit="lines")
                if spans:
                    report.drop("spans on lines without text", {"document": entry.document.name}, len(spans),
                                unit="spans", labels=[span.label for span in spans])
                continue
            astral = not text.isascii() and has_astral(text)
            astral_lines += astral
            if spans is None:  # (most lines: their JSON is the text's and a fixed tail)
                pending.append(dumps(text) + no_spans[entry.split])
            else:
                if astral:
                    offset = converter(text, unit)
                    annotations = [
                        {"startOffset": offset(s.start), "endOffset": offset(s.end), "displayName": s.label} for s in spans
                    ]
                else:
                    annotations = [{"startOffset": s.start, "endOffset": s.end, "displayName": s.label} for s in spans]
                pending.append(dumps(text) + b',"textSegmentAnnotations":' + dumps(annotations) + tails[entry.split])
            if len(pending) >= _PENDING:
                flush()
        flush()
    _finish_extraction(out, ctx, ml_use, astral_lines)


def _finish_extraction(out: Path, ctx: Context, ml_use: dict[str, str] | None, astral_lines: int) -> None:
    """What follows the JSON lines, once for the whole project: the import
    listing, the manifest and the report's notes."""
    with open(out / IMPORT_CSV, "w", encoding="utf-8", newline="") as fh:
        fh.write(DATASET_JSONL + "\n")
    _write_manifest(out, EXTRACTION_SCHEMA, DATASET_JSONL)
    _notes(
        ctx,
        "entity extraction",
        EXTRACTION_SCHEMA,
        ml_use,
        offset_unit="UTF-16 code units" if options_of(ctx, VertexOptions).offset_unit == UTF16 else "code points",
        lines_outside_bmp=astral_lines,
    )


def merge_extraction(parts: list[Part], out: Path, ctx: Context) -> bool:
    """--jobs (Format.merge_parts): the chunks' JSON lines one after another
    (a line names its own split), the rest written once."""
    concatenate([part.folder / DATASET_JSONL for part in parts], out / DATASET_JSONL)
    merge_reports(ctx.report, parts)
    _finish_extraction(out, ctx, ml_use_names(ctx), sum(part.notes["vertex"]["lines_outside_bmp"] for part in parts))
    return True


# -- classification ---------------------------------------------------------------------


def _write_classification(project: Project, out: Path, ctx: Context, ml_use: dict[str, str] | None) -> None:
    kind = classification_kind(project)
    question = label_question(project, kind, options_of(ctx, VertexOptions).question)
    multi = question.multiple
    schema = MULTI_LABEL_SCHEMA if multi else SINGLE_LABEL_SCHEMA
    fmt = replace(FORMAT, kinds=frozenset({kind}))
    report = ctx.report
    with open(out / IMPORT_CSV, "w", encoding="utf-8", newline="") as csv_fh, open(out / IMPORT_JSONL, "wb") as jsonl_fh:
        for example in examples(fmt, project, ctx, question):
            where = {"document": example.document, "row": example.row} if example.row is not None else {
                "document": example.document}
            labels = list(dict.fromkeys(label for label in example.labels if label.strip()))
            if not labels:
                report.drop(UNLABELED, where, unit=example.unit)
                continue
            if not example.text.strip():
                report.drop(EMPTY_TEXT, where, unit=example.unit)
                continue
            if not multi and len(labels) > 1:
                report.drop(EXTRA_LABELS, {**where, "labels": labels}, len(labels) - 1)
                labels = labels[:1]
            use = ml_use[example.split] if ml_use is not None else ""
            _csv_row(csv_fh, use, example.text, labels)
            obj: dict[str, Any] = {"textContent": example.text}
            if multi:
                obj["classificationAnnotations"] = [{"displayName": label} for label in labels]
            else:
                obj["classificationAnnotation"] = {"displayName": labels[0]}
            if use:
                obj["dataItemResourceLabels"] = {ML_USE_KEY: use}
            jsonl_fh.write(orjson.dumps(obj) + b"\n")
    drop_other_answers(project, kind, question, report)
    _write_manifest(out, schema, IMPORT_JSONL)
    _notes(
        ctx,
        MULTI if multi else SINGLE,
        schema,
        ml_use,
        label_question=question.name,
        labels_from="rows" if kind == ROW_BASED else "documents",
    )


def _csv_row(fh: IO[str], ml_use: str, text: str, labels: list[str]) -> None:
    """``ml_use,"text",label[,label...]``: RFC 4180, the text always quoted."""
    fh.write(",".join([ml_use, _quoted(text), *(_field(label) for label in labels)]) + "\n")


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _field(value: str) -> str:
    if any(c in value for c in ',"\r\n') or value != value.strip():
        return _quoted(value)
    return value


@dataclass(frozen=True)
class VertexOptions(OffsetUnitOption, QuestionOption):
    """--offset-unit for the segment offsets, --question for a classifier's labels."""


FORMAT = Format(
    id="GCP_VERTEX_AI_CSV",
    kinds=frozenset({TOKEN_BASED, ROW_BASED, DOCUMENT_BASED}),
    write_project=write_project,
    target="vertex",
    merge_parts=merge_extraction,
    merges_pieces=True,  # (a row per line: a document's pieces merge as documents do)
    options=VertexOptions,
)
