"""What a conversion wrote and what it could not carry (labelport-report.json).

Every writer counts what it writes and calls :meth:`Report.drop` for what its
format cannot carry, so nothing is lost silently: the report lists each kind
of loss with a count and up to five examples, and the command names them on
stderr (``--strict`` makes them an error). A project with labelers' versions
has its documents counted for agreement too (:meth:`Report.count_agreement`):
the report's "agreement" section and one summary line
(:mod:`labelport.iaa.summary`).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ._version import __version__
from .guards.output import REPORT_NAME, file_digest, files_under
from .progress import counted

if TYPE_CHECKING:
    from .iaa import Tally
    from .model import Document, Project

MAX_EXAMPLES = 5
#: What is counted as read and as written, side by side: written is what was
#: read less what the writer left out (Report.drop's ``unit``).
WRITTEN_UNITS = ("documents", "lines", "rows", "spans")
#: Labels named in the summary's spans-per-label line; the report lists all.
SUMMARY_LABELS = 20


@dataclass
class Loss:
    count: int = 0
    examples: list[Any] = field(default_factory=list)


@dataclass
class Finding:
    """A target-service rule the output breaks (hard) or a minimum it misses (soft)."""

    rule: str
    message: str
    hard: bool
    file: str | None = None
    line: int | None = None


class Report:
    """What one conversion read, wrote and could not carry.

    ``to_dict`` (labelport-report.json) keeps its keys in this order:
    labelport, source, format, options, counts (what was read), written (of
    ``counts``' documents, lines, rows and spans, what the output holds, in
    that order), spans_per_label (read), spans_per_label_written,
    answers_per_question, splits, read, not_carried, agreement (only for a
    project with labelers' versions), checks, ready_for_training, the
    writer's notes, renamed, files.
    """

    def __init__(self, source: str | None, format_id: str, options: dict[str, Any] | None = None):
        self.source = source
        self.format_id = format_id
        self.options = options or {}
        self.counts: Counter[str] = Counter()
        self.spans_per_label: Counter[str] = Counter()
        self.answers_per_question: Counter[str] = Counter()
        self.read_notes: Counter[str] = Counter()  # what readers repaired
        self.splits: dict[str, Counter[str]] = {}
        #: split -> spans per label (token labeling) or items per answer (rows, documents), when splitting
        self.labels_per_split: dict[str, Counter[str]] = {}
        #: how the items were split (unit, seed, stratify, why; see formats.splits), when splitting
        self.split_plan: dict[str, Any] | None = None
        self.split_warnings: list[str] = []
        self.losses: dict[str, Loss] = {}
        #: what the output lacks of what was read, by unit (WRITTEN_UNITS), and its spans by label
        self.not_written: Counter[str] = Counter()
        self.spans_not_written: Counter[str] = Counter()
        #: items dropped so far, of any kind: tells a writer whether a call dropped any
        self.drops = 0
        self.findings: list[Finding] = []
        self.notes: dict[str, Any] = {}
        self.files: dict[str, dict[str, Any]] = {}
        #: file name -> document name, for names shortened to fit the file system
        self.renamed: dict[str, str] = {}
        #: set while labelers' versions are being written (--role LABELER, --zip)
        self.versions_written = False
        #: how far the labelers agree, once a document with labelers' versions is counted
        self.agreement: Tally | None = None

    def fresh(self) -> "Report":
        """An empty report of the same conversion, to be merged in later (a
        --jobs worker's, a trial pass's)."""
        report = Report(self.source, self.format_id, self.options)
        report.versions_written = self.versions_written
        report.split_plan = self.split_plan
        return report

    # -- counting -------------------------------------------------------------
    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def split_count(self, split: str, what: str, n: int = 1) -> None:
        self.splits.setdefault(split, Counter())[what] += n

    def split_labels(self, split: str, labels: Counter[str]) -> None:
        """Add ``labels`` (label -> count) to what ``split`` holds."""
        self.labels_per_split.setdefault(split, Counter()).update(labels)

    def check_splits(self, names: list[str]) -> None:
        """Warn of a split that got nothing, and of a label some split has and another lacks."""
        self.split_warnings = []
        for name in names:
            if not any(self.splits.get(name, {}).get(what) for what in ("lines", "rows", "documents")):
                self.split_warnings.append(f"split {name!r} is empty")
        every = set().union(*self.labels_per_split.values())
        for name in names:
            missing = sorted(every - set(self.labels_per_split.get(name, ())))
            if missing and name in self.splits:
                shown = ", ".join(missing[:MAX_EXAMPLES]) + (f" and {len(missing) - MAX_EXAMPLES} more" if len(missing) > MAX_EXAMPLES else "")
                self.split_warnings.append(f"split {name!r} lacks {counted(len(missing), 'labels')} another split has: {shown}")

    def count_agreement(self, document: Document, project: Project) -> None:
        """Count ``document``, one of ``project``'s with labelers' versions, for the "agreement" section."""
        if self.agreement is None:
            from .iaa import Tally  # (start-up: only a project with labelers' versions needs it)

            self.agreement = Tally.of(project)
        self.agreement.add(document)

    def drop(self, what: str, example: Any, n: int = 1, *, unit: str | None = None,
             labels: Iterable[str] = ()) -> None:
        """Record ``n`` items of kind ``what`` the format could not carry.

        ``unit``: the items are that many documents, lines, rows or spans
        the output does not hold (the written counts are the read ones less
        these); for spans, ``labels`` are their labels, one a span."""
        if unit is not None:
            self.not_written[unit] += n
            self.spans_not_written.update(labels)
        loss = self.losses.get(what)
        if loss is None:
            loss = self.losses[what] = Loss()
        loss.count += n
        self.drops += n
        if len(loss.examples) < MAX_EXAMPLES:
            loss.examples.append(example)

    def find(self, rule: str, message: str, *, hard: bool, file: str | None = None, line: int | None = None) -> None:
        self.findings.append(Finding(rule, message, hard, file, line))

    def merge(self, other: "Report") -> None:
        """Add up another report of the same conversion (a --jobs worker's),
        of the documents that follow this one's."""
        self.counts.update(other.counts)
        self.spans_per_label.update(other.spans_per_label)
        self.answers_per_question.update(other.answers_per_question)
        self.not_written.update(other.not_written)
        self.spans_not_written.update(other.spans_not_written)
        self.read_notes.update(other.read_notes)
        for split, counts in other.splits.items():
            self.splits.setdefault(split, Counter()).update(counts)
        for split, labels in other.labels_per_split.items():
            self.split_labels(split, labels)
        for what, loss in other.losses.items():
            mine = self.losses.setdefault(what, Loss())
            mine.count += loss.count
            self.drops += loss.count
            mine.examples.extend(loss.examples[: MAX_EXAMPLES - len(mine.examples)])
        if other.agreement is not None:
            if self.agreement is None:
                self.agreement = other.agreement
            else:
                self.agreement.merge(other.agreement)
        self.findings.extend(other.findings)
        self.notes.update(other.notes)
        self.files.update(other.files)
        self.renamed.update(other.renamed)

    # -- results --------------------------------------------------------------
    @property
    def rejected(self) -> bool:
        """The target would reject the output."""
        return any(f.hard for f in self.findings)

    @property
    def lossy(self) -> bool:
        return bool(self.losses) or any(not f.hard for f in self.findings)

    def written(self) -> dict[str, int]:
        """Of the documents, lines, rows and spans read, how many the output holds."""
        return {unit: self.counts[unit] - self.not_written[unit] for unit in WRITTEN_UNITS if unit in self.counts}

    def spans_per_label_written(self) -> dict[str, int]:
        return {label: n - self.spans_not_written[label] for label, n in sorted(self.spans_per_label.items())}

    def hash_files(self, root: Path) -> None:
        """Size and sha256 of every file under ``root``, in path order; a file
        already hashed (by a --jobs worker, see :meth:`merge`) is not read again."""
        hashed, self.files = self.files, {}
        for rel in sorted(files_under(root), key=_path_parts):
            if rel.rpartition("/")[2] != REPORT_NAME:
                self.files[rel] = hashed.get(rel) or _file_hash(os.path.join(root, rel))

    def agreement_section(self) -> dict[str, Any] | None:
        """labelport-report.json's "agreement"; None when no document had labelers' versions."""
        if self.agreement is None:
            return None
        from .iaa.summary import section  # (start-up: only a project with labelers' versions needs it)

        return section(self.agreement)

    def to_dict(self) -> dict[str, Any]:
        agreement = self.agreement_section()
        return {
            "labelport": __version__,
            "source": self.source,
            "format": self.format_id,
            "options": self.options,
            "counts": dict(self.counts),
            "written": self.written(),
            "spans_per_label": dict(sorted(self.spans_per_label.items())),
            "spans_per_label_written": self.spans_per_label_written(),
            "answers_per_question": dict(sorted(self.answers_per_question.items())),
            "splits": {name: self._split_counts(name) for name in self.splits},
            **({"split": {**self.split_plan, "warnings": self.split_warnings}} if self.split_plan else {}),
            "read": dict(self.read_notes),
            "not_carried": {
                what: {"count": loss.count, "examples": loss.examples} for what, loss in self.losses.items()
            },
            **({"agreement": agreement} if agreement is not None else {}),
            "checks": [
                {k: v for k, v in vars(f).items() if v is not None} for f in self.findings
            ],
            "ready_for_training": not self.findings,
            **self.notes,
            **({"renamed": dict(sorted(self.renamed.items()))} if self.renamed else {}),
            "files": self.files,
        }

    def _split_counts(self, name: str) -> dict[str, Any]:
        counts: dict[str, Any] = dict(self.splits[name])
        if self.split_plan:
            counts["labels"] = dict(sorted(self.labels_per_split.get(name, Counter()).items()))
        return counts

    def write(self, root: Path) -> Path:
        import orjson  # (start-up: orjson ~5 ms; import labelport loads this module, only a run that writes needs it)

        path = root / REPORT_NAME
        path.write_bytes(orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n")
        return path

    def summary_lines(self) -> list[str]:
        """The short stderr summary: what was read and what was written, side
        by side; what was not carried; what the checks found."""
        c = self.counts
        read = [counted(c[k], k) for k in ("documents", "lines", "tokens", "spans", "rows", "answers") if c.get(k)]
        written = [counted(n, unit) for unit, n in self.written().items()]
        lines = [f"labelport: {self.format_id}: read " + (", ".join(read) or "nothing")
                 + (f"; wrote {', '.join(written)}" if written else "") + f" in {counted(len(self.files), 'files')}"]
        if self.spans_per_label:
            per_label = [f"{label} {n:,}" + (f" -> {w:,}" if w != n else "") for (label, n), w in
                         zip(sorted(self.spans_per_label.items()), self.spans_per_label_written().values())]
            more = len(per_label) - SUMMARY_LABELS
            lines.append("labelport: spans per label (read -> written when fewer): " + ", ".join(per_label[:SUMMARY_LABELS])
                         + (f", and {more:,} more (see labelport-report.json)" if more > 0 else ""))
        agreement = self.agreement_section()
        if agreement is not None:
            from .iaa.summary import summary_line  # (start-up: only a project with labelers' versions needs it)

            lines.append("labelport: " + summary_line(agreement))
        if self.split_plan:
            lines.append(f"labelport: note: split by {self.split_plan['unit']} ({self.split_plan['why']})")
        for note, n in self.read_notes.items():
            lines.append(f"labelport: note: read {note}: {n:,}")
        for warning in self.split_warnings:
            lines.append(f"labelport: warning: {warning}")
        for what, loss in self.losses.items():
            lines.append(f"labelport: warning: not carried by {self.format_id}: {what}: {loss.count:,}")
        for f in self.findings:
            where = f"{f.file}:{f.line}: " if f.file and f.line else (f"{f.file}: " if f.file else "")
            level = "error: the service would reject this" if f.hard else "warning: not ready for training"
            lines.append(f"labelport: {level}: {where}{f.message}")
        return lines


def _path_parts(rel: str) -> list[str]:
    return rel.split("/")  # (sorted as Path sorts: folder by folder)


def _file_hash(path: str) -> dict[str, Any]:
    size, sha256 = file_digest(path)
    return {"bytes": size, "sha256": sha256}
