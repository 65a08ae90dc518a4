"""The `parlour` command, run as a real subprocess against a SQLite file set through PARLOUR_*.

What the commands leave behind is then checked through the app itself (in-process HTTP), so
a printed key or a created user is proven to work, not just printed. Independent commands run
concurrently to keep the module quick (each process pays Python's start-up).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from parlour.config import Settings
from parlour.runtime import build_runtime
from tests.http_client import app_client

SECRET = "cli-test-secret-key-that-is-long-enough-for-hs256"
TABLES = ("tenants", "users", "api_keys", "conversations", "participants", "messages")


def _command() -> list[str]:
    script = Path(sys.executable).with_name("parlour")
    return [str(script)] if script.exists() else [sys.executable, "-m", "parlour.cli"]


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class Place:
    """A data folder and its SQLite database, as the command sees them."""

    folder: Path

    @property
    def db(self) -> Path:
        return self.folder / "parlour.db"

    @property
    def url(self) -> str:
        return f"sqlite+aiosqlite:///{self.db}"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARLOUR_")}
        env.update(
            PARLOUR_DATABASE_URL=self.url,
            PARLOUR_DATA_DIR=str(self.folder),
            PARLOUR_SECRET_KEY=SECRET,
            PARLOUR_LOG_LEVEL="warning",
        )
        env.update(extra)
        return env

    async def run(self, *args: str, timeout: float = 60, **env: str) -> Result:
        """`parlour <args>`; a process still running at `timeout` is killed and fails the test."""
        proc = await asyncio.create_subprocess_exec(
            *_command(),
            *args,
            env=self.env(**env),
            cwd=self.folder,  # no stray .env from the repository
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            pytest.fail(f"`parlour {' '.join(args)}` still running after {timeout}s")
        assert proc.returncode is not None
        return Result(proc.returncode, out.decode(), err.decode())

    @asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        """The app over this database, in-process."""
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=self.url,
            data_dir=self.folder,
            secret_key=SECRET,
        )
        rt = build_runtime(settings)
        await rt.start()
        try:
            async with app_client(rt) as http:
                yield http
        finally:
            await rt.stop()


@pytest.fixture
def empty(tmp_path: Path) -> Place:
    folder = tmp_path / "empty"
    folder.mkdir()
    return Place(folder)


@pytest.fixture
def migrated(tmp_path: Path, sqlite_template: Path) -> Place:
    folder = tmp_path / "migrated"
    folder.mkdir()
    shutil.copy(sqlite_template, folder / "parlour.db")
    return Place(folder)


async def test_db_check_is_behind_until_migrate(empty: Place) -> None:
    behind = await empty.run("db", "check")
    assert behind.code == 1, behind.text
    assert "pending migrations" in behind.out
    assert "parlour migrate" in behind.out

    migrate = await empty.run("migrate")
    assert migrate.code == 0, migrate.text
    assert "applied" in migrate.out

    check, again = await asyncio.gather(empty.run("db", "check"), empty.run("migrate"))
    assert check.code == 0, check.text
    assert "no pending migrations" in check.out
    for table in TABLES:
        assert f"table {table}" in check.out, table
    indexes = [line.strip() for line in check.out.splitlines() if line.strip().startswith("index ")]
    assert any("conversations" in i for i in indexes), check.out
    assert again.code == 0, again.text
    assert "the schema is current" in again.out


async def test_a_short_secret_key_stops_any_command_with_a_clear_message(empty: Place) -> None:
    result = await empty.run("db", "check", PARLOUR_SECRET_KEY="too-short")
    assert result.code == 1, result.text
    assert "PARLOUR_SECRET_KEY must be at least 32 bytes" in result.err
    assert "Traceback" not in result.err


async def test_serve_refuses_an_outdated_schema(empty: Place) -> None:
    with socket.socket() as s:  # a free port, in case it wrongly started serving
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    result = await empty.run("serve", "--host", "127.0.0.1", "--port", str(port), timeout=30)
    assert result.code != 0, result.text
    assert "parlour migrate" in result.err, result.text
    assert time.monotonic() - started < 30


async def test_create_user_and_api_key_work_against_the_api(migrated: Place) -> None:
    user, key = await asyncio.gather(
        migrated.run(
            "create-user", "abe@example.com", "--role", "agent", "--name", "Abe",
            "--password", "agent-password",
        ),
        migrated.run("create-api-key", "crm"),
    )  # fmt: skip
    assert user.code == 0, user.text
    assert "created agent abe@example.com" in user.out
    assert key.code == 0, key.text
    raw_key = key.out.strip().splitlines()[-1]
    assert raw_key.startswith("pk_"), key.out

    duplicate = await migrated.run(
        "create-user", "ABE@example.com", "--password", "another-password"
    )
    assert duplicate.code == 1 and "already exists" in duplicate.err, duplicate.text

    async with migrated.client() as http:
        login = await http.post(
            "/api/v1/auth/login", json={"email": "abe@example.com", "password": "agent-password"}
        )
        assert login.status_code == 200, login.text
        assert login.json()["user"]["role"] == "agent"
        assert login.json()["user"]["display_name"] == "Abe"
        http.cookies.clear()
        for headers in ({"X-API-Key": raw_key}, {"Authorization": f"Bearer {raw_key}"}):
            me = await http.get("/api/v1/me", headers=headers)
            assert me.status_code == 200, me.text
            assert me.json()["role"] == "service"
        wrong = await http.get("/api/v1/me", headers={"X-API-Key": raw_key[:-1]})
        assert wrong.status_code == 401


async def test_demo_is_refused_without_parlour_demo(migrated: Place) -> None:
    for env in ({}, {"PARLOUR_DEMO": "0"}):
        refused = await migrated.run("demo", "--if-empty", **env)
        assert refused.code == 1, refused.text
        assert "PARLOUR_DEMO=1" in refused.err
        assert "demo data loaded" not in refused.out
    async with migrated.client() as http:
        login = await http.post(
            "/api/v1/auth/login", json={"email": "admin@example.com", "password": "parlour-demo"}
        )
        assert login.status_code == 401, login.text


async def test_demo_if_empty_twice_loads_once(migrated: Place) -> None:
    first = await migrated.run("demo", "--if-empty", PARLOUR_DEMO="1")
    assert first.code == 0, first.text
    assert "demo data loaded" in first.out
    assert "customer@example.com" in first.out

    async with migrated.client() as http:
        login = await http.post(
            "/api/v1/auth/login",
            json={"email": "admin@example.com", "password": "parlour-demo"},
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        http.cookies.clear()
        listed = await http.get("/api/v1/conversations?scope=all", headers=headers)
        conversations = {c["id"] for c in listed.json()["conversations"]}
    assert conversations

    second = await migrated.run("demo", "--if-empty", PARLOUR_DEMO="1")
    assert second.code == 0, second.text
    assert "already present" in second.out

    async with migrated.client() as http:
        again = await http.get("/api/v1/conversations?scope=all", headers=headers)
        assert {c["id"] for c in again.json()["conversations"]} == conversations
        for email in ("agent@example.com", "customer@example.com"):
            login = await http.post(
                "/api/v1/auth/login", json={"email": email, "password": "parlour-demo"}
            )
            assert login.status_code == 200, email
            http.cookies.clear()  # a script keeps no cookie (it would make a CSRF-checked write)
