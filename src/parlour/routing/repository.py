"""Routing queries: agents' routing rows (and their locks), their load, and the queue.

The load and queue reads join the conversation and message tables read-only; every change to
a conversation goes through the conversations service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, exists, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.conversation import Conversation, Participant, ParticipantRole, Status
from parlour.models.message import Message
from parlour.models.routing import AgentRouting, Availability
from parlour.models.user import STAFF_ROLES, User


async def ensure(session: AsyncSession, *, user_id: str, tenant_id: str) -> None:
    """Create the user's routing row (offline, default capacity) unless it exists; safe when
    two transactions do it at once."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(AgentRouting)
        .values(user_id=user_id, tenant_id=tenant_id, status=Availability.offline)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )


async def lock(session: AsyncSession, user_id: str, tenant_id: str) -> AgentRouting | None:
    """The agent's routing row, locked until the transaction ends (SQLite: the writer already
    holds the database's write lock). Fresh from the row, as the last lock holder left it."""
    await session.flush()
    return await session.scalar(
        select(AgentRouting)
        .where(AgentRouting.user_id == user_id, AgentRouting.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def get(session: AsyncSession, user_id: str) -> AgentRouting | None:
    return await session.get(AgentRouting, user_id)


def _current_agent_of_open(kinds: Sequence[str]) -> Select[str, str]:
    # A participant row that makes its user the current agent of a routed conversation not
    # ended. Only routed kinds count: an expert's appointment chats (joined at booking, open
    # for days) are neither load nor work to hand back.
    return (
        select(Participant.user_id, Participant.conversation_id)
        .join(Conversation, Conversation.id == Participant.conversation_id)
        .where(
            Participant.role == ParticipantRole.agent,
            Participant.left_at.is_(None),
            Conversation.status != Status.ended,
            Conversation.kind.in_(list(kinds)),
        )
    )


async def active_count(
    session: AsyncSession, user_id: str, kinds: Sequence[str], *, excluding: str | None = None
) -> int:
    """How many open conversations the user is the current agent of (a new statement: on
    PostgreSQL it sees everything committed before it, so after the row lock it is exact)."""
    query = _current_agent_of_open(kinds).where(Participant.user_id == user_id)
    if excluding is not None:
        query = query.where(Participant.conversation_id != excluding)
    return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)


@dataclass(frozen=True, slots=True)
class Load:
    user_id: str
    capacity: int | None
    last_routed_at: datetime | None
    active: int


async def online_loads(session: AsyncSession, tenant_id: str, kinds: Sequence[str]) -> list[Load]:
    """Every online, active staff member of the tenant with their current load."""
    current = _current_agent_of_open(kinds).subquery()
    counts = (
        select(current.c.user_id, func.count().label("n")).group_by(current.c.user_id).subquery()
    )
    rows = await session.execute(
        select(
            AgentRouting.user_id,
            AgentRouting.capacity,
            AgentRouting.last_routed_at,
            func.coalesce(counts.c.n, 0),
        )
        .join(User, User.id == AgentRouting.user_id)
        .outerjoin(counts, counts.c.user_id == AgentRouting.user_id)
        .where(
            AgentRouting.tenant_id == tenant_id,
            AgentRouting.status == Availability.online,
            User.is_active.is_(True),
            User.role.in_(list(STAFF_ROLES)),
        )
    )
    return [Load(u, c, t, int(n)) for u, c, t, n in rows]


async def tenants_with_online_agents(session: AsyncSession, *, limit: int) -> list[str]:
    rows = await session.scalars(
        select(AgentRouting.tenant_id)
        .where(AgentRouting.status == Availability.online)
        .distinct()
        .order_by(AgentRouting.tenant_id)
        .limit(limit)
    )
    return list(rows)


async def oldest_waiting(
    session: AsyncSession, tenant_id: str, kinds: Sequence[str], *, limit: int
) -> list[str]:
    """The queue: waiting conversations of routed kinds, in arrival order."""
    if not kinds or limit <= 0:
        return []
    rows = await session.scalars(
        select(Conversation.id)
        .where(
            Conversation.tenant_id == tenant_id,
            Conversation.status == Status.waiting,
            Conversation.kind.in_(list(kinds)),
        )
        .order_by(Conversation.created_at, Conversation.id)
        .limit(limit)
    )
    return list(rows)


async def unanswered(
    session: AsyncSession, tenant_id: str, user_id: str, kinds: Sequence[str]
) -> list[str]:
    """Open routed conversations the user is the current agent of and has not written in yet."""
    query = (
        _current_agent_of_open(kinds)
        .where(Participant.user_id == user_id, Participant.tenant_id == tenant_id)
        .where(
            ~exists().where(
                Message.conversation_id == Participant.conversation_id,
                Message.sender_id == user_id,
            )
        )
        .order_by(Participant.conversation_id)
    )
    return [cid for _, cid in await session.execute(query)]


async def staff_user(session: AsyncSession, user_id: str, tenant_id: str) -> User | None:
    """The tenant's user (any role), or None."""
    user = await session.get(User, user_id)
    return user if user is not None and user.tenant_id == tenant_id else None
