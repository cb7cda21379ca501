"""--engine ray: a project of many files written as Ray tasks, byte-identical
to one process, report included, for every format --jobs shares out.

One local Ray of 2 CPUs serves the whole module (its start costs seconds);
the command line joins it by its address.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

import test_parallel
from conftest import run_cli
from hostile import assert_refused
from test_parallel import assert_same_dataset, files

import labelport
from labelport.conversion import parallel
from labelport.conversion.ray_engine import (
    ChunkResult,
    Origin,
    _write_task,
    shared_by_tasks,
)
from labelport.errors import UsageError
from labelport.formats.base import Context
from labelport.formats.registry import all_formats, get_format
from labelport.formats.splits import Splitter
from labelport.progress import Progress
from labelport.readers import ReadOptions
from labelport.report import Report

SPLIT = {"train": 0.7, "test": 0.3}


project_dir = test_parallel.project_dir  # (its fixture: a DATASAUR_SCHEMA project of 24 files)


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray of 2 CPUs for the module; its address, for the command line."""
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield context.address_info["address"]
    ray.shutdown()


@pytest.fixture(scope="module")
def project_zip(project_dir):
    """The 24 files of test_parallel's project in a zip."""
    with zipfile.ZipFile(project_dir.parent / "project.zip", "w") as archive:
        for path in sorted(project_dir.glob("*.json")):
            archive.write(path, path.name)
    return project_dir.parent / "project.zip"


def shared_out(project_dir: Path) -> list[str]:
    """The formats whose output is shared out byte-identical (HF_DATASET's is
    shared out in shards of their own: test_hf_dataset_is_one_shard_per_task)."""
    project = labelport.load(project_dir)
    return [f.id for f in all_formats() if set(project.kinds) & f.kinds and parallel.applicable(f, project, 2, f.options())
            and f.id != "HF_DATASET"]


def test_the_formats_shared_out_include_both_kinds(project_dir):
    """The byte-identity test below covers per-document and project-wide (merged) formats."""
    ids = shared_out(project_dir)
    assert {"TSV_IOB", "DATASAUR_SCHEMA", "JSON_ADVANCED", "CONLL_2003", "AMAZON_COMPREHEND_CSV",
            "GCP_VERTEX_AI_CSV"} <= set(ids)
    hf = get_format("HF_DATASET")
    assert parallel.applicable(hf, labelport.load(project_dir), 2, hf.options())


def test_hf_dataset_is_one_shard_per_task(local_ray, project_dir, tmp_path):
    """HF_DATASET on Ray: each task's rows of a split in a shard of their own,
    ``data/<split>-0000K-of-0000N.parquet``; datasets loads the rows of one
    process in its order with its features, the HF checker finds nothing, and
    the card and report are one process's but for the shards."""
    labelport.convert(labelport.load(project_dir), "HF_DATASET", tmp_path / "one", split=SPLIT)
    report = labelport.convert(labelport.load(project_dir), "HF_DATASET", tmp_path / "ray", split=SPLIT, engine="ray",
                               jobs=2)
    assert not report.findings
    assert_same_dataset(tmp_path / "one", tmp_path / "ray", list(SPLIT), 8)


def test_hf_dataset_with_a_chunk_of_other_labels_falls_back_to_one_process(local_ray, tmp_path):
    """CoNLL files declare no label set: each chunk finds its own labels. Where
    they differ (a label in one file alone), the chunks' rows would have other
    ClassLabel ids than one process's: one process writes it all again."""
    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(6):
        (folder / f"f{n}.conll").write_text("EU B-ORG\nrejects O\n\n" + ("Bonn B-LOC\n\n" if n == 4 else ""))
    labelport.convert(labelport.load(folder), "HF_DATASET", tmp_path / "one")
    labelport.convert(labelport.load(folder), "HF_DATASET", tmp_path / "ray", engine="ray", jobs=2)
    assert files(tmp_path / "ray") == files(tmp_path / "one")


def test_every_shared_out_format_writes_the_bytes_of_one_process(local_ray, project_dir, tmp_path):
    for fmt in shared_out(project_dir):
        labelport.convert(labelport.load(project_dir), fmt, tmp_path / fmt / "one", split=SPLIT)
        labelport.convert(labelport.load(project_dir), fmt, tmp_path / fmt / "ray", split=SPLIT, engine="ray")
        one, on_ray = files(tmp_path / fmt / "one"), files(tmp_path / fmt / "ray")
        assert on_ray == one, fmt
        assert json.loads(on_ray["labelport-report.json"])["counts"]["documents"] == 24, fmt


