"""One label set per project, in every split of every format (issue 13, item 2).

Each registered format and each shipped transformer converts, with
``--split``, a project where some label occurs in one split only: the WNUT-17
head slice (creative-work, group, person and product each name one entity),
a table where one class labels one row, and the Datasaur support-tickets
project (its question lists the options). Then, read back without
labelport (json, csv, pyarrow.parquet, spaCy's DocBin):

* every label list a format writes (a tuning instruction, a Hugging Face
  ClassLabel, Comprehend's entity types, DATASAUR_SCHEMA's label sets, the
  categories of a spaCy Doc) is the same in every split and is the
  project's: the declared label set or options, then every other label the
  project uses, sorted; for a project that declares none, every label it uses;
* no file under a split's folder is named for another split, and a file
  named for a split (spaCy's ``<split>.spacy``, Hugging Face's
  ``data/<split>-…``) is in that split.

labelport is imported for one thing only: the list of registered formats,
so that a new format cannot be added without saying what labels it lists.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

import pytest

try:  # tests/ may be a package or a plain folder
    from .conftest import FIXTURES, WNUT17_FIXTURES, run_cli
except ImportError:
    from conftest import FIXTURES, WNUT17_FIXTURES, run_cli  # type: ignore[no-redef]
from sources import files_under, read_conll, read_jsonl

from labelport.formats.registry import all_formats

SPLITS = ("train", "test")
SPLIT_ARGS = ("--split", "train=0.5,test=0.5", "--seed", "3")
WNUT_HEAD = WNUT17_FIXTURES / "wnut17train.head.conll"
TICKETS = FIXTURES / "datasaur" / "support-tickets-r7Tt"
TRANSFORMERS = ("gemini_tuning", "openai_chat", "spacy_docbin")

# -- the projects and their label sets, read here ----------------------------------------


def wnut_project(tmp_path: Path) -> tuple[list[str], list[str]]:
    """The WNUT head slice: it declares no label set, so the project's is
    every entity type it uses, sorted."""
    counts: dict[str, int] = {}
    for sentence in read_conll(WNUT_HEAD):
        for tag in sentence.tags:
            if tag.startswith("B-"):
                counts[tag[2:]] = counts.get(tag[2:], 0) + 1
    assert min(counts.values()) == 1  # a label that can be in one split only
    return [str(WNUT_HEAD)], sorted(counts)


TABLE_ROWS = [("ham" if i % 3 else "spam", f"message number {i}") for i in range(40)] + [("promo", "50% off today")]


def table_project(tmp_path: Path) -> tuple[list[str], list[str]]:
    """A TSV table (no options declared): every class it uses, sorted; "promo" labels one row."""
    path = tmp_path / "messages.tsv"
    path.write_text("".join(f"{label}\t{text}\n" for label, text in TABLE_ROWS), encoding="utf-8")
    return [str(path), "--from", "TSV", "--columns", "label,text"], sorted({label for label, _ in TABLE_ROWS})


def tickets_project(tmp_path: Path) -> tuple[list[str], list[str]]:
    """The support-tickets export: its first question's options in order,
    then any other answer, sorted."""
    data = json.loads((TICKETS / "REVIEW" / "tickets.csv.json").read_bytes())["data"]
    question = data["questions"][0]
    options = [option["label"] for option in question["config"]["options"]]
    key = str(question["id"])
    answered = {entry["answers"][key] for entry in data["rowAnswers"] if entry["labeledBy"] != "CONFLICT"}
    return [str(TICKETS)], options + sorted(answered - set(options))


PROJECTS: dict[str, tuple[str, Callable[[Path], tuple[list[str], list[str]]]]] = {
    "wnut": ("TOKEN_BASED", wnut_project),
    "table": ("ROW_BASED", table_project),
    "tickets": ("ROW_BASED", tickets_project),
}

# -- what each format lists, read back ---------------------------------------------------


def _instruction_labels(system: str) -> list[str]:
    found = re.search(r"(?:types from the text|one of|any of): (.*?)\. ", system + " ")
    assert found, system
    return found.group(1).split(", ")


def chat_lists(out: Path, file: str, system_of: Callable[[dict], str]) -> dict[str, list[str]]:
    listed: dict[str, list[str]] = {}
    for split in SPLITS:
        instructions = {system_of(obj) for obj in read_jsonl(out / split / file)}
        assert len(instructions) == 1, instructions  # one task in a file
        listed[split] = _instruction_labels(instructions.pop())
    return listed


def gemini_lists(out: Path) -> dict[str, list[str]]:
    return chat_lists(out, "gemini_tuning.jsonl", lambda obj: obj["systemInstruction"]["parts"][0]["text"])


def openai_lists(out: Path) -> dict[str, list[str]]:
    return chat_lists(out, "openai_chat.jsonl", lambda obj: obj["messages"][0]["content"])


def spacy_lists(out: Path) -> dict[str, list[str]]:
    """Every split's file is ``<split>/<split>.spacy``; a classification Doc
    scores every label of the project (its ``cats``), an NER Doc's entities
    are labels of the project (listed: the sorted labels met in the split)."""
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import DocBin

    listed: dict[str, list[str]] = {}
    for split in SPLITS:
        assert files_under(out / split) == [f"{split}.spacy"]
        docs = list(DocBin().from_disk(out / split / f"{split}.spacy").get_docs(spacy.blank("xx").vocab))
        assert docs
        cats = {tuple(doc.cats) for doc in docs}
        if cats == {()}:  # NER
            listed[split] = sorted({ent.label_ for doc in docs for ent in doc.ents})
        else:
            assert len(cats) == 1, cats
            listed[split] = list(cats.pop())
    return listed


def hf_lists(out: Path) -> dict[str, list[str]]:
    """The ClassLabel names in each split's parquet schema (the ``huggingface``
    metadata datasets reads); NER tags are O then B-/I- of each label."""
    pq = pytest.importorskip("pyarrow.parquet")
    parquet = [f"{split}-00000-of-00001.parquet" for split in sorted(SPLITS)]
    assert sorted(p.name for p in (out / "data").iterdir()) == parquet
    listed: dict[str, list[str]] = {}
    for split in SPLITS:
        metadata = pq.read_schema(out / "data" / f"{split}-00000-of-00001.parquet").metadata
        features = json.loads(metadata[b"huggingface"])["info"]["features"]
        if "ner_tags" in features:
            tags = features["ner_tags"]["feature"]["names"]
            assert tags[0] == "O" and tags[1::2] == [t.replace("I-", "B-", 1) for t in tags[2::2]]
            listed[split] = [tag[2:] for tag in tags[1::2]]
        else:
            label = features.get("label") or features["labels"]["feature"]
            listed[split] = label["names"]
    return listed


def comprehend_lists(out: Path) -> dict[str, list[str]] | None:
    """entity_recognizer.json is written once for the project; the split's
    annotations use only its types. (A classifier's CSV lists no labels.)"""
    config = out / "entity_recognizer.json"
    if not config.exists():
        return None
    types = [entry["Type"] for entry in json.loads(config.read_bytes())["EntityTypes"]]
    for split in SPLITS:
        rows = (out / split / "annotations" / "annotations.csv").read_text(encoding="utf-8").splitlines()[1:]
        assert {row.rsplit(",", 1)[1] for row in rows} <= set(types)
    return dict.fromkeys(SPLITS, types)


def datasaur_lists(out: Path) -> dict[str, list[str]] | None:
    """Label set 0's items in each split's files (DATASAUR_SCHEMA's ``data``,
    JSON_ADVANCED's top level); None for row labeling, whose files hold the
    project's questions as declared, options and all."""
    listed: dict[str, list[str]] = {}
    for split in SPLITS:
        seen = set()
        for path in sorted((out / split).glob("*.json")):
            obj = json.loads(path.read_bytes())
            data = obj.get("data", obj)
            if "TOKEN_BASED" not in data.get("kinds", ["TOKEN_BASED"]):
                return None
            label_set = next(ls for ls in data["labelSets"] if ls["index"] == 0)
            seen.add(tuple(item["labelName"] for item in label_set["labelItems"]))
        assert len(seen) == 1, seen
        listed[split] = list(seen.pop())
    return listed


#: format -> what it lists per split, read back (None: nothing for this kind)
LISTS: dict[str, Callable[[Path], dict[str, list[str]] | None]] = {
    "HF_DATASET": hf_lists,
    "AMAZON_COMPREHEND_CSV": comprehend_lists,
    "DATASAUR_SCHEMA": datasaur_lists,
    "JSON_ADVANCED": datasaur_lists,
}
#: formats that list no labels: each line, row or token carries its own label
LIST_NONE = {"JSON", "TSV_IOB", "TSV_NON_IOB", "CONLL_2003", "PLAIN", "CSV", "TSV", "XLSX", "JSON_TABULAR",
             "AZURE_AUTOML_CSV", "GCP_VERTEX_AI_CSV"}
TRANSFORMER_LISTS = {"gemini_tuning": gemini_lists, "openai_chat": openai_lists, "spacy_docbin": spacy_lists}


def test_every_registered_format_says_what_labels_it_lists() -> None:
    assert {fmt.id for fmt in all_formats()} == set(LISTS) | LIST_NONE | {"CUSTOM"}


# -- the conversions ---------------------------------------------------------------------


def convert(tmp_path: Path, project: str, *args: str) -> tuple[Path, list[str]]:
    source, labels = PROJECTS[project][1](tmp_path)
    out = tmp_path / "out"
    code, _, err = run_cli("convert", *source, *args, *SPLIT_ARGS, "-o", out)
    assert code == 0, err
    return out, labels


def assert_named_for_their_split(out: Path) -> None:
    """Every split has its folder or its files; nothing in one split's folder
    is named for another."""
    for split in SPLITS:
        folder = out / split
        if not folder.is_dir():
            continue
        for name in files_under(folder):
            words = set(re.split(r"[/._-]", name))
            assert not words & (set(SPLITS) - {split}), f"{split}/{name}"


def format_cases() -> list:
    cases = []
    for fmt in sorted(all_formats(), key=lambda f: f.id):
        if fmt.id == "CUSTOM":
            continue
        for project, (kind, _) in PROJECTS.items():
            if kind in fmt.kinds:
                cases.append(pytest.param(fmt.id, project, id=f"{fmt.id}-{project}"))
    return cases


@pytest.mark.parametrize("format_id, project", format_cases())
def test_a_format_lists_the_project_labels_in_every_split(tmp_path: Path, format_id: str, project: str) -> None:
    out, labels = convert(tmp_path, project, "-f", format_id)
    assert_named_for_their_split(out)
    lists = LISTS.get(format_id, lambda out: None)(out)
    if lists is None:
        return
    assert set(lists) == set(SPLITS)
    if format_id == "AMAZON_COMPREHEND_CSV":  # entity types: the labels in upper case, _ for the rest
        labels = [re.sub(r"[^A-Z0-9]+", "_", label.upper()) for label in labels]
    for split, listed in lists.items():
        assert listed == labels, split


@pytest.mark.parametrize("transformer", TRANSFORMERS)
@pytest.mark.parametrize("project", list(PROJECTS))
def test_a_transformer_lists_the_project_labels_in_every_split(tmp_path: Path, transformer: str, project: str) -> None:
    out, labels = convert(tmp_path, project, "-f", "CUSTOM", "--transformer", transformer)
    assert_named_for_their_split(out)
    lists = TRANSFORMER_LISTS[transformer](out)
    if transformer == "spacy_docbin" and PROJECTS[project][0] == "TOKEN_BASED":
        # NER Docs list no labels: each split holds the entities it has, of the project's labels
        assert set().union(*map(set, lists.values())) == set(labels)
        assert any(set(listed) != set(labels) for listed in lists.values())  # a label is in one split only
        return
    for split, listed in lists.items():
        assert listed == labels, split
