"""File transformers for the CUSTOM format: finding, loading, calling them,
and helpers for writing one.

A transformer is a Python file defining either

* ``transform(document: dict) -> str``: gets the DATASAUR_SCHEMA ``data`` of
  one document (or of its part in one split) and returns the content of that
  document's file; a module-level ``EXTENSION = ".jsonl"`` names the file's
  extension (``.txt`` when absent); or
* ``transform_project(documents, project) -> dict[str, bytes]``: gets an
  iterator of those ``data`` dicts and returns the files to write, relative
  path -> content (``str`` is written as UTF-8). It is called once per split
  with that split's documents; ``project`` (a :class:`ProjectContext`,
  given when the function has a parameter named ``project``) names the
  split and holds the label names of the whole project, the same in every
  split's call: ``split`` (``None`` without ``--split``), ``splits``,
  ``entityTypes``, ``classes``, ``multiLabel``. A ``transform_project(documents)``
  of one parameter is called as before. When a file defines both,
  ``transform_project`` is used.

A ``transform_project`` transformer may also define
``relations_not_carried(document) -> Iterable[tuple[str, dict]]``: labelport
calls it once for each document that has arrows, with the ``data`` of the
whole document (every line, whatever the split), and records each ``(what,
example)`` it yields in the report's ``not_carried`` under ``what``: one
item, the arrow ``example`` describes (:func:`arrows_not_carried`,
:func:`relations_not_carried`).

``--transformer VALUE``: a value ending in ``.py`` (or holding a path
separator) is a file; anything else is a name, looked up as ``NAME.py`` in
``$LABELPORT_CONVERTERS`` (folders separated by ``os.pathsep``), then
``./converters/``, then the converters/ folder of a source checkout, then the
converters shipped inside the package. Names starting with ``_`` are private.

The helpers at the end (:func:`token_starts`, :func:`entities`,
:func:`classification_examples`, :class:`LabelNames`, :func:`chat_examples`,
:func:`line_relations`, :func:`relation_examples`, :func:`openai_chat_jsonl`,
:func:`gemini_tuning_jsonl`) read the ``data`` dicts the way the shipped
converters do; a transformer may
import them (``from labelport.formats.transformers import entities``).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import sys
import traceback
from dataclasses import dataclass
from itertools import count
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any, Callable, Iterable, Iterator, Mapping

from ..errors import LabelportError, UsageError
from ..guards.output import relative_path

ENV = "LABELPORT_CONVERTERS"
DEFAULT_EXTENSION = ".txt"

_loaded = count(1)


class TransformerError(UsageError):
    """A transformer failed or returned something labelport cannot write:
    exit 2, nothing written."""


# -- finding and loading ----------------------------------------------------------


def search_dirs() -> list[Path]:
    """Where names are looked up, in order, each folder once."""
    package = Path(__file__).resolve().parents[1]  # src/labelport
    dirs = [Path(d) for d in os.environ.get(ENV, "").split(os.pathsep) if d]
    dirs += [Path.cwd() / "converters", package.parents[1] / "converters", package / "converters"]
    seen: set[Path] = set()
    found = []
    for folder in dirs:
        key = folder.resolve()
        if key not in seen and folder.is_dir():
            seen.add(key)
            found.append(folder)
    return found


def available() -> dict[str, Path]:
    """Every transformer name that can be given, with the file it names (the
    first folder holding ``NAME.py`` wins)."""
    names: dict[str, Path] = {}
    for folder in search_dirs():
        for path in sorted(folder.glob("*.py")):
            if not path.stem.startswith("_"):
                names.setdefault(path.stem, path)
    return dict(sorted(names.items()))


def _names_hint() -> str:
    names = ", ".join(available()) or "none found"
    return f"available: {names} (or give a path to a .py file)"


def find(value: str) -> Path:
    """The file a ``--transformer`` value names."""
    if value.endswith(".py") or "/" in value or os.sep in value:
        path = Path(value).expanduser()
        if path.suffix != ".py":
            raise UsageError(f"--transformer {value!r}: a transformer file must end in .py")
        if not path.is_file():
            raise UsageError(f"--transformer: no such file {value!r}")
        return path
    path = available().get(value)
    if path is None:
        raise UsageError(f"--transformer: no transformer named {value!r}; {_names_hint()}")
    return path


def load(value: str | None) -> "Transformer":
    """Find and load the transformer ``value`` names (UsageError when it cannot)."""
    if not value:
        raise UsageError(f"CUSTOM needs --transformer NAME|PATH; {_names_hint()}")
    path = find(value)
    module_name = f"_labelport_transformer_{next(_loaded)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"transformer {_named(value, path)} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickle look the module up
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise UsageError(f"transformer {_named(value, path)} cannot be loaded: {_describe(exc, path)}") from exc
    return Transformer.from_module(value, path, module)


@dataclass(frozen=True)
class Transformer:
    name: str  # as the user gave it: what errors call it
    path: Path
    transform: Callable[[dict], Any] | None
    transform_project: Callable[..., Any] | None
    extension: str
    takes_project: bool = False  # transform_project(documents, project=...)
    #: ``relations_not_carried(document)``: what of a document's arrows the files leave out
    relations_not_carried: Callable[[dict], Any] | None = None

    @classmethod
    def from_module(cls, name: str, path: Path, module: ModuleType) -> "Transformer":
        transform = getattr(module, "transform", None)
        transform_project = getattr(module, "transform_project", None)
        if not callable(transform) and not callable(transform_project):
            raise UsageError(
                f"transformer {_named(name, path)} defines neither transform(document) -> str "
                "nor transform_project(documents) -> dict[str, bytes]"
            )
        extension = getattr(module, "EXTENSION", DEFAULT_EXTENSION)
        if not isinstance(extension, str) or not extension.isprintable() or "/" in extension or "\\" in extension:
            raise UsageError(f"transformer {name!r}: EXTENSION must be a file extension such as '.jsonl', not {extension!r}")
        if extension and not extension.startswith("."):
            extension = "." + extension
        return cls(
            name,
            path,
            transform if callable(transform) else None,
            transform_project if callable(transform_project) else None,
            extension,
            callable(transform_project) and _takes_project(transform_project),
            _function(module, "relations_not_carried"),
        )

    @property
    def per_document(self) -> bool:
        return self.transform_project is None

    def error(self, where: str, what: str) -> TransformerError:
        return TransformerError(f"transformer {self.name!r} failed on {where}: {what}")

    def failure(self, exc: BaseException, where: str) -> TransformerError:
        error = self.error(where, _describe(exc, self.path))
        error.__cause__ = exc
        return error

    def run(self, data: dict, document_name: str) -> str:
        """``transform(data)``, checked: its str, or a TransformerError."""
        assert self.transform is not None
        where = f"document {document_name!r}"
        try:
            result = self.transform(data)
        except LabelportError:
            raise
        except Exception as exc:
            raise self.failure(exc, where) from exc
        if not isinstance(result, str):
            raise self.error(where, f"returned {type(result).__name__}, expected str")
        return result

    def files(self, result: Any, where: str) -> dict[PurePosixPath, bytes]:
        """Check what ``transform_project`` returned: safe relative paths to bytes."""
        if not isinstance(result, dict):
            raise self.error(where, f"returned {type(result).__name__}, expected dict[str, bytes]")
        files: dict[PurePosixPath, bytes] = {}
        for key, content in result.items():
            if not isinstance(key, str):
                raise self.error(where, f"returned a {type(key).__name__} key {key!r}, expected dict[str, bytes]")
            if isinstance(content, str):
                content = content.encode("utf-8")
            elif isinstance(content, (bytes, bytearray, memoryview)):
                content = bytes(content)
            else:
                raise self.error(where, f"returned {type(content).__name__} for {key!r}, expected dict[str, bytes]")
            path = relative_path(key)
            if path is None:
                raise self.error(where, f"path {key!r} is not a relative path inside the output folder")
            if path in files:
                raise self.error(where, f"path {key!r} is given twice")
            files[path] = content
        return files


def _function(module: ModuleType, name: str) -> Callable[..., Any] | None:
    function = getattr(module, name, None)
    return function if callable(function) else None


def _takes_project(function: Callable[..., Any]) -> bool:
    """Whether ``function`` can be given ``project=``: a transformer written
    before it existed takes the documents alone and is called so."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # no signature to read (a builtin): the documents alone
        return False
    return any(
        p.kind is p.VAR_KEYWORD or (p.name == "project" and p.kind is not p.POSITIONAL_ONLY) for p in parameters
    )


