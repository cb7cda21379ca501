"""HF_DATASET's relations column, read back with datasets and compared with
the source JSON read here (not through labelport's reader): every carried
relation's head and tail span (text and label) and its label, every relation
left out counted under its reason; --jobs 2, to_hf and validate --target hf."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

datasets = pytest.importorskip("datasets")
pq = pytest.importorskip("pyarrow.parquet")

import labelport

ACROSS_ROWS = "relations between spans of different lines (a row's relations index its own spans)"
END_LEFT_OUT = ("relations with an end the spans column leaves out "
                "(another label set, CONFLICT, across lines, a label not in label set 0)")
END_UNKNOWN = "relations whose origin or target is no span of the document"
CONFLICTS = "unresolved (CONFLICT) entries"

#: label set 0 declares BUILT before KNOWS (the relation names keep that
#: order); ON and AUTHORED are declared nowhere (sorted after them)
LABEL_SET_0 = ["PER", "MACHINE", "BUILT", "KNOWS"]
RELATION_NAMES = ["BUILT", "KNOWS", "AUTHORED", "ON"]


def span(id: str, label: str, line: int, first: int, last: int, *, layer: int = 0, by: str = "REVIEWER",
         end_line: int | None = None) -> dict[str, Any]:
    return {"id": id, "layer": layer, "labelName": label, "startCellLine": line, "startTokenIndex": first,
            "endCellLine": line if end_line is None else end_line, "endTokenIndex": last, "labeledBy": by}


def arrow(id: str, label: str, origin: str, target: str, by: str = "REVIEWER") -> dict[str, Any]:
    return {"id": id, "layer": 0, "labelName": label, "originId": origin, "targetId": target, "labeledBy": by}


def schema_file(doc: str, lines: list[list[str]], spans: list[dict], arrows: list[dict]) -> dict[str, Any]:
    return {"version": "1", "data": {
        "project": {"id": "p1", "name": "relations"},
        "document": {"id": doc, "name": f"{doc}.txt"},
        "kinds": ["TOKEN_BASED"],
        "labelSets": [
            {"index": 0, "id": "ls0", "name": "main",
             "labelItems": [{"id": str(i), "labelName": name} for i, name in enumerate(LABEL_SET_0)]},
            {"index": 1, "id": "ls1", "name": "topics", "labelItems": [{"id": "t", "labelName": "TOPIC"}]},
        ],
        "cells": [{"line": i, "content": " ".join(tokens), "tokens": tokens} for i, tokens in enumerate(lines)],
        "spanLabels": spans,
        "arrowLabels": arrows,
    }}


#: doc a: two lines; a relation in each line, one back from a later span,
#: one across the lines, one to a CONFLICT span, one to a span of label set
#: 1, one CONFLICT relation
DOC_A = schema_file(
    "a",
    [["Ada", "Lovelace", "met", "Charles", "Babbage"], ["They", "built", "an", "engine"]],
    [span("s1", "PER", 0, 0, 1), span("s2", "PER", 0, 3, 4), span("s3", "PER", 1, 0, 0),
     span("s4", "MACHINE", 1, 3, 3), span("s5", "TOPIC", 1, 3, 3, layer=1),
     span("s6", "MACHINE", 1, 2, 3, by="CONFLICT")],
    [arrow("r1", "KNOWS", "s1", "s2"), arrow("r2", "BUILT", "s3", "s4"), arrow("r3", "KNOWS", "s2", "s3"),
     arrow("r4", "BUILT", "s1", "s6"), arrow("r5", "ON", "s4", "s5"), arrow("r6", "KNOWS", "s1", "s2", by="CONFLICT"),
     arrow("r7", "ON", "s2", "s1")],
)
#: doc b: one relation, its label declared nowhere
DOC_B = schema_file("b", [["Grace", "Hopper", "wrote", "code"]],
                    [span("g1", "PER", 0, 0, 1), span("g2", "MACHINE", 0, 3, 3)],
                    [arrow("q1", "AUTHORED", "g1", "g2")])
#: doc c: spans, no relation
DOC_C = schema_file("c", [["Alan", "Turing"]], [span("t1", "PER", 0, 0, 1)], [])
CARRIED = {"r1", "r2", "r7", "q1"}
LEFT_OUT = {ACROSS_ROWS: 1, END_LEFT_OUT: 2}  # r3; r4, r5 (r6: with the CONFLICT span s6)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    for doc in (DOC_A, DOC_B, DOC_C):
        (folder / f"{doc['data']['document']['id']}.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


def span_text(doc: dict[str, Any], span_id: str) -> tuple[int, str, str]:
    """(line, text, label) of a span, from the source JSON: whole tokens joined by spaces."""
    data = doc["data"]
    entry = next(s for s in data["spanLabels"] if s["id"] == span_id)
    tokens = data["cells"][entry["startCellLine"]]["tokens"]
    text = " ".join(tokens[entry["startTokenIndex"]:entry["endTokenIndex"] + 1])
    return entry["startCellLine"], text, entry["labelName"]


def load(out: Path) -> Any:
    return datasets.load_dataset("parquet", data_files=sorted(str(p) for p in (out / "data").glob("*.parquet")),
                                 split="train", cache_dir=str(out.parent / f"{out.name}-cache"))


def relation_names(dataset: Any) -> list[str]:
    """The relations column's ClassLabel names (datasets 4 says List, older ones a list of one dict)."""
    feature = dataset.features["relations"]
    return list((feature.feature if hasattr(feature, "feature") else feature[0])["label"].names)


