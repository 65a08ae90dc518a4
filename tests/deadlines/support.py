"""Helpers the deadline tests share: a frozen-clock runtime and conversations with deadlines."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from parlour.auth.principal import Principal
from parlour.conversations import service as conversations
from parlour.models.conversation import Conversation
from parlour.models.message import Message
from parlour.runtime import Runtime


async def open_with_deadline(
    rt: Runtime, staff: Principal, customer: Principal, closes_at: datetime
) -> str:
    """A conversation staff opened for `customer`, closing at `closes_at` (through the API's
    own path: `closes_at` on creation)."""
    async with rt.uow() as tx:
        view = await conversations.do_create_conversation(
            tx,
            staff,
            kind="support",
            customer_id=customer.user_id,
            subject="Timed",
            closes_at=closes_at,
        )
    return view.id


async def set_closes_at(rt: Runtime, conversation_id: str, closes_at: datetime) -> None:
    """Move a deadline directly (e.g. into the past for a process that uses the real clock)."""
    async with rt.uow() as tx:
        await tx.session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(closes_at=closes_at)
        )


async def ended_messages(rt: Runtime, conversation_id: str) -> list[Message]:
    async with rt.uow(write=False) as tx:
        rows = await tx.session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.kind == "system")
            .order_by(Message.seq)
        )
        return [m for m in rows if (m.meta or {}).get("event") == "ended"]


async def conversation(rt: Runtime, conversation_id: str) -> Conversation:
    async with rt.uow(write=False) as tx:
        found = await tx.session.get(Conversation, conversation_id)
        assert found is not None
        return found


async def message_count(rt: Runtime) -> int:
    async with rt.uow(write=False) as tx:
        return int(await tx.session.scalar(select(func.count()).select_from(Message)) or 0)


def later(moment: datetime, **kwargs: float) -> datetime:
    return moment + timedelta(**kwargs)
