"""Datasaur's JSON pieces, shared by the DATASAUR_SCHEMA and JSON_ADVANCED
readers and writers.

Datasaur places a label by cell line, token index and character index *inside
the token*, the end character inclusive. labelport's model places it by
character offsets into the line, end exclusive; these functions convert both
ways and keep every key they do not model in ``extra``, so reading then
writing gives back the same JSON.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import orjson

from .errors import InputError
from .model import AnswerSet, Arrow, Label, Labeler, LabelSet, Line, Question, Span

SPAN_KEYS = (
    "id", "type", "layer", "labelSetItemId", "labelName",
    "startCellLine", "startTokenIndex", "startCharIndex",
    "endCellLine", "endTokenIndex", "endCharIndex",
    "labeledBy", "labeledByUserId", "status",
)  # fmt: skip
ARROW_KEYS = (
    "id", "type", "layer", "labelSetItemId", "labelName", "originId", "targetId",
    "labeledBy", "labeledByUserId", "status",
)  # fmt: skip
ANSWER_KEYS = ("answers", "labeledBy", "labeledByUserId", "status")
# (as sets, for _extra)
_SPAN_KEYS, _ARROW_KEYS, _ROW_ANSWER_KEYS = map(frozenset, (SPAN_KEYS, ARROW_KEYS, ANSWER_KEYS + ("rowIndex",)))


def parse(source_label: str, data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", source_label, exc.lineno) from None


def _extra(entry: dict[str, Any], known: frozenset[str]) -> dict[str, Any] | None:
    """The entry's keys labelport does not model, in the entry's order
    (usually none: one C-level subset test tells)."""
    if known.issuperset(entry):
        return None
    return {k: v for k, v in entry.items() if k not in known}


# -- lines ---------------------------------------------------------------------

def token_starts(content: str, tokens: list[str], where: str, line: int) -> list[int]:
    """Where each token starts in its line's content (tokens appear in order)."""
    starts: list[int] = []
    position = 0
    for i, token in enumerate(tokens):
        found = content.find(token, position)
        if found < 0:
            raise InputError(f"line {line}: token {i} {token!r} is not in the line's content", where)
        starts.append(found)
        position = found + len(token)
    return starts


def lines_from(cells: Iterable[dict[str, Any]], where: str) -> list[Line]:
    """The Lines of a document's cells (DATASAUR_SCHEMA) or sentences
    (JSON_ADVANCED): the hot loop of reading them."""
    lines = []
    append = lines.append
    for cell in cells:
        try:
            index = cell.get("line")
            if type(index) is not int:
                index = int(cell["line"] if "line" in cell else cell.get("id"))
            content = cell["content"]
            tokens = cell.get("tokens") or content.split()
            if type(tokens) is not list:
                tokens = list(tokens)
            # Tokens joined by single spaces (the usual case) need no search:
            # their offsets are worked out if and when asked for.
            starts = None if content == " ".join(tokens) else token_starts(content, tokens, where, index)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError("a line without line number, text content or tokens as text", where) from None
        append(Line(index, content, tokens, starts, [], cell.get("metadata")))
    return lines


def line_to(line: Line) -> dict[str, Any]:
    return {"line": line.index, "content": line.text, "tokens": line.tokens, "metadata": line.metadata or []}


# -- spans and arrows ------------------------------------------------------------

def label_sets_from(entries: list[dict[str, Any]] | None) -> list[LabelSet]:
    label_sets = []
    for n, entry in enumerate(entries or []):
        labels = [
            Label(str(item.get("id")), str(item.get("labelName", item.get("name", item.get("id")))),
                  item.get("parentId"), item.get("color"))
            for item in entry.get("labelItems") or []
        ]
        label_sets.append(LabelSet(int(entry.get("index", n)), str(entry.get("name") or f"Label set {n + 1}"),
                                   labels, entry.get("id")))
    return label_sets


