"""Ticket changes racing the conversation's other ends, on both databases with real
concurrency: a staff resolve against the inactivity sweep, and against the customer ending the
chat. Both take the conversation's row first, then the ticket's, so neither deadlocks: the
conversation ends once (one "ended" message) and the ticket ends resolved. And one customer's
concurrent support starts take turns on its users row: one conversation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from parlour.auth.principal import Principal
from parlour.auth.service import get_tenant_by_slug, principal_for
from parlour.conversations import service as conversations
from parlour.core.clock import FrozenClock
from parlour.core.errors import AppError
from parlour.core.uow import UnitOfWork
from parlour.models.conversation import Conversation
from parlour.models.message import Message, MessageKind
from parlour.models.ticket import Ticket, TicketStatus
from parlour.runtime import Runtime
from parlour.tickets import service
from tests.api.support import make_member
from tests.deadlines.support import conversation, ended_messages
from tests.factories import make_tenant

Work = Callable[[UnitOfWork], Awaitable[object]]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


async def _run(rt: Runtime, work: Work, barrier: asyncio.Barrier) -> str:
    sqlite = rt.engine.dialect.name == "sqlite"
    try:
        if sqlite:
            await barrier.wait()
        async with rt.uow() as tx:
            if not sqlite:
                await barrier.wait()  # both transactions open, then both go
            await work(tx)
        return "ok"
    except AppError as exc:
        return exc.code
    except Exception as exc:  # a deadlock or a unique violation is an outcome too
        return f"crash: {type(exc).__name__}"


async def _race(rt: Runtime, *works: Work) -> list[str]:
    barrier = asyncio.Barrier(len(works))
    return list(await asyncio.gather(*(_run(rt, w, barrier) for w in works)))


async def _chat(rt: Runtime) -> tuple[str, str, Principal, Principal]:
    await make_tenant(rt)
    agent = await make_member(rt, "agent", name="Abe")
    async with rt.uow() as tx:
        tenant = await get_tenant_by_slug(tx.session, None)
        started = await service.do_start_support(
            tx, tenant, None, service.Visitor(message="help"), max_chars=4000
        )
        assert started.guest is not None
        await conversations.do_join(tx, agent, started.conversation.id)
    return started.conversation.id, started.ticket.id, agent, principal_for(started.guest)


async def _check(rt: Runtime, cid: str, tid: str) -> None:
    assert len(await ended_messages(rt, cid)) == 1
    assert (await conversation(rt, cid)).status == "ended"
    async with rt.uow(write=False) as tx:
        ticket = await tx.session.get(Ticket, tid)
        assert ticket is not None and ticket.status == TicketStatus.resolved


async def test_a_resolve_racing_the_inactivity_sweep(frozen: Runtime, clock: FrozenClock) -> None:
    cid, tid, agent, _ = await _chat(frozen)
    clock.advance(days=2)

    async def resolve(tx: UnitOfWork) -> object:
        return await service.do_update_ticket(tx, agent, tid, status=TicketStatus.resolved)

    async def sweep(tx: UnitOfWork) -> object:
        return await service.do_close_idle(tx, cid, agent.tenant_id)

    outcomes = await _race(frozen, resolve, sweep)
    assert not any(o.startswith("crash") for o in outcomes), outcomes
    assert outcomes[0] == "ok"
    await _check(frozen, cid, tid)


async def test_a_resolve_racing_the_customer_ending_it(frozen: Runtime) -> None:
    cid, tid, agent, guest = await _chat(frozen)

    async def resolve(tx: UnitOfWork) -> object:
        return await service.do_update_ticket(tx, agent, tid, status=TicketStatus.resolved)

    async def end(tx: UnitOfWork) -> object:
        return await conversations.do_end(tx, guest, cid, reason=None)

    outcomes = await _race(frozen, resolve, end)
    assert not any(o.startswith("crash") for o in outcomes), outcomes
    assert outcomes[0] == "ok" and outcomes[1] in ("ok", "conversation_ended")
    await _check(frozen, cid, tid)


async def test_concurrent_starts_by_one_customer_make_one_conversation(frozen: Runtime) -> None:
    """Five support starts by one signed-in customer at once (a double click, several tabs):
    one conversation and one ticket; the other four messages are added to it."""
    await make_tenant(frozen)
    customer = await make_member(frozen, "customer", name="Cleo")

    def start(n: int) -> Work:
        async def work(tx: UnitOfWork) -> object:
            tenant = await get_tenant_by_slug(tx.session, None)
            return await service.do_start_support(
                tx, tenant, customer, service.Visitor(message=f"help {n}"), max_chars=4000
            )

        return work

    outcomes = await asyncio.wait_for(_race(frozen, *(start(n) for n in range(5))), 60)
    assert outcomes == ["ok"] * 5
    async with frozen.uow(write=False) as tx:
        tickets = list(await tx.session.scalars(select(Ticket)))
        assert len(tickets) == 1
        conversations_made = await tx.session.scalar(select(func.count()).select_from(Conversation))
        assert conversations_made == 1
        bodies = await tx.session.scalars(
            select(Message.body).where(
                Message.conversation_id == tickets[0].conversation_id,
                Message.kind == MessageKind.text,
            )
        )
        assert sorted(bodies) == [f"help {n}" for n in range(5)]
