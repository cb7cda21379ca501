"""AZURE_AUTOML_CSV: training data for Azure Machine Learning AutoML NLP.

Token labeling (task ``text_ner``)::

    OUT/train/train.txt            OUT/train/MLTable
    OUT/validation/validation.txt  OUT/validation/MLTable   (with --split ...,validation=...)
    OUT/test/test.txt              OUT/test/MLTable         (a test share, for the user's own evaluation)

Each token is a line ``token tag`` with exactly one space, IOB2 tags (``O``,
``B-X``, ``I-X``), exactly one blank line between sentences, no blank first
line, and one ``\\n`` after the last token line: the rules of AutoML's NER
validator (docs/azure-automl.md). A token holding white space cannot be
written: it is a hard finding naming the document and line, and the file gets
the token with its white space replaced by ``_`` so the user can see it.

Row and document labeling (``text_classification`` or
``text_classification_multilabel``)::

    OUT/train/train.csv  OUT/train/MLTable   (validation/ and test/ likewise)

``text`` then ``label`` (a plain string, multi-class) or ``labels`` (a Python
list literal ``['a', 'b']``, ``[]`` for none, multi-label), every cell quoted;
every split has the same header. The MLTable turns off column type inference,
so a text that looks like a number stays a string in every split (AutoML
rejects train and validation columns of different types).

Everything streams: one open file per split, a line or row at a time (NER
sentences are written a batch of ``BATCH`` at a time). The
minimums (50 training sentences or rows, 2 labels, a validation file) are
checked afterwards on the files, by :mod:`labelport.targets.azure.checker`.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any, Iterable

from ...formats._classify import UNLABELED, classification_kind, drop_other_answers, examples, label_question
from ...formats._tokens import UNWRITABLE_TOKENS, iob_tags, whole_token_spans, writable_tokens
from ...formats.base import Context, Format, QuestionOption, items, kept_spans, options_of
from ...formats.parts import Part, concatenate, merge_reports
from ...model import DOCUMENT_BASED, ROW_BASED, TOKEN_BASED, Line, Project, Span
from ...report import Report
from .rules import (
    CSV_MLTABLE,
    CSV_SUFFIX,
    LABEL_COLUMN,
    LABELS_COLUMN,
    MLTABLE,
    NER_MLTABLE,
    NER_SUFFIX,
    SPLIT_WORDS,
    TAG_RULE,
    TEXT_COLUMN,
    TOKEN_WHITESPACE_RULE,
    TRAIN,
    VALIDATION,
)

LABELS_WITH_SPACE = "label names with white space (written with _ in the tags)"
EMPTY_LINES = "lines without tokens (no sentence to write)"
SEVERAL_ANSWERS = "several answers to a single-answer question (the first is written)"
#: token findings listed one by one; the rest are summed up in one more
MAX_TOKEN_FINDINGS = 20
#: NER sentences written at a time (one write of their lines)
BATCH = 256
#: a split's files: its data file and its MLTable
FILES_PER_SPLIT = 2


def write_project(project: Project, out: Path, ctx: Context) -> None:
    if TOKEN_BASED in project.kinds and options_of(ctx, AzureOptions).question is None:
        _NerWriter(project, out, ctx).write()
    else:
        _ClassificationWriter(project, out, ctx).write()


def _mltable(folder: Path, template: str, name: str) -> None:
    (folder / MLTABLE).write_text(template.format(name=name), encoding="utf-8", newline="\n")


def _without_space(name: str) -> str:
    """A token or label as a ``token tag`` line can hold it: its white space
    runs made ``_``, never empty."""
    return "_".join(name.split()) or "_"


def _split_folder(out: Path, split: str) -> tuple[Path, str]:
    """A split's folder, named as the split (a plain name: labelport.formats.splits)."""
    folder = out / split
    folder.mkdir(parents=True, exist_ok=True)
    return folder, split


def _validation_folder(splits: Iterable[str]) -> str | None:
    for split in splits:
        if SPLIT_WORDS.get(split.lower()) == VALIDATION:
            return split + "/"
    return None


# -- NER --------------------------------------------------------------------------