def label_sets_to(label_sets: list[LabelSet]) -> list[dict[str, Any]]:
    return [
        {
            "index": ls.index,
            "id": ls.id,
            "name": ls.name,
            "labelItems": [
                {"id": label.id, "labelName": label.name, "parentId": label.parent_id, "color": label.color}
                for label in ls.labels
            ],
        }
        for ls in label_sets
    ]


class LabelNames:
    """labelSetItemId <-> label name, per label set (layer).

    The label sets written are the project's, extended with every label met
    that they do not list (a project read from CoNLL has none; one read from
    a folder has the first file's): a file labelport writes resolves every
    label through its own label sets.
    """

    def __init__(self, label_sets: list[LabelSet]):
        self.label_sets_given = label_sets
        self._names = {(ls.index, label.id): label.name for ls in label_sets for label in ls.labels}
        self._ids = {(ls.index, label.name): label.id for ls in label_sets for label in ls.labels}
        self._added: dict[int, dict[str, str]] = {}  # layer -> item id -> name, beyond the given sets

    def name(self, layer: int, item_id: Any) -> str:
        """The name of a label given by its item id alone."""
        name = self._names.get((layer, str(item_id)))
        if name is None:
            if self.label_sets_given:
                raise KeyError(f"labelSetItemId {item_id!r} is not in label set {layer}")
            return str(item_id)
        return name

    def item_id(self, layer: int, name: str, given_id: str | None = None) -> str:
        """The id a label is written with; a label the sets lack is added."""
        if given_id is not None and self._names.get((layer, given_id)) == name:
            return given_id
        known = self._ids.get((layer, name))
        if known is not None:
            return known
        item = given_id if given_id is not None and (layer, given_id) not in self._names else name
        self._added.setdefault(layer, {})[item] = name
        self._names[(layer, item)] = name
        self._ids[(layer, name)] = item
        return item

    def label_sets(self) -> list[LabelSet]:
        sets = {ls.index: LabelSet(ls.index, ls.name, list(ls.labels), ls.id) for ls in self.label_sets_given}
        for layer, added in sorted(self._added.items()):
            label_set = sets.setdefault(layer, LabelSet(layer, f"Label set {layer + 1}"))
            label_set.labels.extend(Label(item, name) for item, name in added.items())
        return [sets[index] for index in sorted(sets)]


def place_spans(entries: Iterable[dict[str, Any]], lines: dict[int, Line], names: LabelNames, where: str) -> None:
    """Read span entries into the spans of the lines they start on, each
    checked against its lines' tokens.

    The hot loop of reading Datasaur JSON. The usual entry (every position
    given, as integers, inside its tokens of one line) is placed here at
    once; any other goes through :func:`_checked_span`, which reads what can
    be read and names what is wrong.
    """
    for entry in entries:
        span = None
        try:
            line = entry["startCellLine"]
            start_token, end_token = entry["startTokenIndex"], entry["endTokenIndex"]
            start_char, end_char = entry["startCharIndex"], entry["endCharIndex"]
            layer = entry["layer"]
            if (
                entry["endCellLine"] == line
                and type(start_char) is int
                and type(end_char) is int
                and type(layer) is int
                and type(start_token) is int
                and type(end_token) is int
                and 0 <= start_token <= end_token
                and (start_token < end_token or start_char <= end_char)
            ):
                first = lines[line]
                tokens = first.tokens
                if 0 <= start_char < len(tokens[start_token]) and 0 <= end_char < len(tokens[end_token]):
                    start, end = first.token_offsets(start_token, end_token)
                    span = _span(entry, names, layer, first.index, start + start_char, end + end_char + 1,
                                 start_token, end_token, -1, where)
        except (KeyError, IndexError, TypeError):
            pass
        if span is None:
            span = _checked_span(entry, lines, names, where)
        lines[span.line].spans.append(span)


