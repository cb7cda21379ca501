"""The declared shapes of the JSON files labelport reads from Datasaur
(DATASAUR_SCHEMA, JSON_ADVANCED, an export-all's ``project-data.json``), and
their decoding.

A file is decoded straight from its bytes into these msgspec Structs, so any
value of the wrong JSON type, a missing required field, a fraction, a boolean
or a negative number where an index belongs cannot reach the code that reads
the model: it is refused with the JSON path of the first mismatch
(``$.data.spanLabels[3].startTokenIndex: expected an integer >= 0, got 1.5``).
Numbers given as strings (``"3"``) are refused too: Datasaur and labelport
write indices as JSON numbers, and a string there is the type confusion this
module exists to stop. (What types cannot say, a coordinate past its line or
token, a span ending before it starts, an unknown labelSetItemId, is checked
where the spans are placed: labelport.datasaur.pieces.)

Keys the Structs do not declare are kept where the lossless formats write them
back (``Document.extra``, an entry's ``extra``). msgspec drops such keys, so
each file is first decoded by the *strict* Structs, which refuse any
undeclared key: the files labelport writes have none, and are decoded in that
one pass. A file that has some is split into its content's keys (one fast
scan); each key is decoded on its own by the strict Structs, and only an entry
list whose entries have unknown keys is decoded into plain values, converted to
the *lenient* Structs, and its unknown keys taken from the plain values
(:class:`Decoded`). The two families differ only in that setting: each strict
class subclasses its lenient one.

Which of the two Datasaur formats a ``.json`` file is comes from its
structure, found by the same decoding: the strict Structs refuse a top-level
key of the other format at once (``data`` vs ``sentences``), and the split
shows what a file of neither shape has instead.

Free-form values kept as given (answers, metadata, comments, unknown keys) may
hold any JSON but an integer past 64 bits, which no writer could write back.

Imported only when a JSON file is read (``import labelport`` stays light).
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from ..errors import InputError

DATASAUR_SCHEMA = "DATASAUR_SCHEMA"
JSON_ADVANCED = "JSON_ADVANCED"

#: A position: line, token, character, row or label set number (within
#: what the writers can write back).
Index = Annotated[int, Meta(ge=0, le=2**63 - 1)]
#: Ids Datasaur writes as strings or numbers; labelport keeps them as strings.
Id = Union[str, Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]]


class _Entry(Struct, gc=False):
    """Base of every shape: no cycles are possible in decoded JSON, so the
    garbage collector need not track the (many) instances."""


# -- shared pieces -----------------------------------------------------------------

class LabelerInfo(_Entry):
    id: Any = None
    email: Union[str, None] = None
    displayName: Union[str, None] = None


class LabelItem(_Entry):
    id: Id
    labelName: Union[str, None] = None
    name: Union[str, None] = None
    parentId: Union[Id, None] = None
    color: Union[str, None] = None


class LabelSetEntry(_Entry):
    index: Union[Index, None] = None
    id: Union[Id, None] = None
    name: Union[str, None] = None
    labelItems: Union[list[LabelItem], None] = None


class QuestionEntry(_Entry):
    id: Id
    name: Union[str, int, None] = None
    label: Union[str, None] = None
    type: Union[str, None] = None
    required: Union[bool, None] = None
    config: Union[dict[str, Any], None] = None  # kept verbatim; its options are checked by QuestionConfig


class QuestionOption(_Entry):
    id: Union[Id, None] = None
    label: Union[str, None] = None


class QuestionConfig(_Entry):
    options: Union[list[Union[QuestionOption, str]], None] = None
    multiple: Union[bool, None] = None


class _Line(_Entry):
    content: str
    tokens: Union[list[str], None] = None
    metadata: Union[list[Any], None] = None


class Cell(_Line, kw_only=True):
    """A DATASAUR_SCHEMA cell line."""

    line: Index


class Sentence(_Line, kw_only=True, rename={"line": "id"}):
    """A JSON_ADVANCED sentence: its number is ``id``."""

    line: Index


class _LabelEntry(_Entry):
    """What span and arrow labels share."""

    id: Union[Id, None] = None
    layer: Union[Index, None] = None
    labelSetItemId: Union[Id, None] = None
    labelName: Union[str, None] = None
    labeledBy: Union[str, None] = None
    labeledByUserId: Union[Id, None] = None
    status: Union[str, None] = None


class SpanEntry(_LabelEntry, kw_only=True):
    """A span label; the character indices are inside their tokens, the end
    one inclusive. A missing character index means the token's first or
    last character (Datasaur leaves them out for whole-token labels)."""

    startCellLine: Index
    startTokenIndex: Index
    endCellLine: Index
    endTokenIndex: Index
    startCharIndex: Union[Index, None] = None
    endCharIndex: Union[Index, None] = None


class ArrowEntry(_LabelEntry, kw_only=True):
    originId: Id
    targetId: Id


class AnswerEntry(_Entry):
    answers: Union[dict[str, Any], None] = None  # values are whatever the question takes; kept as given
    labeledBy: Union[str, None] = None
    labeledByUserId: Union[Id, None] = None
    status: Union[str, None] = None


class RowAnswerEntry(AnswerEntry, kw_only=True):
    rowIndex: Index


class RowEntry(_Entry):
    cells: list[Union[str, None]]
    index: Union[Index, None] = None


# -- DATASAUR_SCHEMA ---------------------------------------------------------------

class SchemaSpan(SpanEntry):
    type: Union[str, None] = None  # JSON_ADVANCED's, met in spanLabels too; not written back


class SchemaArrow(ArrowEntry):
    type: Union[str, None] = None


class ProjectInfo(_Entry):
    id: Union[Id, None] = None
    name: Union[str, None] = None


class DocumentInfo(_Entry):
    id: Union[Id, None] = None
    name: Union[str, None] = None


Kind = Literal["TOKEN_BASED", "ROW_BASED", "DOCUMENT_BASED"]


class SchemaData(_Entry):
    """``data`` of a DATASAUR_SCHEMA file (the README's "DATASAUR_SCHEMA layout")."""

    project: Union[ProjectInfo, None] = None
    document: Union[DocumentInfo, None] = None
    kinds: Union[list[Kind], None] = None
    labelerInfo: Union[LabelerInfo, None] = None
    labelSets: Union[list[LabelSetEntry], None] = None
    questions: Union[list[QuestionEntry], None] = None
    documentQuestions: Union[list[QuestionEntry], None] = None
    # present or not tells the project's kinds when "kinds" is missing
    cells: Union[list[Cell], None, UnsetType] = UNSET
    rows: Union[list[Union[RowEntry, list[Union[str, None]]]], None, UnsetType] = UNSET
    text: Union[str, None, UnsetType] = UNSET
    columns: Union[list[str], None] = None
    spanLabels: Union[list[SchemaSpan], None] = None
    arrowLabels: Union[list[SchemaArrow], None] = None
    rowAnswers: Union[list[RowAnswerEntry], None] = None
    documentAnswers: Union[list[AnswerEntry], None] = None
    comments: Union[list[Any], None] = None


class SchemaFile(_Entry):
    data: SchemaData
    version: Any = None


# -- JSON_ADVANCED -----------------------------------------------------------------

class AdvancedSpan(SpanEntry, tag_field="type", tag="SPAN"):
    pass


class AdvancedArrow(ArrowEntry, tag_field="type", tag="ARROW"):
    pass


class AdvancedFile(_Entry):
    sentences: list[Sentence]
    labelerInfo: Union[LabelerInfo, None] = None
    labelSets: Union[list[LabelSetEntry], None] = None
    labels: Union[list[Union[AdvancedSpan, AdvancedArrow]], None] = None
    comments: Union[list[Any], None] = None


# -- the strict family: the same shapes, no undeclared key ---------------------------------

class _StrictSchemaSpan(SchemaSpan, forbid_unknown_fields=True):
    pass


class _StrictSchemaArrow(SchemaArrow, forbid_unknown_fields=True):
    pass


class _StrictAnswer(AnswerEntry, forbid_unknown_fields=True):
    pass


class _StrictRowAnswer(RowAnswerEntry, forbid_unknown_fields=True):
    pass


class _StrictSchemaData(SchemaData, forbid_unknown_fields=True):
    spanLabels: Union[list[_StrictSchemaSpan], None] = None
    arrowLabels: Union[list[_StrictSchemaArrow], None] = None
    rowAnswers: Union[list[_StrictRowAnswer], None] = None
    documentAnswers: Union[list[_StrictAnswer], None] = None


class _StrictSchemaFile(SchemaFile, forbid_unknown_fields=True):
    data: _StrictSchemaData


class _StrictAdvancedSpan(AdvancedSpan, forbid_unknown_fields=True, tag="SPAN"):
    pass


class _StrictAdvancedArrow(AdvancedArrow, forbid_unknown_fields=True, tag="ARROW"):
    pass


class _StrictAdvancedFile(AdvancedFile, forbid_unknown_fields=True):
    labels: Union[list[Union[_StrictAdvancedSpan, _StrictAdvancedArrow]], None] = None


# -- project-data.json ---------------------------------------------------------------

class ProjectDataInfo(_Entry):
    id: Union[Id, None] = None
    title: Union[str, None] = None
    tags: Union[list[Any], None] = None  # written back as given


class ProjectData(_Entry):
    project: Union[ProjectDataInfo, None] = None


# -- decoding --------------------------------------------------------------------------

#: The keys each lossless shape models; any other is kept (Document.extra, an entry's extra).
SPAN_KEYS = frozenset(SchemaSpan.__struct_fields__)
ARROW_KEYS = frozenset(SchemaArrow.__struct_fields__)
ANSWER_KEYS = frozenset(RowAnswerEntry.__struct_fields__)

_STRICT = {
    DATASAUR_SCHEMA: msgspec.json.Decoder(_StrictSchemaFile),
    JSON_ADVANCED: msgspec.json.Decoder(_StrictAdvancedFile),
}
#: The Struct of each format's content (DATASAUR_SCHEMA's ``data``, JSON_ADVANCED's top level) ...
_CONTENT = {DATASAUR_SCHEMA: (SchemaData, _StrictSchemaData), JSON_ADVANCED: (AdvancedFile, _StrictAdvancedFile)}
#: ... and where it is, as a JSON path.
_BASE = {DATASAUR_SCHEMA: "$.data", JSON_ADVANCED: "$"}
_SHAPES = {
    DATASAUR_SCHEMA: '{"version": ..., "data": {...}}',
    JSON_ADVANCED: '{"sentences": [...], ...}',
}
#: The entry lists whose unknown keys are kept, with the keys their entries
#: model (an answer's include rowIndex in documentAnswers too: such a key is
#: not written back), JSON_ADVANCED's labels by their type.
_ENTRY_KEYS = {
    "spanLabels": SPAN_KEYS, "arrowLabels": ARROW_KEYS, "rowAnswers": ANSWER_KEYS, "documentAnswers": ANSWER_KEYS,
}  # fmt: skip
_ENTRY_LISTS = frozenset({*_ENTRY_KEYS, "labels"})


@dataclass
class Decoded:
    """A decoded Datasaur JSON file: its format, the Structs, and the keys
    they do not declare (none for a file the strict Structs took)."""

    format: str
    content: SchemaData | AdvancedFile
    #: unknown keys of ``data`` (DATASAUR_SCHEMA) or of the top level (JSON_ADVANCED), in order
    extra: dict[str, Any] = field(default_factory=dict)
    #: id(entry Struct) -> its unknown keys, in order, for the entries that have some
    entry_extras: dict[int, dict[str, Any]] = field(default_factory=dict)


def decode_datasaur(data: bytes, where: str, preferred: str, forced: bool) -> Decoded:
    """``data`` as DATASAUR_SCHEMA or JSON_ADVANCED, told apart by its
    structure; ``preferred`` is tried first, and is the only one allowed when
    ``forced`` (--from)."""
    had_extras = getattr(_hint, "had_extras", False)
    formats = () if had_extras else (preferred,) if forced else (preferred, _other(preferred))
    for format_id in formats:
        try:
            decoded = _STRICT[format_id].decode(data)
        except msgspec.ValidationError as exc:
            if _unknown_top_level_key(exc):  # a key of the other format, or one to keep
                continue
            break
        except (msgspec.DecodeError, RecursionError):
            break  # not JSON: _decode_keeping_extras says where
        content = decoded.data if format_id == DATASAUR_SCHEMA else decoded
        return _free_values_checked(Decoded(format_id, content), where)
    decoded = _decode_keeping_extras(data, where, preferred, forced)
    _hint.had_extras = bool(decoded.extra or decoded.entry_extras)
    return _free_values_checked(decoded, where)


class _LabelerOnly(Struct):
    labelerInfo: Union[LabelerInfo, None] = None


class _SampleLabeler(Struct):
    """Where a file names its labeler: ``data.labelerInfo`` (DATASAUR_SCHEMA)
    or ``labelerInfo`` (JSON_ADVANCED). Every other key is skipped, not built."""

    data: Union[_LabelerOnly, None] = None
    labelerInfo: Union[LabelerInfo, None] = None


_SAMPLE_LABELER = msgspec.json.Decoder(_SampleLabeler)


def decode_labeler_info(data: bytes, where: str, preferred: str, forced: bool) -> LabelerInfo | None:
    """The ``labelerInfo`` of a Datasaur JSON file, decoding only it (about a
    ninth of the time of the whole file). A file it cannot tell so, or one
    whose labelerInfo is not plainly a labeler's, is decoded whole
    (:func:`decode_datasaur`), which says what is wrong."""
    try:
        sample = _SAMPLE_LABELER.decode(data)
    except (msgspec.DecodeError, RecursionError):  # not JSON, or not of these shapes
        sample = None
    if sample is None or (sample.data is not None and sample.labelerInfo is not None):
        return decode_datasaur(data, where, preferred, forced).content.labelerInfo
    base, info = ("$.data", sample.data.labelerInfo) if sample.data is not None else ("$", sample.labelerInfo)
    if info is not None:
        check_free_value(info.id, where, f"{base}.labelerInfo.id")
    return info


#: ``had_extras``: whether the last file this thread decoded had undeclared
#: keys. The files of a project usually all have some, or all have none, and
#: for a file that has some the strict attempt (which may fail at its last key)
#: is wasted work: the next file goes straight to the slow path, which decodes
#: a file without any as strictly, a little slower. A hint for speed only: both
#: paths give the same. Per thread, so that the service's reads, each in its
#: own thread, do not steer each other.
_hint = threading.local()


def _other(format_id: str) -> str:
    return JSON_ADVANCED if format_id == DATASAUR_SCHEMA else DATASAUR_SCHEMA


def _unknown_top_level_key(exc: msgspec.ValidationError) -> bool:
    return str(exc).startswith("Object contains unknown field") and " - at `" not in str(exc)


def _decode_keeping_extras(data: bytes, where: str, preferred: str, forced: bool) -> Decoded:
    """The slow path: the file split into its content's keys, each decoded
    on its own (strictly, so that only an entry list with unknown keys is
    decoded again into plain values, for them)."""
    parts = _schema_parts(data) if preferred == DATASAUR_SCHEMA else None
    if parts is not None:
        format_id = DATASAUR_SCHEMA
    else:
        top = _split(data, where)
        format_id = structure(top)
        if format_id is None or (forced and format_id != preferred):
            _refuse_structure(top, where, preferred if forced else None)
        parts = _split(top["data"], where) if format_id == DATASAUR_SCHEMA else top
    lenient, strict = _CONTENT[format_id]
    base = _BASE[format_id]
    extra: dict[str, Any] = {}
    entry_extras: dict[int, dict[str, Any]] = {}
    values: dict[str, Any] = {}
    for key, raw in parts.items():
        if key not in lenient.__struct_fields__:
            extra[key] = _plain(raw, where)
            check_free_value(extra[key], where, f"{base}.{key}")
            continue
        at = f"{base}.{key}"
        try:
            values[key] = _part_decoder(strict, key).decode(raw)
        except msgspec.ValidationError as exc:
            if key not in _ENTRY_LISTS or not str(exc).startswith("Object contains unknown field"):
                raise InputError(_message(str(exc), _plain(raw, where), at), where) from None
            plain = _plain(raw, where)
            values[key] = entries = convert(plain, _part_type(lenient, key), where, at)
            known = _ENTRY_KEYS.get(key)
            kept = []
            for entry, plain_entry in zip(entries, plain):
                if key == "labels":  # JSON_ADVANCED's: spans and arrows
                    known = ARROW_KEYS if isinstance(entry, ArrowEntry) else SPAN_KEYS
                if not known.issuperset(plain_entry):
                    unknown = entry_extras[id(entry)] = {k: v for k, v in plain_entry.items() if k not in known}
                    kept.append(unknown)
            if too_large_int(kept):  # (then which: each entry's extra is one of plain's entries' values)
                for n, plain_entry in enumerate(plain):
                    check_free_value(plain_entry, where, f"{at}[{n}]")
        except (msgspec.DecodeError, RecursionError):  # (the split keeps a part's bytes unread: invalid UTF-8, say)
            _plain(raw, where)  # says what is wrong
            raise
    for name in _required(lenient):  # (the content's keys are their fields' names)
        if name not in values:
            raise InputError(f"{base}.{name}: missing", where)
    return Decoded(format_id, lenient(**values), extra, entry_extras)


def _split(data: bytes | msgspec.Raw, where: str) -> dict[str, msgspec.Raw]:
    """A JSON object's keys and their values' bytes, in order (one fast scan)."""
    try:
        return _OBJECT.decode(data)
    except msgspec.ValidationError:
        return {}  # not an object: no structure
    except (msgspec.DecodeError, RecursionError):
        _plain(data, where)  # says what is wrong
        raise


_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])