def _ner_rel(split: str) -> str:
    """Where a split's NER file is, relative to OUT."""
    return f"{split}/{split}{NER_SUFFIX}"


def _ner_notes(splits: list[str]) -> dict[str, Any]:
    """The report's notes on NER files written for ``splits``, in that order."""
    return {
        "task": "text_ner",
        "training_data": f"{TRAIN}/",
        "validation_data": _validation_folder(splits),
        "splits": {split: _ner_rel(split) for split in splits},
    }


class _NerFile:
    def __init__(self, out: Path, split: str):
        folder, name = _split_folder(out, split)
        self.name = f"{name}{NER_SUFFIX}"
        self.rel = _ner_rel(split)
        self.fh: IO[str] = open(folder / self.name, "w", encoding="utf-8", newline="\n")
        self.sentences = 0  # so far, written or pending
        self.tokens = 0  # token lines so far
        self.pending: list[str] = []  # the last sentences' lines, written a batch at a time
        self.flushed = False  # a sentence was written
        _mltable(folder, NER_MLTABLE, self.name)

    def flush(self) -> None:
        """Write the pending sentences, a blank line between each two."""
        if self.pending:
            text = "\n".join(self.pending)
            self.fh.write("\n" + text if self.flushed else text)
            self.flushed = True
            self.pending.clear()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.fh.close()


