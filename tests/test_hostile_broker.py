"""``--broker`` that cannot be used: ``labelport serve`` and ``labelport
worker`` stop before starting, exit 2, one line, nothing written (not even
the job home: LABELPORT_HOME is inside the test's empty folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile import assert_refused
from servers.ports import free_port

import labelport

SRC = Path(labelport.__file__).resolve().parent.parent
PROJECTS = Path(__file__).resolve().parent / "fixtures" / "datasaur"
BLOCK_REDIS = "sys.modules['redis'] = None; "  # as if labelport[redis] were not installed


def run(work: Path, *args: str, block_redis: bool = False) -> tuple[int, str, str]:
    code = f"import sys; {BLOCK_REDIS if block_redis else ''}from labelport.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(SRC), "LABELPORT_HOME": str(work / "home")}
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=work, env=env, capture_output=True, timeout=60,
                          check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def unreachable() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


COMMANDS = {
    "serve": lambda url: ["serve", "--projects", str(PROJECTS), "--client", "a:b", "--port", str(free_port()),
                          "--broker", url],
    "worker": lambda url: ["worker", "--broker", url, "--burst"],
}
CASES = {
    "no redis extra": (unreachable, True, "--broker needs redis: install labelport[redis]"),
    "not a redis URL": (lambda: "http://127.0.0.1:1/0", False,
                        "--broker 'http://127.0.0.1:1/0': expected redis://HOST:PORT/DB (or rediss://, unix://)"),
    "no server there": (unreachable, False, "--broker: cannot reach Redis: "),
    "not a URL": (lambda: "localhost:6379", False, "--broker 'localhost:6379': expected redis://HOST:PORT/DB"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_an_unusable_broker_is_refused_before_anything_starts(tmp_path, command, case):
    pytest.importorskip("starlette")
    if not CASES[case][1]:
        pytest.importorskip("rq")
    url, block_redis, message = CASES[case]
    work = tmp_path / "work"
    work.mkdir()
    code, stdout, stderr = run(work, *COMMANDS[command](url()), block_redis=block_redis)
    refused = assert_refused(code, stdout, stderr, work, work / "out")
    assert refused.startswith(f"labelport: error: {message}"), refused
    assert "serving" not in stdout
