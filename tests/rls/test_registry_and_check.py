"""The registry covers every table, its rules keep the promises, and `parlour db check` (a real
subprocess on a PostgreSQL database of its own) reports row-level security and fails on a gap.

A table added without a line in `parlour.models.rls` fails `test_every_table_is_registered_or_
global`: that is how a merged branch's new tables are caught.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import asyncpg
import pytest

from parlour.core.db import Base
from parlour.models import *  # noqa: F403  (every table on Base.metadata)
from parlour.models import rls
from tests.conftest import (
    APP_ROLE,
    PG_URL,
    TEST_SECRET,
    _ensure_app_role,
    _pg_exec,
    require_service,
)

_names = count(1)


def test_every_table_is_registered_or_global() -> None:
    tables = set(Base.metadata.tables)
    missing = sorted(tables - set(rls.POLICIES) - rls.GLOBAL_TABLES)
    assert not missing, (
        f"add these tables to parlour.models.rls.POLICIES (or GLOBAL_TABLES): {missing}"
    )
    assert not set(rls.POLICIES) - tables, "the registry names tables the models do not have"


@pytest.mark.parametrize("table", sorted(rls.POLICIES))
def test_rules_read_only_the_settings_and_check_every_write(table: str) -> None:
    rule = rls.POLICIES[table]
    for command, (using, check) in rule.expressions().items():
        for expression in (using, check):
            if expression is None:
                continue
            assert "parlour.role" in expression, (table, command)
            assert not re.fullmatch(r"\(?\s*true\s*\)?", expression.strip(), re.I), (table, command)
        if command == "UPDATE":
            assert using and check, f"{table}: UPDATE needs USING and WITH CHECK"
    statements = rls.policy_ddl(table, rule)
    assert f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY' in statements
    assert sum("CREATE POLICY" in s for s in statements) == 4


def _command() -> list[str]:
    script = Path(sys.executable).with_name("parlour")
    return [str(script)] if script.exists() else [sys.executable, "-m", "parlour.cli"]


async def _run(tmp: Path, *args: str, **env: str) -> tuple[int, str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("PARLOUR_") or k == "PATH"
    }
    environment.update(PARLOUR_DATA_DIR=str(tmp), PARLOUR_SECRET_KEY=TEST_SECRET, **env)
    process = await asyncio.create_subprocess_exec(
        *_command(),
        *args,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


@pytest.fixture
def urls() -> Iterator[tuple[str, str]]:
    """(owner URL, app-role URL) of a fresh, empty database."""
    name = f"parlour_check_{os.getpid()}_{next(_names)}"
    try:
        asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_pg_exec(f'CREATE DATABASE "{name}"'))
        asyncio.run(_ensure_app_role())
    except Exception as exc:
        require_service(False, f"PostgreSQL is not reachable at {PG_URL}: {exc!r}")
    base, _, _ = PG_URL.rpartition("/")
    owner = f"{base}/{name}"
    app = owner.replace("://postgres@", f"://{APP_ROLE}@")
    assert APP_ROLE in app
    try:
        yield owner, app
    finally:
        asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _owner_exec(owner: str, sql: str) -> None:
    conn = await asyncpg.connect(owner.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_db_check_reports_rls_and_fails_on_every_gap(
    urls: tuple[str, str], tmp_path: Path
) -> None:
    owner, app = urls
    as_app = {"PARLOUR_DATABASE_URL": app, "PARLOUR_MIGRATE_DATABASE_URL": owner}

    # The operator's path: migrate as the owner (granting the app role), check as the app.
    code, out = await _run(tmp_path, "migrate", **as_app)
    assert code == 0, out
    code, out = await _run(tmp_path, "db", "check", **as_app)
    assert code == 0, out
    for table in rls.POLICIES:
        assert f"  {table}: enabled, forced; {table}_delete (DELETE)" in out, (table, out)
    assert f"app role: {APP_ROLE} (superuser: False, bypassrls: False, owns tables: 0)" in out

    # The owner (a superuser here) is no app role.
    code, out = await _run(tmp_path, "db", "check", PARLOUR_DATABASE_URL=owner)
    assert code == 1, out
    assert "PROBLEM: postgres is a superuser" in out

    # A table losing FORCE or a policy, and a table nobody registered, each fail the check.
    await _owner_exec(
        owner,
        "ALTER TABLE messages NO FORCE ROW LEVEL SECURITY; "
        "DROP POLICY orders_update ON orders; "
        "CREATE TABLE sneaky (tenant_id text)",
    )
    code, out = await _run(tmp_path, "db", "check", **as_app)
    assert code == 1, out
    assert "messages: enabled, NOT FORCED" in out
    assert "PROBLEM: row-level security is not forced" in out
    assert "PROBLEM: no UPDATE policy" in out
    assert "sneaky: DISABLED, NOT FORCED; no policies" in out
    assert "PROBLEM: not in the row-level security registry" in out