class _NerWriter:
    def __init__(self, project: Project, out: Path, ctx: Context):
        self.project, self.out, self.ctx = project, out, ctx
        self.report: Report = ctx.report
        self.fmt = replace(FORMAT, kinds=frozenset({TOKEN_BASED}))
        self.files: dict[str, _NerFile] = {}
        self.tags_written: dict[str, str] = {}  # label -> its name in the tags
        self.labels_by_tag: dict[str, str] = {}
        self.token_findings = 0

    def write(self) -> None:
        """Every line, as lean as the work allows: a line without spans is
        its tokens joined with ``" O\\n"``; tags are made only for lines with
        spans (:meth:`tagged`)."""
        report, carries, files = self.report, self.fmt.carries, self.files
        split: str | None = None
        f: _NerFile
        pending: list[str] = []
        try:
            for entry in items(self.fmt, self.project, self.ctx):
                line: Line | None = entry.item  # type: ignore[assignment]
                if line is None:
                    continue
                document = entry.document.name
                tokens = line.tokens
                if not tokens:
                    if kept_spans(line, carries, report, document) or line.text:
                        report.drop(EMPTY_LINES, {"document": document, "line": line.index}, unit="lines")
                    continue
                joined = "".join(tokens)
                # every white-space character but the space is unprintable: such tokens need no repair
                if joined.isprintable() and " " not in joined and "" not in tokens:
                    written = tokens
                else:
                    written = writable_tokens(line, True, report, document)
                    if written is not tokens:
                        written = self.repaired(line, written, document)
                if line.spans:
                    spans = whole_token_spans(line, kept_spans(line, carries, report, document), report, document)
                    body = self.tagged(written, spans, document)
                else:
                    body = " O\n".join(written) + " O\n"
                if entry.split != split:
                    split = entry.split
                    f = files.get(split) or self.file(split)
                    pending = f.pending
                pending.append(body)
                if len(pending) == BATCH:
                    f.flush()
                if written is not tokens:
                    # the sentence's first line: after the lines of those before it and a blank line each
                    self.unwritable(document, line, written, f, f.tokens + f.sentences + 1)
                f.tokens += len(written)
                f.sentences += 1
            if TRAIN not in files:
                self.file(TRAIN)  # an empty project still gets its (empty) training file
        finally:
            for f in files.values():
                f.close()
        if self.token_findings > MAX_TOKEN_FINDINGS:
            more = self.token_findings - MAX_TOKEN_FINDINGS
            self.report.find(TOKEN_WHITESPACE_RULE, f"{more:,} more tokens hold white space (see not_carried in the "
                             "report)", hard=True)
        self.report.notes.setdefault("azure", _ner_notes(list(self.files)))

    def file(self, split: str) -> _NerFile:
        f = self.files.get(split)
        if f is None:
            f = self.files[split] = _NerFile(self.out, split)
            self.report.split_count(split, "files", FILES_PER_SPLIT)
        return f

    def tagged(self, tokens: list[str], spans: list[Span], document: str) -> str:
        """The ``token tag`` lines of a line with IOB2 tags: the tokens
        between spans joined as ``O`` lines, a span's inside ones likewise."""
        tags_written = self.tags_written
        n = len(tokens)
        parts = []
        at = 0
        for span in spans:
            start, end = span.token_start, span.token_end
            if not at <= start <= end < n:  # not in order, apart and on the line, as kept_spans and readers make them
                spans = [replace(span, label=self.tag_label(span.label, document)) for span in spans]
                return "".join([f"{token} {tag}\n" for token, tag in zip(tokens, iob_tags(n, spans))])
            label = tags_written.get(span.label) or self.tag_label(span.label, document)
            if start > at:
                parts.append(" O\n".join(tokens[at:start]) + " O\n")
            parts.append(f"{tokens[start]} B-{label}\n")
            if end > start:
                inside = f" I-{label}\n"
                parts.append(inside.join(tokens[start + 1 : end + 1]) + inside)
            at = end + 1
        if at < n:
            parts.append(" O\n".join(tokens[at:]) + " O\n")
        return "".join(parts)

    def repaired(self, line: Line, tokens: list[str], document: str) -> list[str]:
        """The tokens writable_tokens repaired, as ``token tag`` lines can
        hold them: no white space of any kind (its fast path returns the
        line's own tokens only when they hold none)."""
        fixed = list(tokens)
        for i, token in enumerate(tokens):
            if any(c.isspace() for c in token):
                fixed[i] = _without_space(token)
                self.report.drop(UNWRITABLE_TOKENS, {"document": document, "line": line.index, "token": token,
                                                     "written": fixed[i]})
        return fixed if fixed != tokens else tokens

    def tag_label(self, label: str, document: str) -> str:
        """The label as the tags can hold it: no white space (it would be a
        second space on the line), never empty."""
        written = self.tags_written.get(label)
        if written is None:
            written = self.tags_written[label] = _without_space(label)
            if written != label:
                self.report.drop(LABELS_WITH_SPACE, {"label": label, "written": written})
            other = self.labels_by_tag.setdefault(written, label)
            if other != label:
                self.report.find(TAG_RULE, f"labels {other!r} and {label!r} are both written as {written!r}",
                                 hard=True, file=document)
        return written

    def unwritable(self, document: str, line: Line, tokens: list[str], f: _NerFile, first: int) -> None:
        for i, (token, written) in enumerate(zip(line.tokens, tokens)):
            if token == written:
                continue
            self.token_findings += 1
            if self.token_findings > MAX_TOKEN_FINDINGS:
                continue
            self.report.find(
                TOKEN_WHITESPACE_RULE,
                f"document {document!r}, line {line.index + 1} (index {line.index}), token {i + 1} {token!r}: a "
                f"token holding white space (or none) cannot be a `token tag` line; written as {written!r} at "
                f"{f.rel}:{first + i}",
                hard=True,
                file=document,
                line=line.index + 1,
            )


def merge_ner(parts: list[Part], out: Path, ctx: Context) -> bool:
    """--jobs (Format.merge_parts): each split's NER file as one process
    writes it, the chunks' sentences one blank line apart."""
    if any(LABELS_WITH_SPACE in part.report.losses for part in parts):
        return False  # whether two labels meet in one tag name is for the whole project to tell
    splits = _ner_splits(parts)
    for split in splits:
        rel = _ner_rel(split)
        target = out / rel
        concatenate([part.folder / rel for part in parts if _written(part.folder / rel)], target, b"\n")
        _mltable(target.parent, NER_MLTABLE, target.name)
    for part in parts:
        if set(part.report.splits.get(TRAIN, ())) == {"files"}:
            # a chunk without training lines made its empty training file at its
            # end; one process makes it only for a project without any (below)
            del part.report.splits[TRAIN]
    merge_reports(ctx.report, parts)
    for split in splits:  # counted by each chunk that wrote the split; one process counts them once
        ctx.report.splits.setdefault(split, Counter())["files"] = FILES_PER_SPLIT
    ctx.report.notes.setdefault("azure", _ner_notes(splits))
    return True


