"""A fresh, migrated database per backend, and the benchmark's users and conversations.

SQLite gets a file in a temporary folder; PostgreSQL a scratch database on the local server
(`parlour_bench_<pid>`), dropped afterwards. Fixtures are made in-process through Parlour's own
services against the same database the server then serves.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from parlour.auth.principal import Principal
from parlour.auth.service import do_create_user, do_ensure_default_tenant, principal_for
from parlour.auth.tokens import issue_token
from parlour.config import Settings
from parlour.conversations.service import do_create_conversation, do_join
from parlour.core.db import create_engine
from parlour.core.migrations import upgrade
from parlour.models.user import Role
from parlour.runtime import build_runtime

SECRET_KEY = "parlour-benchmark-secret-key-not-for-production-use"
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class BackendUnavailable(Exception):
    """The backend cannot be reached (the benchmark skips it and says why)."""


# The backends a run can measure: SQLite at both durability levels, and PostgreSQL.
SQLITE_LEVELS = {"sqlite-full": "FULL", "sqlite-normal": "NORMAL"}
BACKENDS = [*SQLITE_LEVELS, "postgresql"]


@dataclass(frozen=True, slots=True)
class BenchDatabase:
    backend: str  # sqlite-full, sqlite-normal or postgresql
    url: str  # SQLAlchemy URL, as the server gets it
    data_dir: Path

    @property
    def is_sqlite(self) -> bool:
        return self.backend in SQLITE_LEVELS

    @property
    def synchronous(self) -> str:
        """PRAGMA synchronous for SQLite (PARLOUR_SQLITE_SYNCHRONOUS); FULL is the default."""
        return SQLITE_LEVELS.get(self.backend, "FULL")

    def settings(self) -> Settings:
        return Settings(
            _env_file=None,
            database_url=self.url,
            data_dir=self.data_dir,
            secret_key=SECRET_KEY,
            sqlite_synchronous=self.synchronous,
        )


@dataclass(frozen=True, slots=True)
class Pair:
    """One conversation with its customer and agent, and their access tokens."""

    conversation_id: str
    customer_token: str
    agent_token: str


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_database(backend: str, *, pg_admin_url: str) -> AsyncIterator[BenchDatabase]:
    """A migrated, empty database for `backend`, removed when the block ends."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"parlour-bench-{backend}-"))
    try:
        if backend in SQLITE_LEVELS:
            url = f"sqlite+aiosqlite:///{data_dir / 'parlour.db'}"
            await _migrate(url)
            yield BenchDatabase(backend, url, data_dir)
            return
        name = f"parlour_bench_{os.getpid()}"
        try:
            await _pg_admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await _pg_admin(pg_admin_url, f'CREATE DATABASE "{name}"')
        except Exception as exc:
            raise BackendUnavailable(f"PostgreSQL at {pg_admin_url}: {exc!r}") from exc
        base, _, _ = pg_admin_url.rpartition("/")
        url = base.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
        try:
            await _migrate(url)
            yield BenchDatabase(backend, url, data_dir)
        finally:
            await _pg_admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


async def make_pairs(db: BenchDatabase, count: int) -> list[Pair]:
    """`count` active conversations, each with its own customer and agent (no passwords)."""
    runtime = build_runtime(db.settings())
    await runtime.start()
    try:
        async with runtime.uow() as tx:
            tenant = await do_ensure_default_tenant(tx.session, now=tx.now)
            people: list[tuple[Principal, Principal]] = []
            for i in range(count):
                users = [
                    await do_create_user(
                        tx.session,
                        tenant_id=tenant.id,
                        role=role,
                        display_name=f"Bench {role.value} {i}",
                        email=f"bench-{role.value}-{i}@example.com",
                        password=None,
                        now=tx.now,
                    )
                    for role in (Role.customer, Role.agent)
                ]
                people.append((principal_for(users[0]), principal_for(users[1])))
        pairs = []
        for customer, agent in people:
            async with runtime.uow() as tx:
                opened = await do_create_conversation(
                    tx, customer, kind="support", customer_id=None, subject="Benchmark"
                )
                await do_join(tx, agent, opened.id)
            pairs.append(Pair(opened.id, _token(customer, tx.now), _token(agent, tx.now)))
        return pairs
    finally:
        await runtime.stop()


def _token(principal: Principal, now: datetime) -> str:
    assert principal.user_id is not None
    token: str = issue_token(
        secret=SECRET_KEY,
        user_id=principal.user_id,
        tenant_id=principal.tenant_id,
        now=now,
        ttl_seconds=6 * 3600,
    )
    return token
