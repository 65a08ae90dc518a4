"""An appointment's chat on a frozen clock, on both databases: it opens with the booking,
closes exactly when ends_at + grace passes (never at the start), moves with a reschedule,
closes at once on cancellation, and then refuses messages; reminders follow the start."""

from __future__ import annotations

from datetime import timedelta

from parlour.appointments import service
from parlour.appointments.jobs import remind
from parlour.core.clock import FrozenClock
from parlour.core.errors import AppError
from parlour.jobs import JobContext
from parlour.messages.service import SendRequest, do_send_messages
from parlour.models.appointment import AppointmentStatus
from parlour.models.conversation import EndReason, ParticipantRole, Status
from parlour.runtime import Runtime
from tests.api.support import set_tenant_settings
from tests.appointments.support import (
    at,
    jobs_of,
    load,
    make_cast,
    record,
    run_sweep,
)
from tests.deadlines.support import ended_messages


async def send(rt: Runtime, principal, conversation_id: str, body: str = "hello"):  # type: ignore[no-untyped-def]
    async with rt.uow() as tx:
        [result] = await do_send_messages(
            tx, [SendRequest(principal, conversation_id, body)], max_chars=1000
        )
    return result


async def test_the_chat_exists_from_the_booking_with_both_people(frozen: Runtime) -> None:
    cast = await make_cast(frozen)
    appointment = await record(frozen, cast, at(hours=26))
    _, chat = await load(frozen, appointment.id)
    assert chat.kind == "appointment"
    assert chat.status == Status.active  # the expert is its agent: the customer writes now
    assert chat.closes_at == appointment.ends_at + timedelta(hours=6)
    async with frozen.uow(write=False) as tx:
        from parlour.conversations.service import get_conversation

        view = await get_conversation(tx, cast.customer, chat.id)
    roles = {p.user_id: p.role for p in view.participants}
    assert roles == {
        cast.customer.user_id: ParticipantRole.customer,
        cast.expert.user_id: ParticipantRole.agent,
    }
    assert not isinstance(await send(frozen, cast.customer, chat.id), AppError)
    assert not isinstance(await send(frozen, cast.expert, chat.id), AppError)


async def test_closes_exactly_when_end_plus_grace_passes(
    frozen: Runtime, clock: FrozenClock
) -> None:
    cast = await make_cast(frozen)
    appointment = await record(frozen, cast, at(hours=2), minutes=60)  # 08:00-09:00 UTC
    deadline = appointment.ends_at + timedelta(hours=6)
    clock.advance(seconds=(deadline - clock.now()).total_seconds() - 0.001)
    assert await run_sweep(frozen) == []
    a, chat = await load(frozen, appointment.id)
    assert (a.status, chat.status) == (AppointmentStatus.scheduled, Status.active)
    clock.advance(seconds=0.001)  # exactly ends_at + grace
    outcomes = await run_sweep(frozen)
    # One step: the chat closed (expired) and the appointment completed.
    assert outcomes == [("appointment.completion", "completed")]
    a, chat = await load(frozen, appointment.id)
    assert a.status == AppointmentStatus.completed and a.completed_at == deadline
    assert (chat.status, chat.end_reason) == (Status.ended, EndReason.expired)
    assert len(await ended_messages(frozen, chat.id)) == 1
    assert await run_sweep(frozen) == []  # once


async def test_start_long_past_but_end_plus_grace_not_stays_open(
    frozen: Runtime, clock: FrozenClock
) -> None:
    cast = await make_cast(frozen)
    # A long appointment: started 1 hour from now, ends 11 hours after that.
    appointment = await record(frozen, cast, at(hours=1), minutes=11 * 60)
    clock.advance(hours=1 + 11 + 5)  # 16 hours past the start, 5 past the end: grace is 6
    assert await run_sweep(frozen) == []
    a, chat = await load(frozen, appointment.id)
    assert (a.status, chat.status) == (AppointmentStatus.scheduled, Status.active)
    assert not isinstance(await send(frozen, cast.customer, chat.id), AppError)