class _SchemaSplit(Struct):
    data: dict[str, msgspec.Raw]
    sentences: Union[msgspec.Raw, None] = None


_SCHEMA_SPLIT = msgspec.json.Decoder(_SchemaSplit)


def _schema_parts(data: bytes) -> dict[str, msgspec.Raw] | None:
    """A DATASAUR_SCHEMA file's ``data`` split into its keys in one scan of
    the file (not two: the top level's, then ``data``'s); None for a file of
    another shape, left to :func:`structure`."""
    try:
        split = _SCHEMA_SPLIT.decode(data)
    except (msgspec.DecodeError, RecursionError):  # (a ValidationError is one)
        return None
    return split.data if split.sentences is None or bytes(split.sentences)[:1] != b"[" else None


def structure(top: dict[str, msgspec.Raw]) -> str | None:
    """Which Datasaur format an object (its keys and their values' bytes)
    has the shape of: a top-level ``sentences`` list is JSON_ADVANCED (which
    may keep any other key, ``data`` too), a ``data`` object DATASAUR_SCHEMA."""
    if bytes(top.get("sentences", b""))[:1] == b"[":
        return JSON_ADVANCED
    if bytes(top.get("data", b""))[:1] == b"{":
        return DATASAUR_SCHEMA
    return None


def _refuse_structure(top: dict[str, msgspec.Raw], where: str, wanted: str | None) -> None:
    """The error for a file of neither shape (or not of ``wanted``): the
    structural key it has of the wrong type, else what was expected."""
    for format_id, key, kind in ((JSON_ADVANCED, "sentences", "a list"), (DATASAUR_SCHEMA, "data", "an object")):
        if key in top and wanted in (None, format_id) and structure({key: top[key]}) is None:
            raise InputError(f"$.{key}: expected {kind}, got {_shown(_plain(top[key], where))}", where)
    formats = (wanted,) if wanted else (DATASAUR_SCHEMA, JSON_ADVANCED)
    shapes = " or ".join(_SHAPES[f] for f in formats)
    raise InputError(f"$: not {' or '.join(formats)}: expected {shapes}", where)


