"""HF_DATASET: a Hugging Face dataset folder, ready for ``load_dataset`` or the Hub.

```
OUT/data/<split>-00000-of-00001.parquet   one shard per split (more when large)
OUT/README.md                             dataset card: configs, dataset_info, labels, counts
```

Token labeling: one row per line, columns ``id`` (``<document id>:<line
index>``), ``text`` (the line's text, which ``spans`` point into), ``tokens``,
``ner_tags`` (Sequence of ClassLabel: ``O`` then ``B-``/``I-`` for each
label, IOB2) and ``spans`` (``start``, ``end`` in code points of ``text``,
end exclusive, and ``label``). ``ner_tags`` cannot hold overlapping spans;
``spans`` keeps them, so the report counts them as left out of ``ner_tags``
only. A project with relations (arrows) adds ``relations``: each a ``head``
and a ``tail``, indexes into that row's ``spans``, and a ``label``
(ClassLabel); a relation whose ends are not both in one row's ``spans``
is counted as not carried, with the reason. Row and document labeling:
``id``, ``text`` and ``label`` (ClassLabel) or, for a question with several
answers, ``labels`` (Sequence of ClassLabel); rows without an answer are
left out and counted.

ClassLabel names must be fixed before the first row is written: they are
label set 0 (in order) or the question's options when the project has them,
else the sorted labels found by a first pass over the documents. Nothing
declares which labels are relation labels (a Datasaur label set lists them
beside the span labels), so the rows are written without a ``relations``
column on trial, and the first document with arrows sends the project
through a first pass for their labels; a project without arrows reads once.

Rows stream into pyarrow record batches of at most ``BATCH_ROWS`` rows, so
memory stays flat whatever the project's size; a split's shard is closed
once it holds ``MAX_SHARD_BYTES`` of Arrow data and the next one begins.
The schema carries the ``huggingface`` metadata datasets writes itself (in
the ``Sequence`` form every datasets version from 2.x on reads), so
``load_dataset("parquet", ...)`` restores the ClassLabel names.
"""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ..._version import __version__
from ...errors import UsageError, missing_extra
from ...formats._classify import UNLABELED, classification_kind, drop_other_answers, examples, label_question
from ...formats._tokens import OFF_TOKEN_BOUNDARIES, iob_tags, whole_token_spans
from ...formats.base import (
    ARROWS_IN_LINES,
    CONFLICTS,
    OVERLAPS,
    Context,
    Format,
    QuestionOption,
    items,
    kept_spans,
    options_of,
    span_example,
)
from ...formats.parts import Part, merge_reports
from ...model import CONFLICT, DOCUMENT_BASED, ROW_BASED, TOKEN_BASED, Arrow, Document, Line, Project, Question, Span
from ...progress import counted
from ...report import Report
from .features import INT64, STRING, Feature, arrow_type, class_label, list_of, schema_metadata, struct, to_yaml_list
from .layout import DATA, README, SPLIT_NAME, shard_name, split_files

#: Rows per record batch (one Parquet row group), and the Arrow bytes that
#: end a batch early when rows are long.
BATCH_ROWS = 5_000
BATCH_BYTES = 64 << 20
#: A shard ends once it holds this much Arrow (uncompressed) data.
MAX_SHARD_BYTES = 500 << 20

NOT_TOKENS = "rows and documents of a token-labeling project (a dataset holds one kind)"
UNKNOWN_SPAN_LABELS = "spans whose label is not in label set 0 (not a ClassLabel name)"
OVERLAPS_IN_TAGS = "overlapping spans (kept in the spans column, left out of ner_tags)"
OFF_TOKEN_BOUNDARIES_IN_TAGS = f"{OFF_TOKEN_BOUNDARIES} (kept in the spans column, left out of ner_tags)"
UNKNOWN_ANSWERS = "answers that are not among the question's options (not a ClassLabel name)"
EXTRA_ANSWERS = "answers beyond the first of a single-answer question"
EMPTY_SPLITS = "empty split"
RELATIONS_ACROSS_ROWS = "relations between spans of different lines (a row's relations index its own spans)"
RELATIONS_END_LEFT_OUT = ("relations with an end the spans column leaves out "
                          "(another label set, CONFLICT, across lines, a label not in label set 0)")
RELATIONS_END_UNKNOWN = "relations whose origin or target is no span of the document"

#: a row of the spans column: one span, its offsets end-exclusive code points of ``text``
SPAN = struct([("start", INT64), ("end", INT64), ("label", STRING)])


def relation(labels: Iterable[str]) -> Feature:
    """A row of the relations column: ``head`` and ``tail`` index the row's
    ``spans``, ``label`` is a ClassLabel of ``labels``."""
    return struct([("head", INT64), ("tail", INT64), ("label", class_label(labels))])


def arrow_schema(pa: Any, features: list[tuple[str, Feature]]) -> Any:
    return pa.schema([(name, arrow_type(pa, f)) for name, f in features], metadata=schema_metadata(features))


# Columns are built from buffers: ``pyarrow.array`` on Python lists imports
# pandas (when installed) to ask whether they are pandas objects, which costs
# more time and memory than writing a small dataset.

