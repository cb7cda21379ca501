"""Relations (arrows) carried by CUSTOM's spaCy and LLM-tuning transformers,
read back independently and compared with the source JSON.

The project is written by hand (tests/relations_project.py: relations within
a line, across lines, to a CONFLICT span, to a second label set's span, from
a span spaCy must leave out as overlapping). spaCy's DocBin is read with
spaCy itself, the JSONL with json; nothing from labelport is imported.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

try:  # tests/ may be a package or a plain folder
    from .conftest import run_cli
except ImportError:
    from conftest import run_cli  # type: ignore[no-redef]
from relations_project import ARROWS, LINES, SPANS, reasons, source_relations, write_project
from sources import read_jsonl, report_of

REL = ("._.", "rel", None, None)  # where spaCy keeps doc._.rel in user_data
VARIANTS = {"openai_chat_relations": "openai_chat", "gemini_tuning_relations": "gemini_tuning"}
RELATION_LABELS = "DESIGNED, LIVED_IN, SAME_AS, WORKED_WITH, WROTE_ABOUT"
ENTITY_TYPES = "LOC, MACHINE, ORG, PER"


def convert(*args: object) -> None:
    code, _, err = run_cli("convert", *args)
    assert code == 0, err


def turns(obj: dict) -> tuple[str, str, str]:
    """(system, user, answer) of an OpenAI chat or a Gemini tuning line, its shape checked."""
    if "messages" in obj:
        assert set(obj) == {"messages"}
        messages = obj["messages"]
        assert [m["role"] for m in messages] == ["system", "user", "assistant"]
        return messages[0]["content"], messages[1]["content"], messages[2]["content"]
    assert set(obj) == {"systemInstruction", "contents"}
    contents = obj["contents"]
    assert [turn["role"] for turn in contents] == ["user", "model"]
    return (obj["systemInstruction"]["parts"][0]["text"], contents[0]["parts"][0]["text"],
            contents[1]["parts"][0]["text"])


Found = list[tuple[str, str, str, str]]  # (line text, head, relation, tail)


def chat_relations(out: Path, name: str, splits: list[str] | None = None) -> tuple[Found, list[str], set[str]]:
    """(line text, head, relation, tail) of every answer; the texts of the examples; the system turns."""
    found, texts, systems = [], [], set()
    for folder in [out / s for s in splits] if splits else [out]:
        path = folder / f"{name}.jsonl"
        if not path.exists():
            continue
        for obj in read_jsonl(path):
            system, user, answer = turns(obj)
            systems.add(system)
            texts.append(user)
            for entry in json.loads(answer):
                assert set(entry) == {"head", "relation", "tail"}
                found.append((user, entry["head"], entry["relation"], entry["tail"]))
    return found, texts, systems


def spacy_relations(paths: list[Path]) -> tuple[Found, list[str]]:
    """(Doc text, head entity text, label, tail entity text) of every 1.0 in
    each Doc's doc._.rel; every ordered pair of distinct entities must have an entry."""
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import DocBin

    found, texts = [], []
    for path in paths:
        for doc in DocBin().from_disk(path).get_docs(spacy.blank("xx").vocab):
            texts.append(doc.text)
            table = doc.user_data[REL]
            by_start = {ent.start: ent for ent in doc.ents}
            assert {(a, b) for a in by_start for b in by_start if a != b} <= set(table)
            for (head, tail), labels in table.items():
                for label, value in labels.items():
                    assert value == 1.0
                    found.append((doc.text, by_start[head].text, label, by_start[tail].text))
    return found, texts


def not_carried(out: Path) -> dict[str, int]:
    return {what: loss["count"] for what, loss in report_of(out)["not_carried"].items()}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    return write_project(folder)


