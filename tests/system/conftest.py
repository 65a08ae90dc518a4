"""A real server process (`parlour serve` under uvicorn) on a free port, per test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from parlour.config import Settings


@dataclass
class LiveServer:
    url: str
    ws_url: str
    settings: Settings
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(settings: Settings, log_path: Path, **extra_env: str) -> LiveServer:
    port = free_port()
    env = {
        **os.environ,
        "PARLOUR_DATABASE_URL": settings.resolved_database_url(),
        "PARLOUR_DATA_DIR": str(settings.data_dir),
        "PARLOUR_SECRET_KEY": settings.secret_key,
        "PARLOUR_ALLOWED_ORIGINS": ",".join(settings.allowed_origins),
        "PARLOUR_LOG_LEVEL": "warning",
        **extra_env,
    }
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "parlour.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return LiveServer(url, f"ws://127.0.0.1:{port}", settings, process, log_path)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not become ready: {log_path.read_text()}")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def live_server(settings: Settings, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(settings, tmp_path / "server.log")
    try:
        yield server
    finally:
        stop_server(server)