def _offsets(pa: Any, items: list[Any]) -> Any:
    """Arrow's int32 offsets of ``items``: 0, then the running sum of their
    lengths, summed by numpy (pyarrow's own dependency, and datasets') in
    place, rather than in Python, which would make an int of each sum."""
    import numpy as np  # (extra: labelport[hf], with pyarrow)

    offsets = np.fromiter(chain((0,), map(len, items)), dtype=np.int32, count=len(items) + 1)
    total = int(offsets.sum(dtype=np.int64))
    if total >= 1 << 31:
        raise OverflowError(f"{total:,} bytes of strings in one record batch (Arrow's offsets are int32)")
    np.cumsum(offsets, out=offsets)
    return pa.Array.from_buffers(pa.int32(), len(offsets), [None, pa.py_buffer(offsets)])


def _strings(pa: Any, values: list[str]) -> Any:
    joined = "".join(values)
    if joined.isascii():
        sized, data = values, joined.encode("ascii")
    else:
        sized = [value.encode("utf-8") for value in values]
        data = b"".join(sized)
    offsets = _offsets(pa, sized).buffers()[1]
    return pa.Array.from_buffers(pa.string(), len(values), [None, offsets, pa.py_buffer(data)])


def column(pa: Any, f: Feature, values: list[Any]) -> Any:
    """The Arrow array of ``values`` (no nulls) for the feature ``f``."""
    kind, arg = f
    if kind == "value" and arg == "string":
        return _strings(pa, values)
    if kind == "class_label" or (kind == "value" and arg == "int64"):
        return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(array("q", values))])
    if kind == "list":
        child = column(pa, arg, list(chain.from_iterable(values)))
        return pa.ListArray.from_arrays(_offsets(pa, values), child)
    if kind == "struct":
        children = [column(pa, sub, [value[name] for value in values]) for name, sub in arg]
        return pa.StructArray.from_arrays(children, fields=[pa.field(name, arrow_type(pa, sub)) for name, sub in arg])
    raise AssertionError(kind)


def _pyarrow() -> tuple[Any, Any]:
    try:  # (extra: labelport[hf])
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise missing_extra("pyarrow", "hf", "HF_DATASET") from None
    return pa, pq


# -- shards ---------------------------------------------------------------------

@dataclass
class SplitInfo:
    name: str
    rows: int = 0
    nbytes: int = 0  # Arrow (uncompressed) bytes, as datasets' num_bytes
    files: list[str] = field(default_factory=list)  # relative to OUT, final names
    per_label: Counter[str] = field(default_factory=Counter)


class _SplitShards:
    """The Parquet shards of one split, written batch by batch."""

    def __init__(self, name: str, folder: Path, features: list[tuple[str, Feature]], schema: Any, pa: Any, pq: Any):
        self.info = SplitInfo(name)
        self.folder = folder
        self.features = features
        self.schema = schema
        self.pa, self.pq = pa, pq
        self.columns: list[list[Any]] = [[] for _ in schema.names]
        self.buffered = 0
        self.buffered_bytes = 0
        self.writer: Any = None
        self.shard_bytes = 0
        self.partial: list[Path] = []

    def add(self, row: tuple, size: int) -> None:
        for column, value in zip(self.columns, row):
            column.append(value)
        self.buffered += 1
        self.buffered_bytes += size
        if self.buffered >= BATCH_ROWS or self.buffered_bytes >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.buffered:
            return
        pa = self.pa
        arrays = [column(pa, f, values) for values, (_, f) in zip(self.columns, self.features)]
        batch = pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        self.columns = [[] for _ in self.schema.names]
        self.buffered = self.buffered_bytes = 0
        if self.writer is None:
            path = self.folder / f".{self.info.name}-{len(self.partial):05d}.parquet.partial"
            self.partial.append(path)
            self.writer = self.pq.ParquetWriter(path, self.schema)
            self.shard_bytes = 0
        self.writer.write_batch(batch)
        self.info.rows += batch.num_rows
        self.info.nbytes += batch.nbytes
        self.shard_bytes += batch.nbytes
        if self.shard_bytes >= MAX_SHARD_BYTES:
            self.writer.close()
            self.writer = None

    def close(self, keep_empty: bool) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if not self.partial and keep_empty:
            # a dataset with no row at all still gets its schema on disk
            path = self.folder / f".{self.info.name}-00000.parquet.partial"
            self.pq.ParquetWriter(path, self.schema).close()
            self.partial.append(path)
        count = len(self.partial)
        for i, path in enumerate(self.partial):
            final = self.folder / shard_name(self.info.name, i, count)
            path.rename(final)
            self.info.files.append(f"{self.folder.name}/{final.name}")

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def check_split_names(split_names: Iterable[str]) -> None:
    for name in split_names:
        if not SPLIT_NAME.match(name):
            raise UsageError(
                f"--split: {name!r} cannot name a Hugging Face split "
                "(letters, digits and _, parts joined by .)"
            )


