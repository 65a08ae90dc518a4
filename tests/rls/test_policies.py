"""Row-level security without the application: raw SQL as the app role, for every registered
table x command x database role.

A scratch database (PostgreSQL only: SQLite has no row-level security) is migrated and filled by
the owner (`world.build`: customers a1 and a2 in tenant A, customer b in tenant B, a row of
every table for each). Then, connected as the app role (`parlour_app`: no superuser, no
BYPASSRLS, owns nothing) with the settings of an actor in tenant A acting for a1, each command
is tried on every row that actor must not reach: B's rows always, a2's where rows belong to one
customer, the tenant's own where a table is for admins (or, for a visitor, not public). Each
attempt runs in a transaction that is rolled back, so one attempt cannot help another. A
positive control shows each actor does reach its own rows, so "nothing visible" is not vacuous.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import asyncpg
import pytest

from parlour.core.db import Base, create_engine
from parlour.core.migrations import upgrade
from parlour.models import rls
from tests.conftest import APP_ROLE, PG_URL, _ensure_app_role, _pg_exec, require_service
from tests.rls.world import World, build, primary_key

_names = count(1)
CUSTOMER_KINDS = {"customer-owned", "conversation", "rating", "users", "user-owned"}
PUBLIC_KINDS = {"tenant", "tenant-readable"}


def kind_of(table: str) -> str:
    return rls.POLICIES[table].kind.split("(")[0]


@dataclass(frozen=True)
class Actor:
    name: str
    role: str | None  # None: sets nothing at all
    user: str = ""  # "customer" or "agent" of world a1, or ""


ACTORS = [
    Actor("customer", "customer", "customer"),
    Actor("agent", "agent", "agent"),
    Actor("admin", "admin", "agent"),
    Actor("api_key", "api_key"),
    Actor("service", "service"),
    Actor("visitor", "visitor"),
    Actor("nobody", None),
]


def forbidden(actor: Actor, world: str, table: str) -> bool:
    """Whether `actor` (in tenant A, acting for a1) must not reach `world`'s row of `table`."""
    kind = kind_of(table)
    if actor.role is None or world == "b":
        return True
    if actor.role == "visitor":
        return kind not in PUBLIC_KINDS
    if world == "a2" and actor.role == "customer":
        return kind in CUSTOMER_KINDS
    if actor.role == "customer":
        return kind in ("staff", "admin")
    if actor.role == "agent":
        return kind in ("admin", "user-owned")  # a customer's revoked tokens are not an agent's
    return False


@dataclass
class Database:
    owner: str
    app: str
    worlds: dict[str, World]


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    """A database of its own (other tests truncate theirs), migrated and filled by the owner."""
    name = f"parlour_rls_{os.getpid()}_{next(_names)}"
    try:
        asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_pg_exec(f'CREATE DATABASE "{name}"'))
        asyncio.run(_ensure_app_role())
    except Exception as exc:
        require_service(False, f"PostgreSQL is not reachable at {PG_URL}: {exc!r}")
    base, _, _ = PG_URL.rpartition("/")
    owner = f"{base}/{name}"

    async def prepare() -> dict[str, World]:
        engine = create_engine(owner)
        try:
            await upgrade(engine, app_role=APP_ROLE)
        finally:
            await engine.dispose()
        conn = await asyncpg.connect(_dsn(owner))
        try:
            return await build(conn)
        finally:
            await conn.close()

    worlds = asyncio.run(prepare())
    app = _dsn(owner).replace("postgresql://postgres@", f"postgresql://{APP_ROLE}@")
    assert APP_ROLE in app
    try:
        yield Database(_dsn(owner), app, worlds)
    finally:
        asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def settings_of(actor: Actor, worlds: dict[str, World]) -> tuple[str, str, str] | None:
    if actor.role is None:
        return None
    a1 = worlds["a1"]
    user = {"customer": a1.customer_id, "agent": a1.agent_id}.get(actor.user, "")
    return actor.role, a1.tenant_id, user


async def _in_rolled_back_tx(db: Database, actor: Actor, work: Any) -> Any:
    """Run `work(conn)` as the app role with the actor's settings, then roll back."""
    conn = await asyncpg.connect(db.app)
    try:
        tx = conn.transaction()
        await tx.start()
        try:
            given = settings_of(actor, db.worlds)
            if given is not None:
                await conn.execute(
                    "SELECT set_config('parlour.role', $1, true), "
                    "set_config('parlour.tenant_id', $2, true), "
                    "set_config('parlour.user_id', $3, true)",
                    *given,
                )
            return await work(conn)
        finally:
            await tx.rollback()
    finally:
        await conn.close()


def _where(table: str, row: dict[str, Any], start: int = 1) -> tuple[str, list[Any]]:
    keys = primary_key(table)
    sql = " AND ".join(f'"{k}" = ${i}' for i, k in enumerate(keys, start))
    return sql, [row[k] for k in keys]