def _ner_splits(parts: list[Part]) -> list[str]:
    """The splits with a NER file, in the order one process opens them: a
    chunk opened a split's file at its first sentence in it, and its training
    file last, empty, when it had no training sentence."""
    splits: dict[str, None] = {}
    for part in parts:
        for split, rel in part.notes["azure"]["splits"].items():
            if _written(part.folder / rel):
                splits.setdefault(split)
    splits.setdefault(TRAIN)
    return list(splits)


def _written(path: Path) -> bool:
    """A chunk wrote sentences into this NER file (an empty one stands for none)."""
    return path.exists() and path.stat().st_size > 0


# -- classification ------------------------------------------------------------------

class _CsvFile:
    def __init__(self, out: Path, split: str, header: list[str]):
        folder, name = _split_folder(out, split)
        self.name = f"{name}{CSV_SUFFIX}"
        self.rel = f"{name}/{self.name}"
        self.fh = open(folder / self.name, "w", encoding="utf-8", newline="")
        # every cell quoted: texts that look like numbers, hold a bare "\r" or
        # start with a quote all read back exactly
        self.csv = csv.writer(self.fh, lineterminator="\n", quoting=csv.QUOTE_ALL)
        self.csv.writerow(header)
        self.rows = 0
        _mltable(folder, CSV_MLTABLE, self.name)


class _ClassificationWriter:
    def __init__(self, project: Project, out: Path, ctx: Context):
        self.project, self.out, self.ctx = project, out, ctx
        self.report: Report = ctx.report
        kind = classification_kind(project)
        name = options_of(ctx, AzureOptions).question
        if name is not None and DOCUMENT_BASED in project.kinds and all(q.name != name for q in project.questions):
            kind = DOCUMENT_BASED  # --question names a document question
        self.fmt = replace(FORMAT, kinds=frozenset({kind}))
        self.kind = kind
        self.question = label_question(project, kind, name)
        self.multi = self.question.multiple
        self.header = [TEXT_COLUMN, LABELS_COLUMN if self.multi else LABEL_COLUMN]
        self.files: dict[str, _CsvFile] = {}

    def file(self, split: str) -> _CsvFile:
        f = self.files.get(split)
        if f is None:
            f = self.files[split] = _CsvFile(self.out, split, self.header)
            self.report.split_count(split, "files", FILES_PER_SPLIT)
        return f

    def write(self) -> None:
        report, multi = self.report, self.multi
        try:
            for example in examples(self.fmt, self.project, self.ctx, self.question):
                labels = [label for label in example.labels if label]
                if multi:
                    cell = repr(list(dict.fromkeys(labels)))
                elif not labels:
                    report.drop(UNLABELED, {"document": example.document, "row": example.row}, unit=example.unit)
                    continue
                else:
                    if len(labels) > 1:
                        report.drop(SEVERAL_ANSWERS, {"document": example.document, "row": example.row,
                                                      "answers": labels})
                    cell = labels[0]
                f = self.file(example.split)
                f.csv.writerow([example.text, cell])
                f.rows += 1
            if TRAIN not in self.files:
                self.file(TRAIN)  # the header at least: nothing was labeled
        finally:
            for f in self.files.values():
                f.fh.close()
        drop_other_answers(self.project, self.kind, self.question, report)
        report.notes.setdefault("azure", {
            "task": "text_classification_multilabel" if multi else "text_classification",
            "target_column_name": self.header[1],
            "question": self.question.name,
            "training_data": f"{TRAIN}/",
            "validation_data": _validation_folder(self.files),
            "splits": {split: f.rel for split, f in self.files.items()},
        })


@dataclass(frozen=True)
class AzureOptions(QuestionOption):
    """--question: a classifier's labels (for a token-labeling project too)."""


FORMAT = Format(
    id="AZURE_AUTOML_CSV",
    kinds=frozenset({TOKEN_BASED, ROW_BASED, DOCUMENT_BASED}),
    write_project=write_project,
    target="azure",
    merge_parts=merge_ner,
    merges_pieces=True,  # (a sentence a block: a document's pieces merge as documents do)
    options=AzureOptions,
)
