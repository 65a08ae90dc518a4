"""Rating queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.timing import Rating, RatingAgent
from parlour.models.user import User


async def for_conversation(session: AsyncSession, conversation_id: str) -> Rating | None:
    return await session.scalar(select(Rating).where(Rating.conversation_id == conversation_id))


async def agents_of(session: AsyncSession, rating_ids: Sequence[str]) -> dict[str, list[str]]:
    if not rating_ids:
        return {}
    rows = await session.execute(
        select(RatingAgent.rating_id, RatingAgent.agent_id)
        .where(RatingAgent.rating_id.in_(rating_ids))
        .order_by(RatingAgent.agent_id)
    )
    found: dict[str, list[str]] = defaultdict(list)
    for rating_id, agent_id in rows:
        found[rating_id].append(agent_id)
    return found


async def summary_for_agent(
    session: AsyncSession, tenant_id: str, agent_id: str
) -> tuple[int, float | None]:
    row = (
        await session.execute(
            select(func.count(Rating.id), func.avg(Rating.score))
            .join(RatingAgent, RatingAgent.rating_id == Rating.id)
            .where(Rating.tenant_id == tenant_id, RatingAgent.agent_id == agent_id)
        )
    ).one()
    return int(row[0]), (float(row[1]) if row[1] is not None else None)


async def summary_for_tenant(session: AsyncSession, tenant_id: str) -> tuple[int, float | None]:
    row = (
        await session.execute(
            select(func.count(Rating.id), func.avg(Rating.score)).where(
                Rating.tenant_id == tenant_id
            )
        )
    ).one()
    return int(row[0]), (float(row[1]) if row[1] is not None else None)


async def per_agent(session: AsyncSession, tenant_id: str) -> list[tuple[str, str, int, float]]:
    """(agent id, display name, count, average) of every rated agent, best average first."""
    average = func.avg(Rating.score)
    rows = await session.execute(
        select(RatingAgent.agent_id, User.display_name, func.count(Rating.id), average)
        .join(Rating, Rating.id == RatingAgent.rating_id)
        .join(User, User.id == RatingAgent.agent_id)
        .where(RatingAgent.tenant_id == tenant_id)
        .group_by(RatingAgent.agent_id, User.display_name)
        .order_by(average.desc(), RatingAgent.agent_id)
    )
    return [(aid, name, int(n), float(avg)) for aid, name, n, avg in rows]


async def recent(
    session: AsyncSession, tenant_id: str, *, agent_id: str | None = None, limit: int
) -> list[Rating]:
    query = select(Rating).where(Rating.tenant_id == tenant_id)
    if agent_id is not None:
        query = query.join(RatingAgent, RatingAgent.rating_id == Rating.id).where(
            RatingAgent.agent_id == agent_id
        )
    query = query.order_by(Rating.created_at.desc(), Rating.id).limit(limit)
    return list(await session.scalars(query))
