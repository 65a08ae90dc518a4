"""Ticket numbers under real concurrency, on both databases: starts racing in their own
transactions (PostgreSQL: each on its own connection, all open before any goes on) get the
numbers 1..n once each, the tenant's first ticket included (its counter row does not exist
yet), and another tenant counts from 1 on its own."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from parlour.auth.service import get_tenant_by_slug
from parlour.models.ticket import Ticket
from parlour.runtime import Runtime
from parlour.tickets import service
from tests.factories import make_tenant

RACERS = 10


async def _start(rt: Runtime, slug: str | None, barrier: asyncio.Barrier, n: int) -> int:
    sqlite = rt.engine.dialect.name == "sqlite"
    if sqlite:
        await barrier.wait()  # SQLite's writer holds the write lock from BEGIN: wait before
    async with rt.uow() as tx:
        if not sqlite:
            await barrier.wait()  # every transaction open, then all go at once
        tenant = await get_tenant_by_slug(tx.session, slug)
        started = await service.do_start_support(
            tx, tenant, None, service.Visitor(message=f"help {n}"), max_chars=4000
        )
    return started.ticket.number


async def _race(rt: Runtime, slug: str | None) -> list[int]:
    barrier = asyncio.Barrier(RACERS)
    return list(await asyncio.gather(*(_start(rt, slug, barrier, n) for n in range(RACERS))))


async def test_concurrent_starts_get_each_number_once(runtime: Runtime) -> None:
    await make_tenant(runtime)
    await make_tenant(runtime, "elsewhere")
    first = await _race(runtime, None)  # the counter row is created by the race itself
    assert sorted(first) == list(range(1, RACERS + 1))
    second = await _race(runtime, None)
    assert sorted(second) == list(range(RACERS + 1, 2 * RACERS + 1))
    elsewhere = await _race(runtime, "elsewhere")
    assert sorted(elsewhere) == list(range(1, RACERS + 1))
    async with runtime.uow(write=False) as tx:
        rows = list(await tx.session.scalars(select(Ticket)))
    assert len(rows) == 3 * RACERS
    assert len({(t.tenant_id, t.number) for t in rows}) == 3 * RACERS
    assert len({t.conversation_id for t in rows}) == 3 * RACERS