@functools.cache
def _required(shape: type) -> tuple[str, ...]:
    return tuple(f.name for f in msgspec.structs.fields(shape) if f.required)


_PART_DECODERS: dict[tuple[type, str], msgspec.json.Decoder] = {}


def _part_decoder(shape: type, key: str) -> msgspec.json.Decoder:
    """A decoder of the value of field ``key`` of ``shape``."""
    decoder = _PART_DECODERS.get((shape, key))
    if decoder is None:
        decoder = _PART_DECODERS[shape, key] = msgspec.json.Decoder(_part_type(shape, key))
    return decoder


@functools.cache
def _part_type(shape: type, key: str) -> Any:
    return next(f.type for f in msgspec.structs.fields(shape) if f.name == key)


def _plain(data: bytes | msgspec.Raw, where: str) -> Any:
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise InputError(f"not valid JSON: {exc}", where) from None
    except RecursionError:
        raise InputError("not valid JSON: arrays or objects nested too deeply", where) from None


def decode_project_data(data: bytes, where: str) -> ProjectData:
    decoded = convert(_plain(data, where), ProjectData, where)
    if decoded.project is not None:
        check_free_value(decoded.project.tags, where, "$.project.tags")
    return decoded


# -- values kept as given --------------------------------------------------------------

#: The integers the writers (orjson) can write back: a free-form value (answers,
#: metadata, comments, unknown keys) holding a larger one is refused as read.
_WRITABLE_INTS = range(-(2**63), 2**64)


