"""What the appointment tests share: a frozen-clock runtime, a cast, availability, helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from parlour.appointments import service
from parlour.appointments.schemas import AppointmentRead, AvailabilityIn
from parlour.auth.principal import Principal
from parlour.deadlines.sweep import sweep
from parlour.models.appointment import Appointment
from parlour.models.conversation import Conversation
from parlour.models.job import Job
from parlour.runtime import Runtime
from tests.api.support import make_member
from tests.factories import make_tenant

# A Monday, 06:00 UTC (07:00 in Berlin, which is UTC+1 in early March).
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
BERLIN_WEEKDAYS_9_TO_17 = AvailabilityIn.model_validate(
    {
        "timezone": "Europe/Berlin",
        "weekly": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
    }
)


@dataclass
class Cast:
    admin: Principal
    expert: Principal
    customer: Principal
    other_customer: Principal


async def make_cast(rt: Runtime) -> Cast:
    await make_tenant(rt)
    cast = Cast(
        admin=await make_member(rt, "admin", name="Ada"),
        expert=await make_member(rt, "agent", name="Eve"),
        customer=await make_member(rt, "customer", name="Cara"),
        other_customer=await make_member(rt, "customer", name="Otto"),
    )
    await publish(rt, cast.expert)
    return cast


async def publish(
    rt: Runtime, expert: Principal, availability: AvailabilityIn | None = None
) -> None:
    assert expert.user_id is not None
    async with rt.uow() as tx:
        await service.do_set_availability(
            tx, expert, expert.user_id, availability or BERLIN_WEEKDAYS_9_TO_17
        )


async def record(
    rt: Runtime, cast: Cast, start: datetime, minutes: int = 30, *, by: Principal | None = None
) -> AppointmentRead:
    """An appointment the admin records for the cast's customer with its expert."""
    assert cast.customer.user_id and cast.expert.user_id
    async with rt.uow() as tx:
        return await service.do_create_appointment(
            tx,
            by or cast.admin,
            customer_id=cast.customer.user_id,
            expert_id=cast.expert.user_id,
            starts_at=start,
            ends_at=start + timedelta(minutes=minutes),
        )


async def run_sweep(rt: Runtime) -> list[tuple[str, str]]:
    return [(a.deadline, a.outcome) for a in await sweep(rt.uow, rt.deadlines, batch_size=100)]


async def load(rt: Runtime, appointment_id: str) -> tuple[Appointment, Conversation]:
    async with rt.uow(write=False) as tx:
        appointment = await tx.session.get(Appointment, appointment_id)
        assert appointment is not None
        conversation = await tx.session.get(Conversation, appointment.conversation_id)
        assert conversation is not None
        return appointment, conversation


async def jobs_of(rt: Runtime, kind: str) -> list[Job]:
    async with rt.uow(write=False) as tx:
        return list(
            await tx.session.scalars(select(Job).where(Job.kind == kind).order_by(Job.run_at))
        )


def at(hours: float = 0, minutes: float = 0, days: float = 0) -> datetime:
    return START + timedelta(hours=hours, minutes=minutes, days=days)
