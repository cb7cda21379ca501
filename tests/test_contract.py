"""The contract every registered output format keeps (issue 12, item 6).

Parametrized over ``labelport.formats.registry.FORMATS``, so a format added
there is held to it without a line here. For each project and each format
that serves the project's kind:

- the report's ``not_carried`` lists exactly what the format cannot carry,
  with counts worked out here from the source files (not from labelport);
- converting again into a fresh folder gives the same bytes, every file
  (report included);
- for a cloud format, ``labelport validate OUT --target T`` (the target's own
  checker) accepts the output, and agrees with the report's checks;
- for a format labelport also reads, the output read back holds the source's
  spans (line text, start, end, label) or rows' answers, as far as the
  format carries them.

A format that cannot serve a kind refuses it: exit 2 naming the formats that can.

The projects: empty ones (no document; a document with no line, no row, an
empty text); two Datasaur exports of token and document labeling holding
every kind of thing some format cannot carry (overlapping spans, arrows, a
second label set, a span across lines, unresolved CONFLICT spans, arrows and
answers, comments, document answers on a token project, labelers' versions,
a span inside a token, two spans of one label side by side): the newsroom
example and the hard cases (tests/contract_fixture.py), where each of these
stands alone; the WNUT-17 slices; and row projects (the support-tickets
Datasaur export, with CONFLICT answers, a multi-answer question and a
labeler's version; examples/tickets.csv; the SMS table slice).

A loss some format does not list is a bug: its cases are in BUGS, expected
to fail (strictly) until it is fixed.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Callable, NamedTuple

import contract_fixture
import pytest
from conftest import FIXTURES, ROOT, WNUT17_FIXTURES, run_cli
from hostile import assert_refused

import labelport
from labelport.errors import RejectedError
from labelport.formats.base import (
    ARROWS,
    ARROWS_IN_LINES,
    COMMENTS,
    CONFLICTS,
    DOCUMENT_ANSWERS,
    LABEL_SETS,
    MULTILINE,
    OVERLAPS,
)
from labelport.formats.registry import FORMATS, get_format
from labelport.model import (
    DOCUMENT_BASED,
    ROW_BASED,
    TOKEN_BASED,
    AnswerSet,
    Document,
    Label,
    LabelSet,
    Project,
    Question,
    Span,
)

NEWSROOM = FIXTURES / "datasaur" / "newsroom-p8Xk2Lq9"
TICKETS_EXPORT = FIXTURES / "datasaur" / "support-tickets-r7Tt"
TICKETS_CSV = ROOT / "examples" / "tickets.csv"
SMS_TSV = FIXTURES / "tables" / "sms_slice.tsv"
WNUT_SLICES = [WNUT17_FIXTURES / "emerging.dev.slice.conll", WNUT17_FIXTURES / "wnut17train.head.conll"]

#: The cloud formats and the target their checker is named by on the command line.
CHECKERS = {
    "AMAZON_COMPREHEND_CSV": "comprehend",
    "AZURE_AUTOML_CSV": "azure",
    "GCP_VERTEX_AI_CSV": "vertex",
    "HF_DATASET": "hf",
}
#: Formats labelport reads back, by the kind of project they are read back as.
TOKEN_READERS = {"DATASAUR_SCHEMA", "JSON_ADVANCED", "TSV_IOB", "TSV_NON_IOB", "CONLL_2003"}
ROW_READERS = {"CSV", "TSV", "XLSX"}
#: Options a format cannot convert without.
NEEDS = {"CUSTOM": {"transformer": "gemini_tuning"}}

VERSIONS = "labelers' versions not written (use --role LABELER or --zip)"
#: Losses particular to one format (a kind of item it carries only in part).
JSON_UNLINKED_ARROWS = "arrows between lines, or to spans the format does not carry"
GEMINI_TUNING_ARROWS = "arrows (--transformer gemini_tuning_relations carries relations)"
HF_OVERLAPS_IN_TAGS = "overlapping spans (kept in the spans column, left out of ner_tags)"
#: Formats that write no example without text, and what they call it.
EMPTY_TEXT = {"GCP_VERTEX_AI_CSV": "lines or examples without text (Vertex AI imports no empty document)"}
UNANSWERED = "examples without an answer (not written)"
OTHER_QUESTIONS = "answers to questions other than the label question"
#: Formats that write a token project's text and none of its spans.
TEXT_ONLY = {"PLAIN"}
#: Formats that write one tag per token, so a span must start and end at token
#: boundaries (else it is left out of the tags), and what they call the others.
OFF_TOKEN_BOUNDARIES = "spans that do not start and end on token boundaries"
TOKEN_TAGS = {
    "TSV_IOB": OFF_TOKEN_BOUNDARIES,
    "TSV_NON_IOB": OFF_TOKEN_BOUNDARIES,
    "CONLL_2003": OFF_TOKEN_BOUNDARIES,
    "AZURE_AUTOML_CSV": OFF_TOKEN_BOUNDARIES,
    "HF_DATASET": f"{OFF_TOKEN_BOUNDARIES} (kept in the spans column, left out of ner_tags)",
}
#: Formats whose tags join two spans of one label side by side (and say so).
IO_TAGS = {"TSV_NON_IOB": "adjacent spans of one label (read back as one span without B- tags)"}
#: In an expected not_carried: losses labelport has no name for yet, to be
#: listed under names of the format's choosing that add up to this count.
UNNAMED = "<unnamed>"
EVERYTHING = frozenset({OVERLAPS, LABEL_SETS, CONFLICTS, MULTILINE, ARROWS, DOCUMENT_ANSWERS, COMMENTS})


# -- the sources, read here without labelport ----------------------------------

class SourceSpan(NamedTuple):
    document: str
    line: int
    end_line: int
    start: int
    end: int  # exclusive, in end_line
    label: str
    layer: int
    conflict: bool
    token_start: int
    token_end: int  # in end_line


@dataclass
class TokenSource:
    """What a token project holds: its lines' texts and spans, and the counts
    of what lives beside the spans."""

    lines: dict[str, list[str]]  # document -> line texts
    spans: list[SourceSpan]
    arrows: list[tuple[str, str, str, bool]] = field(default_factory=list)  # (document, origin id, target id, CONFLICT)
    span_ids: dict[tuple[str, str], SourceSpan] = field(default_factory=dict)
    token_starts: dict[tuple[str, int], list[int]] = field(default_factory=dict)  # (document, line) -> starts
    tokens: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    conflict_arrows: int = 0
    comments: int = 0
    answered_documents: int = 0
    conflict_document_answers: int = 0
    versions: int = 0

    def on_token_boundaries(self, span: SourceSpan) -> bool:
        first, last = (span.document, span.line), (span.document, span.end_line)
        return (span.start == self.token_starts[first][span.token_start]
                and span.end == self.token_starts[last][span.token_end] + len(self.tokens[last][span.token_end]))


def _token_starts(text: str, tokens: list[str]) -> list[int]:
    starts, at = [], 0
    for token in tokens:
        at = text.index(token, at)
        starts.append(at)
        at += len(token)
    return starts


def datasaur_source(folder: Path) -> TokenSource:
    """A Datasaur export-all folder's REVIEW documents, by Datasaur's rules:
    a span ends at ``endCharIndex`` inclusive inside its last token."""
    source = TokenSource({}, [])
    for path in sorted((folder / "REVIEW").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        name = data["document"]["name"]
        texts = [cell["content"] for cell in data["cells"]]
        starts = [_token_starts(cell["content"], cell["tokens"]) for cell in data["cells"]]
        source.lines[name] = texts
        for i, cell in enumerate(data["cells"]):
            source.token_starts[(name, i)], source.tokens[(name, i)] = starts[i], cell["tokens"]
        for entry in data["spanLabels"]:
            line, end_line = entry["startCellLine"], entry["endCellLine"]
            span = SourceSpan(
                name, line, end_line,
                starts[line][entry["startTokenIndex"]] + entry["startCharIndex"],
                starts[end_line][entry["endTokenIndex"]] + entry["endCharIndex"] + 1,
                entry["labelName"], entry["layer"], entry["labeledBy"] == "CONFLICT",
                entry["startTokenIndex"], entry["endTokenIndex"],
            )
            source.spans.append(span)
            source.span_ids[(name, entry["id"])] = span
        source.arrows += [(name, a["originId"], a["targetId"], a["labeledBy"] == "CONFLICT") for a in data["arrowLabels"]]
        source.conflict_arrows += sum(a["labeledBy"] == "CONFLICT" for a in data["arrowLabels"])
        source.comments += len(data["comments"])
        source.answered_documents += bool(data["documentAnswers"])
        source.conflict_document_answers += sum(a["labeledBy"] == "CONFLICT" for a in data["documentAnswers"])
    source.versions = len(list(folder.glob("DOCUMENT-*/*.json")))
    return source


def conll_source(path: Path) -> TokenSource:
    """A two-column IOB file: one token and its tag a line, sentences apart
    by a blank line (or one holding only white space)."""
    source = TokenSource({path.name: []}, [])
    texts = source.lines[path.name]
    sentence: list[tuple[str, str]] = []

    def end_sentence() -> None:
        if not sentence:
            return
        tokens = [token for token, _ in sentence]
        starts = _token_starts(" ".join(tokens), tokens)
        line = len(texts)
        texts.append(" ".join(tokens))
        source.token_starts[(path.name, line)], source.tokens[(path.name, line)] = starts, tokens
        open_span: list[Any] = []  # [label, first token, last token]
        for i, (token, tag) in enumerate(sentence + [("", "O")]):
            prefix, _, label = tag.partition("-")
            if open_span and (prefix != "I" or label != open_span[0]):
                first, last = open_span[1], open_span[2]
                source.spans.append(SourceSpan(path.name, line, line, starts[first],
                                               starts[last] + len(tokens[last]), open_span[0], 0, False, first, last))
                open_span = []
            if prefix in ("B", "I") and not open_span:
                open_span = [label, i, i]
            elif open_span:
                open_span[2] = i
        sentence.clear()

    for raw in path.read_text(encoding="utf-8").split("\n"):
        if raw.strip() == "":
            end_sentence()
        else:
            token, tag = raw.split("\t")
            sentence.append((token, tag))
    end_sentence()
    return source


def not_carried_spans(spans: list[SourceSpan], carries: frozenset[str]) -> tuple[Counter[str], list[SourceSpan]]:
    """Which spans a format carrying ``carries`` keeps, and why it drops the
    others. A span is dropped once, for the first of: a second label set, an
    unresolved CONFLICT, crossing a line end, sharing a token with a span
    kept before it on its line (spans taken from the left, the longer first
    at the same start, the first label set first)."""
    reasons: Counter[str] = Counter()
    kept: list[SourceSpan] = []
    order = sorted(spans, key=lambda s: (s.document, s.line, s.token_start, -s.token_end, s.layer))
    for span in order:
        if span.layer != 0 and LABEL_SETS not in carries:
            reasons[LABEL_SETS] += 1
        elif span.conflict and CONFLICTS not in carries:
            reasons[CONFLICTS] += 1
        elif span.end_line != span.line and MULTILINE not in carries:
            reasons[MULTILINE] += 1
        elif OVERLAPS not in carries and _shares_a_token(span, kept):
            reasons[OVERLAPS] += 1
        else:
            kept.append(span)
    return reasons, kept


def _shares_a_token(span: SourceSpan, kept: list[SourceSpan]) -> bool:
    return any(
        k.document == span.document and k.line == span.line
        and k.token_start <= span.token_end and span.token_start <= k.token_end
        for k in kept
    )


def without_overlaps(spans: list[SourceSpan]) -> list[SourceSpan]:
    return not_carried_spans(spans, EVERYTHING - {OVERLAPS})[1]


def overlapping(spans: list[SourceSpan]) -> int:
    """How many of ``spans`` (of one label set, none crossing a line) share a
    token with a span taken before them (from the left, the longer first)."""
    return len(spans) - len(without_overlaps(spans))


@dataclass
class RowSource:
    """A row project: each row's text and its final answers by question name."""

    rows: list[tuple[str, dict[str, tuple[str, ...]]]]
    conflict_sets: int = 0  # answer sets labeled CONFLICT
    versions: int = 0