def check_free_value(value: Any, where: str, path: str) -> None:
    """Refuse an integer in ``value`` (JSON of any shape, kept as given) that
    could not be written back, naming its JSON path."""
    if not too_large_int(value):
        return
    while type(value) is not int:  # down to the first one, making its path
        items = enumerate(value) if type(value) is list else value.items()
        key, value = next((key, item) for key, item in items if too_large_int(item))
        path += f"[{key}]" if type(key) is int else f".{key}"
    raise InputError(f"{path}: the integer {value} is too large (more than 64 bits)", where)


def too_large_int(value: Any) -> bool:
    """Whether ``value`` holds an integer that could not be written back
    (the usual answer, no, found without making paths)."""
    stack = [value]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is list:
            stack.extend(value)
        elif kind is dict:
            stack.extend(value.values())
        elif kind is int and value not in _WRITABLE_INTS:
            return True
    return False


def _free_values_checked(decoded: Decoded, where: str) -> Decoded:
    """The values kept as given (unknown keys are checked as they are found,
    lines' metadata as the lines are read)."""
    content, base = decoded.content, _BASE[decoded.format]
    check_free_value(content.comments, where, f"{base}.comments")
    if content.labelerInfo is not None:
        check_free_value(content.labelerInfo.id, where, f"{base}.labelerInfo.id")
    if isinstance(content, SchemaData):
        for name in ("questions", "documentQuestions"):
            for n, question in enumerate(getattr(content, name) or ()):
                check_free_value(question.config, where, f"{base}.{name}[{n}].config")
        for name in ("rowAnswers", "documentAnswers"):
            for n, answer in enumerate(getattr(content, name) or ()):
                if answer.answers:
                    check_free_value(answer.answers, where, f"{base}.{name}[{n}].answers")
    return decoded