class Shards:
    """Every split's shards under ``OUT/data/``."""

    def __init__(self, out: Path, features: list[tuple[str, Feature]], split_names: list[str]):
        self.pa, self.pq = _pyarrow()
        check_split_names(split_names)
        self.features = features
        self.schema = arrow_schema(self.pa, features)
        self.folder = out / DATA
        self.folder.mkdir(parents=True, exist_ok=True)
        self.order = list(split_names)
        self.splits: dict[str, _SplitShards] = {}

    def add(self, split: str, row: tuple, size: int) -> _SplitShards:
        shards = self.splits.get(split)
        if shards is None:
            shards = self.splits[split] = _SplitShards(split, self.folder, self.features, self.schema, self.pa, self.pq)
        shards.add(row, size)
        return shards

    def close(self) -> list[SplitInfo]:
        """The splits written, in the order given; a split that got no row is
        left out (datasets cannot load an empty split), unless every split is
        empty: then the first gets an empty shard."""
        written = [self.splits[name] for name in self.order if name in self.splits]
        if not written:
            first = self.order[0]
            written = [self.splits.setdefault(first, _SplitShards(first, self.folder, self.features, self.schema, self.pa, self.pq))]
        for shards in written:
            shards.close(keep_empty=True)
        return [shards.info for shards in written]

    def abort(self) -> None:
        for shards in self.splits.values():
            shards.abort()


class OneSplit(Shards):
    """The shards of split ``only``: the rows of the others are made and
    counted but not written (:func:`write_rows`: labelport.to_ray reads one split at a time)."""

    def __init__(self, out: Path, features: list[tuple[str, Feature]], split_names: list[str], only: str):
        super().__init__(out, features, split_names)
        self.only = only
        self.left_out = _SplitShards("", self.folder, features, self.schema, self.pa, self.pq)  # (never written)

    def add(self, split: str, row: tuple, size: int) -> _SplitShards:
        return super().add(split, row, size) if split == self.only else self.left_out


def shards_of(out: Path, features: list[tuple[str, Feature]], ctx: Context, only: str | None) -> Shards:
    """Every split's shards, or split ``only``'s."""
    return Shards(out, features, ctx.splitter.names) if only is None else OneSplit(out, features, ctx.splitter.names, only)


# -- label names ----------------------------------------------------------------

def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def label_set_0(project: Project) -> list[str]:
    """The names of the project's label set 0 (its first file's), in order."""
    if not project.label_sets:
        return []
    label_set = next((ls for ls in project.label_sets if ls.index == 0), project.label_sets[0])
    return _unique(label.name for label in label_set.labels)


#: The ClassLabel names of a token-labeling project's rows: its span labels
#: (``ner_tags``) and its relation labels (``relations``; none: no such column).
Names = tuple[list[str], list[str]]


def labels_found(project: Project, spans: bool = True) -> Names:
    """A first pass: the sorted labels of the spans of label set 0 (with
    ``spans``) and of the arrows (but CONFLICT ones) in the project's token documents."""
    found: set[str] = set()
    relations: set[str] = set()
    for document in project.documents():
        if TOKEN_BASED not in document.kinds:
            continue
        relations.update(arrow.label for arrow in document.arrows if arrow.labeled_by != CONFLICT)
        if spans:
            for line in document.lines:
                for span in line.spans:
                    if span.label_set == 0:
                        found.add(span.label)
    return sorted(found), sorted(relations)


def relation_labels(project: Project, found: Iterable[str]) -> list[str]:
    """The relation labels ``found``: in the order the project's label sets
    declare them (Datasaur lists arrow labels there), then the others sorted."""
    found = set(found)
    every = _unique(label.name for label_set in project.label_sets for label in label_set.labels)
    declared = [name for name in every if name in found]
    return declared + sorted(found.difference(declared))


def answer_labels(project: Project, kind: str, question: Question) -> list[str]:
    """The question's options in order, else the sorted answers of a first pass."""
    if question.options:
        return _unique(str(option) for option in question.options)
    found: set[str] = set()

    def add(answers: dict[str, Any]) -> None:
        value = answers.get(question.id)
        if value in (None, "", []):
            return
        if isinstance(value, list):
            found.update(str(v) for v in value)
        else:
            found.add(str(value))

    for document in project.documents():
        if kind == ROW_BASED:
            if ROW_BASED in document.kinds:
                for row in document.rows:
                    add(row.answers)
        elif DOCUMENT_BASED in document.kinds:
            add(document.answers)
    return sorted(found)


# -- writing --------------------------------------------------------------------

#: features, the splits written, the ClassLabel names, the task ("ner", "multi-class", "multi-label")
Written = tuple[list[tuple[str, Feature]], list[SplitInfo], list[str], str]

#: A chunk's report notes (Part.notes) hold what it wrote under this key.
CHUNK = "hf_dataset_chunk"


def write_project(project: Project, out: Path, ctx: Context) -> None:
    _write_card(project, out, ctx, _write_rows(project, out, ctx))


def _write_rows(project: Project, out: Path, ctx: Context) -> Written:
    if TOKEN_BASED in project.kinds:
        return _write_tokens(project, out, ctx)
    return _write_classes(project, out, ctx)