def relations_read_back(dataset: Any) -> dict[tuple[str, str, str], str]:
    """(row id, head span's text and label, tail span's) -> relation label, as datasets reads them."""
    names = relation_names(dataset)
    found: dict[tuple, str] = {}
    for row in dataset:
        for relation in row["relations"]:
            head, tail = row["spans"][relation["head"]], row["spans"][relation["tail"]]
            key = (row["id"], (row["text"][head["start"]:head["end"]], head["label"]),
                   (row["text"][tail["start"]:tail["end"]], tail["label"]))
            assert key not in found
            found[key] = names[relation["label"]]
    return found


def relations_of_source() -> dict[tuple, str]:
    expected = {}
    for doc in (DOC_A, DOC_B):
        for entry in doc["data"]["arrowLabels"]:
            if entry["id"] in CARRIED:
                line, *head = span_text(doc, entry["originId"])
                _, *tail = span_text(doc, entry["targetId"])
                expected[(f"{doc['data']['document']['id']}:{line}", tuple(head), tuple(tail))] = entry["labelName"]
    return expected


def not_carried(out: Path) -> dict[str, int]:
    report = json.loads((out / "labelport-report.json").read_text(encoding="utf-8"))
    return {what: loss["count"] for what, loss in report["not_carried"].items()}


def test_relations_read_back_equal_the_source(project: Path, tmp_path: Path, run_cli) -> None:
    out = tmp_path / "out"
    code, _, stderr = run_cli("convert", project, "-f", "HF_DATASET", "-o", out)
    assert code == 0, stderr
    dataset = load(out)
    assert relation_names(dataset) == RELATION_NAMES
    assert relations_read_back(dataset) == relations_of_source()
    losses = not_carried(out)
    assert {what: losses.get(what) for what in LEFT_OUT} == LEFT_OUT
    assert losses[CONFLICTS] == 2  # the CONFLICT span s6 and the CONFLICT relation r6
    assert END_UNKNOWN not in losses and "arrows" not in losses
    # each relation left out is named on stderr with its reason
    assert f"{ACROSS_ROWS}: 1" in stderr and f"{END_LEFT_OUT}: 2" in stderr
    # the card declares the column as the files do
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "  - name: relations\n    list:\n    - name: head\n" in card
    assert "- `relations`:" in card


