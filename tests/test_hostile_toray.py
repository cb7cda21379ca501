"""Adversarial cases for HF_DATASET on Ray and labelport.to_ray: refused with
one line and nothing written (the command line, through tests/hostile.py's
assert_refused), or refused with the error the Python API raises, before any
dataset is returned; awkward but valid input gives to_hf's result.

One local Ray of 2 CPUs serves the module (tests/test_ray.py's fixture).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

ray = pytest.importorskip("ray")

from conftest import run_cli
from hostile import assert_refused
from test_hostile_preflight import command_without
from test_ray import local_ray, project_dir  # noqa: F401 (fixtures: a local Ray; 24 DATASAUR_SCHEMA files)

import labelport
from labelport.errors import InputError, RejectedError, UsageError

GOOD = "EU B-ORG\nrejects O\n\n"
BAD = "EU B-ORG\nrejects\n\n"  # a token without its tag: f5.conll:2


def conll_folder(folder, bad: int | None = 5):
    for n in range(8):
        (folder / f"f{n}.conll").write_text(BAD if n == bad else GOOD)
    return folder


def test_a_bad_file_read_in_a_task_writes_no_hf_dataset(local_ray, places):
    """HF_DATASET's chunks on Ray: a file read in a task that is not what it
    says gives one process's line, exit 2, and no shard anywhere."""
    inputs, work, out = places
    conll_folder(inputs)
    _, _, one = run_cli("convert", inputs, "-f", "HF_DATASET", "-o", out)
    code, stdout, stderr = run_cli("convert", inputs, "-f", "HF_DATASET", "-o", out, "--engine", "ray", "--jobs", "2",
                                   "--ray-address", local_ray, timeout=300)
    assert assert_refused(code, stdout, stderr, work, out) == one.rstrip("\n")
    assert "f5.conll:2" in one


def test_an_hf_split_name_is_refused_before_ray_tasks(local_ray, places):
    inputs, work, out = places
    conll_folder(inputs, bad=None)
    code, stdout, stderr = run_cli("convert", inputs, "-f", "HF_DATASET", "-o", out, "--split", "train=0.5,dev-1=0.5",
                                   "--engine", "ray", "--ray-address", local_ray, timeout=300)
    assert "cannot name a Hugging Face split" in assert_refused(code, stdout, stderr, work, out)


def test_to_ray_refuses_a_bad_file_before_returning(local_ray, tmp_path):
    """Its label pass runs in tasks over the files: the file and line, as one process gives them."""
    folder = conll_folder(tmp_path)
    with pytest.raises(InputError) as refused:
        labelport.to_ray(folder)
    assert "f5.conll" in str(refused.value) and refused.value.line == 2


@pytest.mark.parametrize("split, split_by, stratify, words", [
    ({"train": 0.5, "dev-1": 0.5}, None, False, "cannot name a Hugging Face split"),
    ({"train": 0.9, "test": 0.3}, None, False, "add up to"),
    ({"train": -0.5, "test": 1.5}, None, False, "the share of 'train' is -0.5, not a fraction from 0 to 1"),
    ({"train": "0.5", "test": 0.5}, None, False, "the share of 'train' is '0.5'"),
    ({"train": 0.5, "test": 0.5}, "no_such_field", False, "no_such_field"),
    (None, "document", False, "--split-by needs --split"),
    (None, None, True, "--stratify needs --split"),
], ids=["hf-name", "sum", "negative", "text", "split-by", "split-by-alone", "stratify-alone"])
def test_to_ray_refuses_a_split_it_cannot_make(local_ray, project_dir, split, split_by, stratify, words):
    with pytest.raises(UsageError, match=words):
        labelport.to_ray(project_dir, split=split, split_by=split_by, stratify=stratify)


def test_to_ray_on_an_empty_project_gives_an_empty_split_with_the_columns(local_ray, tmp_path):
    """A file without a line: HF_DATASET writes one empty shard (which the Hub's
    rules reject: to_hf raises); to_ray gives an empty dataset of its columns."""
    empty = tmp_path / "empty.conll"
    empty.write_text("")
    data = labelport.to_ray(empty)
    assert list(data) == ["train"]
    assert data["train"].count() == 0
    assert data["train"].schema().names == ["id", "text", "tokens", "ner_tags", "spans"]
    assert data.label_names == {"ner_tags": ["O"]}
    with pytest.raises(RejectedError):
        labelport.to_hf(empty)


def test_to_ray_on_a_folder_without_files(local_ray, tmp_path):
    with pytest.raises(InputError, match="holds no files to read"):
        labelport.to_ray(tmp_path)


def test_to_ray_on_a_project_not_read_from_a_path(local_ray, project_dir):
    """Each task reads its files again: a project made in memory is refused, not held in one task."""
    with pytest.raises(UsageError, match="to_ray reads the project again in each task"):
        labelport.to_ray(replace(labelport.load(project_dir)))


def test_to_ray_without_ray(tmp_path):
    """Without Ray: a UsageError naming the extra, before anything is read."""
    command, environ = command_without(("ray",), home=tmp_path)
    code = ("import sys\nsys.modules['ray'] = None\nimport labelport\n"
            "try:\n    labelport.to_ray(sys.argv[1])\n"
            "except labelport.UsageError as e:\n    print(e)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "missing.conll")], env=environ,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "to_ray needs ray: install labelport[ray]" in proc.stdout