def _write_card(project: Project, out: Path, ctx: Context, written: Written) -> None:
    features, splits, names, task_kind = written
    for name in ctx.splitter.names:
        if name not in {s.name for s in splits}:
            ctx.report.find(
                EMPTY_SPLITS,
                f"split {name!r} got no rows and is left out (datasets cannot load an empty split)",
                hard=False,
            )
    write_card(out / README, project, features, splits, names, task_kind, ctx.report.agreement_section())


# -- chunks (--jobs, --engine ray) ------------------------------------------------

def write_chunk(project: Project, out: Path, ctx: Context) -> None:
    """One chunk's rows (Format.write_chunk), without the card: what it wrote
    goes in its report's notes for :func:`merge_shards`."""
    ctx.report.notes[CHUNK] = _write_rows(project, out, ctx)


def merge_shards(parts: list[Part], out: Path, ctx: Context) -> bool:
    """--jobs and --engine ray (Format.merge_parts): each chunk's shards of a
    split, in chunk order, become that split's shards (``<split>-0000K-of-0000N``):
    the rows of one process in its order, one process's card for them. False
    when the chunks wrote their rows with other ClassLabel names than one
    process would: a chunk found labels of its own (no label set 0), or
    dropped a span whose label the project's label set 0 lacks (one process
    reads the project once more for such labels); and when no chunk wrote a
    row (one process writes the one empty shard). Each chunk found the
    relation labels of its own arrows: a chunk's shards whose relations
    column differs from the whole project's are written again with it
    (:func:`_with_relations`)."""
    chunks: list[Written] = [part.notes[CHUNK] for part in parts]
    _, _, names, task_kind = chunks[0]
    relations = relation_labels(ctx.project, chain.from_iterable(relation_names(chunk[0]) for chunk in chunks))
    features = token_features(names, relations)[0] if task_kind == "ner" else chunks[0][0]
    if (any(UNKNOWN_SPAN_LABELS in part.report.losses for part in parts)
            or any(_but_relations(chunk[0]) != _but_relations(features) for chunk in chunks)
            or not any(split.rows for chunk in chunks for split in chunk[1])):
        return False
    for part, chunk in zip(parts, chunks):
        if chunk[0] != features:
            for split in chunk[1]:
                split.nbytes = sum(_with_relations(part.folder / file, relation_names(chunk[0]), features)
                                   for file in split.files)
    folder = out / DATA
    folder.mkdir(parents=True, exist_ok=True)
    splits = []
    for name in ctx.splitter.names:
        written = [(part, split) for part, chunk in zip(parts, chunks) for split in chunk[1]
                   if split.name == name and split.rows]
        if not written:
            continue
        info = SplitInfo(name)
        shards = [part.folder / file for part, split in written for file in split.files]
        for part, split in written:
            info.rows += split.rows
            info.nbytes += split.nbytes
            info.per_label.update(split.per_label)
        for i, shard in enumerate(shards):
            final = folder / shard_name(name, i, len(shards))
            shard.rename(final)
            info.files.append(f"{DATA}/{final.name}")
        splits.append(info)
    merge_reports(ctx.report, parts)
    _write_card(ctx.project, out, ctx, (features, splits, names, task_kind))
    return True


def _but_relations(features: list[tuple[str, Feature]]) -> list[tuple[str, Feature]]:
    return [(name, f) for name, f in features if name != "relations"]


def relation_names(features: list[tuple[str, Feature]]) -> list[str]:
    """The relation labels of rows with ``features`` (none: no relations column)."""
    for name, f in features:
        if name == "relations":
            return list(dict(f[1][1])["label"][1])
    return []


def _with_relations(path: Path, had: list[str], features: list[tuple[str, Feature]]) -> int:
    """Write the shard at ``path`` again with ``features``, whose relations
    column has the labels of a whole project, from rows whose relations had
    the labels ``had`` (none: they had no relations column), row group by
    row group; the Arrow bytes of its rows."""
    pa, pq = _pyarrow()
    import pyarrow.compute as pc  # (extra: labelport[hf], with pyarrow)

    target = relation_names(features)
    ids = column(pa, INT64, [target.index(label) for label in had])  # a chunk's label id -> the project's
    schema = arrow_schema(pa, features)
    nbytes = 0
    partial = path.with_name(f".{path.name}.partial")
    source = pq.ParquetFile(path)
    try:
        with pq.ParquetWriter(partial, schema) as writer:
            for i in range(source.num_row_groups):  # (each one a batch of rows, never empty)
                table = source.read_row_group(i)
                if had:
                    rows = table.column("relations").combine_chunks()
                    flat = rows.flatten()
                    labels = pc.take(ids, flat.field("label"))
                    flat = pa.StructArray.from_arrays([flat.field("head"), flat.field("tail"), labels],
                                                      fields=list(schema.field("relations").type.value_type))
                    relations = pa.ListArray.from_arrays(rows.offsets, flat)
                    table = table.drop_columns(["relations"])
                else:
                    relations = column(pa, dict(features)["relations"], [[]] * table.num_rows)
                batch = pa.RecordBatch.from_arrays([*(c.combine_chunks() for c in table.columns), relations],
                                                   schema=schema)
                writer.write_batch(batch)
                nbytes += batch.nbytes
    finally:
        source.close()
    partial.replace(path)
    return nbytes


