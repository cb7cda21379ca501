"""Refusals stay refusals whatever the output level or the terminal: --quiet
silences the summary, never the error; a bar on a terminal leaves nothing
behind when the conversion fails (one error line, no traceback, no OUT)."""

from __future__ import annotations

import pytest
from hostile import PREFIX, assert_refused
from test_progress import run_on_terminal

BAD_CONLL = "Ada\tB-PER\nmet\tO\n\nBabbage\tI-\n"


@pytest.mark.parametrize("level", [[], ["--quiet"], ["--verbose"]])
def test_bad_input_is_one_error_line_at_every_level(places, run_cli, level: list[str]) -> None:
    inputs, work, out = places
    source = inputs / "bad.conll"
    source.write_text(BAD_CONLL, encoding="utf-8")
    message = assert_refused(*run_cli("convert", source, "-f", "TSV_IOB", "-o", out, *level), work, out)
    assert message == f"{PREFIX}{source}:4: tag 'I-' has no label"


@pytest.mark.parametrize("flags", [["-q", "-v"], ["--verbose", "--quiet"]])
def test_quiet_with_verbose_is_refused(places, run_cli, flags: list[str]) -> None:
    inputs, work, out = places
    source = inputs / "ok.conll"
    source.write_text("Ada\tB-PER\n", encoding="utf-8")
    message = assert_refused(*run_cli("convert", source, "-f", "TSV_IOB", "-o", out, *flags), work, out)
    assert "not allowed with argument" in message


def test_a_failure_under_a_bar_leaves_one_line_and_nothing_written(places) -> None:
    """The error comes after the bar's line, on a line of its own; nothing is
    left in OUT's folder. The bar stops where the reading stopped (half way), short of 100%."""
    inputs, work, out = places
    source = inputs / "late.conll"
    source.write_text("Ada\tB-PER\n\n" * 200_000 + "Babbage\tI-\n\n" + "Ada\tB-PER\n\n" * 200_000, encoding="utf-8")
    code, screen = run_on_terminal("convert", source, "-f", "TSV_IOB", "-o", out)
    assert code == 2 and "Traceback" not in screen, screen
    lines = [line for line in screen.replace("\r", "\n").split("\n") if line.strip()]
    assert lines[-1] == f"{PREFIX}{source}:400001: tag 'I-' has no label", lines[-3:]
    assert not any("100%" in line for line in lines), lines[-3:]
    assert sorted(work.iterdir()) == []
