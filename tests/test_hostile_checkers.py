"""The checking kernel every ``labelport validate --target`` shares
(labelport.validate.walk and .findings), held to the same behaviour for
all four targets:

- a zip that is refused part way through unpacking leaves nothing behind,
  not even the temporary folder it was being unpacked into;
- one hidden-file rule: junk a zip tool or an editor leaves (``.git/``,
  ``__MACOSX/``, ``.DS_Store``, ``._x``) changes no finding;
- a zip of a folder reads like the folder, its files named ``<zip>/<name>``;
- one cap and one summary shape for what is past it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import WNUT17_FIXTURES, run_cli
from hostile import assert_refused
from labelport.report import Finding
from labelport.validate import validate
from labelport.validate.findings import CAP, Findings

SOURCE = WNUT17_FIXTURES / "wnut17train.head.conll"
#: a format of each target, and the options its output needs to be checked whole
TARGETS = {
    "comprehend": ("AMAZON_COMPREHEND_CSV", []),
    "azure": ("AZURE_AUTOML_CSV", ["--split", "train=0.8,validation=0.2"]),
    "vertex": ("GCP_VERTEX_AI_CSV", []),
    "hf": ("HF_DATASET", ["--split", "train=0.8,validation=0.2"]),
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    """labelport's own output for each target, made once."""
    made = {}
    for target, (fmt, options) in TARGETS.items():
        out = tmp_path_factory.mktemp(target) / "OUT"
        code, _, stderr = run_cli("convert", SOURCE, "-f", fmt, "-o", out, *options)
        assert code == 0, stderr
        made[target] = out
    return made


def _zip_folder(folder: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())


def _bad_crc_zip(archive: Path, first: Path) -> None:
    """A zip whose first entry (a real file of the output) reads whole and
    whose second fails its CRC: refused part way through unpacking."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.write(first, first.name)
        zf.writestr("b.csv", b"text,label\nhello there,greeting\n")
    data = bytearray(archive.read_bytes())
    at = data.rindex(b"hello there")
    data[at] ^= 0x01
    archive.write_bytes(bytes(data))


@pytest.mark.parametrize("target", list(TARGETS))
def test_a_zip_refused_part_way_leaves_no_unpacked_folder(places, outputs, tmp_path, target):
    inputs, work, out = places
    first = next(p for p in sorted(outputs[target].rglob("*")) if p.is_file())
    _bad_crc_zip(inputs / "in.zip", first)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.run([sys.executable, "-m", "labelport", "validate", str(inputs), "--target", target],
                          env={**os.environ, "TMPDIR": str(tmp)}, capture_output=True, text=True, timeout=120)
    message = assert_refused(proc.returncode, proc.stdout, proc.stderr, work, out)
    assert "in.zip:b.csv" in message and "CRC" in message, message
    assert list(tmp.iterdir()) == [], "the unpacked folder was left behind"
    assert sorted(p.name for p in inputs.iterdir()) == ["in.zip"]


def _junk(folder: Path) -> None:
    """What git, macOS's zip tool and editors leave: each would break a rule if read."""
    for rel, data in {
        ".git/config.csv": b"not,a,valid\ncsv\x00file\n",
        "__MACOSX/._train.csv": b"\x00\x05\x16\x07 resource fork",
        "__MACOSX/train/._train.txt": b"\x00\x05\x16\x07\n\n\n",
        "__MACOSX/train/train.txt": b"a copy\twith tabs\n\n\n",
        ".DS_Store": b"\x00\x00\x00\x01Bud1",
        "._vertex_dataset.json": b"{",
        "train/.train.txt.swp": b"b0VIM 8.2\n\n\n",
        "__pycache__/README.md": b"no front matter\n",
    }.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


@pytest.mark.parametrize("target", list(TARGETS))
def test_hidden_files_change_no_finding(outputs, tmp_path, target):
    clean = validate(outputs[target], target)
    folder = tmp_path / "OUT"
    shutil.copytree(outputs[target], folder)
    _junk(folder)
    assert validate(folder, target) == clean
    # and the junk is not hidden by accident: in plain sight, a checker that reads it complains
    if target == "comprehend":
        (folder / "config.csv").write_bytes(b"not,a,valid\ncsv\x00file\n")
        assert validate(folder, target) != clean


@pytest.mark.parametrize("target", list(TARGETS))
def test_a_zip_reads_like_its_folder(outputs, tmp_path, target):
    folder = outputs[target]
    whole = "OUT.zip" if target == "hf" else None  # hf names a dataset folder in findings about all of it
    expected = [Finding(f.rule, f.message, f.hard, f"OUT.zip/{f.file}" if f.file else whole, f.line)
                for f in validate(folder, target)]
    inputs = tmp_path / "in"
    inputs.mkdir()
    _zip_folder(folder, inputs / "OUT.zip")
    got = validate(inputs, target)
    assert got == expected
    # the report's own checks, for comparison: what the conversion found on the files it wrote
    report = json.loads((folder / "labelport-report.json").read_text("utf-8"))
    assert [c["rule"] for c in report["checks"]] == [f.rule for f in got]


# -- the collector ------------------------------------------------------------------------------


def test_one_cap_one_summary_after_the_last_listed():
    out = Findings(caps={"x.recommend": 2})
    for n in range(1, CAP + 6):
        out.add("x.rule", f"line {n} is wrong", n > 3, "a.txt", n)
        if n == 1:
            out.add("x.other", "once", False, "a.txt")
    for n in range(1, 5):
        out.add("x.recommend", f"tip {n}", False, "b.txt", n)
    out.add("x.rule", "elsewhere", True, "b.txt", 1)
    found = out.done()
    rules = [(f.rule, f.file) for f in found]
    assert rules == ([("x.rule", "a.txt"), ("x.other", "a.txt")] + [("x.rule", "a.txt")] * (CAP - 1)
                     + [("x.rule", "a.txt")] + [("x.recommend", "b.txt")] * 3 + [("x.rule", "b.txt")])
    summary = found[CAP + 1]
    # counted from the first hard one: a summary is hard when any it stands for is
    assert summary.message == f"and 5 more ({CAP + 5} in all) like: line 4 is wrong"
    assert summary.hard and summary.line is None
    assert found[-2].message == "and 2 more (4 in all) like: tip 1" and not found[-2].hard


def test_forgotten_findings_are_not_counted():
    out = Findings()
    out.add("x.rule", "kept", True, "a.txt", 1)
    mark = out.mark()
    for n in range(CAP * 2):
        out.add("x.rule", "dropped", True, "a.txt", n)
    out.restore(mark)
    out.count_more("x.rule", "a.txt", 0)
    assert [f.message for f in out.done()] == ["kept"]
    out.count_more("x.rule", "a.txt", CAP)
    assert [f.message for f in out.done()] == ["kept", f"and 1 more ({CAP + 1} in all) like: kept"]