class ProjectContext(Mapping[str, Any]):
    """What ``transform_project``'s ``project`` holds: ``split`` (this call's
    split, ``None`` without ``--split``) and ``splits`` (every split asked
    for, ``[]`` without), then the label names of the whole project, the same
    in every split's call (:class:`LabelNames`): ``entityTypes``, ``classes``,
    ``multiLabel`` and ``relationTypes``. The label names are read when first asked for; asked
    before this call's documents are all read, they make labelport read the
    rest of the project ahead (keeping what it reads in spill files)."""

    LABEL_KEYS = {
        "entityTypes": "entity_types",
        "classes": "classes",
        "multiLabel": "multiple",
        "relationTypes": "relation_types",
    }  # -> LabelNames'

    def __init__(self, split: str | None, splits: list[str], names: Callable[[], "LabelNames"]):
        self._fixed: dict[str, Any] = {"split": split, "splits": list(splits)}
        self._names = names

    def __getitem__(self, key: str) -> Any:
        if key in self._fixed:
            return self._fixed[key]
        return getattr(self._names(), self.LABEL_KEYS[key])

    def __iter__(self) -> Iterator[str]:
        yield from self._fixed
        yield from self.LABEL_KEYS

    def __len__(self) -> int:
        return len(self._fixed) + len(self.LABEL_KEYS)