def _answer(value: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    return tuple(str(v) for v in values if v not in (None, ""))


def datasaur_rows(folder: Path) -> RowSource:
    (path,) = sorted((folder / "REVIEW").glob("*.json"))
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    names = {str(q["id"]): q["name"] for q in data["questions"]}
    text = data["columns"].index("text")
    source = RowSource([], versions=len(list(folder.glob("DOCUMENT-*/*.json"))))
    for row in data["rows"]:
        sets = [s for s in data["rowAnswers"] if s["rowIndex"] == row["index"]]
        source.conflict_sets += sum(s["labeledBy"] == "CONFLICT" for s in sets)
        final = next((s["answers"] for s in sets if s["labeledBy"] != "CONFLICT"), {})
        answers = {names[q]: _answer(v) for q, v in final.items() if _answer(v)}
        source.rows.append((row["cells"][text], answers))
    return source


def table_rows(path: Path, label_columns: list[str], columns: list[str] | None = None) -> RowSource:
    with open(path, encoding="utf-8", newline="") as fh:
        if path.suffix == ".tsv":
            records = [line.rstrip("\r\n").split("\t") for line in fh if line.strip("\r\n")]
        else:
            records = list(csv.reader(fh))
    header = columns or records.pop(0)
    rows = [dict(zip(header, record)) for record in records]
    return RowSource([(row["text"], {c: _answer(row[c]) for c in label_columns if _answer(row[c])}) for row in rows])


# -- the cases -------------------------------------------------------------------

@dataclass
class Case:
    id: str
    kinds: tuple[str, ...]  # the project's kinds: a format serving one of them converts it
    load: Callable[[], Project]
    #: the not_carried counts expected of a format (see UNNAMED)
    expect: Callable[[Any], dict[str, int]]
    empty: bool = False
    token_source: Callable[[], TokenSource] | None = None
    row_source: Callable[[], RowSource] | None = None
    read_options: dict[str, Any] = field(default_factory=dict)


def token_losses(fmt: Any, source: TokenSource) -> dict[str, int]:
    """What a format cannot carry of the token project ``source``."""
    carries = fmt.carries
    serves_tokens = TOKEN_BASED in fmt.kinds
    if serves_tokens and fmt.id not in TEXT_ONLY:
        reasons, kept = not_carried_spans(source.spans, carries)
        expected: Counter[str] = Counter(reasons)
    else:  # it writes the text only, or (serving document labeling) not even that
        expected, kept = Counter({UNNAMED: len(source.spans)}), []
    if fmt.id in TOKEN_TAGS:  # (of the spans that are tagged: no overlaps)
        expected[TOKEN_TAGS[fmt.id]] = sum(not source.on_token_boundaries(span) for span in without_overlaps(kept))
    if fmt.id in IO_TAGS:
        expected[IO_TAGS[fmt.id]] = len(adjacent_pairs(tagged(fmt, source, kept)))
    if source.arrows:
        if fmt.id == "CUSTOM":  # NEEDS' gemini_tuning writes no relation and counts every arrow (converters/README.md)
            expected[GEMINI_TUNING_ARROWS] = len(source.arrows)
        elif ARROWS not in carries and ARROWS_IN_LINES not in carries:
            expected[ARROWS] = len(source.arrows)
        else:
            if CONFLICTS not in carries:
                expected[CONFLICTS] += source.conflict_arrows
            if fmt.id == "JSON":  # JSON links an arrow's two spans inside one line
                ids = {id(s) for s in kept}
                expected[JSON_UNLINKED_ARROWS] = sum(
                    not (id(o := source.span_ids[(doc, a)]) in ids and id(t := source.span_ids[(doc, b)]) in ids
                         and o.line == t.line == o.end_line == t.end_line)
                    for doc, a, b, _ in source.arrows
                )
            if fmt.id == "HF_DATASET":  # a row's relations link two of its spans
                expected.update(hf_relation_losses(source, kept))
    if source.comments and COMMENTS not in carries:
        expected[COMMENTS] = source.comments
    if serves_tokens:
        if source.answered_documents and DOCUMENT_ANSWERS not in carries:
            expected[DOCUMENT_ANSWERS] = source.answered_documents
    elif CONFLICTS not in carries:  # the documents' answers are what it writes
        expected[CONFLICTS] += source.conflict_document_answers
    if source.versions:
        expected[VERSIONS] = source.versions
    if fmt.id == "HF_DATASET":  # the spans column holds overlaps, ner_tags cannot
        expected[HF_OVERLAPS_IN_TAGS] = overlapping(kept)
    return {k: v for k, v in expected.items() if v}


HF_RELATIONS_ACROSS_ROWS = "relations between spans of different lines (a row's relations index its own spans)"
HF_RELATIONS_END_LEFT_OUT = ("relations with an end the spans column leaves out "
                             "(another label set, CONFLICT, across lines, a label not in label set 0)")
HF_RELATIONS_END_UNKNOWN = "relations whose origin or target is no span of the document"


def hf_relation_losses(source: TokenSource, kept: list[SourceSpan]) -> Counter[str]:
    """HF_DATASET's relations not carried, and why: a CONFLICT arrow (counted
    with the CONFLICT spans by the caller), an end that is no span, an end the
    spans column leaves out, ends on different lines."""
    losses: Counter[str] = Counter()
    written = {id(span) for span in kept}
    for doc, a, b, conflict in source.arrows:
        ends = [source.span_ids.get((doc, end)) for end in (a, b)]
        if conflict:
            continue
        if None in ends:
            losses[HF_RELATIONS_END_UNKNOWN] += 1
        elif not all(id(end) in written for end in ends):
            losses[HF_RELATIONS_END_LEFT_OUT] += 1
        elif ends[0].line != ends[1].line:
            losses[HF_RELATIONS_ACROSS_ROWS] += 1
    return losses


def tagged(fmt: Any, source: TokenSource, spans: list[SourceSpan]) -> list[SourceSpan]:
    """The spans a format's tags hold: for a tag per token, those on token boundaries."""
    return [s for s in spans if source.on_token_boundaries(s)] if fmt.id in TOKEN_TAGS else spans


def adjacent_pairs(spans: list[SourceSpan]) -> list[tuple[SourceSpan, SourceSpan]]:
    """Spans of one label on one line with no token between them."""
    ordered = sorted(spans, key=lambda s: (s.document, s.line, s.token_start))
    return [
        (a, b) for a, b in zip(ordered, ordered[1:])
        if (a.document, a.line, a.end_line, a.label) == (b.document, b.line, b.line, b.label)
        and a.token_end + 1 == b.token_start
    ]


def row_losses(fmt: Any, source: RowSource, label_question: str) -> dict[str, int]:
    """What a format serving row labeling cannot carry of ``source``: a
    cloud format trains on one single-label question (``label_question``, the
    project's first); the tables and JSON write the final answers, so not the
    CONFLICT ones; DATASAUR_SCHEMA and CUSTOM carry everything."""
    expected: Counter[str] = Counter()
    if fmt.id in CHECKERS:
        expected[UNANSWERED] = sum(label_question not in answers for _, answers in source.rows)
        expected[OTHER_QUESTIONS] = sum(any(q != label_question for q in answers) for _, answers in source.rows)
    elif not EVERYTHING <= fmt.carries:
        expected[CONFLICTS] = source.conflict_sets
    expected[VERSIONS] = source.versions
    return {k: v for k, v in expected.items() if v}


def _empty_label_sets() -> list[LabelSet]:
    return [LabelSet(0, "NER", [Label("1", "PER")])]


def empty_projects() -> list[Case]:
    def token(documents: list[Document]) -> Callable[[], Project]:
        return lambda: Project("empty", "empty", (TOKEN_BASED,), lambda: iter(documents), label_sets=_empty_label_sets())

    def rows() -> Project:
        document = Document("d1", "t.csv", (ROW_BASED,), columns=["text"], rows=[])
        return Project("empty", "empty", (ROW_BASED,), lambda: iter([document]),
                       questions=[Question("0", "intent", options=["a", "b"])], text_column="text")

    def text() -> Project:
        # document labeling: an empty text, answered
        document = Document("d1", "a.txt", (DOCUMENT_BASED,), text="",
                            answer_sets=[AnswerSet({"0": "a"}, labeled_by="REVIEWER")])
        return Project("empty", "empty", (DOCUMENT_BASED,), lambda: iter([document]),
                       document_questions=[Question("0", "topic", options=["a", "b"])])

    nothing: Callable[[Any], dict[str, int]] = lambda fmt: {}  # noqa: E731
    return [
        Case("empty-no-document", (TOKEN_BASED,), token([]), nothing, empty=True),
        Case("empty-no-line", (TOKEN_BASED,), token([Document("d1", "a.txt", (TOKEN_BASED,), lines=[])]), nothing,
             empty=True),
        Case("empty-no-row", (ROW_BASED,), rows, nothing, empty=True),
        Case("empty-text", (DOCUMENT_BASED,), text, lambda fmt: {EMPTY_TEXT[fmt.id]: 1} if fmt.id in EMPTY_TEXT else {},
             empty=True),
    ]


_BUILT = tempfile.TemporaryDirectory(prefix="labelport-contract-")  # removed when the session ends


@cache
def hard_cases() -> Path:
    return contract_fixture.build(Path(_BUILT.name) / "hard-cases-h4rd")


CASES = [
    *empty_projects(),
    Case("newsroom", (TOKEN_BASED, DOCUMENT_BASED), lambda: labelport.load(NEWSROOM),
         lambda fmt: token_losses(fmt, datasaur_source(NEWSROOM)),
         token_source=lambda: datasaur_source(NEWSROOM)),
    Case("hard-cases", (TOKEN_BASED, DOCUMENT_BASED), lambda: labelport.load(hard_cases()),
         lambda fmt: token_losses(fmt, datasaur_source(hard_cases())), token_source=lambda: datasaur_source(hard_cases())),
    *[
        Case(path.name, (TOKEN_BASED,), (lambda p=path: labelport.load(p)),
             (lambda fmt, p=path: token_losses(fmt, conll_source(p))), token_source=(lambda p=path: conll_source(p)))
        for path in WNUT_SLICES
    ],
    Case("support-tickets", (ROW_BASED,), lambda: labelport.load(TICKETS_EXPORT),
         lambda fmt: row_losses(fmt, datasaur_rows(TICKETS_EXPORT), "intent"),
         row_source=lambda: datasaur_rows(TICKETS_EXPORT),
         read_options={"text_column": "text", "label_columns": ["intent", "tags"], "label_separator": "|"}),
    Case("tickets.csv", (ROW_BASED,), lambda: labelport.load(TICKETS_CSV, label_columns=["intent"]),
         lambda fmt: row_losses(fmt, table_rows(TICKETS_CSV, ["intent"]), "intent"),
         row_source=lambda: table_rows(TICKETS_CSV, ["intent"]),
         read_options={"text_column": "text", "label_columns": ["intent"]}),
    Case("sms_slice.tsv", (ROW_BASED,),
         lambda: labelport.load(SMS_TSV, columns=["label", "text"], label_columns=["label"]),
         lambda fmt: row_losses(fmt, table_rows(SMS_TSV, ["label"], ["label", "text"]), "label"),
         row_source=lambda: table_rows(SMS_TSV, ["label"], ["label", "text"]),
         read_options={"text_column": "text", "label_columns": ["label"]}),
]

#: Real bugs the contract finds, by (case, format): the case is expected to
#: fail until the bug is fixed (strict: the fix flips it).
BUGS: dict[tuple[str, str], str] = {}


def _params(only: Callable[[Case, str], bool] = lambda case, format_id: True, bugs: bool = False) -> list[Any]:
    """Every case with every format that serves one of its kinds (and passes
    ``only``); with ``bugs``, those BUGS names are expected to fail."""
    params = []
    for case in CASES:
        for format_id in FORMATS:
            if not get_format(format_id).kinds & set(case.kinds) or not only(case, format_id):
                continue
            reason = BUGS.get((case.id, format_id)) if bugs else None
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(case, format_id, id=f"{case.id}-{format_id}", marks=marks))
    return params


