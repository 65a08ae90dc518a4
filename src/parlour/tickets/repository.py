"""Ticket queries: numbering, locks, the staff list, the inactivity scan.

The list and the scan filter on the ticket's conversation (its status, its agent, its last
activity) in SQL, so they read the `conversations` and `participants` tables in the same query
(read-only joins; every change to a conversation goes through conversations.service).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, exists, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.conversation import Conversation, Participant, ParticipantRole, Status
from parlour.models.ticket import Ticket, TicketCounter, TicketStatus
from parlour.models.user import User

OPEN_STATUSES = (TicketStatus.open, TicketStatus.pending)


async def allocate_number(session: AsyncSession, tenant_id: str) -> int:
    """The tenant's next ticket number. `UPDATE ... SET last_number = last_number + 1 RETURNING`
    takes the counter row's lock until the transaction ends, so concurrent creations queue on
    it and each gets its own number (PostgreSQL: the row lock; SQLite: the writer's lock). The
    tenant's first ticket creates the row (`ON CONFLICT DO NOTHING`: a concurrent first one
    waits for the other's insert, then both go through the UPDATE)."""
    bump = (
        update(TicketCounter)
        .where(TicketCounter.tenant_id == tenant_id)
        .values(last_number=TicketCounter.last_number + 1)
        .returning(TicketCounter.last_number)
        .execution_options(synchronize_session=False)
    )
    number = await session.scalar(bump)
    if number is None:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            insert(TicketCounter)
            .values(tenant_id=tenant_id, last_number=0)
            .on_conflict_do_nothing(index_elements=["tenant_id"])
        )
        number = await session.scalar(bump)
    assert number is not None
    return int(number)


async def get(session: AsyncSession, ticket_id: str, tenant_id: str) -> Ticket | None:
    return await session.scalar(
        select(Ticket).where(Ticket.id == ticket_id, Ticket.tenant_id == tenant_id)
    )


async def lock(session: AsyncSession, ticket_id: str, tenant_id: str) -> Ticket | None:
    """The ticket, its row locked until the transaction ends (values re-read)."""
    await session.flush()
    return await session.scalar(
        select(Ticket)
        .where(Ticket.id == ticket_id, Ticket.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def lock_for_conversation(
    session: AsyncSession, conversation_id: str, tenant_id: str
) -> Ticket | None:
    await session.flush()
    return await session.scalar(
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id, Ticket.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def for_conversation(
    session: AsyncSession, conversation_id: str, tenant_id: str
) -> Ticket | None:
    return await session.scalar(
        select(Ticket).where(
            Ticket.conversation_id == conversation_id, Ticket.tenant_id == tenant_id
        )
    )


async def latest_for_customer(
    session: AsyncSession, tenant_id: str, customer_id: str
) -> Ticket | None:
    return await session.scalar(
        select(Ticket)
        .where(Ticket.tenant_id == tenant_id, Ticket.customer_id == customer_id)
        .order_by(Ticket.number.desc())
        .limit(1)
    )


def _agent_of(user_id: str | None = None):  # type: ignore[no-untyped-def]
    """EXISTS a current agent participant of the ticket's conversation (that user, if given)."""
    query = select(Participant.id).where(
        Participant.conversation_id == Ticket.conversation_id,
        Participant.role == ParticipantRole.agent,
        Participant.left_at.is_(None),
    )
    if user_id is not None:
        query = query.where(Participant.user_id == user_id)
    return exists(query)


def _takes_part(user_id: str):  # type: ignore[no-untyped-def]
    return exists(
        select(Participant.id).where(
            Participant.conversation_id == Ticket.conversation_id, Participant.user_id == user_id
        )
    )


@dataclass(frozen=True, slots=True)
class TicketRow:
    ticket: Ticket
    conversation_status: str
    customer_name: str
    assignee_id: str | None
    # Whether the viewer (an agent) takes part in its conversation; True when not asked.
    readable: bool


def _rows_query(viewer_id: str | None) -> Select:  # type: ignore[type-arg]
    assignee = (
        select(Participant.user_id)
        .where(
            Participant.conversation_id == Ticket.conversation_id,
            Participant.role == ParticipantRole.agent,
            Participant.left_at.is_(None),
        )
        .order_by(Participant.joined_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    readable = _takes_part(viewer_id) if viewer_id is not None else literal(True)
    return (
        select(Ticket, Conversation.status, User.display_name, assignee, readable)
        .join(Conversation, Conversation.id == Ticket.conversation_id)
        .join(User, User.id == Ticket.customer_id)
    )


def _as_rows(result) -> list[TicketRow]:  # type: ignore[no-untyped-def]
    return [
        TicketRow(ticket=t, conversation_status=s, customer_name=n, assignee_id=a, readable=bool(r))
        for t, s, n, a, r in result.all()
    ]


async def rows_by_ids(
    session: AsyncSession, tenant_id: str, ids: list[str], *, viewer_id: str | None = None
) -> list[TicketRow]:
    result = await session.execute(
        _rows_query(viewer_id).where(Ticket.tenant_id == tenant_id, Ticket.id.in_(ids))
    )
    return _as_rows(result)


async def page(
    session: AsyncSession,
    tenant_id: str,
    *,
    reader_id: str | None,
    status: TicketStatus | None,
    assignee_id: str | None,
    unassigned: bool,
    queue: bool,
    before: int | None,
    limit: int,
) -> list[TicketRow]:
    """Up to `limit` tickets, highest number first. `reader_id` (an agent): only tickets of
    conversations they take part in, plus, with `queue`, the waiting ones."""
    query = _rows_query(reader_id).where(Ticket.tenant_id == tenant_id)
    if queue:
        query = query.where(Conversation.status == Status.waiting)
    elif reader_id is not None:
        query = query.where(_takes_part(reader_id))
    if status is not None:
        query = query.where(Ticket.status == status)
    if assignee_id is not None:
        query = query.where(_agent_of(assignee_id))
    if unassigned:
        query = query.where(~_agent_of())
    if before is not None:
        query = query.where(Ticket.number < before)
    result = await session.execute(query.order_by(Ticket.number.desc()).limit(limit))
    return _as_rows(result)


async def tenants_with_open_tickets(session: AsyncSession) -> list[str]:
    result = await session.scalars(
        select(Ticket.tenant_id).where(Ticket.status.in_(OPEN_STATUSES)).distinct()
    )
    return list(result)


async def idle(
    session: AsyncSession, tenant_id: str, *, idle_since: datetime, limit: int
) -> list[str]:
    """Conversation ids of the tenant's open tickets with nothing written since `idle_since`,
    the longest idle first."""
    result = await session.scalars(
        select(Conversation.id)
        .join(Ticket, Ticket.conversation_id == Conversation.id)
        .where(
            Ticket.tenant_id == tenant_id,
            Ticket.status.in_(OPEN_STATUSES),
            Conversation.tenant_id == tenant_id,
            Conversation.status != Status.ended,
            Conversation.last_activity_at <= idle_since,
        )
        .order_by(Conversation.last_activity_at)
        .limit(limit)
    )
    return list(result)
