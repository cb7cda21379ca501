"""labelport.agreement and ``inspect --agreement``: every figure against one
worked out by hand (the working is in the comments), on small projects built
here, and the coefficients on textbook examples."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import labelport
from labelport.iaa.spans import OUTSIDE, SpanKey, labeled_tokens, match, token_values
from labelport.iaa.statistics import krippendorff_alpha, unit_values
from labelport.model import DOCUMENT_BASED, ROW_BASED, AnswerSet, Document, Labeler, Line, Project, Question, Row

NEWSROOM = Path(__file__).resolve().parents[1] / "examples" / "newsroom-export.zip"

# One document of two sentences, in the export-all layout, as CoNLL (BIO):
#   line 0: Ada Lovelace met Charles Babbage in London   (tokens 0-6)
#   line 1: Paris is big                                 (tokens 0-2)
# REVIEW and alice: PER 0:0-1, PER 0:3-4, LOC 0:6, LOC 1:0
# bob:              PER 0:0-1, PER 0:4 (Babbage only), ORG 0:6 (London), LOC 1:0
# carol:            PER 0:0 (Ada only), PER 0:3-4, LOC 0:6 (no Paris)
TOKENS = [["Ada", "Lovelace", "met", "Charles", "Babbage", "in", "London"], ["Paris", "is", "big"]]
TAGS = {
    "REVIEW": [["B-PER", "I-PER", "O", "B-PER", "I-PER", "O", "B-LOC"], ["B-LOC", "O", "O"]],
    "DOCUMENT-alice": [["B-PER", "I-PER", "O", "B-PER", "I-PER", "O", "B-LOC"], ["B-LOC", "O", "O"]],
    "DOCUMENT-bob": [["B-PER", "I-PER", "O", "O", "B-PER", "O", "B-ORG"], ["B-LOC", "O", "O"]],
    "DOCUMENT-carol": [["B-PER", "O", "O", "B-PER", "I-PER", "O", "B-LOC"], ["O", "O", "O"]],
}


@pytest.fixture
def people(tmp_path: Path) -> Path:
    for folder, tags in TAGS.items():
        (tmp_path / folder).mkdir()
        sentences = ["\n".join(f"{token} {tag}" for token, tag in zip(tokens, line))
                     for tokens, line in zip(TOKENS, tags)]
        (tmp_path / folder / "people.conll").write_text("\n\n".join(sentences) + "\n", encoding="utf-8")
    return tmp_path


def entry(entries: list[dict], **where: object) -> dict:
    found = [e for e in entries if all(e[k] == v for k, v in where.items())]
    assert len(found) == 1, (where, found)
    return found[0]


def test_span_f1_exact_and_overlapping(people: Path) -> None:
    result = labelport.agreement(people)
    assert result["labelers"] == ["alice", "bob", "carol"]
    exact, overlap = result["span_f1"], result["span_f1_overlap"]
    # alice {PER01, PER34, LOC6, LOC1:0} against bob {PER01, PER4, ORG6, LOC1:0} (bob the reference):
    # in both PER01 and LOC1:0 -> P = 2/4, R = 2/4, F1 = .5
    assert entry(exact, a="alice", b="bob", label=None) == {
        "a": "alice", "b": "bob", "label": None, "precision": 0.5, "recall": 0.5, "f1": 0.5,
        "support_a": 4, "support_b": 4}
    # PER: alice 2, bob 2, common 1 -> .5/.5/.5;  LOC: alice 2, bob 1, common 1 -> P .5, R 1, F1 = 1/1.5
    assert entry(exact, a="alice", b="bob", label="PER")["f1"] == 0.5
    loc = entry(exact, a="alice", b="bob", label="LOC")
    assert (loc["precision"], loc["recall"], loc["f1"]) == (0.5, 1.0, pytest.approx(2 / 3))
    # ORG: only bob has one -> precision undefined (null), recall 0, F1 0
    org = entry(exact, a="alice", b="bob", label="ORG")
    assert (org["precision"], org["recall"], org["f1"], org["support_a"], org["support_b"]) == (None, 0.0, 0.0, 0, 1)
    # Overlapping with the same label: alice's PER34 overlaps bob's PER4, so PER is 2/2 both ways -> 1.0;
    # LOC unchanged (London is ORG for bob); all labels: 3 of alice's 4 and 3 of bob's 4 -> .75
    assert entry(overlap, a="alice", b="bob", label="PER")["f1"] == 1.0
    assert entry(overlap, a="alice", b="bob", label="LOC")["f1"] == pytest.approx(2 / 3)
    everything = entry(overlap, a="alice", b="bob", label=None)
    assert (everything["precision"], everything["recall"], everything["f1"]) == (0.75, 0.75, 0.75)
    # alice is REVIEW: every figure 1
    assert all(e["f1"] == 1.0 for e in exact if e["a"] == "alice" and e["b"] == "REVIEW")
    # carol {PER0, PER34, LOC6} against REVIEW {PER01, PER34, LOC6, LOC1:0}: common 2 -> P 2/3, R 2/4, F1 4/7;
    # overlapping: PER0 overlaps PER01 -> P 3/3; REVIEW's PER01, PER34, LOC6 met -> R 3/4, F1 6/7
    carol = entry(exact, a="carol", b="REVIEW", label=None)
    assert (carol["precision"], carol["recall"], carol["f1"]) == pytest.approx((2 / 3, 0.5, 4 / 7))
    carol = entry(overlap, a="carol", b="REVIEW", label=None)
    assert (carol["precision"], carol["recall"], carol["f1"]) == pytest.approx((1.0, 0.75, 6 / 7))
    # pairs: every two labelers, then each against REVIEW; each pair's all-labels entry first
    assert [(e["a"], e["b"]) for e in exact if e["label"] is None] == [
        ("alice", "bob"), ("alice", "carol"), ("bob", "carol"), ("alice", "REVIEW"), ("bob", "REVIEW"),
        ("carol", "REVIEW")]
    assert [e["label"] for e in exact if (e["a"], e["b"]) == ("alice", "bob")] == [None, "LOC", "ORG", "PER"]


def test_token_kappa_and_alpha(people: Path) -> None:
    result = labelport.agreement(people)
    # Each token's label (O for none), the 10 tokens in order:
    #   alice: PER PER O PER PER O LOC | LOC O O
    #   bob:   PER PER O O   PER O ORG | LOC O O
    #   carol: PER O   O PER PER O LOC | O   O O
    # alice-bob: 8 of 10 alike -> po = .8; alice PER 4, O 4, LOC 2; bob PER 3, O 5, ORG 1, LOC 1
    #   pe = (4*3 + 4*5 + 2*1) / 100 = .34; kappa = (.8 - .34) / (1 - .34) = .46 / .66
    kappa = entry(result["kappa"], a="alice", b="bob", question=None)
    assert kappa == {"a": "alice", "b": "bob", "label": None, "question": None, "kappa": pytest.approx(0.46 / 0.66),
                     "items": 10}
    assert entry(result["kappa"], a="alice", b="REVIEW", question=None)["kappa"] == 1.0
    # Alpha over the three: 30 values, PER 10, O 15, LOC 4, ORG 1. Disagreeing tokens: Lovelace (PER,PER,O),
    # Charles (PER,O,PER), London (LOC,ORG,LOC), Paris (LOC,LOC,O): each has 2 pairs of different values
    # out of 3*2 ordered pairs, weighted 1/(3-1), so 2 off-diagonal coincidences each, 8 in all.
    # alpha = 1 - (n-1) * 8 / (n^2 - sum n_c^2) = 1 - 29*8 / (900 - (100+225+16+1)) = 1 - 232/558
    alpha = entry(result["alpha"], question=None)
    assert alpha == {"label": None, "question": None, "alpha": pytest.approx(1 - 232 / 558), "items": 10,
                     "full_agreement": 0.6}  # 6 of the 10 tokens alike for all three


def test_most_disputed_spans(people: Path) -> None:
    disputed = labelport.agreement(people)["disagreements"]
    # by the share of labelers that did not mark the span, then the document and place:
    # PER 0:0 (carol alone) and PER 0:4 (bob alone), 2 of 3 missing; then PER 0:0-1 and 0:3-4, 1 of 3
    assert [(s["text"], s["marked_by"], s["not_marked_by"], s["in_review"]) for s in disputed["PER"]] == [
        ("Ada", ["carol"], ["alice", "bob"], False),
        ("Babbage", ["bob"], ["alice", "carol"], False),
        ("Ada Lovelace", ["alice", "bob"], ["carol"], True),
        ("Charles Babbage", ["alice", "carol"], ["bob"], True),
    ]
    assert [(s["text"], s["line"], s["document"]) for s in disputed["LOC"]] == [
        ("London", 1, "people.conll"), ("Paris", 2, "people.conll")]  # lines counted from 1
    assert [s["text"] for s in disputed["ORG"]] == ["London"]


def test_five_spans_per_label_at_most(tmp_path: Path) -> None:
    # bob marks seven single tokens that alice leaves alone: each 1 of 2 missing, so the first five by place
    for folder, tag in (("REVIEW", "O"), ("DOCUMENT-alice", "O"), ("DOCUMENT-bob", "B-MISC")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "d.conll").write_text("".join(f"w{i} {tag}\n" for i in range(7)), encoding="utf-8")
    disputed = labelport.agreement(tmp_path)["disagreements"]["MISC"]
    assert [s["text"] for s in disputed] == ["w0", "w1", "w2", "w3", "w4"]


def _answers(question: str, by: dict[str, object]) -> dict[str, Document]:
    return {email: Document(id="-", name="-", kinds=(DOCUMENT_BASED,), labeler=Labeler(email),
                            answer_sets=[AnswerSet({question: value})]) for email, value in by.items()}


def _proposals(labelers: list[Labeler]) -> Project:
    """Wikipedia's example below: 50 documents, two labelers a and b answering "accept"."""
    cells = [("Yes", "Yes")] * 20 + [("No", "No")] * 15 + [("Yes", "No")] * 5 + [("No", "Yes")] * 10
    documents = [Document(id=str(i), name=f"p{i}", kinds=(DOCUMENT_BASED,), versions=_answers("q", {"a": x, "b": y}))
                 for i, (x, y) in enumerate(cells)]
    return Project(id="p", name="proposals", kinds=(DOCUMENT_BASED,), documents_factory=lambda: iter(documents),
                   document_questions=[Question(id="q", name="accept")], labelers=labelers)


