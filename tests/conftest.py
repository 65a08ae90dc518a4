"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from PARLOUR_TEST_DATABASE_URL (default: the local server's `test` database).
Each test run creates its own scratch database on that server, so parallel runs never collide.
Outside CI a missing PostgreSQL skips its tests with the reason; in CI (CI=true) it fails.

rls: on PostgreSQL the migrations run as the server's owner role (`postgres`) and the app runs
as the app role (`parlour_app`: no superuser, no BYPASSRLS, owns nothing), so every PostgreSQL
test goes through the row-level security policies. The test code itself (factories, direct
service calls) acts as the all-tenant service (`_tests_act_as_the_service`); the app's edges
set narrower scopes for what they run (every request and socket starts with none).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from parlour.config import Settings
from parlour.core import rls
from parlour.core.clock import Clock, FrozenClock
from parlour.core.db import create_engine
from parlour.core.migrations import upgrade
from parlour.runtime import Runtime, build_runtime

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get(
    "PARLOUR_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256"
# rls: the role the app connects as on PostgreSQL (made once per server; roles are global).
APP_ROLE = "parlour_app"
# rls: the app role's URL of each scratch database -> the owner's URL of the same database.
OWNER_URLS: dict[str, str] = {}


def require_service(available: bool, reason: str) -> None:
    """Skip with a reason outside CI; fail in CI, where every service is mandatory."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"mandatory in CI: {reason}")
    pytest.skip(reason)


async def _migrate(url: str, *, app_role: str | None = None) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine, app_role=app_role)
    finally:
        await engine.dispose()


def _pg_admin_url() -> str:
    return PG_URL.replace("postgresql+asyncpg://", "postgresql://")


async def _pg_exec(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_admin_url(), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _ensure_app_role() -> None:
    # Several test runs share the server: creating the role twice at once is not an error.
    await _pg_exec(
        "DO $$ BEGIN "
        f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )


def app_url(owner_url: str) -> str:
    """The same database as the app role (trust authentication on the test server)."""
    url = make_url(owner_url).set(username=APP_ROLE, password=None)
    return url.render_as_string(hide_password=False)


def owner_url(url: str) -> str:
    """The owner's URL of a test database given its app-role URL (SQLite: the same)."""
    return OWNER_URLS.get(url, url)


@pytest.fixture(autouse=True)
def _tests_act_as_the_service() -> None:
    """rls: test code (factories, direct service calls) acts across tenants, like the CLI."""
    rls.enter(rls.ALL_TENANTS)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "parlour.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A scratch PostgreSQL database for this run, migrated once; None if unreachable."""
    name = f"parlour_test_{os.getpid()}"
    try:
        asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_pg_exec(f'CREATE DATABASE "{name}"'))
        asyncio.run(_ensure_app_role())
    except Exception as exc:
        yield None
        print(f"PostgreSQL unavailable at {PG_URL}: {exc!r}")
        return
    base, _, _ = PG_URL.rpartition("/")
    owner = f"{base}/{name}"
    asyncio.run(_migrate(owner, app_role=APP_ROLE))
    url = app_url(owner)
    OWNER_URLS[url] = owner
    yield url
    asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            # Every table the migrations made (a new domain's tables need no list kept here).
            names = await conn.scalars(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                    "AND tablename <> 'alembic_version'"
                )
            )
            tables = ", ".join(f'"{n}"' for n in names)
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "parlour.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    pg = request.getfixturevalue("pg_database")
    require_service(pg is not None, f"PostgreSQL is not reachable at {PG_URL}")
    assert pg is not None
    asyncio.run(_truncate(owner_url(pg)))
    yield pg


@contextlib.asynccontextmanager
async def running(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Runtime]:
    """A started runtime on `settings` (and `clock`), stopped on the way out: what every
    runtime fixture needs once it has set its settings."""
    rt = build_runtime(settings, clock=clock) if clock is not None else build_runtime(settings)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        migrate_database_url=owner_url(db_url),  # rls: migrations as the owner
        data_dir=tmp_path / "data",
        secret_key=TEST_SECRET,
        allowed_origins=["http://allowed.example"],
    )


@pytest.fixture
async def frozen(settings: Settings, clock: FrozenClock) -> AsyncIterator[Runtime]:
    """A runtime on the test module's frozen `clock`, its in-process sweep off (the tests
    sweep by hand, so a deadline acts exactly when the test says)."""
    settings.sweep_interval_seconds = 0
    async with running(settings, clock) as rt:
        yield rt


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with running(settings) as rt:
        yield rt


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[object]:
    from tests.http_client import app_client

    async with app_client(runtime) as http:
        yield http
