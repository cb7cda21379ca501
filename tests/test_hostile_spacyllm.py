"""Adversarial relations for CUSTOM's spaCy and LLM-tuning transformers:
arrows to spans that do not exist, arrows to themselves, thousands of arrows
on one span, ids given as numbers, and transformers whose
relations_not_carried misbehaves. Each either gives the correct result, read
back independently (json, spaCy's DocBin), or is refused cleanly
(tests/hostile.py's assert_refused: exit 2, one line naming the file,
nothing written).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

try:  # tests/ may be a package or a plain folder
    from .conftest import run_cli
    from .hostile import assert_refused
except ImportError:
    from conftest import run_cli  # type: ignore[no-redef]
    from hostile import assert_refused  # type: ignore[no-redef]
from relations_project import ARROWS, SPANS, TWICE, UNKNOWN_END, arrow, source_relations, write_project
from sources import read_jsonl, report_of

REL = ("._.", "rel", None, None)
MAX_EXAMPLES = 5  # the report lists at most this many examples of a loss (README: labelport-report.json)


def answers(out: Path, name: str) -> list[list[dict]]:
    return [json.loads(obj["messages"][2]["content"]) for obj in read_jsonl(out / f"{name}.jsonl")]


def rel_tables(path: Path) -> list[dict]:
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import DocBin

    return [doc.user_data[REL] for doc in DocBin().from_disk(path).get_docs(spacy.blank("xx").vocab)]


def convert_ok(*args: object) -> None:
    code, _, err = run_cli("convert", *args)
    assert code == 0, err


@pytest.mark.parametrize("split", [(), ("--split", "train=0.5,test=0.5", "--seed", "2")])
def test_an_arrow_to_an_unknown_span_is_counted_once(places, split: tuple[str, ...]) -> None:
    inputs, work, out = places
    source = write_project(inputs, arrows=[*ARROWS, arrow("x1", "GHOST", "s1", "nowhere"),
                                           arrow("x2", "GHOST", "nowhere", "s2")])
    for transformer in ("openai_chat_relations", "spacy_docbin"):
        target = out / transformer
        convert_ok(source, "-f", "CUSTOM", "--transformer", transformer, *split, "-o", target)
        lost = report_of(target)["not_carried"][UNKNOWN_END]
        assert lost["count"] == 2
        assert [(e["origin"], e["target"]) for e in lost["examples"]] == [("s1", "nowhere"), ("nowhere", "s2")]
    found = [r for split_answers in _chat_answers(out / "openai_chat_relations", split) for r in split_answers]
    assert not any(r["relation"] == "GHOST" for r in found)
    assert len(found) == 3  # a1, a2, a5, as without the ghosts
    assert source_relations(source)[-1].why_not_chat == UNKNOWN_END


def _chat_answers(out: Path, split: tuple[str, ...]) -> list[list[dict]]:
    if not split:
        return answers(out, "openai_chat_relations")
    return [a for s in ("train", "test") if (out / s).exists() for a in answers(out / s, "openai_chat_relations")]


def test_an_arrow_to_itself_is_carried_as_given(places) -> None:
    inputs, work, out = places
    source = write_project(inputs, arrows=[arrow("self", "IS", "s3", "s3")])
    convert_ok(source, "-f", "CUSTOM", "--transformer", "openai_chat_relations", "-o", out / "chat")
    assert answers(out / "chat", "openai_chat_relations")[0] == [{"head": "London", "relation": "IS", "tail": "London"}]
    convert_ok(source, "-f", "CUSTOM", "--transformer", "spacy_docbin", "-o", out / "spacy")
    assert rel_tables(out / "spacy" / "train.spacy")[0][(7, 7)] == {"IS": 1.0}
    assert report_of(out / "chat")["not_carried"] == {} and report_of(out / "spacy")["not_carried"] == {}


def test_thousands_of_arrows_on_one_span(places) -> None:
    """2,000 arrows from one span: 1,000 labels, each given twice. Each label
    is carried once, the repeats counted, the report's examples bounded, and
    the run takes seconds, not minutes."""
    inputs, work, out = places
    many = [arrow(f"m{i}-{n}", f"R{i:04d}", "s1", "s2") for i in range(1000) for n in range(2)]
    source = write_project(inputs, arrows=many)
    started = time.monotonic()
    for transformer in ("openai_chat_relations", "spacy_docbin"):
        convert_ok(source, "-f", "CUSTOM", "--transformer", transformer, "-o", out / transformer)
        lost = report_of(out / transformer)["not_carried"]
        assert list(lost) == [TWICE] and lost[TWICE]["count"] == 1000
        assert len(lost[TWICE]["examples"]) == MAX_EXAMPLES
    assert time.monotonic() - started < 60
    first = answers(out / "openai_chat_relations", "openai_chat_relations")[0]
    assert first == [{"head": "Ada Lovelace", "relation": f"R{i:04d}", "tail": "Charles Babbage"} for i in range(1000)]
    table = rel_tables(out / "spacy_docbin" / "train.spacy")[0]
    assert table[(0, 4)] == {f"R{i:04d}": 1.0 for i in range(1000)}


def test_ids_given_as_numbers_still_join(places) -> None:
    """Span ids as JSON numbers, arrows naming them as strings or numbers."""
    inputs, work, out = places
    spans = [{**s, "id": int(s["id"][1:])} for s in SPANS]
    arrows = [{**a, "originId": a["originId"][1:], "targetId": int(a["targetId"][1:])} for a in ARROWS]
    source = write_project(inputs, spans=spans, arrows=arrows)
    convert_ok(source, "-f", "CUSTOM", "--transformer", "openai_chat_relations", "-o", out)
    by_line = answers(out, "openai_chat_relations")
    assert [len(a) for a in by_line] == [2, 0, 1]
    assert by_line[0][0] == {"head": "Ada Lovelace", "relation": "WORKED_WITH", "tail": "Charles Babbage"}


def test_an_arrow_without_a_target_is_refused(places) -> None:
    inputs, work, out = places
    broken = [dict(a) for a in ARROWS]
    del broken[2]["targetId"]
    source = write_project(inputs, arrows=broken)
    code, stdout, stderr = run_cli("convert", source, "-f", "CUSTOM", "--transformer", "spacy_docbin", "-o", out)
    assert assert_refused(code, stdout, stderr, work, out) == (
        f"labelport: error: {source}: $.data.arrowLabels[2].targetId: missing")


RAISES = '''
def transform_project(documents, project=None):
    return {"n.txt": str(sum(1 for _ in documents))}


def relations_not_carried(document):
    return [("arrows", document["nothing here"])]
'''
WRONG_SHAPE = '''
def transform_project(documents, project=None):
    return {"n.txt": str(sum(1 for _ in documents))}


def relations_not_carried(document):
    return ["arrows"]
'''
NOT_JSON = '''
def transform_project(documents, project=None):
    return {"n.txt": str(sum(1 for _ in documents))}


def relations_not_carried(document):
    return [("arrows", {"arrow": object()})]
'''


@pytest.mark.parametrize("body, what", [
    (RAISES, "failed on document 'story.txt': KeyError: 'nothing here' (at hook.py:7)"),
    (WRONG_SHAPE, "failed on document 'story.txt': relations_not_carried gave 'arrows', expected (str, dict) pairs"),
    (NOT_JSON, "failed on document 'story.txt': relations_not_carried gave an example the report cannot hold"),
])
def test_a_misbehaving_relations_not_carried_is_refused(places, tmp_path: Path, body: str, what: str) -> None:
    inputs, work, out = places
    source = write_project(inputs)
    hook = tmp_path / "hook.py"
    hook.write_text(body, encoding="utf-8")
    for split in ((), ("--split", "train=0.5,test=0.5")):
        code, stdout, stderr = run_cli("convert", source, "-f", "CUSTOM", "--transformer", hook, *split, "-o", out)
        message = assert_refused(code, stdout, stderr, work, out)
        assert message.startswith(f"labelport: error: transformer '{hook}' {what}"), message