def test_strict_makes_a_relation_left_out_an_error(project: Path, tmp_path: Path, run_cli) -> None:
    code, _, stderr = run_cli("convert", project, "-f", "HF_DATASET", "-o", tmp_path / "out", "--strict")
    assert code == 1 and ACROSS_ROWS in stderr


def test_two_processes_give_the_rows_of_one(project: Path, tmp_path: Path) -> None:
    """Each chunk finds its own relation labels (doc b's AUTHORED, doc a's ON,
    doc c none): the merge gives every row the project's names."""
    labelport.convert(labelport.load(project), "HF_DATASET", tmp_path / "one")
    labelport.convert(labelport.load(project), "HF_DATASET", tmp_path / "two", jobs=2)
    assert len(list((tmp_path / "two" / "data").glob("*.parquet"))) == 3  # (merged: one shard a chunk)
    one, two = load(tmp_path / "one"), load(tmp_path / "two")
    assert two.features == one.features
    assert two.to_list() == one.to_list()
    assert not_carried(tmp_path / "two") == not_carried(tmp_path / "one")


def test_to_hf_has_the_relations(project: Path) -> None:
    with pytest.warns(UserWarning, match=re.escape(f"not carried by HF_DATASET: 1 {ACROSS_ROWS}")):
        data = labelport.to_hf(project)
    assert relations_read_back(data["train"]) == relations_of_source()


def test_a_project_without_arrows_has_no_relations_column(project: Path, tmp_path: Path) -> None:
    for path in project.glob("*.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["data"]["arrowLabels"] = []
        path.write_text(json.dumps(doc), encoding="utf-8")
    labelport.convert(labelport.load(project), "HF_DATASET", tmp_path / "out")
    assert "relations" not in load(tmp_path / "out").column_names
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "name: relations" not in card and "`relations`" not in card


def test_validate_accepts_the_output_and_refuses_a_broken_one(project: Path, tmp_path: Path, run_cli) -> None:
    out = tmp_path / "out"
    labelport.convert(labelport.load(project), "HF_DATASET", out)
    code, stdout, stderr = run_cli("validate", out, "--target", "hf")
    assert code == 0, stdout + stderr
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    shard = next((broken / "data").glob("*.parquet"))
    table = pq.read_table(shard)
    rows = table.to_pylist()
    row = next(i for i, r in enumerate(rows) if r["relations"])
    rows[row]["relations"][0]["tail"] = len(rows[row]["spans"])  # one past the row's spans
    rows[row]["relations"][0]["label"] = len(RELATION_NAMES)  # no ClassLabel name
    pq.write_table(table.from_pylist(rows, schema=table.schema), shard)
    code, stdout, stderr = run_cli("validate", broken, "--target", "hf")
    assert code == 1
    where = f"data/{shard.name}:{row + 1}: error: "
    assert f"{where}relations[].tail: {len(rows[row]['spans'])} is not an index of the row's" in stdout + stderr
    assert f"{where}relations[].label: ClassLabel value {len(RELATION_NAMES)} is outside [-1, 4)" in stdout + stderr


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray of 2 CPUs for the module's Ray tests."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_gives_the_rows_of_one_process(project: Path, tmp_path: Path, local_ray) -> None:
    """--engine ray merges its tasks' shards as --jobs does; to_ray finds the
    relation labels in its tasks before any row and reads to_hf's rows."""
    labelport.convert(labelport.load(project), "HF_DATASET", tmp_path / "one")
    labelport.convert(labelport.load(project), "HF_DATASET", tmp_path / "ray", engine="ray", jobs=2)
    assert len(list((tmp_path / "ray" / "data").glob("*.parquet"))) == 3  # (merged: one shard a task)
    one = load(tmp_path / "one")
    assert load(tmp_path / "ray").to_list() == one.to_list()
    data = labelport.to_ray(project)
    assert data.label_names["relations"] == RELATION_NAMES
    assert data["train"].take_all() == one.to_list()
