"""redis: a redis-server for the two-node run, on a free port, gone when the run ends."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from bench.database import BackendUnavailable
from bench.server import free_port


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A started redis-server (no persistence) and its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise BackendUnavailable("redis-server is not installed (`make redis`)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)],
        stdout=(folder / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise BackendUnavailable("redis-server did not start")


def stop_redis(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