async def test_the_tenant_grace_setting_is_used(frozen: Runtime, clock: FrozenClock) -> None:
    cast = await make_cast(frozen)
    await set_tenant_settings(frozen, None, appointment_grace_hours=1)
    appointment = await record(frozen, cast, at(hours=2))
    assert appointment.closes_at == appointment.ends_at + timedelta(hours=1)


async def test_rescheduling_moves_the_deadline_both_ways(
    frozen: Runtime, clock: FrozenClock
) -> None:
    cast = await make_cast(frozen)
    appointment = await record(frozen, cast, at(hours=2))
    # Later: the old deadline passes and nothing closes.
    async with frozen.uow() as tx:
        moved = await service.do_update_appointment(
            tx, cast.expert, appointment.id, starts_at=at(days=2)
        )
    assert moved.ends_at - moved.starts_at == timedelta(minutes=30)
    _, chat = await load(frozen, appointment.id)
    assert chat.closes_at == moved.ends_at + timedelta(hours=6) == moved.closes_at
    clock.advance(seconds=(appointment.closes_at - clock.now()).total_seconds() + 60)
    assert await run_sweep(frozen) == []
    # Earlier: back to an hour from now, and it closes 6.5 hours later, not at the old time.
    async with frozen.uow() as tx:
        moved = await service.do_update_appointment(
            tx,
            cast.admin,
            appointment.id,
            starts_at=clock.now() + timedelta(hours=1),
            ends_at=clock.now() + timedelta(hours=1, minutes=30),
        )
    _, chat = await load(frozen, appointment.id)
    assert chat.closes_at == moved.ends_at + timedelta(hours=6)
    clock.advance(seconds=(moved.closes_at - clock.now()).total_seconds() - 1)
    assert await run_sweep(frozen) == []
    clock.advance(seconds=1)
    assert ("appointment.completion", "completed") in await run_sweep(frozen)


async def test_cancellation_closes_at_once_naming_who_and_why(
    frozen: Runtime, clock: FrozenClock
) -> None:
    cast = await make_cast(frozen)
    appointment = await record(frozen, cast, at(days=3))
    async with frozen.uow() as tx:
        cancelled = await service.do_cancel(tx, cast.customer, appointment.id, reason="I am ill")
    assert cancelled.status == AppointmentStatus.cancelled
    assert cancelled.cancelled_by == cast.customer.user_id
    assert cancelled.cancel_reason == "I am ill"
    _, chat = await load(frozen, appointment.id)
    assert (chat.status, chat.end_reason, chat.ended_at) == (
        Status.ended,
        EndReason.cancelled,
        clock.now(),
    )
    async with frozen.uow(write=False) as tx:
        from parlour.messages.service import list_messages

        page = await list_messages(tx, cast.customer, conversation_id=chat.id)
    bodies = [m.body for m in page.messages]
    assert "Cara cancelled the appointment: I am ill" in bodies
    refused = await send(frozen, cast.customer, chat.id)
    assert isinstance(refused, AppError) and refused.code == "conversation_ended"
    # Nothing more: a second cancel, a reschedule.
    async with frozen.uow() as tx:
        try:
            await service.do_cancel(tx, cast.expert, appointment.id, reason="again")
        except AppError as exc:
            assert exc.code == "appointment_not_scheduled"
        else:
            raise AssertionError("cancelled twice")
    assert await run_sweep(frozen) == []


async def test_a_completed_appointments_chat_refuses_messages(
    frozen: Runtime, clock: FrozenClock
) -> None:
    cast = await make_cast(frozen)
    appointment = await record(frozen, cast, at(hours=1))
    clock.advance(hours=8)
    await run_sweep(frozen)
    a, chat = await load(frozen, appointment.id)
    assert a.status == AppointmentStatus.completed
    for who in (cast.customer, cast.expert):
        refused = await send(frozen, who, chat.id)
        assert isinstance(refused, AppError) and refused.code == "conversation_ended"


