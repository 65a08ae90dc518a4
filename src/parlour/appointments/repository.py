"""Appointment and availability queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from parlour.core import rls
from parlour.models.appointment import Appointment, AppointmentStatus, Availability
from parlour.models.user import User

Customer = aliased(User)
Expert = aliased(User)

# A query of (appointment, customer name, expert name) rows.
Named = Select[Appointment, str, str]


def with_names() -> Named:
    """Appointments with their customer's and expert's display names."""
    return (
        select(Appointment, Customer.display_name, Expert.display_name)
        .join(Customer, Customer.id == Appointment.customer_id)
        .join(Expert, Expert.id == Appointment.expert_id)
    )


async def named(session: AsyncSession, query: Named) -> list[tuple[Appointment, str, str]]:
    return [(a, c, e) for a, c, e in await session.execute(query)]


def involving(query: Named, user_id: str) -> Named:
    return query.where(or_(Appointment.customer_id == user_id, Appointment.expert_id == user_id))


async def get(session: AsyncSession, appointment_id: str, tenant_id: str) -> Appointment | None:
    return await session.scalar(
        select(Appointment).where(
            Appointment.id == appointment_id, Appointment.tenant_id == tenant_id
        )
    )


async def lock(session: AsyncSession, appointment_id: str, tenant_id: str) -> Appointment | None:
    """The appointment, its row locked until the transaction ends (read fresh). Appointments
    are locked before their conversation, everywhere, so two paths never wait on each other."""
    await session.flush()
    return await session.scalar(
        select(Appointment)
        .where(Appointment.id == appointment_id, Appointment.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def lock_by_conversation(
    session: AsyncSession, conversation_id: str, tenant_id: str
) -> Appointment | None:
    await session.flush()
    return await session.scalar(
        select(Appointment)
        .where(Appointment.conversation_id == conversation_id, Appointment.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def busy(
    session: AsyncSession,
    tenant_id: str,
    expert_id: str,
    start: datetime,
    end: datetime,
    *,
    excluding: str | None = None,
) -> list[tuple[datetime, datetime]]:
    """The expert's live (not cancelled) appointments overlapping [start, end)."""
    query = select(Appointment.starts_at, Appointment.ends_at).where(
        Appointment.tenant_id == tenant_id,
        Appointment.expert_id == expert_id,
        Appointment.status != AppointmentStatus.cancelled,
        Appointment.starts_at < end,
        Appointment.ends_at > start,
    )
    if excluding is not None:
        query = query.where(Appointment.id != excluding)
    # rls: a customer may not read other customers' appointments, but booking needs to know
    # when the expert is busy: read as the tenant's service; only the times leave here.
    async with rls.as_service(session, tenant_id):
        return [(s, e) for s, e in await session.execute(query)]


async def count_upcoming(
    session: AsyncSession, tenant_id: str, customer_id: str, *, now: datetime
) -> int:
    """How many scheduled appointments the customer holds that have not ended yet."""
    return (
        await session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(
                Appointment.tenant_id == tenant_id,
                Appointment.customer_id == customer_id,
                Appointment.status.in_(
                    (AppointmentStatus.scheduled, AppointmentStatus.pending_payment)
                ),
                Appointment.ends_at > now,
            )
        )
        or 0
    )


async def due_to_complete(
    session: AsyncSession, *, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """(conversation id, tenant id) of scheduled appointments whose chat's deadline passed."""
    rows = await session.execute(
        select(Appointment.conversation_id, Appointment.tenant_id)
        .where(
            Appointment.status == AppointmentStatus.scheduled,
            Appointment.closes_at <= now,
        )
        .order_by(Appointment.closes_at, Appointment.id)
        .limit(limit)
    )
    return [(c, t) for c, t in rows]


async def availability(session: AsyncSession, tenant_id: str, expert_id: str) -> list[Availability]:
    return list(
        await session.scalars(
            select(Availability)
            .where(Availability.tenant_id == tenant_id, Availability.expert_id == expert_id)
            .order_by(Availability.kind, Availability.weekday, Availability.date_from)
        )
    )


async def replace_availability(
    session: AsyncSession, tenant_id: str, expert_id: str, rows: Sequence[Availability]
) -> None:
    await session.execute(
        delete(Availability).where(
            Availability.tenant_id == tenant_id, Availability.expert_id == expert_id
        )
    )
    session.add_all(rows)
    await session.flush()


async def experts_with_availability(
    session: AsyncSession, tenant_id: str
) -> list[tuple[User, str]]:
    """Active staff of the tenant who published availability, with their zone, by name."""
    rows = await session.execute(
        select(User, Availability.timezone)
        .join(Availability, Availability.expert_id == User.id)
        .where(User.tenant_id == tenant_id, User.is_active.is_(True))
        .distinct()
        .order_by(User.display_name, User.id)
    )
    return [(u, tz) for u, tz in rows]


async def unpaid_holds(
    session: AsyncSession, *, created_before: datetime, limit: int
) -> list[tuple[str, str]]:
    """paidbook: (conversation id, tenant id) of holds still unpaid, booked before the cut."""
    rows = await session.execute(
        select(Appointment.conversation_id, Appointment.tenant_id)
        .where(
            Appointment.status == AppointmentStatus.pending_payment,
            Appointment.created_at <= created_before,
        )
        .order_by(Appointment.created_at, Appointment.id)
        .limit(limit)
    )
    return [(c, t) for c, t in rows]
