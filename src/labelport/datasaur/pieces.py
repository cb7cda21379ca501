"""Datasaur's JSON pieces, shared by the DATASAUR_SCHEMA and JSON_ADVANCED
readers and writers.

Datasaur places a label by cell line, token index and character index *inside
the token*, the end character inclusive. labelport's model places it by
character offsets into the line, end exclusive; these functions convert both
ways and keep every key they do not model in ``extra``, so reading then
writing gives back the same JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from ..errors import InputError
from ..model import TOKEN_BASED, AnswerSet, Arrow, Document, Label, Labeler, LabelSet, Line, Question, Span

if TYPE_CHECKING:  # the declared shapes; imported where a JSON file is read (msgspec)
    from .types import AnswerEntry, ArrowEntry, LabelerInfo, LabelSetEntry, QuestionEntry, SpanEntry, _Line

#: id(entry) -> the entry's keys labelport does not model (datasaur_types.Decoded.entry_extras)
Extras = dict[int, dict[str, Any]]


def located(path: str, entries: Sequence[Any]) -> Callable[[Any], str]:
    """The JSON path of an entry of ``entries`` (found at ``path``), for an
    error message: looked up only when there is an error to name."""
    return lambda entry: f"{path}[{next(n for n, e in enumerate(entries) if e is entry)}]"


# -- lines ---------------------------------------------------------------------

def token_starts(content: str, tokens: list[str]) -> list[int]:
    """Where each token starts in its line's content (tokens appear in order),
    up to the first that does not appear."""
    starts: list[int] = []
    position = 0
    for token in tokens:
        found = content.find(token, position)
        if found < 0:
            break
        starts.append(found)
        position = found + len(token)
    return starts


def lines_from(cells: Sequence[_Line], where: str, path: str) -> list[Line]:
    """The Lines of a document's cells (DATASAUR_SCHEMA) or sentences
    (JSON_ADVANCED), found at ``path``: the hot loop of reading them. Their
    types were checked as they were decoded (labelport.datasaur.types)."""
    from .types import check_free_value, too_large_int  # (start-up: msgspec ~11 ms; CoNLL reads need none)

    lines = []
    append = lines.append
    for cell in cells:
        content = cell.content
        tokens = cell.tokens or content.split()
        # Tokens joined by single spaces (the usual case) need no search:
        # their offsets are worked out if and when asked for.
        starts = None
        if content != " ".join(tokens):
            starts = token_starts(content, tokens)
            if len(starts) < len(tokens):
                missing = len(starts)
                raise InputError(
                    f"{located(path, cells)(cell)}.tokens[{missing}]: {tokens[missing]!r} is not in the line's "
                    "content (tokens appear in it in order)", where
                )
        metadata = cell.metadata
        if metadata and too_large_int(metadata):  # kept as given: it must be writable
            check_free_value(metadata, where, f"{located(path, cells)(cell)}.metadata")
        append(Line(cell.line, content, tokens, starts, [], metadata))
    return lines


def lines_by_index(lines: list[Line], cells: Sequence[_Line], where: str, path: str) -> dict[int, Line]:
    """The lines by their number, which spans refer to: one line a number."""
    by_index = {line.index: line for line in lines}
    if len(by_index) < len(lines):
        seen: set[int] = set()
        for cell in cells:
            if cell.line in seen:
                raise InputError(f"{located(path, cells)(cell)}: line number {cell.line} is used twice", where)
            seen.add(cell.line)
    return by_index


def line_to(line: Line) -> dict[str, Any]:
    return {"line": line.index, "content": line.text, "tokens": line.tokens, "metadata": line.metadata or []}


# -- spans and arrows ------------------------------------------------------------

def label_sets_from(entries: list[LabelSetEntry] | None) -> list[LabelSet]:
    label_sets = []
    for n, entry in enumerate(entries or ()):
        labels = [
            Label(str(item.id), item.labelName if item.labelName is not None else item.name or str(item.id),
                  item.parentId, item.color)
            for item in entry.labelItems or ()
        ]
        label_sets.append(LabelSet(n if entry.index is None else entry.index, entry.name or f"Label set {n + 1}",
                                   labels, entry.id))
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
    label through its own label sets. An output of several files gets the
    sets :func:`label_sets_using` makes from the whole project first, so
    every file lists the same ones and none is extended.
    """

    def __init__(self, label_sets: list[LabelSet]):
        self.label_sets_given = label_sets
        self._names = {(ls.index, label.id): label.name for ls in label_sets for label in ls.labels}
        self._ids = {(ls.index, label.name): label.id for ls in label_sets for label in ls.labels}
        self._added: dict[int, dict[str, str]] = {}  # layer -> item id -> name, beyond the given sets

    def label(self, layer: int, item_id: str | int | None, given_name: str | None) -> str:
        """A span's or arrow's label, read: its labelName, else its item's
        name; an item id the given label sets do not list is a KeyError."""
        if item_id is not None and self.label_sets_given:
            name = self._names.get((layer, item_id if type(item_id) is str else str(item_id)))
            if name is None:
                raise KeyError(f"{item_id!r} is not an item of label set {layer}")
            return name if given_name is None else given_name
        if given_name is not None:
            return given_name
        if item_id is None:
            raise KeyError("a label needs a labelName or a labelSetItemId")
        return str(item_id)

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

    def label_sets(self, by_name: bool = False) -> list[LabelSet]:
        """The given sets, each followed by the labels added to its layer (a
        layer no set has gets a set of its own): in the order they were
        met, or ``by_name``."""
        sets = {ls.index: LabelSet(ls.index, ls.name, list(ls.labels), ls.id) for ls in self.label_sets_given}
        for layer, added in sorted(self._added.items()):
            label_set = sets.setdefault(layer, LabelSet(layer, f"Label set {layer + 1}"))
            items = sorted(added.items(), key=lambda item: item[1]) if by_name else added.items()
            label_set.labels.extend(Label(item, name) for item, name in items)
        return [sets[index] for index in sorted(sets)]