def test_kappa_on_a_textbook_example() -> None:
    # Wikipedia, "Cohen's kappa", the worked example: 50 proposals read by two readers; both Yes 20, both No 15,
    # A Yes and B No 5, A No and B Yes 10: po = .7, pe = .5*.6 + .5*.4 = .5, kappa = .4.
    # Alpha on the same: 100 values, Yes 55, No 45; the 15 split items give 2 off-diagonal coincidences each:
    # 1 - 99 * 30 / (2 * 55 * 45) = .4; full agreement 35 of 50.
    result = labelport.agreement(_proposals([Labeler("a"), Labeler("b")]))
    assert entry(result["kappa"], a="a", b="b") == {"a": "a", "b": "b", "label": None, "question": "accept",
                                                    "kappa": pytest.approx(0.4), "items": 50}
    # REVIEW answered nothing (the project has no final version here): no labeler is measured against it
    assert [(e["a"], e["b"]) for e in result["kappa"]] == [("a", "b")]
    assert entry(result["alpha"], question="accept") == {"label": None, "question": "accept",
                                                         "alpha": pytest.approx(0.4), "items": 50,
                                                         "full_agreement": 0.7}
    assert result["span_f1"] == [] and result["disagreements"] == {}


def test_alpha_on_krippendorffs_worked_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", Annenberg School for Communication,
    # University of Pennsylvania: the nominal example with missing data (4 observers, 12 units): alpha = .743.
    # Here the units are rows, the observers labelers answering one question. Unit 12 has one value and does
    # not count; of the other 11 all observers agree on 1, 3, 4, 5, 7, 9, 10, 11: 8 of 11.
    data = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    }
    versions = {
        name: Document(id="t", name="t", kinds=(ROW_BASED,), labeler=Labeler(name), rows=[
            Row(i, [f"unit {i}"], [AnswerSet({} if value is None else {"v": str(value)})])
            for i, value in enumerate(values)])
        for name, values in data.items()}
    final = Document(id="t", name="t", kinds=(ROW_BASED,), rows=[Row(i, [f"unit {i}"]) for i in range(12)],
                     versions=versions)
    project = Project(id="k", name="k", kinds=(ROW_BASED,), documents_factory=lambda: iter([final]),
                      questions=[Question(id="v", name="value")], labelers=[Labeler(name) for name in data])
    result = labelport.agreement(project)
    alpha = entry(result["alpha"], question="value")
    assert (round(alpha["alpha"], 3), alpha["items"], alpha["full_agreement"]) == (0.743, 11, 8 / 11)
    # A-B answered units 1-9 both; they differ on unit 6 only (1 vs 2): po = 8/9.
    # A: 1 x3, 2 x3, 3 x2, 4 x1; B: 1 x2, 2 x4, 3 x2, 4 x1 -> pe = (3*2 + 3*4 + 2*2 + 1*1) / 81 = 23/81
    assert entry(result["kappa"], a="A", b="B")["kappa"] == pytest.approx((8 / 9 - 23 / 81) / (1 - 23 / 81))
    assert entry(result["kappa"], a="A", b="B")["items"] == 9