def _named(value: str, path: Path) -> str:
    return repr(value) if value.endswith(".py") else f"{value!r} ({path})"


def _describe(exc: BaseException, path: Path) -> str:
    """``ExcType: message (at file.py:LINE)``, on one line."""
    message = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    target = str(path.resolve())
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            if str(Path(frame.filename).resolve()) == target:
                line = frame.lineno
        except OSError:
            pass
    return f"{text} (at {path.name}:{line})" if line else text


# -- helpers for writing a transformer ------------------------------------------------
#
# They read the DATASAUR_SCHEMA ``data`` dict (layout in the README). Kinds:
TOKEN_BASED, ROW_BASED, DOCUMENT_BASED = "TOKEN_BASED", "ROW_BASED", "DOCUMENT_BASED"
CONFLICT = "CONFLICT"


def token_starts(cell: dict) -> list[int]:
    """Where each token of a cell line starts in its ``content`` (every token
    occurs in the content, in order)."""
    content, starts, position = cell["content"], [], 0
    for token in cell["tokens"]:
        found = content.find(token, position)
        if found < 0:  # not the layout's promise; keep the offsets monotonic
            found = position
        starts.append(found)
        position = found + len(token)
    return starts


def entity_spans(data: dict, layer: int = 0) -> Iterator[dict]:
    """The ``spanLabels`` of label set ``layer`` that an entity is made of:
    on one line, not CONFLICT."""
    for span in data.get("spanLabels") or ():
        if span.get("layer", 0) != layer or span.get("labeledBy") == CONFLICT:
            continue
        line = span["startCellLine"]
        if span.get("endCellLine", line) == line:
            yield span


