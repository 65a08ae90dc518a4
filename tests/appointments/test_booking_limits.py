"""Self-booking limits, on both databases: guests (the support widget's anonymous visitors)
never book, and a customer holds at most `max_upcoming_bookings` upcoming appointments, also
when it books many slots at once (the customer's row is locked while they are counted); and
concurrent replacements of an expert's availability never merge (the expert's row is locked)."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from parlour.appointments import service
from parlour.appointments.schemas import AvailabilityIn
from parlour.auth.principal import Principal
from parlour.core.errors import AppError
from parlour.models.appointment import Appointment
from parlour.runtime import Runtime
from tests.api.support import assert_error, make_world, set_tenant_settings
from tests.appointments.support import make_cast
from tests.appointments.test_api import ALL_DAY, soon
from tests.appointments.test_booking import book, utc
from tests.tickets.support import start_chat


async def test_a_guest_from_the_public_support_start_cannot_book(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    world = await make_world(runtime)
    published = await client.put(
        f"/api/v1/experts/{world.agent.user_id}/availability",
        json=ALL_DAY,
        headers=world.headers["agent"],
    )
    assert published.status_code == 200, published.text
    guest = await start_chat(client)
    response = await client.post(
        "/api/v1/appointments/book",
        json={
            "expert_id": world.agent.user_id,
            "starts_at": soon(30).isoformat(),
            "duration_minutes": 480,
        },
        headers={"Authorization": f"Bearer {guest['credential']['access_token']}"},
    )
    assert_error(response, 403, "guests_cannot_book")
    listed = await client.get("/api/v1/appointments", headers=world.headers["admin"])
    assert listed.json()["appointments"] == []


async def test_a_customer_holds_at_most_the_tenants_limit(frozen: Runtime) -> None:
    cast = await make_cast(frozen)
    hours = [utc(2, 8), utc(2, 9), utc(2, 10), utc(2, 11)]
    assert [await book(frozen, cast.customer, cast.expert, h) for h in hours] == [
        "ok",
        "ok",
        "ok",
        "too_many_bookings",
    ]
    # Another customer has its own allowance.
    assert await book(frozen, cast.other_customer, cast.expert, utc(2, 11)) == "ok"
    # Cancelling one frees a place.
    async with frozen.uow() as tx:
        first = await tx.session.scalar(
            select(Appointment.id).where(Appointment.starts_at == utc(2, 8))
        )
        assert first is not None
        await service.do_cancel(tx, cast.customer, first, reason="changed my mind")
    assert await book(frozen, cast.customer, cast.expert, utc(2, 12)) == "ok"
    # An appointment that has ended no longer counts; the tenant may lower the limit to 0.
    await set_tenant_settings(frozen, None, max_upcoming_bookings=0)
    assert await book(frozen, cast.other_customer, cast.expert, utc(2, 13)) == ("too_many_bookings")


async def test_ended_appointments_do_not_count(frozen: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    cast = await make_cast(frozen)
    await set_tenant_settings(frozen, None, max_upcoming_bookings=1)
    assert await book(frozen, cast.customer, cast.expert, utc(2, 8)) == "ok"
    assert await book(frozen, cast.customer, cast.expert, utc(2, 9)) == "too_many_bookings"
    clock.advance(hours=3.5)  # 09:30: the 08:00-09:00 one is over
    assert await book(frozen, cast.customer, cast.expert, utc(2, 10)) == "ok"


async def test_concurrent_bookings_by_one_customer_stay_within_the_limit(
    frozen: Runtime,
) -> None:
    """Real concurrency: eight bookings of eight different free slots by one customer, each in
    its own unit of work (on PostgreSQL all open before any books): exactly three pass."""
    cast = await make_cast(frozen)
    sqlite = frozen.engine.dialect.name == "sqlite"
    barrier = asyncio.Barrier(8)
    assert cast.expert.user_id

    async def attempt(customer: Principal, hour: int) -> str:
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
                    starts_at=utc(2, hour),
                    duration_minutes=60,
                )
        except AppError as exc:
            return exc.code
        return "ok"

    outcomes = await asyncio.wait_for(
        asyncio.gather(*(attempt(cast.customer, 8 + i) for i in range(8))), 60
    )
    assert sorted(outcomes) == ["ok"] * 3 + ["too_many_bookings"] * 5
    async with frozen.uow(write=False) as tx:
        count = await tx.session.scalar(select(func.count()).select_from(Appointment))
    assert count == 3


async def test_concurrent_availability_replacements_never_merge(frozen: Runtime) -> None:
    """Real concurrency: six replacements of one expert's weekly hours, each a different single
    weekday, each in its own unit of work: what stays is exactly one of them, never a mix."""
    cast = await make_cast(frozen)
    assert cast.expert.user_id
    sqlite = frozen.engine.dialect.name == "sqlite"
    barrier = asyncio.Barrier(6)

    async def replace(weekday: int) -> None:
        hours = AvailabilityIn.model_validate(
            {
                "timezone": "UTC",
                "weekly": [{"weekday": weekday, "start": "09:00", "end": "12:00"}],
            }
        )
        if sqlite:
            await barrier.wait()
        async with frozen.uow() as tx:
            if not sqlite:
                await barrier.wait()
            await service.do_set_availability(tx, cast.expert, cast.expert.user_id or "", hours)

    await asyncio.wait_for(asyncio.gather(*(replace(d) for d in range(6))), 60)
    async with frozen.uow(write=False) as tx:
        kept = await service.get_availability(tx, cast.admin, cast.expert.user_id)
    assert len(kept.weekly) == 1


async def test_a_time_that_overflows_utc_is_a_clear_400_and_books_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Schema-valid date-times at the ends of the calendar (found by the fuzzer) cannot be
    held as UTC: a 400 with its own code, never a rejected schema or a 500."""
    world = await make_world(runtime)
    for starts_at in ("0001-01-01T00:00:00+00:05", "9999-12-31T23:59:00-01:00"):
        response = await client.post(
            "/api/v1/appointments/book",
            json={"expert_id": world.agent.user_id, "starts_at": starts_at, "duration_minutes": 30},
            headers=world.headers["customer"],
        )
        assert_error(response, 400, "time_out_of_range")
    listed = await client.get("/api/v1/appointments", headers=world.headers["admin"])
    assert listed.json()["appointments"] == []
