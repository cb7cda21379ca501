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
module exists to stop.

Keys the Structs do not declare are kept where the lossless formats write them
back (``Document.extra``, an entry's ``extra``). msgspec drops such keys, so
each file is first decoded by the *strict* Structs, which refuse any
undeclared key: the files labelport writes, and most others, have none, and
are decoded in that one pass. A file that has some is decoded again, into
plain values, converted to the *lenient* Structs, and its unknown keys are
taken from the plain values (:class:`Decoded`). The two families differ only
in that setting: each strict class subclasses its lenient one.

Which of the two Datasaur formats a ``.json`` file is comes from its
structure, found by the same decoding: the strict Structs refuse a top-level
key of the other format at once (``data`` vs ``sentences``), and the plain
values show what a file that is neither looks like.

Imported only when a JSON file is read (``import labelport`` stays light).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from .errors import InputError

DATASAUR_SCHEMA = "DATASAUR_SCHEMA"
JSON_ADVANCED = "JSON_ADVANCED"

#: A position: line, token, character, row or label set number.
Index = Annotated[int, Meta(ge=0)]
#: Ids Datasaur writes as strings or numbers; labelport keeps them as strings.
Id = Union[str, int]


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


class SpanEntry(_Entry):
    """A span label; the character indices are inside their tokens, the end
    one inclusive. A missing character index means the token's first or
    last character (Datasaur leaves them out for whole-token labels)."""

    startCellLine: Index
    startTokenIndex: Index
    endCellLine: Index
    endTokenIndex: Index
    startCharIndex: Union[Index, None] = None
    endCharIndex: Union[Index, None] = None
    id: Union[Id, None] = None
    layer: Union[Index, None] = None
    labelSetItemId: Union[Id, None] = None
    labelName: Union[str, None] = None
    labeledBy: Union[str, None] = None
    labeledByUserId: Union[Id, None] = None
    status: Union[str, None] = None


class ArrowEntry(_Entry):
    originId: Id
    targetId: Id
    id: Union[Id, None] = None
    layer: Union[Index, None] = None
    labelSetItemId: Union[Id, None] = None
    labelName: Union[str, None] = None
    labeledBy: Union[str, None] = None
    labeledByUserId: Union[Id, None] = None
    status: Union[str, None] = None


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
_KEYS = {
    DATASAUR_SCHEMA: frozenset(SchemaData.__struct_fields__),
    JSON_ADVANCED: frozenset(AdvancedFile.__struct_fields__),
}
_STRICT = {
    DATASAUR_SCHEMA: msgspec.json.Decoder(_StrictSchemaFile),
    JSON_ADVANCED: msgspec.json.Decoder(_StrictAdvancedFile),
}
_LENIENT = {DATASAUR_SCHEMA: SchemaFile, JSON_ADVANCED: AdvancedFile}
_SHAPES = {
    DATASAUR_SCHEMA: '{"version": ..., "data": {...}}',
    JSON_ADVANCED: '{"sentences": [...], ...}',
}


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
    formats = (preferred,) if forced else (preferred, _other(preferred))
    for format_id in formats:
        try:
            decoded = _STRICT[format_id].decode(data)
        except msgspec.ValidationError as exc:
            if _unknown_top_level_key(exc):  # a key of the other format, or one to keep
                continue
            break
        except msgspec.DecodeError:
            break  # not JSON: _plain says where
        content = decoded.data if format_id == DATASAUR_SCHEMA else decoded
        return Decoded(format_id, content)
    return _decode_keeping_extras(data, where, preferred, forced)


def _other(format_id: str) -> str:
    return JSON_ADVANCED if format_id == DATASAUR_SCHEMA else DATASAUR_SCHEMA


def _unknown_top_level_key(exc: msgspec.ValidationError) -> bool:
    return str(exc).startswith("Object contains unknown field") and " - at `" not in str(exc)


def structure(value: Any) -> str | None:
    """Which Datasaur format a decoded JSON value has the shape of: a
    top-level ``sentences`` list is JSON_ADVANCED (which may keep any other
    key, ``data`` too), a ``data`` object DATASAUR_SCHEMA."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("sentences"), list):
        return JSON_ADVANCED
    if isinstance(value.get("data"), dict):
        return DATASAUR_SCHEMA
    return None


def _decode_keeping_extras(data: bytes, where: str, preferred: str, forced: bool) -> Decoded:
    plain = _plain(data, where)
    format_id = structure(plain)
    if format_id is None or (forced and format_id != preferred):
        wanted = (preferred,) if forced else (DATASAUR_SCHEMA, JSON_ADVANCED)
        raise InputError(
            f"not {' or '.join(wanted)}: expected {' or '.join(_SHAPES[f] for f in wanted)}", where
        )
    top = convert(plain, _LENIENT[format_id], where)
    content, plain_content = (top.data, plain["data"]) if format_id == DATASAUR_SCHEMA else (top, plain)
    known = _KEYS[format_id]
    decoded = Decoded(format_id, content, {k: v for k, v in plain_content.items() if k not in known})
    for name in _ENTRY_LISTS[format_id]:
        for entry, plain_entry in zip(getattr(content, name) or (), plain_content.get(name) or ()):
            extra = _extra(plain_entry, ARROW_KEYS if isinstance(entry, ArrowEntry) else
                           SPAN_KEYS if isinstance(entry, SpanEntry) else ANSWER_KEYS)
            if extra:
                decoded.entry_extras[id(entry)] = extra
    return decoded


#: The entry lists whose unknown keys are kept (an answer's known keys include
#: rowIndex in documentAnswers too: such a key is not written back).
_ENTRY_LISTS = {
    DATASAUR_SCHEMA: ("spanLabels", "arrowLabels", "rowAnswers", "documentAnswers"),
    JSON_ADVANCED: ("labels",),
}


def _extra(entry: dict[str, Any], known: frozenset[str]) -> dict[str, Any] | None:
    if known.issuperset(entry):
        return None
    return {k: v for k, v in entry.items() if k not in known}


def _plain(data: bytes, where: str) -> Any:
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise InputError(f"not valid JSON: {exc}", where) from None


def decode_project_data(data: bytes, where: str) -> ProjectData:
    return convert(_plain(data, where), ProjectData, where)


def convert(value: Any, shape: type, where: str, path: str = "$") -> Any:
    """``value`` (plain decoded JSON, found at ``path``) as ``shape``, or an
    InputError naming the JSON path of the first mismatch and the value found."""
    try:
        return msgspec.convert(value, shape)
    except msgspec.ValidationError as exc:
        raise InputError(_message(str(exc), value, path), where) from None


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