# -- the contract ----------------------------------------------------------------

class Output(NamedTuple):
    folder: Path
    report: dict[str, Any]
    rejected: bool  # the target would reject it (labelport.errors.RejectedError)


def _convert(project: Project, format_id: str, out: Path) -> Output:
    try:
        labelport.convert(project, format_id, out, **NEEDS.get(format_id, {}))
        rejected = False
    except RejectedError:
        rejected = True
    return Output(out, json.loads((out / "labelport-report.json").read_text(encoding="utf-8")), rejected)


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Case, str], Output]:
    """Each case's conversion to each format, made once for the module's tests."""
    done: dict[tuple[str, str], Output] = {}

    def get(case: Case, format_id: str) -> Output:
        key = (case.id, format_id)
        if key not in done:
            done[key] = _convert(case.load(), format_id, tmp_path_factory.mktemp("contract") / "out")
        return done[key]

    return get


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("case", "format_id"), _params(bugs=True))
def test_report_lists_what_was_not_carried(case: Case, format_id: str, converted: Any) -> None:
    """Exactly what the format cannot carry of the source, with counts worked out from the source."""
    report = converted(case, format_id).report
    not_carried = {what: loss["count"] for what, loss in report["not_carried"].items()}
    expected = case.expect(get_format(format_id))
    unnamed = expected.pop(UNNAMED, 0)
    if unnamed:
        others = {what: n for what, n in not_carried.items() if what not in expected}
        not_carried = {what: n for what, n in not_carried.items() if what in expected}
        assert sum(others.values()) == unnamed, f"{unnamed} items not carried, listed as {others}"
    assert not_carried == expected


