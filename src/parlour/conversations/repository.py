"""Conversation queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Select, Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.conversation import Conversation, Participant, ParticipantRole, Status
from parlour.models.user import User


async def participants_with_names(
    session: AsyncSession, conversation_ids: Sequence[str]
) -> dict[str, list[tuple[Participant, str]]]:
    """Participants of each conversation with their display names, oldest first, one query."""
    if not conversation_ids:
        return {}
    rows = await session.execute(
        select(Participant, User.display_name)
        .join(User, User.id == Participant.user_id)
        .where(Participant.conversation_id.in_(conversation_ids))
        .order_by(Participant.joined_at, Participant.id)
    )
    found: dict[str, list[tuple[Participant, str]]] = defaultdict(list)
    for participant, name in rows:
        found[participant.conversation_id].append((participant, name))
    return found


async def get_participant(
    session: AsyncSession, conversation_id: str, user_id: str
) -> Participant | None:
    # Fresh from the row (populate_existing): callers hold the conversation's lock and must see
    # what the transaction before them committed, not what this session loaded earlier.
    return await session.scalar(
        select(Participant)
        .where(Participant.conversation_id == conversation_id, Participant.user_id == user_id)
        .execution_options(populate_existing=True)
    )


async def lock(session: AsyncSession, conversation_id: str, tenant_id: str) -> Conversation | None:
    """The tenant's conversation, its row locked until the transaction ends.

    PostgreSQL: `SELECT ... FOR UPDATE`; a concurrent lifecycle change (or send batch, see
    messages/repository.lock_for_send) waits here, and then reads what the other committed
    (populate_existing overwrites anything this session loaded). SQLite renders no FOR UPDATE:
    its writing unit of work already holds the database's write lock from BEGIN IMMEDIATE.
    """
    await session.flush()  # populate_existing would overwrite unflushed changes
    return await session.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id, Conversation.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def due_to_close(
    session: AsyncSession, *, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """(id, tenant_id) of conversations whose `closes_at` has passed and that have not ended,
    the longest overdue first (uses the closes_at index)."""
    rows = await session.execute(
        select(Conversation.id, Conversation.tenant_id)
        .where(
            Conversation.closes_at.is_not(None),
            Conversation.closes_at <= now,
            Conversation.status != Status.ended,
        )
        .order_by(Conversation.closes_at, Conversation.id)
        .limit(limit)
    )
    return [(cid, tid) for cid, tid in rows]


async def advance_read_pointers(
    session: AsyncSession, pointers: Sequence[tuple[str, str, int]]
) -> None:
    """Move (conversation_id, user_id) read pointers forward to seq, never back, in one
    executemany: the condition in the UPDATE keeps a concurrent, further pointer."""
    if pointers:
        # A Core UPDATE (executemany), not the ORM's bulk update by primary key.
        table = cast(Table, Participant.__table__)
        await session.execute(
            update(table)
            .where(
                table.c.conversation_id == bindparam("b_conversation_id"),
                table.c.user_id == bindparam("b_user_id"),
                table.c.last_read_seq < bindparam("b_seq"),
            )
            .values(last_read_seq=bindparam("b_seq")),
            [{"b_conversation_id": c, "b_user_id": u, "b_seq": s} for c, u, s in pointers],
        )


def for_participant(tenant_id: str, user_id: str) -> Select[Conversation]:
    """Conversations the user takes part in."""
    return (
        select(Conversation)
        .join(Participant, Participant.conversation_id == Conversation.id)
        .where(Conversation.tenant_id == tenant_id, Participant.user_id == user_id)
    )


def for_tenant(tenant_id: str) -> Select[Conversation]:
    return select(Conversation).where(Conversation.tenant_id == tenant_id)


# routing: the current agents of a conversation.
async def current_agents(
    session: AsyncSession, conversation_id: str, tenant_id: str
) -> list[tuple[Participant, str]]:
    """Its agent participants who have not left, with their names, fresh from the rows."""
    rows = await session.execute(
        select(Participant, User.display_name)
        .join(User, User.id == Participant.user_id)
        .where(
            Participant.conversation_id == conversation_id,
            Participant.tenant_id == tenant_id,
            Participant.role == ParticipantRole.agent,
            Participant.left_at.is_(None),
        )
        .order_by(Participant.joined_at, Participant.id)
        .execution_options(populate_existing=True)
    )
    return [(p, name) for p, name in rows]


# inbox: unread totals per channel.
async def unread_by_channel(session: AsyncSession, tenant_id: str, user_id: str) -> dict[str, int]:
    """channel → messages the user has not read yet, over the conversations they currently
    take part in (left ones do not count), in one grouped query that starts from the user's
    participant rows (ix_participants_user_id) and reaches each conversation by its key."""
    unread = Conversation.last_seq - Participant.last_read_seq
    rows = await session.execute(
        select(Conversation.channel, func.sum(unread))
        .join(Participant, Participant.conversation_id == Conversation.id)
        .where(
            Participant.user_id == user_id,
            Participant.tenant_id == tenant_id,
            Participant.left_at.is_(None),
            Conversation.tenant_id == tenant_id,
            Conversation.last_seq > Participant.last_read_seq,
        )
        .group_by(Conversation.channel)
    )
    return {channel: int(total) for channel, total in rows}