def _checked_span(entry: dict[str, Any], lines: dict[int, Line], names: LabelNames, where: str) -> Span:
    """:func:`place_spans` for any entry: missing character indices default to
    the whole token, numbers may be strings; an entry that cannot be placed
    is an error saying why."""
    get = entry.get
    try:
        start_line, end_line = int(entry["startCellLine"]), int(entry["endCellLine"])
        start_token, end_token = int(entry["startTokenIndex"]), int(entry["endTokenIndex"])
        start_char, end_char = int(get("startCharIndex") or 0), get("endCharIndex")
        if end_char is not None:
            end_char = int(end_char)
        layer = int(get("layer") or 0)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{_what(entry)}: missing or bad position ({exc})", where) from None
    first = lines.get(start_line)
    last = first if end_line == start_line else lines.get(end_line)
    if first is None or last is None:
        raise InputError(f"{_what(entry)}: line {start_line if first is None else end_line} does not exist", where)
    if not (0 <= start_token < len(first.tokens) and 0 <= end_token < len(last.tokens)):
        raise InputError(f"{_what(entry)}: ends past the end of line {end_line} (token index out of range)", where)
    start_size, end_size = len(first.tokens[start_token]), len(last.tokens[end_token])
    if end_char is None:
        end_char = end_size - 1
    if not ((0 <= start_char < start_size or start_size == 0) and (0 <= end_char < end_size or end_size == 0)):
        raise InputError(
            f"{_what(entry)}: a character index falls outside its token (line {start_line} to {end_line})", where
        )
    start = first.starts[start_token] + start_char
    end = last.starts[end_token] + end_char + 1
    if end_line == start_line:
        if end <= start:
            raise InputError(f"{_what(entry)}: ends before it starts", where)
        end_line = -1
    return _span(entry, names, layer, start_line, start, end, start_token, end_token, end_line, where)


def _span(
    entry: dict[str, Any], names: LabelNames, layer: int, line: int, start: int, end: int,
    token_start: int, token_end: int, end_line: int, where: str,
) -> Span:  # fmt: skip
    get = entry.get
    label, item_id, span_id = get("labelName"), get("labelSetItemId"), get("id")
    return Span(
        label if type(label) is str else _label_name(entry, item_id, names, layer, where),
        line,
        start,
        end,
        token_start,
        token_end,
        end_line,
        layer,
        None if span_id is None else str(span_id),
        None if item_id is None else str(item_id),
        get("labeledBy"),
        get("labeledByUserId"),
        get("status"),
        _extra(entry, _SPAN_KEYS),
    )


def _what(entry: dict[str, Any]) -> str:
    return f"label {entry.get('id')!r}"


def _label_name(entry: dict[str, Any], item_id: Any, names: LabelNames, layer: int, where: str) -> str:
    """A span's or arrow's label: its labelName, else its item's name."""
    given = entry.get("labelName")
    if given is not None:
        return str(given)
    try:
        return names.name(layer, item_id)
    except KeyError as exc:
        raise InputError(f"{_what(entry)}: {exc.args[0]}", where) from None


