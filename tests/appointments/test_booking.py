"""Availability, free slots and self-booking, on both databases; double booking refused by
the database itself (PostgreSQL's exclusion constraint, SQLite's trigger), also under 20
concurrent bookings of one slot."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from parlour.appointments import service
from parlour.appointments.schemas import AvailabilityIn
from parlour.auth.principal import Principal
from parlour.core.errors import AppError
from parlour.core.ids import new_id
from parlour.models.appointment import Appointment, AppointmentStatus
from parlour.runtime import Runtime
from tests.api.support import make_member
from tests.appointments.support import START, at, make_cast, publish, record
from tests.factories import make_conversation


async def slots(
    rt: Runtime, who: Principal, expert: Principal, start: datetime, end: datetime, minutes: int
) -> list[tuple[datetime, datetime]]:
    assert expert.user_id
    async with rt.uow(write=False) as tx:
        page = await service.list_slots(
            tx, who, expert.user_id, window_start=start, window_end=end, duration_minutes=minutes
        )
    return [(s.starts_at, s.ends_at) for s in page.slots]


async def book(
    rt: Runtime, customer: Principal, expert: Principal, start: datetime, minutes: int = 60
) -> str:
    """ "ok" or the refusing error's code."""
    assert expert.user_id
    try:
        async with rt.uow() as tx:
            await service.do_book(
                tx, customer, expert_id=expert.user_id, starts_at=start, duration_minutes=minutes
            )
    except AppError as exc:
        return exc.code
    return "ok"


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def test_slots_follow_the_weekly_hours_in_the_experts_zone(frozen: Runtime) -> None:
    cast = await make_cast(frozen)
    found = await slots(frozen, cast.customer, cast.expert, START, at(days=1), 60)
    # Monday 09:00-17:00 in Berlin (UTC+1) is 08:00-16:00 UTC.
    assert found == [(utc(2, h), utc(2, h + 1)) for h in range(8, 16)]
    # After the switch to summer time (29 March) 09:00 Berlin is 07:00 UTC.
    later = await slots(frozen, cast.customer, cast.expert, utc(30, 0), utc(31, 0), 60)
    assert later[0] == (utc(30, 7), utc(30, 8)) and len(later) == 8