def entities(data: dict, layer: int = 0) -> Iterator[tuple[dict, list[dict]]]:
    """Each cell line with its entities, in order of start: ``{"start", "end",
    "text", "label", "startToken", "endToken", "id"}`` (code points into the
    line's content, end exclusive; token indices inclusive; ``id`` the span's,
    which arrows name). Taken from the
    ``spanLabels`` of label set ``layer`` that start and end on the line; an
    unresolved (CONFLICT) span is left out."""
    by_line: dict[int, list[dict]] = {}
    for span in entity_spans(data, layer):
        by_line.setdefault(span["startCellLine"], []).append(span)
    for cell in data.get("cells") or ():
        spans = by_line.get(cell["line"])
        if not spans:
            yield cell, []
            continue
        starts, content, found = token_starts(cell), cell["content"], []
        for span in spans:
            first, last = span["startTokenIndex"], span["endTokenIndex"]
            start = starts[first] + span.get("startCharIndex", 0)
            end = starts[last] + span.get("endCharIndex", len(cell["tokens"][last]) - 1) + 1
            found.append({
                "start": start,
                "end": end,
                "text": content[start:end],
                "label": span["labelName"],
                "startToken": first,
                "endToken": last,
                "id": span.get("id"),
            })
        found.sort(key=lambda e: (e["start"], -e["end"]))
        yield cell, found


def label_question(data: dict, question: str | None = None) -> dict | None:
    """The question whose answers are the labels: the one named ``question``,
    else the first; row questions for row labeling, document questions for
    document labeling."""
    key = "questions" if ROW_BASED in data.get("kinds", ()) else "documentQuestions"
    questions = data.get(key) or []
    if question is not None:
        return next((q for q in questions if q.get("name") == question), None)
    return questions[0] if questions else None


def question_labels(question: dict | None) -> list[str]:
    """The question's options, in order (empty when it lists none)."""
    options = ((question or {}).get("config") or {}).get("options") or []
    return [str(o.get("label", o.get("id"))) if isinstance(o, dict) else str(o) for o in options]


def is_multi_label(question: dict | None) -> bool:
    return bool(((question or {}).get("config") or {}).get("multiple"))


def text_column(data: dict) -> int:
    """The column a row's text is in: the one named ``text``, else the first."""
    columns = data.get("columns") or []
    return columns.index("text") if "text" in columns else 0


def document_text(data: dict) -> str:
    if data.get("text") is not None:
        return data["text"]
    return "\n".join(cell["content"] for cell in data.get("cells") or ())


def _answer_labels(answers: dict, question: dict) -> list[str]:
    value = answers.get(str(question["id"]))
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def classification_examples(data: dict, question: str | None = None) -> Iterator[tuple[str, list[str]]]:
    """``(text, labels)`` for each labeled row (row labeling) or for the
    document (document labeling). The answers are a row's (the document's)
    first answer set that is not CONFLICT; rows and documents without an
    answer to the question are left out."""
    q = label_question(data, question)
    if q is None:
        return
    kinds = data.get("kinds", ())
    if ROW_BASED in kinds:
        answers: dict[int, dict] = {}
        for entry in data.get("rowAnswers") or ():
            if entry.get("labeledBy") != CONFLICT:
                answers.setdefault(entry["rowIndex"], entry.get("answers") or {})
        column = text_column(data)
        for row in data.get("rows") or ():
            labels = _answer_labels(answers.get(row["index"], {}), q)
            cells = row["cells"]
            if labels:
                yield (cells[column] if column < len(cells) else ""), labels
    elif DOCUMENT_BASED in kinds:
        for entry in data.get("documentAnswers") or ():
            if entry.get("labeledBy") != CONFLICT:
                labels = _answer_labels(entry.get("answers") or {}, q)
                if labels:
                    yield document_text(data), labels
                return