# -- rows with names fixed beforehand (labelport.to_ray) -----------------------------

def names_to_find(project: Project, ctx: Context) -> tuple[Names, Callable[[Project], Names] | None]:
    """The ClassLabel names :func:`write_project` gives the project's rows, before
    any row is written: the names known beforehand (label set 0, the question's
    options; no relation labels) and, when the rows may hold others, what
    finds them in some of the project's files; the names are then
    :func:`with_found`'s. A token-labeling project's files are always read
    for their relation labels, which nothing declares."""
    if TOKEN_BASED in project.kinds:
        given = label_set_0(project)
        # (one file: a span label its label set 0 lacks is dropped; several: write_project reads them all)
        return (given, []), partial(labels_found, spans=not given or bool(project.parts))
    kind = classification_kind(project)
    question = label_question(project, kind, options_of(ctx, HfDatasetOptions).question)
    if question.options:
        return (answer_labels(project, kind, question), []), None
    return ([], []), partial(_answers_found, kind=kind, question=question)


def _answers_found(project: Project, kind: str, question: Question) -> Names:
    return answer_labels(project, kind, question), []


def with_found(project: Project, given: Names, found: Iterable[Names]) -> Names:
    """``given``'s labels, then the sorted labels found (in any of ``found``)
    that it lacks; the relation labels found (:func:`relation_labels`)."""
    found = list(found)
    labels = given[0] + sorted(set().union(*(f[0] for f in found)).difference(given[0]))
    return labels, relation_labels(project, chain(given[1], *(f[1] for f in found)))


def row_features(project: Project, ctx: Context, names: Names) -> list[tuple[str, Feature]]:
    """The features of the project's rows with ``names`` as the ClassLabel names."""
    if TOKEN_BASED in project.kinds:
        return token_features(*names)[0]
    question = label_question(project, classification_kind(project), options_of(ctx, HfDatasetOptions).question)
    return class_features(names[0], question.multiple)


def write_rows(project: Project, out: Path, ctx: Context, names: Names, only: str) -> Written:
    """The rows of split ``only`` of ``project`` (some files of a project) with
    the ClassLabel names found for the whole project (:func:`names_to_find`); no card."""
    if TOKEN_BASED in project.kinds:
        return _write_token_rows(project, out, ctx, names, not_given=None, only=only)
    return _write_classes(project, out, ctx, names[0], only)


class _NameNotGiven(Exception):
    """A span's or an arrow's label is not among the names the rows are being written with."""


def _write_tokens(project: Project, out: Path, ctx: Context):
    """The ClassLabel names must be known before the first row: label set 0,
    and no relation labels. A project of one file holds its span labels there
    (a span's label it lacks is dropped and counted). One of several files may
    use labels the first file's label set lacks, and any file may have arrows:
    the rows are written with label set 0 and no relations column on trial,
    and the first label it lacks or the first arrow sends the project through
    a first pass for the labels, then the rows are written again."""
    given = label_set_0(project)
    if given:
        trial = ctx.report.fresh()
        try:
            task = _write_token_rows(project, out, replace(ctx, report=trial), (given, []), not_given=_NameNotGiven,
                                     drop_unknown=not project.parts)
        except _NameNotGiven:
            ctx.progress.restart()  # the rows are read and written again
        else:
            ctx.report.merge(trial)
            return task
    found, relations = labels_found(project, spans=not given or bool(project.parts))
    names = (given + sorted(set(found).difference(given)), relation_labels(project, relations))
    return _write_token_rows(project, out, ctx, names, not_given=None)


def token_features(labels: list[str], relations: Sequence[str] = ()) -> tuple[list[tuple[str, Feature]], list[str]]:
    """Token labeling's features for span labels ``labels`` and relation labels
    ``relations`` (none: no relations column), and its ``ner_tags`` names."""
    tags = ["O", *(prefix + label for label in labels for prefix in ("B-", "I-"))]
    features = [
        ("id", STRING),
        ("text", STRING),
        ("tokens", list_of(STRING)),
        ("ner_tags", list_of(class_label(tags))),
        ("spans", list_of(SPAN)),
    ]
    if relations:
        features.append(("relations", list_of(relation(relations))))
    return features, tags


def class_features(names: list[str], multi: bool) -> list[tuple[str, Feature]]:
    """Row and document labeling's features for the ClassLabel ``names``."""
    return [("id", STRING), ("text", STRING),
            ("labels" if multi else "label", list_of(class_label(names)) if multi else class_label(names))]