async def test_slots_leave_out_appointments_the_past_and_days_off(frozen: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    cast = await make_cast(frozen)
    await record(frozen, cast, utc(2, 10), minutes=30)  # 10:00-10:30 UTC Monday
    clock.advance(hours=3)  # 09:00 UTC: the 08:00 slot has begun
    found = await slots(frozen, cast.customer, cast.expert, START, at(days=1), 60)
    assert [s for s, _ in found] == [utc(2, h) for h in (9, 11, 12, 13, 14, 15)]
    await publish(
        frozen,
        cast.expert,
        AvailabilityIn.model_validate(
            {
                "timezone": "Europe/Berlin",
                "weekly": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
                "exceptions": [
                    {"kind": "off", "date_from": "2026-03-03", "date_to": "2026-03-03"},
                    {
                        "kind": "off",
                        "date_from": "2026-03-04",
                        "date_to": "2026-03-04",
                        "start": "12:00",
                        "end": "17:00",
                    },
                    {
                        "kind": "extra",
                        "date_from": "2026-03-07",
                        "date_to": "2026-03-07",
                        "start": "10:00",
                        "end": "12:00",
                    },
                ],
            }
        ),
    )
    tuesday = await slots(frozen, cast.customer, cast.expert, utc(3, 0), utc(4, 0), 60)
    assert tuesday == []
    wednesday = await slots(frozen, cast.customer, cast.expert, utc(4, 0), utc(5, 0), 60)
    assert [s for s, _ in wednesday] == [utc(4, h) for h in (8, 9, 10)]
    saturday = await slots(frozen, cast.customer, cast.expert, utc(7, 0), utc(8, 0), 60)
    assert saturday == [(utc(7, 9), utc(7, 10)), (utc(7, 10), utc(7, 11))]
    async with frozen.uow(write=False) as tx:
        assert cast.expert.user_id
        published = await service.get_availability(tx, cast.customer, cast.expert.user_id)
    assert published.timezone == "Europe/Berlin" and len(published.exceptions) == 3
    assert published.exceptions[0].date_from == date(2026, 3, 3) or any(
        e.date_from == date(2026, 3, 3) for e in published.exceptions
    )


async def test_a_customer_books_only_a_free_published_slot(frozen: Runtime) -> None:
    cast = await make_cast(frozen)
    assert await book(frozen, cast.customer, cast.expert, utc(2, 8)) == "ok"
    assert await book(frozen, cast.other_customer, cast.expert, utc(2, 8, 30)) == "slot_taken"
    assert await book(frozen, cast.other_customer, cast.expert, utc(2, 7)) == "slot_not_available"
    assert await book(frozen, cast.other_customer, cast.expert, utc(2, 15, 30)) == (
        "slot_not_available"  # runs past 17:00 Berlin
    )
    assert await book(frozen, cast.other_customer, cast.expert, utc(1, 9)) == "slot_not_available"
    assert await book(frozen, cast.other_customer, cast.expert, utc(2, 9)) == "ok"
    # Not a customer: admins record appointments instead; an agent is no expert to book.
    assert await book(frozen, cast.admin, cast.expert, utc(2, 11)) == "forbidden"
    assert await book(frozen, cast.customer, cast.customer, utc(2, 11)) == "expert_not_found"
    async with frozen.uow(write=False) as tx:
        mine = await service.list_appointments(tx, cast.customer, view="upcoming")
    assert [a.starts_at for a in mine] == [utc(2, 8)]


async def test_an_admin_cannot_double_book_an_expert_either(frozen: Runtime) -> None:
    cast = await make_cast(frozen)
    await record(frozen, cast, utc(2, 10), minutes=60)
    with pytest.raises(AppError) as refused:
        await record(frozen, cast, utc(2, 10, 59), minutes=30)
    assert refused.value.code == "slot_taken"
    await record(frozen, cast, utc(2, 11), minutes=30)  # back to back is fine
    # A cancelled appointment frees its time.
    first = await record(frozen, cast, utc(2, 13), minutes=30)
    async with frozen.uow() as tx:
        await service.do_cancel(tx, cast.admin, first.id, reason="moved")
    await record(frozen, cast, utc(2, 13), minutes=30)
    # Rescheduling onto another appointment is refused too.
    with pytest.raises(AppError) as moved:
        async with frozen.uow() as tx:
            await service.do_update_appointment(tx, cast.admin, first.id, starts_at=utc(2, 10))
    assert moved.value.code == "appointment_not_scheduled"
    second = await record(frozen, cast, utc(2, 14), minutes=30)
    with pytest.raises(AppError) as moved:
        async with frozen.uow() as tx:
            await service.do_update_appointment(
                tx, cast.expert, second.id, starts_at=utc(2, 10, 30)
            )
    assert moved.value.code == "slot_taken"


async def test_the_database_itself_refuses_an_overlap(frozen: Runtime) -> None:
    """Past the service: a row that overlaps a live appointment of the expert is refused by
    the constraint (PostgreSQL) or the trigger (SQLite), on insert and on update."""
    cast = await make_cast(frozen)
    existing = await record(frozen, cast, utc(2, 10), minutes=60)

    def row(start: datetime, status: str = AppointmentStatus.scheduled) -> Appointment:
        return Appointment(
            id=new_id(),
            tenant_id=existing.tenant_id,
            customer_id=existing.customer_id,
            expert_id=existing.expert_id,
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
            closes_at=start + timedelta(hours=7),
            status=status,
            conversation_id=existing.conversation_id,  # replaced below where it must be unique
            created_by="test",
            created_at=START,
        )

    other_chat = (await make_conversation(frozen, cast.customer)).id  # a chat of no appointment
    to_move = (await record(frozen, cast, utc(4, 10))).id
    with pytest.raises(IntegrityError, match="appointments_no_overlap"):
        async with frozen.uow() as tx:
            clash = row(utc(2, 10, 30))
            clash.conversation_id = other_chat
            tx.session.add(clash)
            await tx.session.flush()
    with pytest.raises(IntegrityError, match="appointments_no_overlap"):
        async with frozen.uow() as tx:
            moved = await tx.session.get(Appointment, to_move)
            assert moved is not None
            moved.starts_at, moved.ends_at = utc(2, 9, 30), utc(2, 10, 30)
            await tx.session.flush()


@pytest.mark.parametrize("python_check", [True, False], ids=["as-is", "database-only"])
async def test_twenty_concurrent_bookings_of_one_slot_make_one_appointment(
    frozen: Runtime, monkeypatch: pytest.MonkeyPatch, python_check: bool
) -> None:
    """Real concurrency: each booking in its own unit of work (on PostgreSQL its own pooled
    connection and transaction, all open before any books). With the service's own overlap
    check switched off, the database's rule alone still lets exactly one through."""
    cast = await make_cast(frozen)
    customers = [await make_member(frozen, "customer", name=f"C{i}") for i in range(20)]
    if not python_check:

        async def no_check(*args: object, **kwargs: object) -> None:
            return None

        monkeypatch.setattr(service, "_refuse_overlap", no_check)
    sqlite = frozen.engine.dialect.name == "sqlite"
    barrier = asyncio.Barrier(20)
    assert cast.expert.user_id

    async def attempt(customer: Principal) -> str:
        try:
            if sqlite:  # the writer holds SQLite's write lock from BEGIN: wait before it
                await barrier.wait()
            async with frozen.uow() as tx:
                if not sqlite:
                    await barrier.wait()
                await service.do_book(
                    tx,
                    customer,
                    expert_id=cast.expert.user_id or "",
                    starts_at=utc(2, 8),
                    duration_minutes=60,
                )
        except AppError as exc:
            return exc.code
        return "ok"

    outcomes = await asyncio.wait_for(asyncio.gather(*(attempt(c) for c in customers)), 60)
    assert sorted(outcomes) == ["ok"] + ["slot_taken"] * 19
    async with frozen.uow(write=False) as tx:
        count = await tx.session.scalar(select(func.count()).select_from(Appointment))
    assert count == 1