class LabelNames:
    """The label names that documents declare and use, as a tuning
    instruction lists them. :meth:`add` each document's ``data``; then

    * ``entity_types``: the span labels of label set 0: its items that no
      arrow uses, and the label of every span :func:`entity_spans` keeps, sorted;
    * ``classes``: the label question's options (:func:`label_question`) in
      order, then every other answer met (:func:`classification_examples`), sorted;
    * ``multiple``: whether that question allows several answers;
    * ``relation_types``: the labels of the arrows met, sorted.

    labelport adds every document of the project to one, so a
    transform_project's ``project`` holds the same names in every split."""

    def __init__(self) -> None:
        self._items: dict[str, None] = {}  # label set 0's, in order
        self._arrows: set[str] = set()
        self._met_types: set[str] = set()
        self._options: dict[str, None] = {}
        self._met_classes: set[str] = set()
        self.multiple = False

    def add(self, data: dict) -> None:
        kinds = data.get("kinds", ())
        if TOKEN_BASED in kinds:
            self._arrows.update(arrow.get("labelName") for arrow in data.get("arrowLabels") or ())
            for label_set in data.get("labelSets") or ():
                if label_set.get("index", 0) == 0:
                    self._items.update((item["labelName"], None) for item in label_set.get("labelItems") or ())
            self._met_types.update(span["labelName"] for span in entity_spans(data))
        elif ROW_BASED in kinds or DOCUMENT_BASED in kinds:
            question = label_question(data)
            self.multiple = self.multiple or is_multi_label(question)
            self._options.update((label, None) for label in question_labels(question))
            for _, labels in classification_examples(data):
                self._met_classes.update(labels)

    @property
    def entity_types(self) -> list[str]:
        return sorted(self._met_types.union(name for name in self._items if name not in self._arrows))

    @property
    def classes(self) -> list[str]:
        return list(self._options) + sorted(self._met_classes.difference(self._options))

    @property
    def relation_types(self) -> list[str]:
        return sorted(self._arrows)


def chat_examples(documents: Iterable[dict], project: Mapping[str, Any] | None = None) -> list[tuple[str, str, str]]:
    """The documents as ``(system, user, answer)`` turns for tuning a chat model.

    Token labeling: one example per non-empty cell line, the answer a JSON
    array of ``{"text", "type"}`` entities (label set 0, no CONFLICT spans).
    Row and document labeling: one example per labeled row or document, the
    answer its label, or a JSON list of labels for a multi-label question.
    A document with tokens gives extraction examples only: its lines may go
    to different splits, its document answers cannot. The system turn names
    the labels of ``project`` (transform_project's: the whole project's, so
    every split's instruction is the same), else of ``documents``
    (:class:`LabelNames`).
    """
    tasks: list[tuple[str, str, Any]] = []  # ("extract" | "classify", text, entities | labels)
    seen = LabelNames()
    for data in documents:
        if project is None:
            seen.add(data)
        kinds = data.get("kinds", ())
        if TOKEN_BASED in kinds:
            for cell, found in entities(data):
                if cell["content"].strip():
                    tasks.append(("extract", cell["content"], [{"text": e["text"], "type": e["label"]} for e in found]))
        elif ROW_BASED in kinds or DOCUMENT_BASED in kinds:
            for text, labels in classification_examples(data):
                if text.strip():
                    tasks.append(("classify", text, labels))
    if project is None:
        types, labels, multiple = seen.entity_types, seen.classes, seen.multiple
    else:
        types, labels, multiple = project["entityTypes"], project["classes"], project["multiLabel"]
    if multiple:
        classify = f"Classify the text into any of: {', '.join(labels)}. Answer with a JSON list of the labels that apply."
    else:
        classify = f"Classify the text into one of: {', '.join(labels)}."
    extract = (
        f"Extract the entities of these types from the text: {', '.join(types)}. "
        'Answer with a JSON array of {"text", "type"} objects in the order they occur; [] when there are none.'
    )
    examples = []
    for task, text, value in tasks:
        if task == "extract":
            examples.append((extract, text, json.dumps(value, ensure_ascii=False)))
        elif multiple or len(value) != 1:
            examples.append((classify, text, json.dumps(value, ensure_ascii=False)))
        else:
            examples.append((classify, text, value[0]))
    return examples


