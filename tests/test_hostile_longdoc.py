"""A bad line in a later byte range of one long CoNLL document under --jobs 2
(labelport.readers.long_document): refused with one process's message, the
file and the line of the whole file, exit 2, nothing written
(tests/hostile.py's assert_refused)."""

from __future__ import annotations

import pytest
from conftest import run_cli
from hostile import assert_refused
from test_long_document import SMALL_RANGE, long_file, ranges_of, wnut

from labelport.conversion import parallel
from labelport.readers import long_document


@pytest.fixture(autouse=True)
def small_ranges(monkeypatch):
    monkeypatch.setattr(long_document, "MIN_RANGE", SMALL_RANGE)
    monkeypatch.setenv("LABELPORT_LONG_DOCUMENT_RANGE", str(SMALL_RANGE))  # (the command line's)


def last_chunk(path) -> long_document.ByteRange:
    """The first range of --jobs 2's last chunk (a worker reads from its start)."""
    ranges = ranges_of(path)
    return ranges[parallel.chunks(len(ranges), 2)[-1][0]]


def refused_alike(places, data: bytes, bad: bytes) -> str:
    """The message for ``data`` with a line of the last chunk's first range in its middle made
    a token of x's and ``bad`` (its length kept: the ranges stay the same), with
    --jobs 2 and one process; it names the line's number."""
    inputs, work, out = places
    path = long_file(inputs, data)
    second = last_chunk(path)
    at = data.index(b"\n", second.start + (second.stop - second.start) // 2) + 1
    while (end := data.index(b"\n", at)) - at <= len(bad):  # (a blank line or a short one: the next)
        at = end + 1
    data = data[:at] + bad.rjust(end - at, b"x") + data[end:]
    path.write_bytes(data)
    assert last_chunk(path) == second
    code, stdout, stderr = run_cli("convert", path, "-f", "TSV_IOB", "-o", out, "--jobs", "2")
    shared = assert_refused(code, stdout, stderr, work, out)
    code, stdout, stderr = run_cli("convert", path, "-f", "TSV_IOB", "-o", out)
    assert assert_refused(code, stdout, stderr, work, out) == shared
    line = data[:at].count(b"\n") + 1
    assert shared.startswith(f"labelport: error: {path}:{line}: "), shared
    return shared


def test_a_line_of_other_columns(places):
    assert refused_alike(places, wnut() * 40, b"\tb\tc").endswith("3 columns, the lines before it have 2")


def test_bytes_that_are_not_utf8(places):
    assert "not valid UTF-8" in refused_alike(places, wnut() * 40, b"\xff\tO")


def test_a_tag_with_no_label(places):
    assert "has no label" in refused_alike(places, wnut() * 40, b"\tB-")


def test_a_bare_label_after_iob_tags_in_a_range_of_its_own(places):
    """The last chunk's first tag is a bare label; the file's, from the first range, IOB."""
    data = b"a\tB-x\n\n" * 300 + b"cc\tO\n\n" * 3000
    assert "mixes IOB tags" in refused_alike(places, data, b"\tx")


def test_the_first_line_of_a_range_with_other_columns(places):
    """The columns are the file's first line's, not the range's first line's."""
    inputs, work, out = places
    data = wnut() * 40
    path = long_file(inputs, data)
    first = last_chunk(path)
    end = data.index(b"\n", first.start)
    data = data[: first.start] + b"x\ty\tz".ljust(end - first.start, b"x") + data[end:]
    path.write_bytes(data)
    code, stdout, stderr = run_cli("convert", path, "-f", "CONLL_2003", "-o", out, "--jobs", "2")
    shared = assert_refused(code, stdout, stderr, work, out)
    line = data[: first.start].count(b"\n") + 1
    assert shared == f"labelport: error: {path}:{line}: 3 columns, the lines before it have 2"
