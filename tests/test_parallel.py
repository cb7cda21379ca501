"""--jobs N gives byte-identical output to --jobs 1, report included."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import labelport

FIXTURES = Path(__file__).parent / "fixtures"
WNUT_SLICE = FIXTURES / "wnut17" / "wnut17train.head.conll"


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory):
    """A DATASAUR_SCHEMA project of 24 documents (one file each)."""
    base = tmp_path_factory.mktemp("par")
    sentences = WNUT_SLICE.read_text(encoding="utf-8").split("\n\t\n")
    with open(base / "docs.conll", "w", encoding="utf-8") as fh:
        for n in range(24):
            fh.write("-DOCSTART- -X- -X- O\n\n" + "\n\n".join(sentences[n % 5 : n % 5 + 8]) + "\n\n")
    labelport.convert(labelport.load(base / "docs.conll"), "DATASAUR_SCHEMA", base / "project")
    return base / "project"


@pytest.mark.parametrize("fmt", ["TSV_IOB", "JSON_ADVANCED", "CONLL_2003"])
def test_two_processes_write_the_same_bytes(project_dir, tmp_path, fmt):
    split = {"train": 0.7, "test": 0.3}
    labelport.convert(labelport.load(project_dir), fmt, tmp_path / "one", split=split)
    labelport.convert(labelport.load(project_dir), fmt, tmp_path / "two", split=split, jobs=2)
    assert files(tmp_path / "one") == files(tmp_path / "two")
    report = json.loads((tmp_path / "two" / "labelport-report.json").read_text())
    assert report["counts"]["documents"] == 24


def test_documents_of_one_name_fall_back_to_one_process(project_dir, tmp_path):
    """Two files holding documents of the same name: the sequential run names
    the second `-2`; the parallel one must give exactly that too."""
    twin = tmp_path / "twin"
    shutil.copytree(project_dir, twin)
    for path in sorted(twin.glob("*.json"))[12:14]:
        shutil.copy(path, twin / f"zz-copy-{path.name}")
    labelport.convert(labelport.load(twin), "TSV_IOB", tmp_path / "one")
    labelport.convert(labelport.load(twin), "TSV_IOB", tmp_path / "two", jobs=2)
    written = files(tmp_path / "two")
    assert written == files(tmp_path / "one")
    assert any(name.endswith("-2.tsv") for name in written)