@pytest.mark.parametrize(("case", "format_id"), _params())
def test_rerun_gives_the_same_bytes(case: Case, format_id: str, converted: Any, tmp_path: Path) -> None:
    first = converted(case, format_id)
    again = _convert(case.load(), format_id, tmp_path / "again")
    assert again.rejected == first.rejected
    assert _tree(again.folder) == _tree(first.folder)


@pytest.mark.parametrize(("case", "format_id"), _params(lambda case, format_id: format_id in CHECKERS))
def test_target_checker_accepts_the_output(case: Case, format_id: str, converted: Any) -> None:
    """``labelport validate`` accepts it and agrees with the report's checks
    (an empty project may be refused, but then by both alike)."""
    output = converted(case, format_id)
    hard = [check for check in output.report["checks"] if check["hard"]]
    assert bool(hard) == output.rejected
    if not case.empty:
        assert not hard, hard
    code, _, stderr = run_cli("validate", output.folder, "--target", CHECKERS[format_id])
    assert code == (1 if output.rejected else 0), stderr


def _readable(case: Case, format_id: str) -> bool:
    return (case.token_source is not None and format_id in TOKEN_READERS) or (
        case.row_source is not None and format_id in ROW_READERS)


@pytest.mark.parametrize(("case", "format_id"), _params(_readable))
def test_output_reads_back_to_the_source(case: Case, format_id: str, converted: Any) -> None:
    out = converted(case, format_id).folder
    if case.token_source is not None:
        assert_same_spans(case.token_source(), get_format(format_id), labelport.load(out, from_format=format_id))
    else:
        assert case.row_source is not None
        (table,) = [p for p in out.iterdir() if p.name != "labelport-report.json"]
        assert_same_rows(case.row_source(), labelport.load(table, from_format=format_id, **case.read_options))