def _label_head(item: Span | Arrow, item_id: Any, type_name: str, names: LabelNames, with_type: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": item_id}
    if with_type:
        entry["type"] = type_name
    label_id = names.item_id(item.label_set, item.label, item.label_id)
    entry.update(layer=item.label_set, labelSetItemId=label_id, labelName=item.label)
    return entry


def _label_tail(entry: dict[str, Any], item: Span | Arrow) -> dict[str, Any]:
    entry.update(labeledBy=item.labeled_by, labeledByUserId=item.labeled_by_user_id, status=item.status)
    if item.extra:
        entry.update(item.extra)
    return entry


def made_span_id(span: Span) -> str:
    """An id for a span read from a format without ids (CoNLL): unique within
    its document, and the same every time the same input is converted."""
    return f"{span.line}:{span.token_start}-{span.token_end}:{span.label_set}:{span.label}"


def span_to(span: Span, lines: Callable[[int], Line], names: LabelNames, with_type: bool) -> dict[str, Any]:
    """A Span -> a Datasaur span entry; ``lines(index)`` gives the line of that index."""
    end_line = span.last_line
    first = lines(span.line)
    if end_line == span.line and span.token_start <= span.token_end:
        start, end = first.token_offsets(span.token_start, span.token_end)
    else:
        start = first.token_offsets(span.token_start, span.token_start)[0]
        end = lines(end_line).token_offsets(span.token_end, span.token_end)[0]
    entry = _label_head(span, span.id if span.id is not None else made_span_id(span), "SPAN", names, with_type)
    entry.update(
        startCellLine=span.line,
        startTokenIndex=span.token_start,
        startCharIndex=span.start - start,
        endCellLine=end_line,
        endTokenIndex=span.token_end,
        endCharIndex=span.end - 1 - end,
    )
    return _label_tail(entry, span)


def arrow_from(entry: dict[str, Any], names: LabelNames, where: str) -> Arrow:
    origin, target = entry.get("originId"), entry.get("targetId")
    if origin is None or target is None:
        raise InputError(f"arrow {entry.get('id')!r}: needs originId and targetId", where)
    layer = int(entry.get("layer") or 0)
    item_id, arrow_id = entry.get("labelSetItemId"), entry.get("id")
    return Arrow(
        _label_name(entry, item_id, names, layer, where),
        str(origin),
        str(target),
        layer,
        None if arrow_id is None else str(arrow_id),
        None if item_id is None else str(item_id),
        entry.get("labeledBy"),
        entry.get("labeledByUserId"),
        entry.get("status"),
        _extra(entry, _ARROW_KEYS),
    )


def arrow_to(arrow: Arrow, names: LabelNames, with_type: bool) -> dict[str, Any]:
    entry = _label_head(arrow, arrow.id, "ARROW", names, with_type)
    entry.update(originId=arrow.origin, targetId=arrow.target)
    return _label_tail(entry, arrow)


# -- answers, questions, people --------------------------------------------------

def answer_set_from(entry: dict[str, Any]) -> AnswerSet:
    answers = entry.get("answers") or {}
    return AnswerSet(
        {str(k): v for k, v in answers.items()},
        entry.get("labeledBy"),
        entry.get("labeledByUserId"),
        entry.get("status"),
        _extra(entry, _ROW_ANSWER_KEYS),
    )


def answer_set_to(answer_set: AnswerSet, **position: Any) -> dict[str, Any]:
    entry = {
        **position,
        "answers": answer_set.answers,
        "labeledBy": answer_set.labeled_by,
        "labeledByUserId": answer_set.labeled_by_user_id,
        "status": answer_set.status,
    }
    if answer_set.extra:
        entry.update(answer_set.extra)
    return entry


def question_from(entry: dict[str, Any]) -> Question:
    config = entry.get("config") or {}
    options = [str(o.get("label", o.get("id"))) if isinstance(o, dict) else str(o) for o in config.get("options") or []]
    return Question(
        id=str(entry.get("id")),
        name=str(entry.get("name") or entry.get("label") or entry.get("id")),
        type=str(entry.get("type") or "TEXT"),
        label=entry.get("label"),
        options=options,
        multiple=bool(config.get("multiple")),
        required=bool(entry.get("required")),
        config=entry.get("config"),
    )


def question_to(question: Question) -> dict[str, Any]:
    config = question.config
    if config is None:
        config = {"options": [{"id": o, "label": o} for o in question.options], "multiple": question.multiple}
    # Datasaur numbers its questions; answers are keyed by the number as a string.
    question_id: Any = int(question.id) if question.id.isdigit() and str(int(question.id)) == question.id else question.id
    return {
        "id": question_id,
        "name": question.name,
        "label": question.label,
        "type": question.type,
        "required": question.required,
        "config": config,
    }


def labeler_from(entry: Any) -> Labeler | None:
    if not isinstance(entry, dict) or not entry.get("email"):
        return None
    return Labeler(email=str(entry["email"]), id=entry.get("id"), display_name=entry.get("displayName"))


def labeler_to(labeler: Labeler | None) -> dict[str, Any] | None:
    if labeler is None:
        return None
    return {"id": labeler.id, "email": labeler.email, "displayName": labeler.display_name}