def test_cli_table_on_the_newsroom_export(run_cli) -> None:
    code, stdout, stderr = run_cli("inspect", NEWSROOM, "--agreement")
    assert (code, stderr) == (0, "")
    lines = stdout.splitlines()
    assert lines[0] == ("agreement  newsroom (p8Xk2Lq9): 2 documents with labelers' versions; "
                        "labelers alice.w@example.com, bob@example.com")
    # news.txt, the one document both have: alice PER 0:0-1, LOC 0:3, ORG 1:2-3; bob PER 0:0-1 -> P 1/3, R 1, F1 .5
    assert lines[4].split() == ["alice.w@example.com", "bob@example.com", "(all)", "0.333", "1.000", "0.500",
                                "0.333", "1.000", "0.500", "3", "1"]
    # the topic question: alice and REVIEW agree on both documents (sport, politics): po 1, pe .5 -> kappa 1
    assert ["topic", "alice.w@example.com", "REVIEW", "1.000", "2"] in [line.split() for line in lines]
    assert '  LOC  news.txt line 1 "Paris": marked by alice.w@example.com; not by bob@example.com; in REVIEW' in lines


def test_cli_json_shape_on_the_newsroom_export(run_cli) -> None:
    code, stdout, stderr = run_cli("inspect", NEWSROOM, "--agreement", "--json")
    assert (code, stderr) == (0, "")
    result = json.loads(stdout)
    assert list(result) == ["project", "labelers", "documents", "span_f1", "span_f1_overlap", "kappa", "alpha",
                            "disagreements"]
    for section in ("span_f1", "span_f1_overlap"):
        assert result[section] and all(list(e) == ["a", "b", "label", "precision", "recall", "f1", "support_a",
                                                   "support_b"] for e in result[section])
    assert all(list(e) == ["a", "b", "label", "question", "kappa", "items"] for e in result["kappa"])
    assert all(list(e) == ["label", "question", "alpha", "items", "full_agreement"] for e in result["alpha"])
    # REVIEW of news.txt has 8 distinct spans (the ORG twice on line 2 counts once; the unresolved
    # CONFLICT DATE is nobody's decision), of chat.txt 2: alice saw both documents, bob news.txt only
    assert entry(result["span_f1"], a="alice.w@example.com", b="REVIEW", label=None)["support_b"] == 10
    assert entry(result["span_f1"], a="bob@example.com", b="REVIEW", label=None)["support_b"] == 8
    assert result == labelport.agreement(str(NEWSROOM))


