"""Conversation queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import cast

from sqlalchemy import Select, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.conversation import Conversation, Participant
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
    return await session.scalar(
        select(Participant).where(
            Participant.conversation_id == conversation_id, Participant.user_id == user_id
        )
    )


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
