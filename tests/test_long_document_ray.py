"""--engine ray on one long CoNLL document (tests/test_long_document.py for
--jobs): each task reads its byte range (the parent plans them and hands each
task its own: labelport.readers.long_document.ByteRange), the pieces joined
into the bytes of one process, report included.

One local Ray of 2 CPUs serves the module; the command line joins it by its address.
"""

from __future__ import annotations

import json

import pytest

ray = pytest.importorskip("ray")

from conftest import run_cli
from hostile import assert_refused
from test_long_document import SHARED, SMALL_RANGE, SPLIT, long_file, ranges_of, wnut
from test_parallel import files

import labelport
from labelport.readers import long_document


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray of 2 CPUs for the module; its address, for the command line."""
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield context.address_info["address"]
    ray.shutdown()


@pytest.fixture(autouse=True)
def small_ranges(monkeypatch):
    monkeypatch.setattr(long_document, "MIN_RANGE", SMALL_RANGE)
    monkeypatch.setenv("LABELPORT_LONG_DOCUMENT_RANGE", str(SMALL_RANGE))  # (the command line's)


@pytest.mark.parametrize("split", [None, SPLIT], ids=["whole", "split"])
def test_each_format_writes_the_bytes_of_one_process(local_ray, tmp_path, split):
    path = long_file(tmp_path, (wnut() * 40).replace(b"\n", b"\r\n"))
    assert len(ranges_of(path)) > 10
    for fmt in SHARED:
        labelport.convert(path, fmt, tmp_path / fmt / "one", split=split)
        labelport.convert(path, fmt, tmp_path / fmt / "ray", split=split, engine="ray")
        one, on_ray = files(tmp_path / fmt / "one"), files(tmp_path / fmt / "ray")
        assert on_ray == one, fmt
        assert json.loads(one["labelport-report.json"])["counts"]["documents"] == 1


def test_the_command_line_with_jobs(local_ray, tmp_path):
    """`--engine ray --jobs 3`: 12 tasks, a range each or more; the bytes of one process and of `--jobs 2`."""
    path = long_file(tmp_path, wnut() * 40)
    outs = {}
    for name, extra in {"one": (), "jobs": ("--jobs", "2"),
                        "ray": ("--engine", "ray", "--jobs", "3", "--ray-address", local_ray)}.items():
        code, _, stderr = run_cli("convert", path, "-f", "CONLL_2003", "-o", tmp_path / name, "--split",
                                  "train=0.8,test=0.2", "-q", *extra, timeout=300)
        assert code == 0, stderr
        outs[name] = files(tmp_path / name)
    assert outs["ray"] == outs["one"] and outs["jobs"] == outs["one"]


def test_a_bad_line_in_a_later_range(local_ray, places):
    """A task's refusal is one process's: the file and the line, nothing written."""
    inputs, work, out = places
    data = wnut() * 40
    at = len(data) * 3 // 4
    at = data.index(b"\n", at) + 1
    data = data[:at] + b"three\tcolumns\there\n" + data[at:]
    path = long_file(inputs, data)
    line = data[:at].count(b"\n") + 1
    code, stdout, stderr = run_cli("convert", path, "-f", "TSV_IOB", "-o", out, timeout=300)
    one = assert_refused(code, stdout, stderr, work, out)
    code, stdout, stderr = run_cli("convert", path, "-f", "TSV_IOB", "-o", out, "--engine", "ray",
                                   "--ray-address", local_ray, timeout=300)
    assert assert_refused(code, stdout, stderr, work, out) == one
    assert one == f"labelport: error: {path}:{line}: 3 columns, the lines before it have 2"
