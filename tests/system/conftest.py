"""A real server process (`parlour serve` under uvicorn) on a free port, per test."""

from __future__ import annotations

import asyncio
import os
import shutil
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
from tests.conftest import PG_URL, TEST_SECRET, _truncate, owner_url, require_service


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
    # Generous: on a loaded 2-core machine importing the app alone has taken 15 s.
    deadline = time.monotonic() + 90
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


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def system_db(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
) -> str:
    """One database per test module and backend, shared by its tests and its server.

    Tests here make their own users and conversations, so they need no reset in between; one
    server per module keeps the suite fast.
    """
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("system") / "parlour.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    pg = request.getfixturevalue("pg_database")
    require_service(pg is not None, f"PostgreSQL is not reachable at {PG_URL}")
    assert pg is not None
    asyncio.run(_truncate(owner_url(pg)))  # rls: the app role may not truncate
    return pg


@pytest.fixture
def db_url(system_db: str) -> str:
    return system_db


@pytest.fixture(scope="module")
def shared_server(system_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server for the whole module, on the module's database."""
    folder = tmp_path_factory.mktemp("server")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=system_db,
        data_dir=folder / "data",
        secret_key=TEST_SECRET,
        allowed_origins=["http://allowed.example"],
    )
    server = start_server(settings, folder / "server.log")
    try:
        yield server
    finally:
        stop_server(server)
