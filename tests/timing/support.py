"""Helpers the timing tests share: a cast and timed conversations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from parlour.auth.principal import Principal
from parlour.conversations import service as conversations
from parlour.deadlines.sweep import sweep
from parlour.models.message import Message
from parlour.models.timing import ConversationTimer
from parlour.runtime import Runtime
from parlour.timing import service as timing
from tests.api.support import make_member
from tests.factories import make_tenant

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Cast:
    admin: Principal
    agent: Principal
    customer: Principal


async def cast(rt: Runtime) -> Cast:
    await make_tenant(rt)
    return Cast(
        admin=await make_member(rt, "admin", name="Ada"),
        agent=await make_member(rt, "agent", name="Abe"),
        customer=await make_member(rt, "customer", name="Cara"),
    )


async def open_timed(rt: Runtime, who: Cast, seconds: int) -> str:
    """A consultation opened for the customer with a time limit, set in the creating
    transaction (as payments will)."""
    async with rt.uow() as tx:
        view = await conversations.do_create_conversation(
            tx, who.admin, kind="consultation", customer_id=who.customer.user_id, subject="Timed"
        )
        await timing.set_time_limit(tx, view.id, view.tenant_id, seconds)
    return view.id


async def join(rt: Runtime, agent: Principal, conversation_id: str) -> None:
    async with rt.uow() as tx:
        await conversations.do_join(tx, agent, conversation_id)


async def timer(rt: Runtime, conversation_id: str) -> ConversationTimer:
    async with rt.uow(write=False) as tx:
        found = await tx.session.get(ConversationTimer, conversation_id)
        assert found is not None
        return found


async def system_events(rt: Runtime, conversation_id: str) -> list[tuple[str, str]]:
    """(meta event, body) of the conversation's system messages, in order."""
    async with rt.uow(write=False) as tx:
        rows = await tx.session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.kind == "system")
            .order_by(Message.seq)
        )
        return [((m.meta or {}).get("event", ""), m.body) for m in rows]


async def run_sweep(rt: Runtime) -> list[tuple[str, str]]:
    """One sweep pass: (conversation id, outcome) of what it closed."""
    return [
        (a.conversation_id, a.outcome) for a in await sweep(rt.uow, rt.deadlines, batch_size=100)
    ]
