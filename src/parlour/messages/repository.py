"""Message queries: seq allocation, bulk insert, history pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.conversation import Conversation, Participant, Status
from parlour.models.message import Message


async def allocate_seqs(
    session: AsyncSession, conversation_id: str, count: int, *, now: datetime, allow_ended: bool
) -> int | None:
    """Reserve `count` seqs; returns the new last seq, or None if the conversation has ended.

    One UPDATE both locks the row (PostgreSQL) and increments, in the same transaction as the
    insert, so seqs have no gaps and concurrent writers queue behind each other.
    """
    stmt = (
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(last_seq=Conversation.last_seq + count, last_activity_at=now)
        .returning(Conversation.last_seq)
        .execution_options(synchronize_session=False)
    )
    if not allow_ended:
        stmt = stmt.where(Conversation.status != Status.ended)
    return (await session.execute(stmt)).scalar_one_or_none()


async def insert_messages(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert many messages in one statement."""
    await session.execute(insert(Message), rows)


async def advance_read(session: AsyncSession, pointers: Sequence[tuple[str, str, int]]) -> None:
    """Move (conversation_id, user_id) read pointers forward to seq (never back)."""
    for conversation_id, user_id, seq in pointers:
        await session.execute(
            update(Participant)
            .where(Participant.conversation_id == conversation_id, Participant.user_id == user_id)
            .values(
                last_read_seq=case(
                    (Participant.last_read_seq < seq, seq), else_=Participant.last_read_seq
                )
            )
            .execution_options(synchronize_session=False)
        )


async def find_by_client_ids(
    session: AsyncSession, keys: Sequence[tuple[str, str, str]]
) -> dict[tuple[str, str, str], Message]:
    """Existing messages by (conversation_id, sender_id, client_msg_id)."""
    if not keys:
        return {}
    clauses = [
        and_(Message.conversation_id == c, Message.sender_id == s, Message.client_msg_id == k)
        for c, s, k in keys
    ]
    found = await session.scalars(select(Message).where(or_(*clauses)))
    return {(m.conversation_id, m.sender_id or "", m.client_msg_id or ""): m for m in found}


async def page(
    session: AsyncSession,
    conversation_id: str,
    *,
    after_seq: int | None,
    before_seq: int | None,
    limit: int,
) -> tuple[list[Message], bool]:
    """Messages in seq order and whether more lie beyond the page.

    With `after_seq` the page starts just after it (catching up); otherwise it is the newest
    `limit` messages before `before_seq` (scrolling back), or the newest of all.
    """
    query = select(Message).where(Message.conversation_id == conversation_id)
    if before_seq is not None:
        query = query.where(Message.seq < before_seq)
    if after_seq is not None:
        query = query.where(Message.seq > after_seq).order_by(Message.seq).limit(limit + 1)
        rows = list(await session.scalars(query))
        return rows[:limit], len(rows) > limit
    query = query.order_by(Message.seq.desc()).limit(limit + 1)
    rows = list(await session.scalars(query))
    more = len(rows) > limit
    return list(reversed(rows[:limit])), more


async def last_messages(
    session: AsyncSession, conversations: Sequence[Conversation]
) -> dict[str, Message]:
    """The newest message of each conversation, in one query."""
    with_messages = [c for c in conversations if c.last_seq > 0]
    if not with_messages:
        return {}
    clauses = [
        and_(Message.conversation_id == c.id, Message.seq == c.last_seq) for c in with_messages
    ]
    found = await session.scalars(select(Message).where(or_(*clauses)))
    return {m.conversation_id: m for m in found}