def test_a_zip_on_the_command_line_with_jobs(local_ray, project_zip, tmp_path):
    """`--engine ray --jobs 3 --ray-address` on a zip: 12 tasks' chunks, the bytes of one process."""
    archive = project_zip
    code, _, stderr = run_cli("convert", archive, "-f", "TSV_IOB", "-o", tmp_path / "one", "--split",
                              "train=0.7,test=0.3", "-q", timeout=300)
    assert code == 0, stderr
    code, _, stderr = run_cli("convert", archive, "-f", "TSV_IOB", "-o", tmp_path / "ray", "--split",
                              "train=0.7,test=0.3", "-q", "--engine", "ray", "--jobs", "3",
                              "--ray-address", local_ray, timeout=300)
    assert code == 0, stderr
    assert files(tmp_path / "ray") == files(tmp_path / "one")


def test_a_task_on_another_node_hands_its_files_back(local_ray, project_dir, tmp_path):
    """A task whose node is not the parent's writes into a folder of its own and
    returns the files as bytes: the same bytes, and the report, as a chunk
    written in place."""
    project = labelport.load(project_dir)
    fmt = get_format("TSV_IOB")
    report = Report(project.source, fmt.id, {})
    splitter = Splitter(SPLIT, 0, "document")
    ctx = Context(project, report, splitter, fmt.options(), Progress("", enabled=False))
    placed, documents = parallel.write_chunk(fmt, parallel.chunk_of(project, (project.parts or [])[3:9]),
                                             tmp_path / "here", ctx)
    shared = shared_by_tasks(project, ctx)
    result: ChunkResult = ray.get(ray.remote(_write_task).remote(
        Origin(str(project_dir), ReadOptions()), 3, 9, 24, fmt.id, str(tmp_path / "there"), "another node", shared))
    assert documents == result.documents == 6
    assert result.files == files(tmp_path / "here") and len(result.files) == 6
    assert not (tmp_path / "there").exists()  # the parent places them
    assert result.part.folder == tmp_path / "there"
    assert result.part.report.files == placed.report.files and result.part.report.counts == placed.report.counts


def test_a_project_not_read_by_load_is_refused(local_ray, project_dir, tmp_path):
    """A task reads the project's files again: a project labelport.load did not
    read from a local path (here a copy of one) cannot be shared out to tasks."""
    from dataclasses import replace

    project = replace(labelport.load(project_dir))
    with pytest.raises(UsageError, match="reads the project again in each task"):
        labelport.convert(project, "TSV_IOB", tmp_path / "out", engine="ray")
    assert not (tmp_path / "out").exists()


def test_a_bad_file_read_in_a_task_is_refused_as_by_one_process(local_ray, tmp_path):
    """A file read in a task (not the first, which the parent reads) that is not
    what it says: the one line one process gives, exit 2, nothing written, and
    no task left writing under the removed stage."""
    folder, work = tmp_path / "in", tmp_path / "work"
    folder.mkdir()
    work.mkdir()
    for n in range(8):
        (folder / f"f{n}.conll").write_text("EU B-ORG\nrejects O\n\n" if n != 5 else "EU B-ORG\nrejects\n\n")
    code, _, one = run_cli("convert", folder, "-f", "TSV_IOB", "-o", work / "OUT")
    code, stdout, stderr = run_cli("convert", folder, "-f", "TSV_IOB", "-o", work / "OUT", "--engine", "ray",
                                   "--ray-address", local_ray, timeout=300)
    assert assert_refused(code, stdout, stderr, work, work / "OUT") == one.rstrip("\n")
    assert "f5.conll:2" in one


def test_a_folder_changed_after_loading_is_refused_by_the_tasks(local_ray, project_dir, tmp_path):
    """Each task reads its files again (the forked processes of --jobs share the
    loaded project): a folder that gained a file since it was loaded would
    shift every chunk's files, so the tasks refuse it and nothing is written."""
    folder = tmp_path / "project"
    shutil.copytree(project_dir, folder)
    project = labelport.load(folder)
    shutil.copy(next(folder.glob("*.json")), folder / "0-added.json")
    with pytest.raises(UsageError, match="changed while it was converted"):
        labelport.convert(project, "TSV_IOB", tmp_path / "out", engine="ray")
    assert not (tmp_path / "out").exists()


def test_documents_of_one_name_fall_back_to_one_process(local_ray, project_dir, tmp_path):
    """Two files holding documents of one name, in different tasks' chunks: as
    with --jobs, the merge cannot name the second ``-2`` and one process writes
    it all again, the same bytes as one process from the start."""
    twin = tmp_path / "twin"
    shutil.copytree(project_dir, twin)
    for path in sorted(twin.glob("*.json"))[12:14]:
        shutil.copy(path, twin / f"zz-copy-{path.name}")
    labelport.convert(labelport.load(twin), "TSV_IOB", tmp_path / "one")
    labelport.convert(labelport.load(twin), "TSV_IOB", tmp_path / "ray", engine="ray")
    written = files(tmp_path / "ray")
    assert written == files(tmp_path / "one")
    assert any(name.endswith("-2.tsv") for name in written)
