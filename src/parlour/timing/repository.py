"""Time-limit queries: one timer row per limited conversation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.timing import ConversationTimer


async def get(
    session: AsyncSession, conversation_id: str, tenant_id: str
) -> ConversationTimer | None:
    return await session.scalar(
        select(ConversationTimer).where(
            ConversationTimer.conversation_id == conversation_id,
            ConversationTimer.tenant_id == tenant_id,
        )
    )


async def lock(
    session: AsyncSession, conversation_id: str, tenant_id: str
) -> ConversationTimer | None:
    """The timer with its row locked (callers lock the conversation first: one lock order for
    every path). `populate_existing`: what the previous lock holder committed, not what this
    session loaded earlier."""
    await session.flush()
    return await session.scalar(
        select(ConversationTimer)
        .where(
            ConversationTimer.conversation_id == conversation_id,
            ConversationTimer.tenant_id == tenant_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def due(session: AsyncSession, *, now: datetime, limit: int) -> list[tuple[str, str]]:
    """(conversation id, tenant id) of running timers with work due (a warning or the end),
    the longest overdue first (uses the due_at index)."""
    rows = await session.execute(
        select(ConversationTimer.conversation_id, ConversationTimer.tenant_id)
        .where(ConversationTimer.due_at.is_not(None), ConversationTimer.due_at <= now)
        .order_by(ConversationTimer.due_at, ConversationTimer.conversation_id)
        .limit(limit)
    )
    return [(cid, tid) for cid, tid in rows]