def label_sets_using(label_sets: list[LabelSet], documents: Iterable[Document]) -> list[LabelSet]:
    """``label_sets`` extended with every label the documents' spans and
    arrows use that they lack, sorted by name in each layer; each added
    label keeps the item id it would get in a file of its own (its
    labelSetItemId where no other item has it, else its name). A first pass:
    only the label names are kept."""
    names = LabelNames(label_sets)
    item_id = names.item_id
    for document in documents:
        if TOKEN_BASED in document.kinds:
            for line in document.lines:
                for span in line.spans:
                    item_id(span.label_set, span.label, span.label_id)
        for arrow in document.arrows:
            item_id(arrow.label_set, arrow.label, arrow.label_id)
    return names.label_sets(by_name=True)


def place_spans(
    entries: Iterable[SpanEntry], lines: dict[int, Line], names: LabelNames, where: str,
    path: Callable[[Any], str], extras: Extras,
) -> None:  # fmt: skip
    """Read span entries into the spans of the lines they start on, each
    checked against its lines' tokens; ``path(entry)`` names an entry in an
    error.

    The hot loop of reading Datasaur JSON. The usual entry (both character
    indices given, inside its tokens of one line) is placed here at once;
    any other goes through :func:`_checked_span`, which reads what can be
    read and names what is wrong. The indices are integers >= 0: their
    types were checked as they were decoded (labelport.datasaur.types).
    """
    for entry in entries:
        span = None
        line = entry.startCellLine
        start_char, end_char = entry.startCharIndex, entry.endCharIndex
        if entry.endCellLine == line and start_char is not None and end_char is not None:
            start_token, end_token = entry.startTokenIndex, entry.endTokenIndex
            first = lines.get(line)
            if first is not None and (start_token < end_token or (start_token == end_token and start_char <= end_char)):
                tokens = first.tokens
                if (end_token < len(tokens) and start_char < len(tokens[start_token])
                        and end_char < len(tokens[end_token])):
                    start, end = first.token_offsets(start_token, end_token)
                    span = _span(entry, names, line, start + start_char, end + end_char + 1, -1, where, path, extras)
        if span is None:
            span = _checked_span(entry, lines, names, where, path, extras)
        lines[span.line].spans.append(span)


