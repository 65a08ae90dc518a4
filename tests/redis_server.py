"""redis: a real `redis-server` (Debian's package; `make redis` installs it) on a free port,
started by the test, which can kill it and start it again on the same port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_service


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [
                binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.folder),
            ],
            stdout=(self.folder / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.folder / "redis.log").read_text())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """Gone at once, as a crash: SIGKILL, no goodbye to the clients."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def redis_server(folder: Path) -> RedisServer:
    """A started server, or a skip (a failure in CI) when redis-server is not installed."""
    require_service(
        shutil.which("redis-server") is not None,
        "redis-server is not installed (`make redis` installs Debian's package)",
    )
    server = RedisServer(folder)
    server.start()
    return server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One redis-server for the run; each test uses its own key/channel prefix."""
    server = redis_server(tmp_path_factory.mktemp("redis"))
    try:
        yield server.url
    finally:
        server.kill()