# -- relations (arrows between spans) ----------------------------------------------------
#
# Why an arrow is not carried by a transformer whose unit is the line (the
# report's not_carried keys; relations_not_carried yields them).
RELATION_TO_UNKNOWN_SPAN = "relations to a span the document does not have"
RELATION_TO_CONFLICT = "relations to an unresolved (CONFLICT) span"
RELATION_TO_OTHER_LABEL_SET = "relations to a span of a second label set"
RELATION_TO_SPAN_ACROSS_LINES = "relations to a span across lines"
RELATION_ACROSS_LINES = "relations across lines (an example, or a spaCy Doc, is one line)"
RELATION_TO_LEFT_OUT = "relations to an entity left out (it overlaps one kept)"
RELATION_TWICE = "relations given twice (the same head, label and tail)"

#: A relation carried: (head entity, label, tail entity), entities as :func:`entities` gives them.
Relation = tuple[dict, str, dict]


def arrow_example(data: dict, arrow: dict) -> dict:
    """What the report lists for an arrow not carried (as formats.base does for a document's arrows)."""
    return {
        "document": (data.get("document") or {}).get("name"),
        "label": arrow.get("labelName"),
        "origin": arrow.get("originId"),
        "target": arrow.get("targetId"),
    }


def arrows_not_carried(data: dict, variant: str) -> Iterator[tuple[str, dict]]:
    """Every arrow of ``data``, as not carried by a transformer that writes no
    relations; the reason names ``variant``, the one that writes them."""
    what = f"arrows (--transformer {variant} carries relations)"
    for arrow in data.get("arrowLabels") or ():
        yield what, arrow_example(data, arrow)


def entities_by_id(lines: Iterable[tuple[dict, list[dict]]]) -> dict[str, tuple[int, dict]]:
    """Span id -> (line, entity) of the entities a transformer writes, from
    :func:`entities`' lines (or a selection of each line's entities)."""
    kept: dict[str, tuple[int, dict]] = {}
    for cell, found in lines:
        for entity in found:
            if entity.get("id") is not None:
                kept.setdefault(str(entity["id"]), (cell["line"], entity))
    return kept


def line_relations(
    data: dict, kept: Mapping[str, tuple[int, dict]]
) -> tuple[dict[int, list[Relation]], list[tuple[str, dict]]]:
    """The arrows of ``data`` sorted out for a transformer whose unit is the
    line: those between two entities of ``kept`` (:func:`entities_by_id`) on
    one line, by line, each line's in order of head then tail (by start) then
    label; and ``(why, example)`` of each other arrow (the ``RELATION_*``
    reasons, the first end that is not kept deciding). An arrow given twice
    (the same head, label and tail) is carried once."""
    by_line: dict[int, list[Relation]] = {}
    lost: list[tuple[str, dict]] = []
    seen: set[tuple[str, str, str]] = set()
    spans: dict[str, dict] | None = None  # every span entry by id, made when an arrow is not carried
    for arrow in data.get("arrowLabels") or ():
        origin, target, label = str(arrow.get("originId")), str(arrow.get("targetId")), str(arrow.get("labelName"))
        head, tail = kept.get(origin), kept.get(target)
        why = None
        if head is None or tail is None:
            if spans is None:
                spans = {}
                for span in data.get("spanLabels") or ():
                    spans.setdefault(str(span.get("id")), span)
            why = _why_not_kept(spans.get(origin if head is None else target))
        elif head[0] != tail[0]:
            why = RELATION_ACROSS_LINES
        elif (origin, label, target) in seen:
            why = RELATION_TWICE
        if why is not None:
            lost.append((why, arrow_example(data, arrow)))
            continue
        seen.add((origin, label, target))
        assert head is not None and tail is not None
        by_line.setdefault(head[0], []).append((head[1], label, tail[1]))
    for relations in by_line.values():
        relations.sort(key=lambda r: (r[0]["start"], r[0]["end"], r[2]["start"], r[2]["end"], r[1]))
    return by_line, lost