def _read_spans(project: Project) -> tuple[Counter[str], Counter[tuple[Any, ...]]]:
    texts: Counter[str] = Counter()
    spans: Counter[tuple[Any, ...]] = Counter()
    for document in project.documents():
        lines = list(document.lines)
        for line in lines:
            texts[line.text] += 1
            for span in line.spans:
                spans[_span_key(line.text, lines[span.last_line].text, span)] += 1
    return texts, spans


def _span_key(text: str, end_text: str, span: Span | SourceSpan) -> tuple[Any, ...]:
    layer = span.layer if isinstance(span, SourceSpan) else span.label_set
    return (text, span.start, end_text, span.end, span.label, layer)


def assert_same_spans(source: TokenSource, fmt: Any, read: Project) -> None:
    """The lines' texts and the spans the format carries, as a multiset
    (file names and document order are the format's to choose). A span a
    token-tag format cannot place (inside a token) must not be read back,
    not even as the whole tokens: the report lists it (see test_contract)."""
    kept = tagged(fmt, source, not_carried_spans(source.spans, fmt.carries)[1])
    if fmt.id in IO_TAGS:
        for a, b in adjacent_pairs(kept):
            kept.remove(a)
            kept[kept.index(b)] = b._replace(start=a.start, token_start=a.token_start)
    expected = Counter(_key(source, s) for s in kept)
    assert expected or not source.spans, "nothing to compare"
    texts, spans = _read_spans(read)
    assert texts == Counter(text for lines in source.lines.values() for text in lines)
    assert spans == expected


