"""Export queries: a tenant's conversations in a date range, with participants and messages.

The export is a read-only projection over the conversation tables, read in batches by keyset
(created_at, id) so a large range streams in constant memory per batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.conversation import Conversation, Participant
from parlour.models.message import Message
from parlour.models.user import User


def _in_range(tenant_id: str, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(
        Conversation.tenant_id == tenant_id,
        Conversation.created_at >= start,
        Conversation.created_at < end,
    )


async def count_between(
    session: AsyncSession, tenant_id: str, start: datetime, end: datetime
) -> int:
    found = await session.scalar(
        select(func.count()).select_from(Conversation).where(_in_range(tenant_id, start, end))
    )
    return int(found or 0)


async def conversations_between(
    session: AsyncSession,
    tenant_id: str,
    start: datetime,
    end: datetime,
    *,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Conversation]:
    query = select(Conversation).where(_in_range(tenant_id, start, end))
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(
                Conversation.created_at > at,
                and_(Conversation.created_at == at, Conversation.id > last_id),
            )
        )
    query = query.order_by(Conversation.created_at, Conversation.id).limit(limit)
    return list(await session.scalars(query))


async def participants_of(
    session: AsyncSession, conversation_ids: Sequence[str]
) -> dict[str, list[tuple[Participant, str]]]:
    found: dict[str, list[tuple[Participant, str]]] = defaultdict(list)
    if conversation_ids:
        rows = await session.execute(
            select(Participant, User.display_name)
            .join(User, User.id == Participant.user_id)
            .where(Participant.conversation_id.in_(conversation_ids))
            .order_by(Participant.joined_at, Participant.id)
        )
        for participant, name in rows:
            found[participant.conversation_id].append((participant, name))
    return found


async def messages_of(
    session: AsyncSession, conversation_ids: Sequence[str]
) -> dict[str, list[Message]]:
    found: dict[str, list[Message]] = defaultdict(list)
    if conversation_ids:
        rows = await session.scalars(
            select(Message)
            .where(Message.conversation_id.in_(conversation_ids))
            .order_by(Message.conversation_id, Message.seq)
        )
        for message in rows:
            found[message.conversation_id].append(message)
    return found
