"""AI queries: summaries and message analyses."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.ai import ConversationSummary, MessageAnalysis


async def get_summary(
    session: AsyncSession, conversation_id: str, *, lock: bool = False
) -> ConversationSummary | None:
    """A conversation's summary row (locked for update when asked)."""
    query = select(ConversationSummary).where(
        ConversationSummary.conversation_id == conversation_id
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def analyses(
    session: AsyncSession, ids: Sequence[str], *, lock: bool = False
) -> dict[str, MessageAnalysis]:
    """Analyses by message id (locked for update when asked)."""
    if not ids:
        return {}
    query = select(MessageAnalysis).where(MessageAnalysis.message_id.in_(list(ids)))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return {a.message_id: a for a in await session.scalars(query)}


async def analyses_of(
    session: AsyncSession, conversation_id: str, *, status: str | None = None, limit: int = 500
) -> list[MessageAnalysis]:
    """A conversation's analyses in seq order (only those with `status` when given)."""
    query = select(MessageAnalysis).where(MessageAnalysis.conversation_id == conversation_id)
    if status is not None:
        query = query.where(MessageAnalysis.status == status)
    return list(await session.scalars(query.order_by(MessageAnalysis.seq).limit(limit)))
