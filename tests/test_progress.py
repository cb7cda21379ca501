"""Progress as a user sees it: the command run on a real pseudo-terminal
(python's pty) draws one line per phase with a total and a percent, known
before reading (a folder's files' bytes, one file's size); off a terminal it
prints nothing but the summary; --quiet prints nothing; --verbose adds each
phase's line with its timing and what was skipped."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WNUT = ROOT / "examples" / "wnut17-sample.conll"
NEWSROOM = ROOT / "examples" / "newsroom-export.zip"
_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_on_terminal(*args: object, env: dict[str, str] | None = None, timeout: float = 120) -> tuple[int, str]:
    """``python -m labelport ARGS`` with stdin, stdout and stderr on a pseudo-terminal
    160 columns wide: (exit code, what the terminal received, escapes removed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "labelport", *map(str, args)], stdin=slave, stdout=slave,
                            stderr=slave, env={**os.environ, "TERM": "xterm-256color", **(env or {})},
                            close_fds=True)
    os.close(slave)
    received = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 1 << 16)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                received += data
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, _ESCAPE.sub("", received.decode("utf-8", "replace"))


def _frames(screen: str, phase: str) -> list[str]:
    """Every drawing of a phase's line (rich redraws it in place with \\r)."""
    return [frame.strip() for frame in re.split(r"[\r\n]", screen) if frame.strip().startswith(phase)]


#: one CoNLL sentence: 6 tokens, 3 spans (2 PER, 1 LOC)
SENTENCE = "Ada\tB-PER\nmet\tO\nCharles\tB-PER\nBabbage\tI-PER\nin\tO\nLondon\tB-LOC\n\n"


def _conll_files(folder: Path, n: int, sentences: int) -> int:
    """``n`` CoNLL files of ``sentences`` sentences each; their bytes in all."""
    folder.mkdir()
    for i in range(n):
        (folder / f"part-{i:02}.conll").write_text(SENTENCE * sentences, encoding="utf-8")
    return n * len(SENTENCE.encode()) * sentences


def _decimal(n: int, unit: str) -> str:
    """A byte count as rich's DownloadColumn shows it in ``unit`` (decimal, one digit)."""
    return f"{n / {'kB': 1e3, 'MB': 1e6}[unit]:.1f}"


def test_a_folder_of_files_shows_its_total_and_percent(tmp_path: Path) -> None:
    total = _conll_files(tmp_path / "in", 30, 100)
    code, screen = run_on_terminal("convert", tmp_path / "in", "-f", "TSV_IOB", "-o", tmp_path / "OUT")
    assert code == 0, screen
    frames = _frames(screen, "convert")
    assert frames, screen
    last = frames[-1]
    assert "100%" in last and f"/{_decimal(total, 'kB')} kB" in last and "documents: 30" in last, last
    assert "labelport: TSV_IOB: read 30 documents" in screen


@pytest.mark.parametrize("how", ["zip", "jobs"])
def test_a_zip_or_jobs_show_the_same_total(tmp_path: Path, how: str) -> None:
    """A zip's total is its members' declared sizes; --jobs advances as chunks come back."""
    total = _conll_files(tmp_path / "in", 30, 100)
    source = tmp_path / "in"
    if how == "zip":
        source = tmp_path / "in.zip"
        with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted((tmp_path / "in").iterdir()):
                archive.write(path, path.name)
    code, screen = run_on_terminal("convert", source, "-f", "TSV_IOB", "-o", tmp_path / "OUT",
                                   *(["--jobs", "2"] if how == "jobs" else []))
    assert code == 0, screen
    last = _frames(screen, "convert")[-1]
    assert "100%" in last and f"{_decimal(total, 'kB')}/{_decimal(total, 'kB')} kB" in last, last


def test_one_large_file_advances_by_its_bytes(tmp_path: Path) -> None:
    big = tmp_path / "big.conll"
    big.write_bytes(SENTENCE.encode() * 150_000)  # ~7 MB
    size = big.stat().st_size
    code, screen = run_on_terminal("convert", big, "-f", "TSV_IOB", "-o", tmp_path / "OUT")
    assert code == 0, screen
    frames = _frames(screen, "convert")
    percents = [int(m.group(1)) for m in (re.search(r"\s(\d+)%", f) for f in frames) if m]
    assert percents and percents[-1] == 100, frames
    # the one document is read part way while the bar moves: a percent short of 100 with it
    assert any(0 < p < 100 for p in percents), frames
    assert f"/{_decimal(size, 'MB')} MB" in frames[-1], frames[-1]
    assert "documents: 1" in frames[-1]


