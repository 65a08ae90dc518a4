"""Migration 0016 on a database that already has messages, on SQLite and PostgreSQL: the
backfill indexes what people wrote (not system messages), and the migration goes down and up
again cleanly."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from parlour.core.db import create_engine
from parlour.core.migrations import alembic_config, upgrade
from tests.conftest import PG_URL, _pg_exec, require_service

ROWS = """
INSERT INTO tenants (id, slug, name, settings, created_at)
  VALUES ('t1', 'old', 'Old', '{}', '2026-01-01 00:00:00');
INSERT INTO users (id, tenant_id, role, display_name, is_guest, is_active, created_at)
  VALUES ('u1', 't1', 'customer', 'Cara', false, true, '2026-01-01 00:00:00');
INSERT INTO conversations (id, tenant_id, kind, channel, status, customer_id, created_at,
  last_activity_at, last_seq)
  VALUES ('c1', 't1', 'support', 'web', 'active', 'u1', '2026-01-01 00:00:00',
  '2026-01-01 00:00:00', 2);
INSERT INTO messages (id, tenant_id, conversation_id, seq, kind, body, sender_id, channel,
  created_at)
  VALUES ('m1', 't1', 'c1', 1, 'system', 'Cara opened the conversation about a gasket', NULL,
  'web', '2026-01-01 00:00:00');
INSERT INTO messages (id, tenant_id, conversation_id, seq, kind, body, sender_id, channel,
  created_at)
  VALUES ('m2', 't1', 'c1', 2, 'text', 'the gasket leaks', 'u1', 'web', '2026-01-01 00:00:01');
"""


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database of its own (the shared ones are already at head)."""
    if request.param == "sqlite":
        made = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
        yield made
        await made.dispose()
        return
    name = f"parlour_search_migration_{os.getpid()}"
    try:
        await _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _pg_exec(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # the same rule as the other PostgreSQL tests
        require_service(False, f"PostgreSQL is not reachable at {PG_URL}: {exc!r}")
    made = create_engine(f"{PG_URL.rpartition('/')[0]}/{name}")
    yield made
    await made.dispose()
    await _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _downgrade(conn: Connection, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = conn
    command.downgrade(config, revision)


async def _found(engine: AsyncEngine, word: str) -> list[str]:
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            sql = (
                "SELECT id FROM messages WHERE search_vector @@ "
                "to_tsquery('simple', :w) ORDER BY id"
            )
        else:
            sql = (
                "SELECT m.id FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid "
                "WHERE messages_fts MATCH :w ORDER BY m.id"
            )
        return list(await conn.scalars(text(sql), {"w": word}))


async def test_existing_messages_are_indexed_and_the_migration_reverses(
    engine: AsyncEngine,
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    await upgrade(engine, "0015")
    async with engine.begin() as conn:
        for statement in ROWS.strip().split(";"):
            if statement.strip():
                await conn.execute(text(statement))
    await upgrade(engine, "0016")
    assert await _found(engine, "gasket") == ["m2"]  # the system message is not indexed
    assert await _found(engine, "opened") == []

    async with engine.begin() as conn:
        await conn.run_sync(lambda c: _downgrade(c, url, "0015"))
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            gone = (
                "SELECT count(*) FROM information_schema.columns "
                "WHERE column_name = 'search_vector'"
            )
        else:
            gone = "SELECT count(*) FROM sqlite_master WHERE name LIKE 'messages_fts%'"
        assert await conn.scalar(text(gone)) == 0
        # Messages still insert without the index (no trigger left behind).
        await conn.execute(
            text(
                "INSERT INTO messages (id, tenant_id, conversation_id, seq, kind, body, "
                "channel, created_at) VALUES ('m3', 't1', 'c1', 3, 'text', 'gasket again', "
                "'web', '2026-01-01 00:00:02')"
            )
        )
        await conn.commit()
    await upgrade(engine)
    assert await _found(engine, "gasket") == ["m2", "m3"]