def _checked_span(
    entry: SpanEntry, lines: dict[int, Line], names: LabelNames, where: str, path: Callable[[Any], str], extras: Extras
) -> Span:  # fmt: skip
    """:func:`place_spans` for any entry: missing character indices mean the
    token's first and last; an entry that cannot be placed is an error
    naming the field that is wrong (its path found only then: most entries
    of some files come this way)."""
    start_line, end_line = entry.startCellLine, entry.endCellLine
    start_token, end_token = entry.startTokenIndex, entry.endTokenIndex
    first = lines.get(start_line)
    if first is None:
        raise _wrong(entry, path, where, f".startCellLine: line {start_line} does not exist")
    last = first if end_line == start_line else lines.get(end_line)
    if last is None:
        raise _wrong(entry, path, where, f".endCellLine: line {end_line} does not exist")
    if end_line < start_line:
        raise _wrong(entry, path, where, f".endCellLine: the span ends (line {end_line}) before it starts "
                                         f"(line {start_line})")
    for field, token, line in (("start", start_token, first), ("end", end_token, last)):
        if token >= len(line.tokens):
            raise _wrong(entry, path, where, f".{field}TokenIndex: token {token} is past the end of line "
                                             f"{line.index} ({len(line.tokens)} tokens)")
    start_size, end_size = len(first.tokens[start_token]), len(last.tokens[end_token])
    start_char = entry.startCharIndex or 0
    end_char = end_size - 1 if entry.endCharIndex is None else entry.endCharIndex
    ends = (("start", start_char, start_size, start_token), ("end", end_char, end_size, end_token))
    for field, char, size, token in ends:
        if char >= size and size:
            raise _wrong(entry, path, where, f".{field}CharIndex: character {char} falls outside its token "
                                             f"(token {token}, {size} characters)")
    start = first.starts[start_token] + start_char
    end = last.starts[end_token] + end_char + 1
    if end_line == start_line:
        if end <= start:
            raise _wrong(entry, path, where, ": the span ends before it starts")
        end_line = -1
    return _span(entry, names, start_line, start, end, end_line, where, path, extras)


def _wrong(entry: SpanEntry, path: Callable[[Any], str], where: str, what: str) -> InputError:
    return InputError(f"{path(entry)}{what}", where)


def _span(
    entry: SpanEntry, names: LabelNames, line: int, start: int, end: int, end_line: int, where: str,
    path: Callable[[Any], str], extras: Extras,
) -> Span:  # fmt: skip
    layer, item_id, span_id = entry.layer or 0, entry.labelSetItemId, entry.id
    return Span(
        _label(entry, names, layer, where, path),
        line,
        start,
        end,
        entry.startTokenIndex,
        entry.endTokenIndex,
        end_line,
        layer,
        None if span_id is None else str(span_id),
        None if item_id is None else str(item_id),
        entry.labeledBy,
        entry.labeledByUserId,
        entry.status,
        extras.get(id(entry)) if extras else None,
    )


def _label(entry: SpanEntry | ArrowEntry, names: LabelNames, layer: int, where: str, path: Callable[[Any], str]) -> str:
    try:
        return names.label(layer, entry.labelSetItemId, entry.labelName)
    except KeyError as exc:
        raise InputError(f"{path(entry)}.labelSetItemId: {exc.args[0]}", where) from None


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


def arrow_from(entry: ArrowEntry, names: LabelNames, where: str, path: Callable[[Any], str], extras: Extras) -> Arrow:
    layer, item_id, arrow_id = entry.layer or 0, entry.labelSetItemId, entry.id
    return Arrow(
        _label(entry, names, layer, where, path),
        str(entry.originId),
        str(entry.targetId),
        layer,
        None if arrow_id is None else str(arrow_id),
        None if item_id is None else str(item_id),
        entry.labeledBy,
        entry.labeledByUserId,
        entry.status,
        extras.get(id(entry)) if extras else None,
    )


def arrow_to(arrow: Arrow, names: LabelNames, with_type: bool) -> dict[str, Any]:
    entry = _label_head(arrow, arrow.id, "ARROW", names, with_type)
    entry.update(originId=arrow.origin, targetId=arrow.target)
    return _label_tail(entry, arrow)


# -- answers, questions, people --------------------------------------------------

def answer_set_from(entry: AnswerEntry, extras: Extras) -> AnswerSet:
    return AnswerSet(
        entry.answers or {},
        entry.labeledBy,
        entry.labeledByUserId,
        entry.status,
        extras.get(id(entry)) if extras else None,
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


def question_from(entry: QuestionEntry, where: str, path: str) -> Question:
    from .types import QuestionConfig, convert  # (start-up: msgspec, as in document_pieces)

    config = convert(entry.config or {}, QuestionConfig, where, f"{path}.config")
    options = [o if type(o) is str else str(o.label if o.label is not None else o.id) for o in config.options or ()]
    return Question(
        id=str(entry.id),
        name=str(entry.name or entry.label or entry.id),
        type=entry.type or "TEXT",
        label=entry.label,
        options=options,
        multiple=bool(config.multiple),
        required=bool(entry.required),
        config=entry.config,
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


def labeler_from(info: LabelerInfo | None) -> Labeler | None:
    if info is None or not info.email:
        return None
    return Labeler(email=info.email, id=info.id, display_name=info.displayName)


def labeler_to(labeler: Labeler | None) -> dict[str, Any] | None:
    if labeler is None:
        return None
    return {"id": labeler.id, "email": labeler.email, "displayName": labeler.display_name}
