"""labelport.to_ray: Ray Data datasets with HF_DATASET's rows, in its order,
its columns and ClassLabel names (compared with to_hf, which loads what
HF_DATASET writes), read by tasks that each read a range of the project's files.

One local Ray of 2 CPUs serves the module (tests/test_ray.py's fixture).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
datasets = pytest.importorskip("datasets")

from test_ray import local_ray, project_dir  # noqa: F401 (fixtures: a local Ray; 24 DATASAUR_SCHEMA files)

import labelport

SPLIT = {"train": 0.7, "test": 0.3}
TICKETS = [("my card was charged twice", "billing"), ("the app crashes at start", "bug"),
           ("refund please", "billing"), ("how do I export", "question"), ("login fails", "bug"),
           ("where is my invoice", "billing"), ("can I share a project", "question")]


@pytest.fixture(scope="module")
def tickets(tmp_path_factory) -> Path:
    """A classification (table) project: a folder of 4 CSV files, 28 rows with an ``intent`` label."""
    folder = tmp_path_factory.mktemp("tickets") / "tickets"
    folder.mkdir()
    for n in range(4):
        with open(folder / f"t{n}.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["text", "intent"])
            for i, (text, intent) in enumerate(TICKETS):
                writer.writerow([f"{text} ({n}.{i})", intent])
    return folder


def class_names(feature) -> list[str]:
    """A datasets feature's ClassLabel names (itself or, for a list, its items')."""
    return list(getattr(feature, "feature", feature).names)


def same_as_to_hf(data: labelport.conversion.to_ray.RayDatasets, hf) -> None:
    assert list(data) == list(hf)
    for name, dataset in data.items():
        rows = dataset.take_all()
        assert len(rows) == hf[name].num_rows > 0, name
        assert rows == hf[name].to_list(), name  # the same rows, in the same order
        assert dataset.schema().names == hf[name].column_names
    for column, names in data.label_names.items():
        assert names == class_names(hf["train"].features[column])


def test_a_ner_project_has_to_hf_rows_columns_and_label_names(local_ray, project_dir):
    data = labelport.to_ray(project_dir, split=SPLIT, seed=7)
    same_as_to_hf(data, labelport.to_hf(project_dir, split=SPLIT, seed=7))
    names = data.label_names["ner_tags"]
    assert names[0] == "O" and len(names) > 1 and list(data.label_names) == ["ner_tags"]
    # the names are in every block's schema too, as in HF_DATASET's Parquet files
    metadata = data["train"].schema().base_schema.metadata
    assert datasets.Features.from_arrow_schema(data["train"].schema().base_schema)["ner_tags"].feature.names == names
    assert b"huggingface" in metadata


def test_a_table_project_has_to_hf_rows_and_label_names(local_ray, tickets):
    project = labelport.load(tickets, label_columns=["intent"])
    data = labelport.to_ray(project, split=SPLIT, seed=1)
    same_as_to_hf(data, labelport.to_hf(labelport.load(tickets, label_columns=["intent"]), split=SPLIT, seed=1))
    assert data.label_names == {"label": ["billing", "bug", "question"]}
    assert sum(data[name].count() for name in data) == 28


def test_no_document_is_in_two_splits(local_ray, project_dir):
    data = labelport.to_ray(project_dir, split={"train": 0.5, "validation": 0.25, "test": 0.25}, seed=3,
                            split_by="document")
    documents = {name: {row["id"].rpartition(":")[0] for row in data[name].take_all()} for name in data}
    assert all(documents.values())
    assert sum(len(ids) for ids in documents.values()) == len(set().union(*documents.values())) == 24


def test_each_read_task_reads_its_own_files(local_ray, project_dir):
    """It streams: the split's read tasks are several, each holds a range of
    the project's files, and the rows it produces are those files' rows alone;
    one after another they make the split's rows."""
    data = labelport.to_ray(project_dir, split=SPLIT, seed=7)
    tasks = data.datasources["test"].get_read_tasks(2)
    assert len(tasks) == 8  # (parallel.chunks: 4 per task asked for)
    files = [file for task in tasks for file in task.metadata.input_files]
    assert files == [part.source for part in labelport.load(project_dir).parts]
    rows = []
    for task in tasks:
        documents = {document.id for file in task.metadata.input_files
                     for document in labelport.load(Path(file)).documents()}
        mine = [row for block in task() for row in block.to_pylist()]
        assert {row["id"].rpartition(":")[0] for row in mine} <= documents
        rows += mine
    assert rows == data["test"].take_all()


def test_a_project_of_one_file_is_one_task(local_ray, project_dir, tmp_path):
    single = next(project_dir.glob("*.json"))
    data = labelport.to_ray(single)
    assert len(data.datasources["train"].get_read_tasks(4)) == 1
    same_as_to_hf(data, labelport.to_hf(single))
