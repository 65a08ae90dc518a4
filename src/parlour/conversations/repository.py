"""Conversation queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Select, select
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


def for_participant(tenant_id: str, user_id: str) -> Select[Conversation]:
    """Conversations the user takes part in."""
    return (
        select(Conversation)
        .join(Participant, Participant.conversation_id == Conversation.id)
        .where(Conversation.tenant_id == tenant_id, Participant.user_id == user_id)
    )


def for_tenant(tenant_id: str) -> Select[Conversation]:
    return select(Conversation).where(Conversation.tenant_id == tenant_id)
