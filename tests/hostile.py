"""The adversarial corpus's one assertion: refused cleanly, nothing written.

The README's exit codes: bad input or usage is exit 2 with exactly one line
``labelport: error: <file>[:<line>]: <what>`` on stderr, no traceback, and
nothing left behind. Every ``tests/test_hostile_*.py`` case and the fuzz
tests go through :func:`assert_refused`, so "refused" means one thing.
"""

from __future__ import annotations

from pathlib import Path

PREFIX = "labelport: error: "


def assert_refused(code: int, stdout: str, stderr: str, work: Path, out: Path) -> str:
    """Exit 2, one ``labelport: error:`` line, no traceback, and nothing in
    ``work`` (OUT's parent, which the test made empty): no OUT, no hidden
    temporary sibling. Returns the message without its newline."""
    assert code == 2, (code, stderr)
    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr
    assert stderr.endswith("\n") and stderr.count("\n") == 1, f"not exactly one line on stderr: {stderr!r}"
    assert stderr.startswith(PREFIX), stderr
    assert not out.exists(), "OUT was left behind"
    leftovers = sorted(p.name for p in work.iterdir())
    assert not [n for n in leftovers if n.startswith(f".{out.name}.")], f"temporary siblings left: {leftovers}"
    assert leftovers == [], f"left in OUT's folder: {leftovers}"
    return stderr.rstrip("\n")