async def test_an_imported_past_appointment_completes_at_the_next_sweep(
    frozen: Runtime, clock: FrozenClock
) -> None:
    cast = await make_cast(frozen)
    appointment = await record(frozen, cast, at(days=-2))
    assert appointment.status == AppointmentStatus.scheduled
    assert await jobs_of(frozen, service.REMIND_JOB) == []  # no reminder for the past
    await run_sweep(frozen)
    a, chat = await load(frozen, appointment.id)
    assert (a.status, chat.status) == (AppointmentStatus.completed, Status.ended)


async def test_a_chat_ended_by_a_person_completes_when_its_deadline_passes(
    frozen: Runtime, clock: FrozenClock
) -> None:
    cast = await make_cast(frozen)
    appointment = await record(frozen, cast, at(hours=1))
    async with frozen.uow() as tx:
        from parlour.conversations.service import do_end

        await do_end(tx, cast.expert, appointment.conversation_id, reason=None)
    clock.advance(hours=8)
    assert await run_sweep(frozen) == [("appointment.completion", "completed")]
    a, chat = await load(frozen, appointment.id)
    assert (a.status, chat.end_reason) == (AppointmentStatus.completed, EndReason.agent)


def _ctx(rt: Runtime, job) -> JobContext:  # type: ignore[no-untyped-def]
    return JobContext(
        runtime=rt,
        job_id=job.id,
        kind=job.kind,
        tenant_id=job.tenant_id,
        payload=job.payload,
        idempotency_key=job.idempotency_key,
        attempt=1,
        max_attempts=5,
    )


async def test_reminders_follow_the_start_and_skip_cancelled(
    frozen: Runtime, clock: FrozenClock
) -> None:
    cast = await make_cast(frozen)
    appointment = await record(frozen, cast, at(hours=3))
    [job] = await jobs_of(frozen, service.REMIND_JOB)
    assert job.run_at == appointment.starts_at - timedelta(minutes=15)
    async with frozen.uow() as tx:
        moved = await service.do_update_appointment(
            tx, cast.admin, appointment.id, starts_at=at(hours=5)
        )
    old, new = await jobs_of(frozen, service.REMIND_JOB)
    assert new.run_at == moved.starts_at - timedelta(minutes=15)
    assert new.payload["starts_at"] != old.payload["starts_at"]
    await remind(_ctx(frozen, old))  # stale start: nothing
    assert await jobs_of(frozen, service.EMAIL_JOB) == []
    await remind(_ctx(frozen, new))
    await remind(_ctx(frozen, new))  # at least once: a repeat posts nothing twice
    emails = await jobs_of(frozen, service.EMAIL_JOB)
    assert sorted(e.payload["to_user_id"] for e in emails) == sorted(
        [cast.customer.user_id, cast.expert.user_id]
    )
    _, chat = await load(frozen, appointment.id)
    async with frozen.uow(write=False) as tx:
        from parlour.messages.service import list_messages

        page = await list_messages(tx, cast.customer, conversation_id=chat.id)
    assert sum(1 for m in page.messages if m.body.startswith("Reminder:")) == 1

    second = await record(frozen, cast, at(hours=8))
    jobs = [
        j
        for j in await jobs_of(frozen, service.REMIND_JOB)
        if j.payload["appointment_id"] == second.id
    ]
    async with frozen.uow() as tx:
        await service.do_cancel(tx, cast.admin, second.id, reason="double")
    await remind(_ctx(frozen, jobs[0]))  # cancelled: nothing
    assert len(await jobs_of(frozen, service.EMAIL_JOB)) == 2


async def test_completes_also_when_the_expiry_deadline_closed_the_chat_first(
    frozen: Runtime, clock: FrozenClock
) -> None:
    """Another node's sweep may run the plain expiry first: the completion still follows."""
    cast = await make_cast(frozen)
    appointment = await record(frozen, cast, at(hours=1))
    clock.advance(hours=8)
    async with frozen.uow() as tx:
        from parlour.conversations.service import do_close_expired

        assert await do_close_expired(tx, appointment.conversation_id, appointment.tenant_id)
    assert await run_sweep(frozen) == [("appointment.completion", "completed")]
    a, chat = await load(frozen, appointment.id)
    assert (a.status, chat.end_reason) == (AppointmentStatus.completed, EndReason.expired)
    assert len(await ended_messages(frozen, chat.id)) == 1