def _why_not_kept(span: dict | None) -> str:
    if span is None:
        return RELATION_TO_UNKNOWN_SPAN
    if span.get("labeledBy") == CONFLICT:
        return RELATION_TO_CONFLICT
    if span.get("layer", 0) != 0:
        return RELATION_TO_OTHER_LABEL_SET
    if span.get("endCellLine", span.get("startCellLine")) != span.get("startCellLine"):
        return RELATION_TO_SPAN_ACROSS_LINES
    return RELATION_TO_LEFT_OUT


def relations_not_carried(data: dict) -> list[tuple[str, dict]]:
    """The arrows :func:`relation_examples` does not carry, with why."""
    return line_relations(data, entities_by_id(entities(data)))[1]


def relation_examples(
    documents: Iterable[dict], project: Mapping[str, Any] | None = None
) -> list[tuple[str, str, str]]:
    """Token labeling as ``(system, user, answer)`` turns for tuning a chat
    model to extract relations: one example per non-empty cell line (lines
    without relations kept, answer ``[]``), the answer a JSON array of
    ``{"head", "relation", "tail"}``, head and tail the entities' text
    (:func:`line_relations`, over every entity of :func:`entities`). The line
    is the unit, as in extraction: an example stays as short as a line
    whatever the document's length, and a split by line splits nothing an
    example needs; arrows across lines are not carried (the report counts
    them). Documents without tokens give no example. The system turn names
    the relation labels and entity types of ``project`` (else of
    ``documents``), as :func:`chat_examples` does."""
    tasks: list[tuple[str, list[dict]]] = []
    seen = LabelNames()
    for data in documents:
        if project is None:
            seen.add(data)
        if TOKEN_BASED not in data.get("kinds", ()):
            continue
        lines = list(entities(data))
        by_line, _ = line_relations(data, entities_by_id(lines))
        for cell, _found in lines:
            if cell["content"].strip():
                relations = by_line.get(cell["line"], ())
                answer = [{"head": head["text"], "relation": label, "tail": tail["text"]}
                          for head, label, tail in relations]
                tasks.append((cell["content"], answer))
    if project is None:
        types, relation_types = seen.entity_types, seen.relation_types
    else:
        types, relation_types = project["entityTypes"], project["relationTypes"]
    system = (
        f"Extract the relations between the entities in the text. Relation labels: {', '.join(relation_types)}. "
        f"Entity types: {', '.join(types)}. "
        'Answer with a JSON array of {"head", "relation", "tail"} objects, head and tail being the entities\' text, '
        "in the order their heads occur; [] when there are none."
    )
    return [(system, text, json.dumps(value, ensure_ascii=False)) for text, value in tasks]


# -- the tuning files' lines ------------------------------------------------------------


def openai_chat_jsonl(examples: Iterable[tuple[str, str, str]]) -> bytes:
    """OpenAI chat fine-tuning JSONL: ``{"messages": [system, user, assistant]}`` a line."""
    lines = []
    for system, user, answer in examples:
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
            {"role": "assistant", "content": answer},
        ]
        lines.append(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")
    return "".join(lines).encode("utf-8")


def gemini_tuning_jsonl(examples: Iterable[tuple[str, str, str]]) -> bytes:
    """Gemini supervised-tuning JSONL: ``{"systemInstruction", "contents": [user, model]}`` a line."""
    lines = []
    for system, user, answer in examples:
        example = {
            "systemInstruction": {"role": "system", "parts": [{"text": system}]},
            "contents": [
                {"role": "user", "parts": [{"text": user}]},
                {"role": "model", "parts": [{"text": answer}]},
            ],
        }
        lines.append(json.dumps(example, ensure_ascii=False) + "\n")
    return "".join(lines).encode("utf-8")