def _key(source: TokenSource, span: SourceSpan) -> tuple[Any, ...]:
    lines = source.lines[span.document]
    return _span_key(lines[span.line], lines[span.end_line], span)


def assert_same_rows(source: RowSource, read: Project) -> None:
    names = {q.id: q.name for q in read.questions}
    (document,) = list(read.documents())
    text = document.columns.index(read.text_column or "text")
    rows = [
        (row.cells[text], {names[q]: _answer(v) for q, v in row.answers.items() if _answer(v)})
        for row in document.rows
    ]
    assert rows == source.rows


# -- kinds a format does not serve -------------------------------------------------

def _document_source(tmp_path: Path) -> Path:
    """A DATASAUR_SCHEMA file of one document-labeling document."""
    (case,) = [c for c in CASES if c.id == "empty-text"]
    labelport.convert(case.load(), "DATASAUR_SCHEMA", tmp_path / "doc")
    return tmp_path / "doc" / "a.txt.json"


def _refusals() -> list[Any]:
    return [
        pytest.param(format_id, kind, id=f"{format_id}-{kind}")
        for format_id in FORMATS
        for kind in (TOKEN_BASED, ROW_BASED, DOCUMENT_BASED)
        if kind not in get_format(format_id).kinds
    ]


@pytest.mark.parametrize(("format_id", "kind"), _refusals())
def test_format_refuses_a_kind_it_cannot_serve(format_id: str, kind: str, tmp_path: Path) -> None:
    source = {TOKEN_BASED: WNUT_SLICES[0], ROW_BASED: TICKETS_CSV}.get(kind) or _document_source(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    out = work / "OUT"
    message = assert_refused(*run_cli("convert", source, "-f", format_id, "-o", out, cwd=tmp_path), work, out)
    able = [f for f in FORMATS if kind in get_format(f).kinds]
    assert f"{format_id} cannot serve a {kind} project" in message
    assert message.endswith(f"formats that can: {', '.join(able)}")
