"""--engine ray refused before any work: exit 2, one line, nothing written
(tests/hostile.py's assert_refused). A missing Ray is simulated as
tests/test_hostile_preflight.py simulates a missing SDK."""

from __future__ import annotations

from pathlib import Path

from conftest import run_cli
from hostile import assert_refused
from test_hostile_preflight import run_without

WNUT_SLICE = Path(__file__).parent / "fixtures" / "wnut17" / "wnut17train.head.conll"


def test_without_ray_nothing_is_converted(places):
    _, work, out = places
    code, stdout, stderr = run_without(("ray",), "convert", WNUT_SLICE, "-f", "TSV_IOB", "-o", out, "--engine", "ray",
                                       home=work)
    message = assert_refused(code, stdout, stderr, work, out)
    assert "--engine ray needs ray: install labelport[ray]" in message


def test_an_engine_labelport_does_not_have(places):
    _, work, out = places
    code, stdout, stderr = run_cli("convert", WNUT_SLICE, "-f", "TSV_IOB", "-o", out, "--engine", "spark")
    assert "--engine" in assert_refused(code, stdout, stderr, work, out)


def test_no_tasks(places):
    _, work, out = places
    code, stdout, stderr = run_cli("convert", WNUT_SLICE, "-f", "TSV_IOB", "-o", out, "--engine", "ray", "--jobs", "0")
    assert "--jobs must be a whole number" in assert_refused(code, stdout, stderr, work, out)


def test_a_datasaur_export_is_not_read_by_tasks(places):
    """A server's export is fetched, not read from a path every task can read again: refused before it is asked for."""
    _, work, out = places
    code, stdout, stderr = run_cli("convert", "datasaur://project/p-1", "-f", "TSV_IOB", "-o", out, "--engine", "ray")
    assert "--engine ray reads a local file, folder or zip" in assert_refused(code, stdout, stderr, work, out)