def convert(value: Any, shape: type, where: str, path: str = "$") -> Any:
    """``value`` (plain decoded JSON, found at ``path``) as ``shape``, or an
    InputError naming the JSON path of the first mismatch and the value found."""
    try:
        return msgspec.convert(value, shape)
    except msgspec.ValidationError as exc:
        raise InputError(_message(str(exc), value, path), where) from None


#: The values of the fields that take one of a few (by the field's name, for messages).
_ALLOWED = {"kinds": get_args(Kind), "type": (AdvancedSpan.__struct_config__.tag, AdvancedArrow.__struct_config__.tag)}
_PATH = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[\.\.\.\]")
_TYPE_WORDS = {
    "int": "an integer", "str": "a string", "array": "a list", "object": "an object", "float": "a number",
    "bool": "true or false", "null": "null",
}  # fmt: skip


def _message(text: str, value: Any, base: str = "$") -> str:
    """msgspec's ``Expected `int`, got `float` - at `$.a[3].b``` as
    ``$.a[3].b: expected an integer, got 1.5``."""
    what, _, at = text.partition(" - at `")
    path = at.rstrip("`") if at else "$"
    found = _at(value, path)
    missing = re.fullmatch(r"Object missing required field `(.+)`", what)
    if missing:
        return f"{base}{path[1:]}.{missing.group(1)}: missing"
    expected = re.fullmatch(r"Expected `(.+?)`(.*?)(?:, got `.+`)?", what)
    if expected:
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in expected.group(1).split(" | "))
        return f"{base}{path[1:]}: expected {words}{expected.group(2)}, got {_shown(found)}"
    invalid = re.fullmatch(r"Invalid (?:enum )?value (.+)", what)
    if invalid:
        allowed = next((_ALLOWED.get(key, ()) for key, _ in reversed(_PATH.findall(base + path[1:])) if key), ())
        return f"{base}{path[1:]}: {invalid.group(1)} is not one of {', '.join(allowed)}"
    return f"{base}{path[1:]}: {what[:1].lower()}{what[1:]}"


def _at(value: Any, path: str) -> Any:
    for match in _PATH.finditer(path):
        key, index = match.groups()
        try:
            value = value[key] if key is not None else value[int(index)] if index is not None else _UNKNOWN
        except (KeyError, IndexError, TypeError):
            return _UNKNOWN
        if value is _UNKNOWN:
            break
    return value


_UNKNOWN = object()


def _shown(value: Any) -> str:
    if value is _UNKNOWN:
        return "another type"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    shown = msgspec.json.encode(value).decode()
    return shown if len(shown) <= 40 else shown[:37] + "..."