class _Relations:
    """One document's arrows as its rows' relations: an arrow is carried in the
    row whose ``spans`` hold both its ends (by span id), as indexes into them;
    :meth:`finish` counts the others, with why. Work and memory are linear in
    the document's spans and arrows, whatever arrows share a span."""

    def __init__(self, document: Document, label_index: dict[str, int]):
        self.document = document
        self.label_index = label_index
        self.from_origin: dict[str, list[int]] = {}  # span id -> the arrows from it, by number
        for n, arrow in enumerate(document.arrows):
            if arrow.labeled_by != CONFLICT:  # (left out as kept_spans leaves out CONFLICT spans)
                self.from_origin.setdefault(arrow.origin, []).append(n)
        self.carried = bytearray(len(document.arrows))
        self.spans: set[str] = set()  # the ids of the document's spans
        self.written: set[str] = set()  # those of its rows' spans columns

    def row(self, line: Line, spans: list[Span]) -> list[dict[str, int]]:
        """The relations of a row whose spans column holds ``spans`` (of ``line``)."""
        self.spans.update(span.id for span in line.spans if span.id is not None)
        at: dict[str, int] = {}  # (a span id given twice names its first span, as for the head)
        for i, span in enumerate(spans):
            if span.id is not None:
                at.setdefault(span.id, i)
        self.written.update(at)
        arrows, carried, relations = self.document.arrows, self.carried, []
        for head, span in enumerate(spans):
            for n in self.from_origin.get(span.id, ()) if span.id is not None else ():
                tail = at.get(arrows[n].target)
                if tail is not None and not carried[n]:
                    carried[n] = 1
                    relations.append({"head": head, "tail": tail, "label": self.label_index[arrows[n].label]})
        return relations

    def finish(self, report: Report) -> None:
        """Count the arrows no row carried, each with why."""
        for n, arrow in enumerate(self.document.arrows):
            if not self.carried[n]:
                report.drop(self._why(arrow), {"document": self.document.name, "label": arrow.label,
                                               "origin": arrow.origin, "target": arrow.target})

    def _why(self, arrow: Arrow) -> str:
        if arrow.labeled_by == CONFLICT:
            return CONFLICTS
        ends = (arrow.origin, arrow.target)
        if not all(end in self.spans for end in ends):
            return RELATIONS_END_UNKNOWN
        if not all(end in self.written for end in ends):
            return RELATIONS_END_LEFT_OUT
        return RELATIONS_ACROSS_ROWS


def _write_token_rows(
    project: Project, out: Path, ctx: Context, names: Names, not_given: type[Exception] | None,
    drop_unknown: bool = True, only: str | None = None,
) -> Written:
    """Rows with ``names`` as the ClassLabel names. A span with another label
    is dropped and counted (``drop_unknown``) or raises ``not_given``; a
    document with an arrow whose label is not a relation name raises
    ``not_given`` (None: ``names`` has every relation label)."""
    report = ctx.report
    labels, relation_names = names
    known = set(labels)
    features, tags = token_features(labels, relation_names)
    tag_index = {tag: i for i, tag in enumerate(tags)}
    relation_index = {label: i for i, label in enumerate(relation_names)}
    shards = shards_of(out, features, ctx, only)
    relations: _Relations | None = None  # the document's, when it has arrows
    try:
        for entry in items(FORMAT, project, ctx):
            line = entry.item
            if line is None:
                if relations is not None:
                    relations.finish(report)
                    relations = None
                document = entry.document
                if document.arrows and entry.kind == TOKEN_BASED:
                    if not_given is not None and any(arrow.label not in relation_index and arrow.labeled_by != CONFLICT
                                                     for arrow in document.arrows):
                        raise not_given
                    relations = _Relations(document, relation_index)
                continue
            document = entry.document
            if not isinstance(line, Line):
                report.drop(NOT_TOKENS, {"document": document.name})
                continue
            spans = kept_spans(line, frozenset({OVERLAPS}), report, document.name)
            if any(span.label not in known for span in spans):
                if not drop_unknown and not_given is not None:
                    raise not_given
                for span in spans:
                    if span.label not in known:
                        report.drop(UNKNOWN_SPAN_LABELS, span_example(document.name, line, span), unit="spans",
                                    labels=(span.label,))
                spans = [span for span in spans if span.label in known]
            tagged: list[Any] = []
            for span in spans:  # in token order (kept_spans)
                if tagged and span.token_start <= tagged[-1].token_end:
                    report.drop(OVERLAPS_IN_TAGS, span_example(document.name, line, span), unit="spans",
                                labels=(span.label,))
                else:
                    tagged.append(span)
            if tagged:
                tagged = whole_token_spans(line, tagged, report, document.name, OFF_TOKEN_BOUNDARIES_IN_TAGS)
                ner_tags = list(map(tag_index.__getitem__, iob_tags(len(line.tokens), tagged)))
            else:
                ner_tags = [0] * len(line.tokens)  # all O
            row: tuple = (
                f"{document.id}:{line.index}",
                line.text,
                line.tokens,
                ner_tags,
                [{"start": span.start, "end": span.end, "label": span.label} for span in spans],
            )
            row_relations = relations.row(line, spans) if relations is not None else []
            if relation_names:
                row += (row_relations,)
            split = shards.add(entry.split, row, 2 * len(line.text) + 16 * len(line.tokens) + 64)
            if spans:
                split.info.per_label.update(span.label for span in spans)
        if relations is not None:
            relations.finish(report)
        splits = shards.close()
    except BaseException:
        shards.abort()
        raise
    return features, splits, labels, "ner"


