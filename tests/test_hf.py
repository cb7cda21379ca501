"""HF_DATASET, labelport.to_hf and `labelport validate --target hf`.

Written datasets are checked with datasets.load_dataset and pyarrow only,
never with labelport's readers, and sources are parsed independently by
tests/sources.py (CoNLL: a blank or white-space-only line ends a sentence,
``token<TAB>tag``; SMS Spam: split on "\\n", each line ``label<TAB>text``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

datasets = pytest.importorskip("datasets")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import labelport  # noqa: E402
from labelport.conversion.to_hf import to_hf  # noqa: E402
from labelport.errors import UsageError  # noqa: E402
from labelport.model import (  # noqa: E402
    CONFLICT,
    DOCUMENT_BASED,
    ROW_BASED,
    TOKEN_BASED,
    AnswerSet,
    Document,
    Label,
    LabelSet,
    Line,
    Project,
    Question,
    Row,
    Span,
)

try:  # tests/ may or may not be a package
    from .conftest import SMS_SLICE, SMS_SOURCES, SMS_SPAM, WNUT17_DEV, WNUT17_FIXTURES, WNUT17_TEST, not_available
except ImportError:
    from conftest import SMS_SLICE, SMS_SOURCES, SMS_SPAM, WNUT17_DEV, WNUT17_FIXTURES, WNUT17_TEST, not_available  # type: ignore[no-redef]
from sources import Sentence, answered_rows, entities, iob2_tags, read_conll, sms_pairs  # noqa: E402

DEV_SLICE = WNUT17_FIXTURES / "emerging.dev.slice.conll"
TEST_SLICE = WNUT17_FIXTURES / "emerging.test.slice.annotated"
TRAIN_HEAD = WNUT17_FIXTURES / "wnut17train.head.conll"
SHARD = "train-00000-of-00001.parquet"


@pytest.fixture(autouse=True)
def _quiet_datasets(tmp_path, monkeypatch):
    """datasets' cache in the test's folder, no progress bars."""
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    datasets.disable_progress_bars()
    yield
    datasets.enable_progress_bars()


# -- independent readers (the shared ones are in sources.py) ------------------------

def tokens_and_tags(sentence: Sentence) -> tuple[list[str], list[str]]:
    """A source sentence as a row holds it: its tokens and IOB2 tags (an I-X
    that starts an entity read as B-X, as the spec's reader does), as lists."""
    return list(sentence.tokens), list(iob2_tags(sentence))


def load_train(out: Path):
    return datasets.load_dataset("parquet", data_files={"train": str(out / "data" / "train-*.parquet")})["train"]


def convert_cli(run_cli, source: Path, out: Path, *args: str) -> str:
    code, stdout, stderr = run_cli("convert", source, "-f", "HF_DATASET", "-o", out, *args)
    assert code == 0, stderr
    return stderr


# -- 1. token labeling: tokens, IOB tags, spans ---------------------------------------

TOKEN_SOURCES = [
    pytest.param(DEV_SLICE, id="dev-slice"),
    pytest.param(TEST_SLICE, id="test-slice"),
    pytest.param(WNUT17_DEV, id="emerging.dev", marks=pytest.mark.skipif(not WNUT17_DEV.exists(), reason=not_available(WNUT17_DEV))),
    pytest.param(WNUT17_TEST, id="emerging.test", marks=pytest.mark.skipif(not WNUT17_TEST.exists(), reason=not_available(WNUT17_TEST))),
]


@pytest.mark.parametrize("source", TOKEN_SOURCES)
def test_token_labeling_round_trip(source: Path, tmp_path: Path, run_cli) -> None:
    out = tmp_path / "out"
    convert_cli(run_cli, source, out)
    assert sorted(p.name for p in (out / "data").iterdir()) == [SHARD]
    ds = load_train(out)
    names = ds.features["ner_tags"].feature.names
    assert names[0] == "O"
    assert all(n.startswith(("B-", "I-")) for n in names[1:])
    labels = [n[2:] for n in names[1::2]]
    assert names[1:] == [p + label for label in labels for p in ("B-", "I-")]
    assert isinstance(ds.features["ner_tags"].feature, datasets.ClassLabel)

    expected = read_conll(source)
    assert ds.num_rows == len(expected)
    seen_labels = set()
    for i, (row, sentence) in enumerate(zip(ds, expected)):
        tokens, tags = tokens_and_tags(sentence)
        assert row["id"] == f"{source.name}:{i}"
        assert row["tokens"] == tokens
        assert [names[t] for t in row["ner_tags"]] == tags
        assert row["text"] == " ".join(tokens)
        spans = [(s["start"], s["end"], s["label"]) for s in row["spans"]]
        assert spans == [(e.start, e.end, e.label) for e in entities(sentence)]
        for start, end, label in spans:
            assert row["text"][start:end].split(" ")  # slices the text to the entity
        seen_labels.update(t[2:] for t in tags if t != "O")
    assert sorted(labels) == labels  # no label set in CoNLL: sorted
    assert seen_labels <= set(labels)


def test_spans_slice_the_entity_text(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "out"
    convert_cli(run_cli, DEV_SLICE, out)
    table = pq.read_table(out / "data" / SHARD)
    for row, sentence in zip(table.to_pylist(), read_conll(DEV_SLICE)):
        tokens, tags = tokens_and_tags(sentence)
        pieces = []
        for i, tag in enumerate(tags):
            if tag.startswith("B-"):
                pieces.append([tokens[i]])
            elif tag.startswith("I-"):
                pieces[-1].append(tokens[i])
        assert [row["text"][s["start"] : s["end"]] for s in row["spans"]] == [" ".join(p) for p in pieces]


def test_schema_metadata_and_card(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "out"
    convert_cli(run_cli, DEV_SLICE, out)
    schema = pq.read_schema(out / "data" / SHARD)
    meta = json.loads(schema.metadata[b"huggingface"])
    features = datasets.Features.from_dict(meta["info"]["features"])
    assert features["ner_tags"].feature.names[0] == "O"
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n")
    import yaml

    front = yaml.safe_load(card.split("\n---\n", 1)[0][4:])
    assert front["configs"] == [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}]
    info = datasets.DatasetInfo._from_yaml_dict(front["dataset_info"])
    assert info.features == features
    assert info.splits["train"].num_examples == len(read_conll(DEV_SLICE))
    assert "labelport" in card and "emerging.dev.slice.conll" in card
    for label in features["ner_tags"].feature.names[1::2]:
        assert f"`{label[2:]}`" in card


# -- 2. splits ------------------------------------------------------------------------

def test_split_files_and_folder_loading(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "out"
    convert_cli(run_cli, TRAIN_HEAD, out, "--split", "train=0.8,test=0.2")
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        "test-00000-of-00001.parquet",
        "train-00000-of-00001.parquet",
    ]
    dd = datasets.load_dataset(str(out))
    assert list(dd) == ["train", "test"]
    assert dd["train"].num_rows and dd["test"].num_rows
    expected = read_conll(TRAIN_HEAD)
    ids = sorted(list(dd["train"]["id"]) + list(dd["test"]["id"]), key=lambda s: int(s.rsplit(":", 1)[1]))
    assert ids == [f"{TRAIN_HEAD.name}:{i}" for i in range(len(expected))]
    by_id = {row["id"]: row for split in dd.values() for row in split}
    names = dd["train"].features["ner_tags"].feature.names
    assert dd["test"].features == dd["train"].features
    for i, sentence in enumerate(expected):
        tokens, tags = tokens_and_tags(sentence)
        row = by_id[f"{TRAIN_HEAD.name}:{i}"]
        assert row["tokens"] == tokens and [names[t] for t in row["ner_tags"]] == tags


def test_same_seed_same_files(tmp_path: Path, run_cli) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        convert_cli(run_cli, TRAIN_HEAD, out, "--split", "train=0.5,validation=0.5", "--seed", "7")
    for name in ("README.md", "data/train-00000-of-00001.parquet", "data/validation-00000-of-00001.parquet"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_empty_split_left_out(tmp_path: Path) -> None:
    project = labelport.load(TRAIN_HEAD)
    out = tmp_path / "out"
    report = labelport.convert(project, "HF_DATASET", out, split={"train": 1.0, "test": 0.0})
    assert sorted(p.name for p in (out / "data").iterdir()) == [SHARD]
    assert any("'test' got no rows" in f.message and not f.hard for f in report.findings)
    assert list(datasets.load_dataset(str(out))) == ["train"]


def test_split_name_datasets_rejects(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="split"):
        labelport.convert(labelport.load(TRAIN_HEAD), "HF_DATASET", tmp_path / "out", split={"train": 0.5, "my-test": 0.5})
    assert not (tmp_path / "out").exists()


def test_large_split_is_sharded(tmp_path: Path, monkeypatch) -> None:
    from labelport.targets.hf import writer as hf_dataset

    monkeypatch.setattr(hf_dataset, "BATCH_ROWS", 4)
    monkeypatch.setattr(hf_dataset, "MAX_SHARD_BYTES", 1)  # every batch ends a shard
    out = tmp_path / "out"
    labelport.convert(labelport.load(TRAIN_HEAD), "HF_DATASET", out)
    expected = read_conll(TRAIN_HEAD)
    n = -(-len(expected) // 4)
    assert sorted(p.name for p in (out / "data").iterdir()) == [f"train-{i:05d}-of-{n:05d}.parquet" for i in range(n)]
    for path in (out / "data").iterdir():
        assert pq.ParquetFile(path).metadata.num_rows <= 4
    ds = datasets.load_dataset(str(out))["train"]
    assert list(ds["tokens"]) == [list(s.tokens) for s in expected]
    assert labelport_validate(out)[0] == 0


# -- 3. row labeling ---------------------------------------------------------------------

@pytest.mark.parametrize("source", SMS_SOURCES)
def test_sms_spam(source: Path, tmp_path: Path, run_cli) -> None:
    out = tmp_path / "out"
    convert_cli(run_cli, source, out, "--columns", "label,text")
    ds = load_train(out)
    expected = sms_pairs(source)
    assert ds.features["label"] == datasets.ClassLabel(names=["ham", "spam"])
    assert ds.column_names == ["id", "text", "label"]
    assert ds.num_rows == len(expected)
    if source == SMS_SPAM:
        assert ds.num_rows == 5574
    assert list(ds["text"]) == [text for _, text in expected]
    names = ds.features["label"].names
    assert [names[i] for i in list(ds["label"])] == [label for label, _ in expected]


# -- Projects built in code: overlaps, label sets, multi-label, unlabeled rows --------

def _project(kinds, documents, **fields) -> Project:
    return Project(id="p", name="p", kinds=kinds, documents_factory=lambda: iter(documents), **fields)


def test_overlaps_stay_in_spans_and_label_set_order(tmp_path: Path) -> None:
    line = Line(
        index=0,
        text="New York City is big",
        tokens=["New", "York", "City", "is", "big"],
        starts=[0, 4, 9, 14, 17],
        spans=[
            Span("LOC", 0, 0, 13, 0, 2),
            Span("CITY", 0, 0, 8, 0, 1),  # overlaps the first
            Span("GPE", 0, 17, 20, 4, 4, labeled_by=CONFLICT),
            Span("X", 0, 14, 16, 3, 3, label_set=1),
        ],
    )
    labels = [Label("1", "LOC"), Label("2", "CITY"), Label("3", "GPE")]
    project = _project(
        (TOKEN_BASED,),
        [Document(id="d", name="doc", kinds=(TOKEN_BASED,), lines=[line])],
        label_sets=[LabelSet(0, "ner", labels), LabelSet(1, "other", [Label("9", "X")])],
    )
    out = tmp_path / "out"
    report = labelport.convert(project, "HF_DATASET", out)
    ds = load_train(out)
    names = ds.features["ner_tags"].feature.names
    assert names == ["O", "B-LOC", "I-LOC", "B-CITY", "I-CITY", "B-GPE", "I-GPE"]  # label set order
    row = ds[0]
    assert row["id"] == "d:0"
    assert [names[t] for t in row["ner_tags"]] == ["B-LOC", "I-LOC", "I-LOC", "O", "O"]
    assert row["spans"] == [{"start": 0, "end": 13, "label": "LOC"}, {"start": 0, "end": 8, "label": "CITY"}]
    losses = report.to_dict()["not_carried"]
    assert losses["overlapping spans (kept in the spans column, left out of ner_tags)"]["count"] == 1
    assert losses["unresolved (CONFLICT) entries"]["count"] == 1
    assert losses["spans of a second label set"]["count"] == 1


def _datasaur_file(folder: Path, name: str, labels: list[str], spans: list[tuple[int, str]]) -> None:
    """A DATASAUR_SCHEMA file of two lines, its label set ``labels``, a
    one-token span on each (line, label) of ``spans``."""
    data = {
        "document": {"id": name, "name": name},
        "kinds": ["TOKEN_BASED"],
        "labelSets": [{"index": 0, "name": "ner", "labelItems": [{"id": n, "labelName": n} for n in labels]}],
        "cells": [{"line": i, "content": f"{name} line {i}", "tokens": [name, "line", str(i)]} for i in range(2)],
        "spanLabels": [
            {"id": f"s{i}", "layer": 0, "labelSetItemId": label, "labelName": label, "startCellLine": line,
             "startTokenIndex": 0, "startCharIndex": 0, "endCellLine": line, "endTokenIndex": 0,
             "endCharIndex": len(name) - 1}
            for i, (line, label) in enumerate(spans)
        ],
    }
    (folder / f"{name}.json").write_text(json.dumps({"version": 1, "data": data}), encoding="utf-8")


@pytest.mark.parametrize("later_label", ["PER", "ORG"], ids=["first-file-labels-suffice", "later-file-adds-a-label"])
def test_folder_of_files_class_labels(tmp_path: Path, run_cli, later_label: str) -> None:
    """A folder's ClassLabel names are its first file's label set, plus the
    labels later files use that it lacks; every row and count once."""
    folder = tmp_path / "project"
    folder.mkdir()
    _datasaur_file(folder, "a", ["LOC", "PER"], [(0, "LOC")])
    # (b's own label set lists what it uses: an item id a file's label sets lack is refused as read)
    _datasaur_file(folder, "b", ["LOC", "PER", later_label] if later_label != "PER" else ["LOC", "PER"],
                   [(0, "PER"), (1, later_label)])
    out = tmp_path / "out"
    convert_cli(run_cli, folder, out)
    ds = load_train(out)
    names = ds.features["ner_tags"].feature.names
    labels = ["LOC", "PER"] if later_label == "PER" else ["LOC", "PER", "ORG"]
    assert names == ["O", *(p + label for label in labels for p in ("B-", "I-"))]
    assert [row["id"] for row in ds] == ["a:0", "a:1", "b:0", "b:1"]
    assert [names[row["ner_tags"][0]] for row in ds] == ["B-LOC", "O", "B-PER", "B-" + later_label]
    report = json.loads((out / "labelport-report.json").read_text(encoding="utf-8"))
    assert report["counts"]["lines"] == 4 and report["counts"]["spans"] == 3
    assert report["splits"]["train"]["lines"] == 4
    assert report["not_carried"] == {}
    assert sorted(p.name for p in (out / "data").iterdir()) == [SHARD]


def test_a_label_found_late_shows_each_row_once_in_the_progress(tmp_path: Path, progress_bars) -> None:
    """The rows written on trial and given up are not counted again."""
    folder = tmp_path / "project"
    folder.mkdir()
    _datasaur_file(folder, "a", ["LOC"], [(0, "LOC")])
    _datasaur_file(folder, "b", ["LOC", "ORG"], [(0, "ORG")])
    labelport.convert(labelport.load(folder), "HF_DATASET", tmp_path / "out")
    (bar,) = progress_bars
    assert (bar.documents, bar.items) == (2, 4)


def test_multi_label_and_unlabeled_rows(tmp_path: Path) -> None:
    rows = [
        Row(0, ["a cat", "x"], [AnswerSet({"q": ["pets", "cute"]})]),
        Row(1, ["nothing", "y"], []),
        Row(2, ["a dog", "z"], [AnswerSet({"q": "pets"})]),
    ]
    project = _project(
        (ROW_BASED,),
        [Document(id="t", name="t.csv", kinds=(ROW_BASED,), columns=["body", "other"], rows=rows)],
        questions=[Question(id="q", name="topic", multiple=True)],
        text_column="body",
    )
    out = tmp_path / "out"
    report = labelport.convert(project, "HF_DATASET", out)
    ds = load_train(out)
    assert ds.column_names == ["id", "text", "labels"]
    names = ds.features["labels"].feature.names
    assert names == ["cute", "pets"]  # no options: sorted
    assert list(ds["text"]) == ["a cat", "a dog"]
    assert list(ds["id"]) == ["t:0", "t:2"]  # <document id>:<row>
    assert [[names[i] for i in labels] for labels in list(ds["labels"])] == [["pets", "cute"], ["pets"]]
    assert report.to_dict()["not_carried"]["examples without an answer (not written)"]["count"] == 1


def test_document_labeling_with_options(tmp_path: Path) -> None:
    documents = [
        Document(id="a", name="a.txt", kinds=(DOCUMENT_BASED,), text="first", answer_sets=[AnswerSet({"q": "neg"})]),
        Document(id="b", name="b.txt", kinds=(DOCUMENT_BASED,), text="second", answer_sets=[AnswerSet({"q": "pos"})]),
    ]
    project = _project(
        (DOCUMENT_BASED,), documents, document_questions=[Question(id="q", name="sentiment", options=["pos", "neg", "mixed"])]
    )
    out = tmp_path / "out"
    labelport.convert(project, "HF_DATASET", out)
    ds = load_train(out)
    assert ds.features["label"] == datasets.ClassLabel(names=["pos", "neg", "mixed"])  # the options, in order
    assert list(ds["text"]) == ["first", "second"] and list(ds["label"]) == [1, 0]


def test_awkward_label_names_survive_the_card(tmp_path: Path) -> None:
    """YAML look-alikes, quotes, line breaks, pipes and emoji as class names."""
    names = ["yes", "a: b", "x\n---\ny", "'q\"", "\U0001F602 emoji", "null", "1", "|pipe|", "`tick`"]
    rows = [Row(i, [f"text {i}"], [AnswerSet({"q": name})]) for i, name in enumerate(names)]
    project = _project(
        (ROW_BASED,),
        [Document(id="d", name="d", kinds=(ROW_BASED,), columns=["text"], rows=rows)],
        questions=[Question(id="q", name="label")],
    )
    out = tmp_path / "out"
    labelport.convert(project, "HF_DATASET", out)
    ds = datasets.load_dataset(str(out))["train"]  # features from the card
    assert ds.features["label"].names == sorted(names)
    assert [ds.features["label"].names[i] for i in ds["label"]] == names
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(out / "README.md")
    assert card.data.configs[0]["data_files"] == [{"split": "train", "path": "data/train-*"}]
    assert labelport_validate(out)[0] == 0


# -- 4. to_hf ------------------------------------------------------------------------------

def _same_as_files(dd, out: Path) -> None:
    files = datasets.load_dataset(str(out))
    assert list(dd) == list(files)
    for split in files:
        assert dd[split].features == files[split].features
        assert dd[split].to_list() == files[split].to_list()


def test_to_hf_tokens(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "out"
    convert_cli(run_cli, DEV_SLICE, out)
    dd = to_hf(labelport.load(DEV_SLICE))
    assert isinstance(dd, datasets.DatasetDict)
    _same_as_files(dd, out)


@pytest.mark.parametrize("source", SMS_SOURCES)
def test_to_hf_sms_with_split(source: Path, tmp_path: Path, run_cli) -> None:
    out = tmp_path / "out"
    convert_cli(run_cli, source, out, "--columns", "label,text", "--split", "train=0.8,validation=0.1,test=0.1", "--seed", "5")
    project = labelport.load(source, columns=["label", "text"])
    dd = to_hf(project, split={"train": 0.8, "validation": 0.1, "test": 0.1}, seed=5)
    assert list(dd) == ["train", "validation", "test"]
    _same_as_files(dd, out)
    assert sum(ds.num_rows for ds in dd.values()) == len(sms_pairs(source))


def test_to_hf_touches_no_network_and_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    import tempfile

    def refuse(*args, **kwargs):
        raise AssertionError("to_hf touched the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    dd = to_hf(DEV_SLICE)
    assert dd["train"].num_rows == len(read_conll(DEV_SLICE))
    assert list((tmp_path / "tmp").iterdir()) == []


def test_to_hf_cache_dir_keeps_memory_mapped(tmp_path: Path) -> None:
    dd = to_hf(DEV_SLICE, cache_dir=tmp_path / "cache")
    assert dd["train"].cache_files and all(str(tmp_path / "cache") in f["filename"] for f in dd["train"].cache_files)


# -- 5. validate -----------------------------------------------------------------------------

def labelport_validate(folder: Path, *args: str) -> tuple[int, str]:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "labelport", "validate", str(folder), "--target", "hf", *args],
        capture_output=True, env=env, stdin=subprocess.DEVNULL, timeout=120,
    )
    return proc.returncode, proc.stdout.decode("utf-8") + proc.stderr.decode("utf-8")


def test_own_output_validates(tmp_path: Path, run_cli) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    convert_cli(run_cli, DEV_SLICE, a, "--split", "train=0.8,validation=0.2")
    convert_cli(run_cli, SMS_SLICE, b, "--columns", "label,text")
    code, output = labelport_validate(a)
    assert code == 0 and "0 rules broken, 0 warnings" in output, output
    code, output = labelport_validate(b)  # train only: a warning, not an error
    assert code == 0 and "no validation or test split" in output, output
    assert labelport_validate(b, "--strict")[0] == 1


def test_broken_folder(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "out"
    convert_cli(run_cli, DEV_SLICE, out)
    # the card names a split whose files do not exist
    card = out / "README.md"
    text = card.read_text(encoding="utf-8")
    text = text.replace(
        "    path: data/train-*\n",
        "    path: data/train-*\n  - split: validation\n    path: data/validation-*\n",
    )
    card.write_text(text, encoding="utf-8")
    # a row with one tag too few, a row with a tag out of range
    path = out / "data" / SHARD
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[3]["ner_tags"] = rows[3]["ner_tags"][:-1]
    rows[5]["ner_tags"][0] = 99
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)

    code, output = labelport_validate(out)
    assert code == 1, output
    assert "'data/validation-*' matches no file" in output
    assert f"data/{SHARD}:4: error:" in output and "tokens but" in output
    n = len(json.loads(table.schema.metadata[b"huggingface"])["info"]["features"]["ner_tags"]["feature"]["names"])
    assert f"data/{SHARD}:6: error:" in output and f"ClassLabel value 99 is outside [-1, {n})" in output
    assert output.count(": error:") == 4, output  # and: 'validation' missing from dataset_info splits


def test_validator_checks_card_against_files(tmp_path: Path, run_cli) -> None:
    from labelport.targets.hf.checker import check

    out = tmp_path / "out"
    convert_cli(run_cli, SMS_SLICE, out, "--columns", "label,text")
    card = out / "README.md"
    text = card.read_text(encoding="utf-8")
    card.write_text(text.replace("'1': spam", "'1': junk").replace("num_examples: 200", "num_examples: 201"), encoding="utf-8")
    (out / "data" / "stray.parquet").write_bytes(b"not parquet")
    findings = check(out)
    messages = [f.message for f in findings if f.hard]
    assert any("disagree with the card's dataset_info" in m and "junk" in m for m in messages), messages
    assert any("201 examples" in m for m in messages), messages
    assert any(f.file == "data/stray.parquet" and "no configs/data_files pattern" in f.message for f in findings)

    (out / "README.md").unlink()
    assert any(f.file == "README.md" and f.hard for f in check(out))


def test_card_and_metadata_features_read_back_alike(tmp_path: Path) -> None:
    """The features the writer renders into the card's YAML and the Parquet
    metadata parse back (labelport's reader and datasets' own) to the same
    features: one model, written and read."""
    import yaml

    from labelport.targets.hf.features import from_metadata, from_yaml_list

    out = tmp_path / "out"
    labelport.convert(labelport.load(TRAIN_HEAD), "HF_DATASET", out)
    front = (out / "README.md").read_text(encoding="utf-8").split("---\n")[1]
    card_features = yaml.safe_load(front)["dataset_info"]["features"]
    meta = pq.ParquetFile(out / "data" / SHARD).schema_arrow.metadata[b"huggingface"]
    parsed = from_yaml_list(card_features)
    assert parsed == from_metadata(meta)
    assert list(parsed) == ["id", "text", "tokens", "ner_tags", "spans"]
    assert parsed["spans"] == ("list", ("struct", (("end", ("value", "int64")), ("label", ("value", "string")),
                                                    ("start", ("value", "int64")))))
    by_datasets = datasets.Features._from_yaml_list(card_features)
    assert by_datasets == datasets.Features.from_dict(json.loads(meta)["info"]["features"])
    assert by_datasets["ner_tags"].feature.names == list(parsed["ner_tags"][1][1])


def test_validator_accepts_hub_shard_names(tmp_path: Path) -> None:
    """The Hub names the shards it writes ``<split>-NNNNN-of-NNNNN-<hash>.parquet``:
    the checker reads the split and the count from such a name too."""
    from labelport.targets.hf.checker import check

    out = tmp_path / "out"
    labelport.convert(labelport.load(TRAIN_HEAD), "HF_DATASET", out)
    shard = out / "data" / SHARD
    shard.rename(shard.with_name("train-00000-of-00001-9f3c2ab1.parquet"))
    assert not [f for f in check(out) if f.hard]
    # the count in a hashed name is read: a second shard of 2 makes the first missing
    (out / "data" / "train-00000-of-00001-9f3c2ab1.parquet").rename(out / "data" / "train-00001-of-00002-9f3c2ab1.parquet")
    assert any(f.rule == "shards" and "[0] of 2 missing" in f.message for f in check(out))


def test_convert_fails_when_output_would_be_rejected(tmp_path: Path) -> None:
    """An empty project writes an unloadable dataset: exit 1, output kept."""
    project = _project((ROW_BASED,), [Document(id="t", name="t", kinds=(ROW_BASED,), columns=["text"], rows=[])],
                       questions=[Question(id="q", name="label")])
    out = tmp_path / "out"
    with pytest.raises(labelport.LabelportError) as info:
        labelport.convert(project, "HF_DATASET", out)
    assert info.value.exit_code == 1
    assert (out / "data" / SHARD).exists()


def test_labeler_versions_validate(tmp_path: Path) -> None:
    fixture = Path(__file__).resolve().parent / "fixtures" / "datasaur" / "newsroom-p8Xk2Lq9"
    if not fixture.exists():
        pytest.skip("Datasaur fixture not available")
    out = tmp_path / "out"
    report = labelport.convert(fixture, "HF_DATASET", out, role="LABELER")
    assert not report.rejected
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders and all(name.startswith("DOCUMENT-") for name in folders)
    for name in folders:
        assert datasets.load_dataset(str(out / name))["train"].num_rows > 0


# -- import cost ---------------------------------------------------------------------------------

def test_import_loads_no_heavy_dependency() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import labelport, labelport.conversion.to_hf, labelport.targets.hf.writer, labelport.targets.hf.checker"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert not imported & {"pyarrow", "datasets", "pandas", "yaml", "huggingface_hub"}


# -- what ner_tags and a classifier leave out is listed ----------------------------------

OTHER_QUESTIONS = "answers to questions other than the label question"
OFF_TOKEN_BOUNDARIES = "spans that do not start and end on token boundaries (kept in the spans column, left out of ner_tags)"
TICKETS = Path(__file__).resolve().parent / "fixtures" / "datasaur" / "support-tickets-r7Tt"


def test_answers_to_other_questions_are_listed(tmp_path: Path, run_cli) -> None:
    """The dataset's label is "intent" (the first question); the "tags" answers are listed."""
    stderr = convert_cli(run_cli, TICKETS, tmp_path / "OUT")
    report = json.loads((tmp_path / "OUT" / "labelport-report.json").read_text(encoding="utf-8"))
    n = answered_rows(TICKETS, "tags")
    assert report["not_carried"][OTHER_QUESTIONS] == {"count": n, "examples": [{"question": "tags", "labels_from": "intent"}]}
    assert n == 2 and f"labelport: warning: not carried by HF_DATASET: {OTHER_QUESTIONS}: {n}\n" in stderr


def test_a_span_inside_a_token_stays_in_spans_and_out_of_ner_tags(tmp_path: Path, run_cli) -> None:
    """"43" of the token "1843": the spans column holds it exactly; ner_tags
    cannot, and tagging all of "1843" would label characters nobody labeled."""
    import contract_fixture

    out = tmp_path / "OUT"
    stderr = convert_cli(run_cli, contract_fixture.build(tmp_path / "hard-cases"), out)
    ds = load_train(out)
    names = ds.features["ner_tags"].feature.names
    row = ds[1]
    assert row["text"] == contract_fixture.LINES[1]
    tags = dict(zip(row["tokens"], (names[t] for t in row["ner_tags"])))
    assert tags["1843"] == "O"
    assert tags["Royal"] != "O"
    assert {"start": 37, "end": 39, "label": "DATE"} in row["spans"]
    assert row["text"][37:39] == "43"
    report = json.loads((out / "labelport-report.json").read_text(encoding="utf-8"))
    assert report["not_carried"][OFF_TOKEN_BOUNDARIES] == {
        "count": 1, "examples": [{"document": "hard.txt", "line": 1, "label": "DATE", "text": "43"}]}
    assert f"labelport: warning: not carried by HF_DATASET: {OFF_TOKEN_BOUNDARIES}: 1\n" in stderr


@pytest.mark.parametrize("starts", [None, [0, 4, 14, 19, 22]], ids=["tokens joined by spaces", "token starts given"])
def test_token_boundaries_with_and_without_token_starts(tmp_path: Path, starts: list[int] | None) -> None:
    """A line whose reader leaves its token starts out (its text is the tokens
    joined by single spaces) is judged as one that gives them, a token holding
    a space included."""
    text = "Ada  Lovelace 1843 in London"  # the second token is " Lovelace"
    tokens = ["Ada", " Lovelace", "1843", "in", "London"]
    assert " ".join(tokens) == text
    line = Line(0, text, tokens, starts, spans=[
        Span("PER", 0, 0, 3, 0, 0),  # Ada
        Span("PER", 0, 5, 13, 1, 1),  # Lovelace: inside " Lovelace", after a space
        Span("DATE", 0, 16, 18, 2, 2),  # 43 of 1843
        Span("LOC", 0, 22, 28, 4, 4),  # London
        Span("LOC", 0, 22, 27, 4, 4),  # Londo: overlaps, and inside a token
    ])
    labels = [Label("1", "PER"), Label("2", "DATE"), Label("3", "LOC")]
    project = _project((TOKEN_BASED,), [Document(id="d", name="doc", kinds=(TOKEN_BASED,), lines=[line])],
                       label_sets=[LabelSet(0, "ner", labels)])
    report = labelport.convert(project, "HF_DATASET", tmp_path / "out").to_dict()
    ds = load_train(tmp_path / "out")
    names = ds.features["ner_tags"].feature.names
    assert [names[t] for t in ds[0]["ner_tags"]] == ["B-PER", "O", "O", "O", "B-LOC"]
    assert len(ds[0]["spans"]) == 5
    losses = report["not_carried"]
    assert losses["overlapping spans (kept in the spans column, left out of ner_tags)"]["count"] == 1
    off = losses["spans that do not start and end on token boundaries (kept in the spans column, left out of ner_tags)"]
    assert [e["text"] for e in off["examples"]] == ["Lovelace", "43"]
