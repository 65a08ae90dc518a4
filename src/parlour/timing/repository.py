"""Time-limit queries: one timer row per limited conversation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.conversation import Participant, ParticipantRole
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


async def staffed_but_not_started(session: AsyncSession, *, limit: int) -> list[tuple[str, str]]:
    """(conversation id, tenant id) of timers whose clock has not started although an agent has
    joined: the start hook did not run (it failed, or the join happened in a process without
    it). Normally empty. Reads the participants table directly: a read-only repair query, the
    one place timing looks at another domain's rows (uses the started_at/finished_at index)."""
    agent_joined = exists().where(
        Participant.conversation_id == ConversationTimer.conversation_id,
        Participant.role == ParticipantRole.agent,
    )
    rows = await session.execute(
        select(ConversationTimer.conversation_id, ConversationTimer.tenant_id)
        .where(
            ConversationTimer.started_at.is_(None),
            ConversationTimer.finished_at.is_(None),
            agent_joined,
        )
        .order_by(ConversationTimer.created_at, ConversationTimer.conversation_id)
        .limit(limit)
    )
    return [(cid, tid) for cid, tid in rows]