def _write_classes(project: Project, out: Path, ctx: Context, names: list[str] | None = None,
                   only: str | None = None) -> Written:
    """The rows with ``names`` as the ClassLabel names, else the question's (:func:`answer_labels`)."""
    report = ctx.report
    kind = classification_kind(project)
    question = label_question(project, kind, options_of(ctx, HfDatasetOptions).question)
    if names is None:
        names = answer_labels(project, kind, question)
    index = {name: i for i, name in enumerate(names)}
    multi = question.multiple
    features = class_features(names, multi)
    shards = shards_of(out, features, ctx, only)
    try:
        for example in examples(FORMAT, project, ctx, question):
            where = {"document": example.document, "row": example.row} if example.row is not None else {"document": example.document}
            labels = _unique(example.labels)
            if not labels:
                report.drop(UNLABELED, where, unit=example.unit)
                continue
            if any(label not in index for label in labels):
                labels_known = [label for label in labels if label in index]
                report.drop(UNKNOWN_ANSWERS, {**where, "answers": labels},
                            unit=None if labels_known else example.unit)
                labels = labels_known
                if not labels:
                    continue
            if not multi and len(labels) > 1:
                report.drop(EXTRA_ANSWERS, {**where, "answers": labels})
                labels = labels[:1]
            value: Any = [index[label] for label in labels] if multi else index[labels[0]]
            row_id = example.document_id if example.row is None else f"{example.document_id}:{example.row}"
            split = shards.add(example.split, (row_id, example.text, value), 2 * len(example.text) + 64)
            split.info.per_label.update(labels)
        splits = shards.close()
    except BaseException:
        shards.abort()
        raise
    drop_other_answers(project, kind, question, report)
    return features, splits, names, "multi-label" if multi else "multi-class"


# -- the dataset card -------------------------------------------------------------

_TASKS = {
    "ner": ("token-classification", "named-entity-recognition"),
    "multi-class": ("text-classification", "multi-class-classification"),
    "multi-label": ("text-classification", "multi-label-classification"),
}


def card_metadata(features: list[tuple[str, Feature]], splits: list[SplitInfo], task_kind: str, sizes: dict[str, int]) -> dict[str, Any]:
    category, task_id = _TASKS[task_kind]
    return {
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s.name, "path": split_files(s.name)} for s in splits],
            }
        ],
        "dataset_info": {
            "features": to_yaml_list(features),
            "splits": [{"name": s.name, "num_bytes": s.nbytes, "num_examples": s.rows} for s in splits],
            "download_size": sum(sizes.values()),
            "dataset_size": sum(s.nbytes for s in splits),
        },
        "task_categories": [category],
        "task_ids": [task_id],
    }


def _code(text: str) -> str:
    """``text`` as a Markdown code span."""
    text = " ".join(text.split()) or " "
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def write_card(
    path: Path,
    project: Project,
    features: list[tuple[str, Feature]],
    splits: list[SplitInfo],
    names: list[str],
    task_kind: str,
    agreement: dict[str, Any] | None = None,
) -> None:
    """The dataset card; ``agreement``, a report's "agreement" section
    (labelport.iaa.summary), adds its "Annotation agreement" tables."""
    try:  # (extra: labelport[hf])
        import yaml
    except ImportError:
        raise missing_extra("PyYAML", "hf", "HF_DATASET") from None

    folder = path.parent
    sizes = {file: (folder / file).stat().st_size for s in splits for file in s.files}
    metadata = card_metadata(features, splits, task_kind, sizes)
    front = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True, width=1000)
    source = Path(project.source).name if project.source else None
    title = " ".join(project.name.split()) or "dataset"
    split_names = ", ".join(s.name for s in splits)
    total = sum(s.rows for s in splits)
    body = [f"# {title}", ""]
    body.append(
        f"Converted by labelport {__version__}"
        + (f" from {_code(source)}" if source else "")
        + f" (format HF_DATASET): {total:,} rows in {len(splits)} split(s), {split_names}."
    )
    body.append("")
    if task_kind == "ner":
        body += [
            "Token classification (NER). One row per labeled line (sentence):",
            "",
            "- `id`: `<document id>:<line index>`",
            "- `text`: the line's text",
            "- `tokens`: its tokens",
            "- `ner_tags`: one ClassLabel per token, IOB2 (`O`, `B-<label>`, `I-<label>`)",
            "- `spans`: every entity as `start`, `end` (code points into `text`, end exclusive) and `label`;"
            " overlapping entities, which IOB tags cannot hold, are kept here",
        ]
        if any(name == "relations" for name, _ in features):
            body.append("- `relations`: every relation between two of the row's `spans` as `head` and `tail`"
                        " (indexes into `spans`) and `label` (a ClassLabel)")
        body.append("")
        what, unit = "Entity labels", "entities"
    else:
        column = "labels" if task_kind == "multi-label" else "label"
        shape = "a Sequence of ClassLabel (several labels per row)" if task_kind == "multi-label" else "a ClassLabel"
        body += [
            f"Text classification ({task_kind}). One row per labeled "
            + ("row" if ROW_BASED in project.kinds else "document")
            + " (rows without an answer are left out):",
            "",
            "- `id`: `<document>:<row index>` (the document alone in document labeling)",
            "- `text`: the text to classify",
            f"- `{column}`: {shape}",
            "",
        ]
        what, unit = "Labels", "rows"
    body += [f"## {what}", ""]
    if names:
        # the first column is the ClassLabel id (NER: of the label's B- tag)
        first = "B- id" if task_kind == "ner" else "id"
        header = f"| {first} | label | " + " | ".join(f"{s.name} {unit}" for s in splits) + " |"
        body += [header, "|" + " --- |" * (2 + len(splits))]
        for i, name in enumerate(names):
            cells = " | ".join(f"{s.per_label[name]:,}" for s in splits)
            number = 2 * i + 1 if task_kind == "ner" else i
            body.append(f"| {number} | {_cell(name)} | {cells} |")
        if task_kind == "ner":
            body += ["", "`ner_tags` names: `O` = 0, then `B-<label>`, `I-<label>` for each label in this order."]
    else:
        body.append("No labels.")
    body += ["", "## Splits", "", "| split | rows | files |", "| --- | --- | --- |"]
    for s in splits:
        body.append(f"| {s.name} | {s.rows:,} | {len(s.files)} |")
    if agreement is not None:
        body += agreement_tables(agreement)
    body += [
        "",
        "## Loading",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        'ds = load_dataset("path/to/this/folder")  # or "owner/name" on the Hub',
        "```",
        "",
    ]
    path.write_text(f"---\n{front}---\n\n" + "\n".join(body), encoding="utf-8", newline="\n")