def test_a_project_without_labelers_versions_is_refused(tmp_path: Path, run_cli) -> None:
    conll = tmp_path / "plain.conll"
    conll.write_text("Ada B-PER\n", encoding="utf-8")
    code, stdout, stderr = run_cli("inspect", conll, "--agreement")
    assert (code, stdout) == (2, "")
    assert stderr == (f"labelport: error: {conll}: no labelers' versions to compare: agreement needs each "
                      "labeler's own version of the documents (an export-all zip, a datasaur:// project, or a "
                      "folder with DOCUMENT-<labeler>/ folders)\n")
    with pytest.raises(labelport.InputError, match="no labelers' versions"):
        labelport.agreement(conll)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.sampled_from("abcd")), min_size=4, max_size=4),
                min_size=1, max_size=40))
def test_alpha_equals_the_krippendorff_package(raters: list[list[str | None]]) -> None:
    # labelport counts distinct units; the krippendorff package (a test dependency) takes one row per unit
    krippendorff = pytest.importorskip("krippendorff")
    np = pytest.importorskip("numpy")
    units = Counter(unit_values([v for v in unit if v is not None]) for unit in raters)
    ours = krippendorff_alpha(units)
    counts = np.array([[unit.count(c) for c in "abcd"] for unit in raters])
    pairable = counts[counts.sum(axis=1) >= 2]
    if not len(pairable) or (pairable.sum(axis=0) > 0).sum() < 2:
        assert ours is None
    else:
        assert ours == pytest.approx(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"),
                                     abs=1e-12)