def expected(project: Path, spacy: bool) -> list[tuple[str, str, str, str]]:
    return sorted((LINES[r.line], r.head, r.label, r.tail) for r in source_relations(project)
                  if (r.why_not_spacy if spacy else r.why_not_chat) is None)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_chat_variants_answer_with_the_relations_of_each_line(tmp_path: Path, project: Path, variant: str) -> None:
    out = tmp_path / "out"
    convert(project, "-f", "CUSTOM", "--transformer", variant, "-o", out)
    found, texts, systems = chat_relations(out, variant)
    assert sorted(found) == expected(project, spacy=False)
    assert len(found) == 3  # a1, a2 on line 0; a5 on line 2 (its head overlaps a longer span: the chat keeps both)
    assert texts == LINES  # one example a line, lines without relations too
    assert systems == {
        f"Extract the relations between the entities in the text. Relation labels: {RELATION_LABELS}. "
        f"Entity types: {ENTITY_TYPES}. "
        'Answer with a JSON array of {"head", "relation", "tail"} objects, head and tail being the entities\' text, '
        "in the order their heads occur; [] when there are none."
    }
    assert not_carried(out) == reasons(source_relations(project), spacy=False)
    examples = report_of(out)["not_carried"]
    assert {(e["origin"], e["target"]) for loss in examples.values() for e in loss["examples"]} == {
        ("s4", "s5"), ("s4", "s1"), ("s8", "s10")}


def test_the_answer_lists_relations_in_the_order_their_heads_occur(tmp_path: Path, project: Path) -> None:
    out = tmp_path / "out"
    convert(project, "-f", "CUSTOM", "--transformer", "openai_chat_relations", "-o", out)
    first = turns(read_jsonl(out / "openai_chat_relations.jsonl")[0])
    assert json.loads(first[2]) == [
        {"head": "Ada Lovelace", "relation": "WORKED_WITH", "tail": "Charles Babbage"},
        {"head": "Charles Babbage", "relation": "LIVED_IN", "tail": "London"},
    ]


def test_spacy_docbin_keeps_relations_as_rel_component_does(tmp_path: Path, project: Path) -> None:
    out = tmp_path / "out"
    convert(project, "-f", "CUSTOM", "--transformer", "spacy_docbin", "-o", out)
    found, texts = spacy_relations([out / "train.spacy"])
    assert sorted(found) == expected(project, spacy=True)
    assert len(found) == 2  # a5's head is left out of the Doc's ents (it overlaps a longer entity)
    assert texts == LINES
    assert not_carried(out) == reasons(source_relations(project), spacy=True)


def test_spacy_rel_is_read_as_an_extension_attribute(tmp_path: Path, project: Path) -> None:
    """What rel_component's code reads: doc._.rel, once the extension is registered."""
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import Doc, DocBin

    out = tmp_path / "out"
    convert(project, "-f", "CUSTOM", "--transformer", "spacy_docbin", "-o", out)
    if not Doc.has_extension("rel"):
        Doc.set_extension("rel", default={})
    first = next(DocBin().from_disk(out / "train.spacy").get_docs(spacy.blank("xx").vocab))
    assert [(e.start, e.text) for e in first.ents] == [(0, "Ada Lovelace"), (4, "Charles Babbage"), (7, "London")]
    assert first._.rel == {(0, 4): {"WORKED_WITH": 1.0}, (4, 7): {"LIVED_IN": 1.0},
                           (4, 0): {}, (0, 7): {}, (7, 0): {}, (7, 4): {}}


def test_spacy_docbin_without_arrows_stores_no_user_data(tmp_path: Path) -> None:
    """A project without relations gets the DocBin it got before relations existed."""
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import DocBin

    folder = tmp_path / "in"
    folder.mkdir()
    out = tmp_path / "out"
    convert(write_project(folder, arrows=[]), "-f", "CUSTOM", "--transformer", "spacy_docbin", "-o", out)
    docs = list(DocBin().from_disk(out / "train.spacy").get_docs(spacy.blank("xx").vocab))
    assert [doc.user_data for doc in docs] == [{}, {}, {}]
    assert "not_carried" in report_of(out) and not report_of(out)["not_carried"]


@pytest.mark.parametrize("plain", sorted(VARIANTS.values()))
def test_transformers_without_relations_count_every_arrow(tmp_path: Path, project: Path, plain: str) -> None:
    """openai_chat and gemini_tuning write no relation: each arrow is counted,
    the reason naming the variant that writes them; the file is the one the
    same project without arrows gives."""
    out, bare = tmp_path / "out", tmp_path / "bare"
    convert(project, "-f", "CUSTOM", "--transformer", plain, "-o", out)
    variant = f"{plain}_relations"
    assert not_carried(out) == {f"arrows (--transformer {variant} carries relations)": len(ARROWS)}
    (tmp_path / "noarrows").mkdir()
    convert(write_project(tmp_path / "noarrows", arrows=[]), "-f", "CUSTOM", "--transformer", plain, "-o", bare)
    assert (out / f"{plain}.jsonl").read_bytes() == (bare / f"{plain}.jsonl").read_bytes()
    assert not_carried(bare) == {}