def agreement_tables(agreement: dict[str, Any]) -> list[str]:
    """The card's "Annotation agreement": each label's agreement with each
    labeler's F1 (or each pair's) and its support, then alpha over the
    labelers and kappa per pair: the report's figures, to three places."""
    number = {email: f"labeler {i}" for i, email in enumerate(agreement["labelers"], 1)}

    def rater(name: str) -> str:  # a labeler, REVIEW, or a pair "a / b"
        return " / ".join(number.get(side, side) for side in name.split(" / "))

    body = ["", "## Annotation agreement", "",
            f"How far the labelers agree, over the {counted(agreement['documents'], 'documents')} with labelers' "
            "versions (every figure: `labelport-report.json`, \"agreement\"; labeler N is the N-th of its "
            "\"labelers\", whose e-mail addresses stay off this card, which may be published).", ""]
    if agreement["labels"]:
        raters = list(agreement["labels"][0]["f1"])
        for entry in agreement["labels"][1:]:
            raters += [name for name in entry["f1"] if name not in raters]
        body += [f"Span labels: agreement is {agreement['label_agreement']}; "
                 f"support, {agreement['label_support']}.", "",
                 "| label | agreement | " + " | ".join(f"F1 {rater(name)}" for name in raters) + " | support |",
                 "|" + " --- |" * (3 + len(raters))]
        for entry in agreement["labels"]:
            cells = " | ".join(_figure(entry["f1"].get(rater)) for rater in raters)
            body.append(f"| {_cell(entry['label'])} | {_figure(entry['agreement'])} | {cells} | {entry['support']:,} |")
        body.append("")
    body += ["| on | Krippendorff's alpha | full agreement | items |", "| --- | --- | --- | --- |"]
    for entry in agreement["alpha"]:
        share = "-" if entry["full_agreement"] is None else f"{entry['full_agreement']:.1%}"
        body.append(f"| {_cell(entry['question']) if entry['question'] else 'tokens'} | {_figure(entry['alpha'])} | "
                    f"{share} | {entry['items']:,} |")
    body += ["", "| on | a | b | Cohen's kappa | items |", "| --- | --- | --- | --- | --- |"]
    for entry in agreement["kappa"]:
        body.append(f"| {_cell(entry['question']) if entry['question'] else 'tokens'} | {rater(entry['a'])} | "
                    f"{rater(entry['b'])} | {_figure(entry['kappa'])} | {entry['items']:,} |")
    return body


def _cell(text: str) -> str:
    """``text`` as code in a table cell (GFM: a pipe in a table cell is escaped, even in code)."""
    return _code(text).replace("|", "\\|")


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


@dataclass(frozen=True)
class HfDatasetOptions(QuestionOption):
    """--question: the question whose answers are the ClassLabel feature."""


FORMAT = Format(
    id="HF_DATASET",
    kinds=frozenset({TOKEN_BASED, ROW_BASED, DOCUMENT_BASED}),
    write_project=write_project,
    write_chunk=write_chunk,
    merge_parts=merge_shards,
    carries=frozenset({OVERLAPS, ARROWS_IN_LINES}),
    target="hf",
    options=HfDatasetOptions,
)