def test_a_span_over_two_lines_labels_every_token_it_covers() -> None:
    # line 0 "a b c", line 1 "d e"; EVENT from b (0:1) to d (1:0), TRAVEL b-c: by hand,
    # a O, b and c EVENT+TRAVEL (two labels: one category, sorted), d EVENT, e O
    event, travel = SpanKey(0, 1, 1, 0, "EVENT"), SpanKey(0, 1, 0, 2, "TRAVEL")
    lines = [Line(0, "a b c", ["a", "b", "c"]), Line(1, "d e", ["d", "e"])]
    assert labeled_tokens({0: 3, 1: 2}, {event, travel}) == {
        (0, 1): "EVENT+TRAVEL", (0, 2): "EVENT+TRAVEL", (1, 0): "EVENT"}
    assert token_values({"r": lines}, {"r": {event, travel}}) == {
        (("r", "O"),): 2, (("r", "EVENT+TRAVEL"),): 2, (("r", "EVENT"),): 1}
    # overlapping is by (line, token) places: d-e on line 1 meets the EVENT ending at d; a alone does not
    assert match({event}, {SpanKey(1, 0, 1, 1, "EVENT"), SpanKey(0, 0, 0, 0, "EVENT")}) == (1, 2, 0, 1, 1)


def test_labelers_the_project_does_not_name_are_taken_from_their_versions() -> None:
    # the Wikipedia project again, built without Project.labelers: the same kappa, the pair named by the versions
    result = labelport.agreement(_proposals([]))
    assert result["labelers"] == ["a", "b"]
    assert entry(result["kappa"], a="a", b="b")["kappa"] == pytest.approx(0.4)


places_ = st.tuples(st.integers(0, 3), st.integers(0, 5))
spans_ = st.sets(st.builds(lambda x, y: SpanKey(*min(x, y), *max(x, y), "L"), places_, places_), max_size=8)


@given(spans_, spans_)
def test_overlaps_counted_as_trying_every_pair_would(a: set[SpanKey], b: set[SpanKey]) -> None:
    # two spans meet when each starts at or before the other's last (line, token)
    def meets(x: SpanKey, y: SpanKey) -> bool:
        return x.first <= y.last and y.first <= x.last

    found = match(a, b)
    assert found.overlap_a == sum(any(meets(x, y) for y in b) for x in a)
    assert found.overlap_b == sum(any(meets(y, x) for x in a) for y in b)


lines_ = st.lists(st.integers(0, 4), min_size=0, max_size=3)  # a version's lines: each one's token count
spans_on_a_line_ = st.builds(lambda line, first, length, label: SpanKey(line, first, line, first + length, label),
                             st.integers(0, 2), st.integers(0, 3), st.integers(0, 2), st.sampled_from("AB"))
version_ = st.tuples(lines_, st.sets(spans_on_a_line_, max_size=4))  # (a span may reach past its line's tokens)


@given(st.dictionaries(st.sampled_from(["x", "y", "REVIEW"]), version_, min_size=1))
def test_token_values_count_each_token_as_one_at_a_time_would(versions: dict) -> None:
    # token by token: every (line, token) place some rater saw, each rater's category if they saw it
    lines = {rater: [Line(i, " ".join("t" * n), ["t"] * n) for i, n in enumerate(sizes)]
             for rater, (sizes, _) in versions.items()}
    keys = {rater: spans for rater, (_, spans) in versions.items()}
    expected: Counter = Counter()
    places = sorted({(i, t) for sizes, _ in versions.values() for i, n in enumerate(sizes) for t in range(n)})
    for i, t in places:
        values = []
        for rater, (sizes, spans) in versions.items():
            if i < len(sizes) and t < sizes[i]:
                labels = sorted({k.label for k in spans if k.line == i and k.token_start <= t <= k.token_end})
                values.append((rater, "+".join(labels) or OUTSIDE))
        expected[tuple(values)] += 1
    assert token_values(lines, keys) == expected
