"""A database with rows in every registered table for three customers, made by the owner.

Worlds `a1` and `a2` are two customers (each with an agent) in tenant A; world `b` is a customer
(and agent) in tenant B. Each world has one row in every table of the row-level security
registry (the tenant-wide tables, `tenants` and `ticket_counters`, one per tenant), filled from
the table's own metadata, so a table added to the registry gets rows here without a line.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, LargeBinary, String, Table, Text
from sqlalchemy.types import TypeDecorator

from parlour.core.db import Base
from parlour.models import *  # noqa: F403  (every table on Base.metadata)
from parlour.models import rls

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# Tables with one row per tenant (their key is the tenant).
PER_TENANT = {"tenants", "ticket_counters"}


_numbers = itertools.count(10)


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass
class World:
    """One customer's rows: table -> the row's column values."""

    name: str
    tenant_id: str
    customer_id: str
    agent_id: str
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)


def registered_tables() -> list[Table]:
    """The registry's tables, parents before children."""
    return [t for t in Base.metadata.sorted_tables if t.name in rls.POLICIES]


def _value(table: Table, column: Any) -> Any:
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return next(_numbers)  # unique (a ticket's number per tenant)
    if isinstance(kind, DateTime):
        return NOW
    if isinstance(kind, Date):
        return date(2026, 12, 1)
    if isinstance(kind, JSON):
        return json.dumps({})
    if isinstance(kind, LargeBinary):
        return b"x"
    if isinstance(kind, String | Text):
        length = getattr(kind, "length", None) or 32
        return new_id()[: min(length, 32)]
    raise TypeError(f"no test value for {table.name}.{column.name} ({kind!r})")


def _links(world: World, table: str) -> dict[str, Any]:
    """The columns that tie a row to its world."""
    rows = world.rows
    links: dict[str, Any] = {
        "tenant_id": world.tenant_id,
        "customer_id": world.customer_id,
        "user_id": world.customer_id,
        "uploaded_by_id": world.customer_id,
        "sender_id": world.customer_id,
        "expert_id": world.agent_id,
        "agent_id": world.agent_id,
        "score": 3,  # a rating is 1..5
    }
    if "conversations" in rows:
        links["conversation_id"] = rows["conversations"]["id"]
    if "ratings" in rows:
        links["rating_id"] = rows["ratings"]["id"]
    # Channels, email and AI rows hang off the world's contact, channel and message.
    links["contact_id"] = world.customer_id
    if "channels" in rows:
        links["channel_id"] = rows["channels"]["id"]
    if "messages" in rows:
        links["message_id"] = rows["messages"]["id"]
    if table == "agent_routing":
        links["user_id"] = world.agent_id
    if table == "appointments":
        links["ends_at"] = NOW + timedelta(hours=1)
        links["status"] = "scheduled"
    return links


def make_row(table: Table, world: World, **given: Any) -> dict[str, Any]:
    """Values for every column of `table` that needs one, tied to `world`."""
    links = _links(world, table.name)
    row: dict[str, Any] = {}
    for column in table.columns:
        if column.name in given:
            row[column.name] = given[column.name]
        elif column.name in links:
            row[column.name] = links[column.name]
        elif column.foreign_keys and column.nullable:
            row[column.name] = None  # optional links (a reply to, a previous ticket): none
        elif column.nullable and column.name not in ("status",):
            row[column.name] = None
        else:
            row[column.name] = _value(table, column)
    return row


async def insert(conn: asyncpg.Connection, table: str, row: dict[str, Any]) -> None:
    columns = ", ".join(f'"{c}"' for c in row)
    params = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await conn.execute(f'INSERT INTO "{table}" ({columns}) VALUES ({params})', *row.values())


async def build(conn: asyncpg.Connection) -> dict[str, World]:
    """Tenants A and B, worlds a1 and a2 in A and b in B, every registered table filled."""
    tenants = {"A": new_id(), "B": new_id()}
    worlds = {
        name: World(name, tenants[t], new_id(), new_id())
        for name, t in (("a1", "A"), ("a2", "A"), ("b", "B"))
    }
    tables = registered_tables()
    done_per_tenant: dict[str, dict[str, dict[str, Any]]] = {}
    for world in worlds.values():
        shared = done_per_tenant.setdefault(world.tenant_id, {})
        for table in tables:
            if table.name in PER_TENANT:
                if table.name not in shared:
                    key = {"id": world.tenant_id} if table.name == "tenants" else {}
                    shared[table.name] = make_row(table, world, **key)
                    await insert(conn, table.name, shared[table.name])
                world.rows[table.name] = shared[table.name]
                continue
            if table.name == "users":
                for user_id, role in ((world.customer_id, "customer"), (world.agent_id, "agent")):
                    row = make_row(table, world, id=user_id, role=role)
                    await insert(conn, "users", row)
                    if role == "customer":
                        world.rows["users"] = row
                continue
            row = make_row(table, world)
            await insert(conn, table.name, row)
            world.rows[table.name] = row
    return worlds


def primary_key(table: str) -> list[str]:
    return [c.name for c in Base.metadata.tables[table].primary_key.columns]