def test_a_target_format_shows_the_check_phase(tmp_path: Path) -> None:
    code, screen = run_on_terminal("convert", NEWSROOM, "-f", "AMAZON_COMPREHEND_CSV", "-o", tmp_path / "OUT")
    assert code == 0, screen
    assert _frames(screen, "convert") and _frames(screen, "check"), screen


def test_export_shows_the_upload_in_bytes(tmp_path: Path) -> None:
    code, screen = run_on_terminal("export", WNUT, "-f", "TSV_IOB", "--to", tmp_path / "dest", "-o",
                                   tmp_path / "OUT", "--verbose", env={"LABELPORT_HOME": str(tmp_path / "home")})
    assert code == 0, screen
    files = [p for p in (tmp_path / "OUT").rglob("*") if p.is_file()]
    upload = _frames(screen, "upload")
    assert upload and "100%" in upload[-1] and re.search(r"\d+(\.\d)?/\d+(\.\d)? kB", upload[-1]), upload
    assert "labelport: notify: skipped (no notice asked for)" in screen
    assert len(files) == 2  # the data and the report, both uploaded
    assert sorted(p.name for p in (tmp_path / "dest").rglob("*") if p.is_file()) == sorted(p.name for p in files)


def test_off_a_terminal_only_the_summary(tmp_path: Path, run_cli) -> None:
    _conll_files(tmp_path / "in", 3, 2)
    code, stdout, stderr = run_cli("convert", tmp_path / "in", "-f", "TSV_IOB", "-o", tmp_path / "OUT")
    assert code == 0 and stdout == ""
    assert stderr.splitlines() == [
        "labelport: TSV_IOB: read 3 documents, 6 lines, 36 tokens, 18 spans; "
        "wrote 3 documents, 6 lines, 18 spans in 3 files",
        "labelport: spans per label (read -> written when fewer): LOC 6, PER 12"]


def test_quiet_prints_nothing_but_errors(tmp_path: Path, run_cli) -> None:
    code, stdout, stderr = run_cli("convert", NEWSROOM, "-f", "TSV_IOB", "-o", tmp_path / "OUT", "--quiet")
    assert (code, stdout, stderr) == (0, "", "")
    assert (tmp_path / "OUT" / "labelport-report.json").is_file()
    code, screen = run_on_terminal("convert", NEWSROOM, "-f", "TSV_IOB", "-o", tmp_path / "OUT2", "-q")
    assert (code, screen.strip()) == (0, "")
    code, stdout, stderr = run_cli("convert", tmp_path / "missing", "-f", "TSV_IOB", "-o", tmp_path / "OUT3", "-q")
    assert code == 2 and stdout == "" and stderr.count("\n") == 1 and stderr.startswith("labelport: error: ")


def test_verbose_names_each_phase_and_what_was_skipped(tmp_path: Path, run_cli) -> None:
    code, _, stderr = run_cli("convert", NEWSROOM, "-f", "AMAZON_COMPREHEND_CSV", "-o", tmp_path / "OUT", "-v")
    assert code == 0, stderr
    assert re.search(r"^labelport: convert: [\d.]+ kB of [\d.]+ kB, documents: 2, lines or rows: 6 in [\d.]+ s$",
                     stderr, re.M), stderr
    assert re.search(r"^labelport: check: \d+ findings? \(0 breaking a rule\) in [\d.]+ s$", stderr, re.M), stderr
    code, _, stderr = run_cli("convert", NEWSROOM, "-f", "TSV_IOB", "-o", tmp_path / "OUT2", "-v")
    assert "labelport: check: skipped (TSV_IOB is checked against no service's rules)\n" in stderr
    code, _, stderr = run_cli("push", tmp_path / "OUT2", tmp_path / "dest", "-v")
    assert code == 0 and re.search(r"^labelport: upload: [\d,.]+ (bytes|kB) of [\d,.]+ (bytes|kB) in", stderr, re.M)
    code, _, stderr = run_cli("push", tmp_path / "OUT2", tmp_path / "dest", "-v")
    assert code == 0 and "labelport: upload: skipped 3 unchanged (the same bytes are there): " in stderr, stderr


@pytest.mark.parametrize("flags", [("-q", "-v"), ("--quiet", "--verbose")])
def test_quiet_and_verbose_do_not_go_together(tmp_path: Path, run_cli, flags: tuple[str, str]) -> None:
    code, _, stderr = run_cli("convert", NEWSROOM, "-f", "TSV_IOB", "-o", tmp_path / "OUT", *flags)
    assert code == 2 and "not allowed with argument" in stderr and not (tmp_path / "OUT").exists()