LONG = [f"Person{i} met Person{i + 1} in Town{i} ." for i in range(12)]


def long_project(folder: Path) -> Path:
    """Twelve lines, so that a split by line shares them out; a relation
    within each line and one from each line to the next."""
    spans, arrows = [], []
    for i, text in enumerate(LONG):
        spans += [
            {"id": f"p{i}", "layer": 0, "labelName": "PER", "startCellLine": i, "startTokenIndex": 0,
             "startCharIndex": 0, "endCellLine": i, "endTokenIndex": 0, "endCharIndex": len(f"Person{i}") - 1},
            {"id": f"q{i}", "layer": 0, "labelName": "PER", "startCellLine": i, "startTokenIndex": 2,
             "startCharIndex": 0, "endCellLine": i, "endTokenIndex": 2, "endCharIndex": len(f"Person{i + 1}") - 1},
        ]
        arrows.append({"id": f"m{i}", "layer": 0, "labelName": "MET", "originId": f"p{i}", "targetId": f"q{i}"})
        if i:
            arrows.append({"id": f"n{i}", "layer": 0, "labelName": "NEXT",
                           "originId": f"p{i - 1}", "targetId": f"p{i}"})
    return write_project(folder, spans=spans, arrows=arrows, lines=LONG, name="long.txt")


@pytest.mark.parametrize("transformer", ["openai_chat_relations", "spacy_docbin", "openai_chat"])
def test_a_split_by_line_counts_each_arrow_once(tmp_path: Path, transformer: str) -> None:
    """Each split's part of a document holds all its arrows; a relation is
    written in the split of its line, and what is not carried is counted
    once, as without --split."""
    folder = tmp_path / "in"
    folder.mkdir()
    source = long_project(folder)
    whole, split = tmp_path / "whole", tmp_path / "split"
    convert(source, "-f", "CUSTOM", "--transformer", transformer, "-o", whole)
    convert(source, "-f", "CUSTOM", "--transformer", transformer, "--split", "train=0.5,test=0.5", "--seed", "1",
            "-o", split)
    splits = ["train", "test"]
    assert all(report_of(split)["splits"][s]["lines"] for s in splits)  # the document is cut in two
    expected_within = sorted((text, f"Person{i}", "MET", f"Person{i + 1}") for i, text in enumerate(LONG))
    if transformer == "openai_chat":  # writes entities, no relation: every arrow counted, once
        texts = [turns(obj)[1] for s in splits for obj in read_jsonl(split / s / "openai_chat.jsonl")]
        assert not_carried(split) == {"arrows (--transformer openai_chat_relations carries relations)": 23}
    else:
        if transformer == "spacy_docbin":
            found, texts = spacy_relations([split / s / f"{s}.spacy" for s in splits])
        else:
            found, texts, _ = chat_relations(split, transformer, splits)
        assert sorted(found) == expected_within
        assert not_carried(split) == {"relations across lines (an example, or a spaCy Doc, is one line)": 11}
    assert sorted(texts) == sorted(LONG)
    assert not_carried(split) == not_carried(whole)


def test_the_source_holds_what_the_tests_rely_on(project: Path) -> None:
    """The hand-made project's relations, read from its JSON: one of each case."""
    relations = {r.id: r for r in source_relations(project)}
    assert len(SPANS) == 9 and len(relations) == len(ARROWS) == 6
    assert (relations["a1"].head, relations["a1"].tail) == ("Ada Lovelace", "Charles Babbage")
    assert relations["a3"].why_not_chat == "relations to an unresolved (CONFLICT) span"
    assert relations["a4"].why_not_chat == "relations across lines (an example, or a spaCy Doc, is one line)"
    assert relations["a5"].why_not_chat is None and relations["a5"].why_not_spacy is not None