def victims(db: Database, actor: Actor, table: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name, world in db.worlds.items():
        row = world.rows[table]
        if forbidden(actor, name, table) and row not in found:
            found.append(row)
    return found


def _attempt(table: str, command: str, row: dict[str, Any]) -> Any:
    """`command` on `row` (its key, or for INSERT a copy of it); what the database answered."""
    where, keys = _where(table, row)

    async def attempt(conn: asyncpg.Connection) -> Any:
        if command == "SELECT":
            return await conn.fetchval(f'SELECT count(*) FROM "{table}" WHERE {where}', *keys)
        if command == "UPDATE":
            first = primary_key(table)[0]
            return await conn.execute(
                f'UPDATE "{table}" SET "{first}" = "{first}" WHERE {where}', *keys
            )
        if command == "DELETE":
            return await conn.execute(f'DELETE FROM "{table}" WHERE {where}', *keys)
        columns = ", ".join(f'"{c}"' for c in row)
        params = ", ".join(f"${i}" for i in range(1, len(row) + 1))
        try:
            await conn.execute(
                f'INSERT INTO "{table}" ({columns}) VALUES ({params})', *row.values()
            )
        except asyncpg.InsufficientPrivilegeError as exc:
            return str(exc)
        return "inserted"

    return attempt


TABLES = sorted(rls.POLICIES)
COMMANDS = ["SELECT", "INSERT", "UPDATE", "DELETE"]


@pytest.mark.parametrize("actor", ACTORS, ids=lambda a: a.name)
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("table", TABLES)
def test_no_actor_reaches_rows_that_are_not_theirs(
    database: Database, table: str, command: str, actor: Actor
) -> None:
    rows = victims(database, actor, table)
    assert rows, "every actor has rows it must not reach (tenant B's at least)"
    for row in rows:
        attempt = _attempt(table, command, row)
        outcome = asyncio.run(_in_rolled_back_tx(database, actor, attempt))
        expected = {
            "SELECT": 0,
            "UPDATE": "UPDATE 0",
            "DELETE": "DELETE 0",
        }.get(command)
        if command == "INSERT":
            assert "row-level security" in outcome, (table, actor.name, outcome)
        else:
            assert outcome == expected, (table, command, actor.name, row)


READERS = [(t, a) for t in TABLES for a in ACTORS if a.role and not forbidden(a, "a1", t)]


@pytest.mark.parametrize(("table", "actor"), READERS, ids=[f"{t}-{a.name}" for t, a in READERS])
def test_each_actor_reaches_its_own_rows(database: Database, table: str, actor: Actor) -> None:
    """The control: what an actor may read, it does read (a1's row, or the tenant's)."""
    row = database.worlds["a1"].rows[table]
    where, keys = _where(table, row)

    async def read(conn: asyncpg.Connection) -> Any:
        return await conn.fetchval(f'SELECT count(*) FROM "{table}" WHERE {where}', *keys)

    assert asyncio.run(_in_rolled_back_tx(database, actor, read)) == 1


def _moving_columns(table: str, actor: Actor) -> list[str]:
    """The columns that tie `table`'s rows to a tenant (or, for a customer, to a customer)."""
    wanted = ["customer_id", "conversation_id"] if actor.role == "customer" else ["tenant_id"]
    keys = primary_key(table)
    return [c for c in wanted if c in Base.metadata.tables[table].columns and c not in keys]


MOVERS = [(t, a) for t in TABLES for a in ACTORS if a.role and _moving_columns(t, a)]


@pytest.mark.parametrize(("table", "actor"), MOVERS, ids=[f"{t}-{a.name}" for t, a in MOVERS])
def test_no_actor_moves_its_own_row_to_another_tenant_or_customer(
    database: Database, table: str, actor: Actor
) -> None:
    """UPDATE's WITH CHECK: a row the actor may change cannot be given to tenant B (nor, by a
    customer, to customer a2); at best nothing is updated."""
    row = database.worlds["a1"].rows[table]
    other = {"tenant_id": database.worlds["b"].tenant_id}
    if actor.role == "customer":
        a2 = database.worlds["a2"]
        other = {"customer_id": a2.customer_id, "conversation_id": a2.rows["conversations"]["id"]}
    changes = {c: other[c] for c in _moving_columns(table, actor)}
    sets = ", ".join(f'"{c}" = ${i}' for i, c in enumerate(changes, 1))
    where, keys = _where(table, row, start=len(changes) + 1)

    async def move(conn: asyncpg.Connection) -> str:
        try:
            return str(
                await conn.execute(
                    f'UPDATE "{table}" SET {sets} WHERE {where}', *changes.values(), *keys
                )
            )
        except asyncpg.InsufficientPrivilegeError as exc:
            return str(exc)

    outcome = asyncio.run(_in_rolled_back_tx(database, actor, move))
    assert outcome == "UPDATE 0" or "row-level security" in outcome, (table, actor.name, outcome)


def test_with_no_settings_every_table_looks_empty(database: Database) -> None:
    async def counts(conn: asyncpg.Connection) -> dict[str, int]:
        return {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"') for t in TABLES}

    assert set(asyncio.run(_in_rolled_back_tx(database, ACTORS[-1], counts)).values()) == {0}


def test_the_service_for_all_tenants_sees_every_row(database: Database) -> None:
    """The other end: `service_all` (the sweep, the job claimer) reads all three worlds."""
    everyone = Actor("service_all", "service_all")

    async def counts(conn: asyncpg.Connection) -> dict[str, int]:
        return {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"') for t in TABLES}

    seen = asyncio.run(_in_rolled_back_tx(database, everyone, counts))
    assert all(n >= 2 for n in seen.values()), seen


def test_the_app_role_cannot_bypass_the_policies(database: Database) -> None:
    async def standing(conn: asyncpg.Connection) -> Any:
        return await conn.fetchrow(
            "SELECT rolsuper, rolbypassrls, "
            "(SELECT count(*) FROM pg_tables WHERE tableowner = current_user) AS owns "
            "FROM pg_roles WHERE rolname = current_user"
        )

    row = asyncio.run(_in_rolled_back_tx(database, ACTORS[-1], standing))
    assert (row["rolsuper"], row["rolbypassrls"], row["owns"]) == (False, False, 0)
