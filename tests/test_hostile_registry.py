"""Hostile format names: refused cleanly (tests/hostile.py), nothing written.

A name reaches labelport from ``-f``, ``--from``, the Python API and the
service; these are the names a script or a paste can produce. Each is
refused with exit 2 and one line, before any reading or writing, and the
line shows the name escaped (a newline in a name cannot start a second line).
"""

from __future__ import annotations

import shutil
import time

import pytest

from conftest import WNUT17_FIXTURES, run_cli
from hostile import assert_refused

# (id, typed name, words the message must hold)
NAMES = [
    ("empty", "", ["unknown format ''"]),
    ("blank", "   ", ["unknown format '   '"]),
    ("newline-inside", "TSV\nIOB", [r"'TSV\nIOB'"]),
    ("carriage-return-and-escape", "CSV\r\x1b[2J", [r"'CSV\r\x1b[2J'"]),
    ("dotless-i-is-not-i", "\u0131ob", ["unknown format"]),  # str.upper() would make it IOB
    ("fullwidth-letters", "\uff23\uff33\uff36", ["unknown format"]),
    ("zero-width-space", "TSV_\u200bIOB", ["unknown format"]),
    ("path-like", "../../etc/passwd", ["unknown format '../../etc/passwd'"]),
    ("dotted-module-path", "labelport.formats.tsv_iob", ["unknown format"]),
    ("very-long", "TSV_IOB" * 15_000, ["unknown format"]),
]


@pytest.mark.parametrize(("typed", "words"), [pytest.param(t, w, id=i) for i, t, w in NAMES])
@pytest.mark.parametrize("option", ["-f", "--from"])
def test_a_hostile_name_is_refused(places, option, typed, words):
    inputs, work, out = places
    source = inputs / "ok.conll"
    shutil.copy(WNUT17_FIXTURES / "wnut17train.head.conll", source)
    args = ("-f", typed) if option == "-f" else ("--from", typed, "-f", "CSV")
    started = time.monotonic()
    message = assert_refused(*run_cli("convert", source, *args, "-o", out), work, out)
    assert time.monotonic() - started < 30
    expected = [w.replace("unknown format", "unknown input format") if option == "--from" else w for w in words]
    for word in expected:
        assert word in message, message


@pytest.mark.parametrize("typed", ["PLAIN", "json_tabular", "hf-dataset", "CUSTOM"])
def test_from_a_format_without_a_reader_is_refused(places, typed):
    inputs, work, out = places
    source = inputs / "ok.conll"
    shutil.copy(WNUT17_FIXTURES / "wnut17train.head.conll", source)
    message = assert_refused(*run_cli("convert", source, "--from", typed, "-f", "CSV", "-o", out), work, out)
    assert "but cannot read it; labelport reads DATASAUR_SCHEMA" in message, message


def test_export_with_a_wrong_name_makes_no_job(places, tmp_path, monkeypatch):
    """``labelport export`` refuses before a job (or its folder) exists."""
    inputs, work, out = places
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    source = inputs / "ok.conll"
    shutil.copy(WNUT17_FIXTURES / "wnut17train.head.conll", source)
    for args in (("-f", "tsv_iobb"), ("-f", "CSV", "--from", "tsvv")):
        message = assert_refused(*run_cli("export", source, *args, "--to", work / "dest", "-o", out), work, out)
        assert "did you mean" in message, message
    assert not (tmp_path / "home").exists(), "a job store or export folder was made"
