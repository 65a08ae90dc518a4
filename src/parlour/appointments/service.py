"""Appointments: booked times between a customer and an expert, each with its own chat.

scheduled → completed (its chat's deadline, ends_at + the tenant's grace, passed) or cancelled
(either person or an admin; the chat ends at once). The chat is a conversation of kind
`appointment`, created in the same transaction with both people as participants (the expert
as its agent, so it is `active` from the booking on and routing leaves it alone).

Double booking is refused by the database (an exclusion constraint on PostgreSQL, a trigger on
SQLite: migration 0012); the check here first only gives the common case a cheaper answer.
Appointments are locked before their conversation on every path (docs/appointments.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError

from parlour.appointments import repository
from parlour.appointments.schemas import (
    MAX_APPOINTMENT_MINUTES,
    AppointmentRead,
    AvailabilityException,
    AvailabilityIn,
    AvailabilityRead,
    ExpertRead,
    Slot,
    SlotPage,
    View,
    WeeklyHours,
)
from parlour.appointments.slots import Rule, free_slots, open_intervals, within
from parlour.auth.principal import Principal
from parlour.auth.service import get_tenant, get_user, lock_user
from parlour.conversations import service as conversations
from parlour.core.errors import BadRequest, Conflict, Forbidden, NotFound
from parlour.core.ids import new_id
from parlour.core.uow import UnitOfWork
from parlour.models.appointment import (
    NO_OVERLAP,
    Appointment,
    AppointmentStatus,
    Availability,
    AvailabilityKind,
)
from parlour.models.conversation import Conversation, EndReason, ParticipantRole, Status
from parlour.models.tenant import Tenant
from parlour.models.user import User

KIND = "appointment"
REMIND_JOB = "appointments.remind"
EMAIL_JOB = "email.send"
MAX_LIST = 200
MAX_SLOT_WINDOW = timedelta(days=31)
DEFAULT_SLOT_WINDOW = timedelta(days=7)
MAX_EXCEPTION_DAYS = 366
# paidbook: how long a booking waits for its payment before the slot is released.
PAYMENT_HOLD = timedelta(minutes=30)


def appointment_not_found() -> NotFound:
    """The one answer for an appointment that is missing or not the caller's to see."""
    return NotFound("Appointment not found.", code="appointment_not_found")


def _expert_not_found() -> NotFound:
    return NotFound("Expert not found.", code="expert_not_found")


def _slot_taken() -> Conflict:
    return Conflict("The expert already has an appointment at that time.", code="slot_taken")


def _actor(principal: Principal) -> str:
    if principal.user_id is not None:
        return principal.user_id
    return "service" if principal.is_service else "system"


def _for_business(principal: Principal) -> bool:
    """Admins, service keys and the system actor act on every appointment of their tenant."""
    return principal.is_admin or principal.is_service or principal.is_system


def _may_read(principal: Principal, appointment: Appointment) -> bool:
    if appointment.tenant_id != principal.tenant_id:
        return False
    return _for_business(principal) or principal.user_id in (
        appointment.customer_id,
        appointment.expert_id,
    )


def _when(start: datetime, end: datetime) -> str:
    """A time range for a system message (UTC; the pages show each reader's own zone)."""
    s, e = start.astimezone(UTC), end.astimezone(UTC)
    tail = e.strftime("%H:%M") if s.date() == e.date() else e.strftime("%Y-%m-%d %H:%M")
    return f"{s.strftime('%Y-%m-%d %H:%M')} to {tail} UTC"


async def _view(tx: UnitOfWork, appointment: Appointment) -> AppointmentRead:
    await tx.session.flush()
    [found] = await repository.named(
        tx.session, repository.with_names().where(Appointment.id == appointment.id)
    )
    return _read(*found)


def _read(appointment: Appointment, customer_name: str, expert_name: str) -> AppointmentRead:
    return AppointmentRead.model_validate(
        {
            **{
                c: getattr(appointment, c)
                for c in AppointmentRead.model_fields
                if hasattr(appointment, c)
            },
            "customer_name": customer_name,
            "expert_name": expert_name,
        }
    )


async def _expert(tx: UnitOfWork, principal: Principal, expert_id: str) -> User:
    """An active staff member of the caller's tenant (an agent or an admin)."""
    try:
        user = await get_user(tx.session, principal, expert_id)
    except NotFound:
        raise _expert_not_found() from None
    if not user.is_staff or not user.is_active:
        raise _expert_not_found()
    return user


def _check_times(start: datetime, end: datetime) -> None:
    if end <= start:
        raise BadRequest("ends_at must be after starts_at.", code="invalid_times")
    if end - start > timedelta(minutes=MAX_APPOINTMENT_MINUTES):
        raise BadRequest(
            f"An appointment lasts at most {MAX_APPOINTMENT_MINUTES // 60} hours.",
            code="appointment_too_long",
        )


async def _flush_or_slot_taken(tx: UnitOfWork) -> None:
    """Flush; the database's no-overlap rule (constraint or trigger) answers 409 slot_taken."""
    try:
        await tx.session.flush()
    except IntegrityError as exc:
        if NO_OVERLAP in str(exc.orig):
            raise _slot_taken() from None
        raise


async def _refuse_overlap(
    tx: UnitOfWork,
    tenant_id: str,
    expert_id: str,
    start: datetime,
    end: datetime,
    *,
    excluding: str | None = None,
) -> None:
    if await repository.busy(tx.session, tenant_id, expert_id, start, end, excluding=excluding):
        raise _slot_taken()


async def _schedule_reminder(tx: UnitOfWork, tenant: Tenant, appointment: Appointment) -> None:
    """A reminder job for starts_at - the tenant's reminder minutes. Its key names the start:
    a rescheduled appointment gets a new job, and the old one finds a different start when it
    runs and does nothing (as it does for a cancelled appointment)."""
    minutes = tenant.typed_settings.appointment_reminder_minutes
    if minutes == 0 or appointment.starts_at <= tx.now:
        return
    start = appointment.starts_at.astimezone(UTC).isoformat()
    await tx.enqueue(
        REMIND_JOB,
        {"appointment_id": appointment.id, "starts_at": start},
        key=f"{appointment.id}:{start}",
        run_at=max(appointment.starts_at - timedelta(minutes=minutes), tx.now),
        tenant_id=appointment.tenant_id,
    )


async def _create(
    tx: UnitOfWork,
    principal: Principal,
    *,
    customer_id: str,
    expert: User,
    start: datetime,
    end: datetime,
    note: str | None,
    pending_payment: bool = False,
) -> AppointmentRead:
    """The appointment, its conversation (both people in it) and its reminder, in the caller's
    transaction. `principal` is an admin, a service key, or a customer booking for itself
    (whose chat is then set up by the tenant's system actor)."""
    tenant = await get_tenant(tx.session, principal.tenant_id)
    await _refuse_overlap(tx, tenant.id, expert.id, start, end)
    opener = principal if _for_business(principal) else Principal.system_actor(tenant.id)
    chat = await conversations.do_create_conversation(
        tx,
        opener,
        kind=KIND,
        customer_id=customer_id,
        subject=f"Appointment with {expert.display_name}",
    )
    await conversations.do_add_participant(
        tx, opener, chat.id, user_id=expert.id, role=ParticipantRole.agent
    )
    closes_at = end + timedelta(hours=tenant.typed_settings.appointment_grace_hours)
    await conversations.do_set_closes_at(tx, chat.id, tenant.id, closes_at)
    appointment = Appointment(
        id=new_id(),
        tenant_id=tenant.id,
        customer_id=chat.customer_id,
        expert_id=expert.id,
        starts_at=start,
        ends_at=end,
        closes_at=closes_at,
        status=AppointmentStatus.pending_payment
        if pending_payment
        else AppointmentStatus.scheduled,
        note=note or None,
        conversation_id=chat.id,
        created_by=_actor(principal),
        created_at=tx.now,
    )
    tx.session.add(appointment)
    await _flush_or_slot_taken(tx)
    if pending_payment:
        await conversations.do_post_notice(
            tx,
            chat.id,
            tenant.id,
            body=f"Appointment held for {_when(start, end)} until it is paid.",
            meta={"event": "appointment_held", "appointment_id": appointment.id},
        )
        return await _view(tx, appointment)
    await conversations.do_post_notice(
        tx,
        chat.id,
        tenant.id,
        body=f"Appointment booked for {_when(start, end)}.",
        meta={"event": "appointment_booked", "appointment_id": appointment.id},
    )
    await _schedule_reminder(tx, tenant, appointment)
    return await _view(tx, appointment)


async def do_create_appointment(
    tx: UnitOfWork,
    principal: Principal,
    *,
    customer_id: str,
    expert_id: str,
    starts_at: datetime,
    ends_at: datetime,
    note: str | None = None,
) -> AppointmentRead:
    """An admin or a service key records an appointment (a past one too: importing existing
    bookings; its chat then closes at the next sweep and the appointment completes)."""
    if not (principal.is_admin or principal.is_service):
        raise Forbidden(
            "Only admins and service keys record appointments; customers book a free slot.",
            code="forbidden",
        )
    _check_times(starts_at, ends_at)
    expert = await _expert(tx, principal, expert_id)
    return await _create(
        tx,
        principal,
        customer_id=customer_id,
        expert=expert,
        start=starts_at,
        end=ends_at,
        note=note,
    )


async def do_book(
    tx: UnitOfWork,
    principal: Principal,
    *,
    expert_id: str,
    starts_at: datetime,
    duration_minutes: int,
    pending_payment: bool = False,
) -> AppointmentRead:
    """A customer books itself into a free slot of the expert's published availability;
    `pending_payment` holds the slot until the booking's checkout is paid (paidbook)."""
    if not principal.is_customer or principal.user_id is None:
        raise Forbidden(
            "Customers book for themselves; admins and service keys record appointments.",
            code="forbidden",
        )
    # The customer's row is locked first: its bookings are counted and added under the lock,
    # so concurrent bookings by one customer cannot all pass the limit.
    customer = await lock_user(tx.session, principal.tenant_id, principal.user_id)
    if customer is None:
        raise Forbidden("Customers book for themselves.", code="forbidden")
    if customer.is_guest:
        # A guest is an anonymous widget visitor: booking would let anyone fill a calendar.
        raise Forbidden(
            "Guests cannot book appointments; sign in or create an account first.",
            code="guests_cannot_book",
        )
    expert = await _expert(tx, principal, expert_id)
    end = starts_at + timedelta(minutes=duration_minutes)
    if starts_at <= tx.now:
        raise BadRequest("That time has already begun.", code="slot_not_available")
    tenant = await get_tenant(tx.session, principal.tenant_id)
    limit = tenant.typed_settings.max_upcoming_bookings
    held = await repository.count_upcoming(tx.session, tenant.id, customer.id, now=tx.now)
    if held >= limit:
        raise Conflict(
            f"You already hold {held} upcoming appointments (at most {limit}); cancel one or "
            "wait until one has taken place.",
            code="too_many_bookings",
        )
    rules, zone = await _rules(tx, principal.tenant_id, expert.id)
    if zone is None or not within(open_intervals(rules, zone, starts_at, end), (starts_at, end)):
        raise BadRequest(
            "The expert has not published that time as available.", code="slot_not_available"
        )
    return await _create(
        tx,
        principal,
        customer_id=principal.user_id,
        expert=expert,
        start=starts_at,
        end=end,
        note=None,
        pending_payment=pending_payment,
    )


async def get_appointment(
    tx: UnitOfWork, principal: Principal, appointment_id: str
) -> AppointmentRead:
    appointment = await repository.get(tx.session, appointment_id, principal.tenant_id)
    if appointment is None or not _may_read(principal, appointment):
        raise appointment_not_found()
    return await _view(tx, appointment)


async def list_appointments(
    tx: UnitOfWork,
    principal: Principal,
    *,
    view: View = "all",
    status: AppointmentStatus | None = None,
    expert_id: str | None = None,
    customer_id: str | None = None,
    starts_from: datetime | None = None,
    starts_before: datetime | None = None,
    limit: int = 100,
) -> list[AppointmentRead]:
    """Admins and service keys: every appointment of the tenant; a customer or an expert: the
    ones they are in. `upcoming` are the scheduled ones (those under way first, then soonest);
    `history` the completed and cancelled (latest first); the filters narrow either."""
    if not 1 <= limit <= MAX_LIST:
        raise BadRequest(f"limit must be between 1 and {MAX_LIST}.", code="invalid_limit")
    query = repository.with_names().where(Appointment.tenant_id == principal.tenant_id)
    if not _for_business(principal):
        if principal.user_id is None:
            raise Forbidden()
        query = repository.involving(query, principal.user_id)
    live = (AppointmentStatus.scheduled, AppointmentStatus.pending_payment)
    if view == "upcoming":
        query = query.where(Appointment.status.in_(live))
    elif view == "history":
        query = query.where(Appointment.status.not_in(live))
    if status is not None:
        query = query.where(Appointment.status == status)
    if expert_id is not None:
        query = query.where(Appointment.expert_id == expert_id)
    if customer_id is not None:
        query = query.where(Appointment.customer_id == customer_id)
    if starts_from is not None:
        query = query.where(Appointment.starts_at >= starts_from)
    if starts_before is not None:
        query = query.where(Appointment.starts_at < starts_before)
    if view == "upcoming":
        query = query.order_by(Appointment.starts_at, Appointment.id)
    else:
        query = query.order_by(Appointment.starts_at.desc(), Appointment.id)
    found = [_read(*row) for row in await repository.named(tx.session, query.limit(limit))]
    if view == "upcoming":
        # Those under way (their chat is where the people are now) before those to come.
        found.sort(key=lambda a: (a.starts_at > tx.now, a.starts_at))
    return found


async def _locked(tx: UnitOfWork, principal: Principal, appointment_id: str) -> Appointment:
    appointment = await repository.lock(tx.session, appointment_id, principal.tenant_id)
    if appointment is None or not _may_read(principal, appointment):
        raise appointment_not_found()
    return appointment


def _require_scheduled(appointment: Appointment) -> None:
    if appointment.status != AppointmentStatus.scheduled:
        raise Conflict(
            f"This appointment is {appointment.status}.", code="appointment_not_scheduled"
        )


async def do_update_appointment(
    tx: UnitOfWork,
    principal: Principal,
    appointment_id: str,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    note: str | None = None,
) -> AppointmentRead:
    """Reschedule (an admin, a service key or the expert): the chat's deadline moves with the
    end (earlier or later), the reminder with the start; the no-overlap rule holds."""
    appointment = await _locked(tx, principal, appointment_id)
    if not (_for_business(principal) or principal.user_id == appointment.expert_id):
        raise Forbidden("Only an admin or the expert changes an appointment.", code="forbidden")
    _require_scheduled(appointment)
    if note is not None:
        appointment.note = note or None
    if starts_at is None and ends_at is None:
        return await _view(tx, appointment)
    start = starts_at or appointment.starts_at
    end = ends_at or (
        start + (appointment.ends_at - appointment.starts_at)
        if starts_at is not None
        else appointment.ends_at
    )
    _check_times(start, end)
    if end <= tx.now:
        raise BadRequest(
            "An appointment cannot be moved into the past.", code="appointment_in_past"
        )
    tenant = await get_tenant(tx.session, principal.tenant_id)
    await _refuse_overlap(
        tx, tenant.id, appointment.expert_id, start, end, excluding=appointment.id
    )
    appointment.starts_at, appointment.ends_at = start, end
    appointment.closes_at = end + timedelta(hours=tenant.typed_settings.appointment_grace_hours)
    await _flush_or_slot_taken(tx)
    await conversations.do_set_closes_at(
        tx, appointment.conversation_id, tenant.id, appointment.closes_at
    )
    who = principal.display_name or "The service"
    await conversations.do_post_notice(
        tx,
        appointment.conversation_id,
        tenant.id,
        body=f"{who} moved the appointment to {_when(start, end)}.",
        meta={"event": "appointment_rescheduled", "appointment_id": appointment.id},
    )
    await _schedule_reminder(tx, tenant, appointment)
    return await _view(tx, appointment)


async def do_cancel(
    tx: UnitOfWork, principal: Principal, appointment_id: str, *, reason: str
) -> AppointmentRead:
    """Either person or an admin (or a service key) cancels: the chat ends at once (reason
    `cancelled`) after a system message naming who cancelled and why."""
    appointment = await _locked(tx, principal, appointment_id)
    if appointment.status != AppointmentStatus.pending_payment:
        # paidbook: a hold may be cancelled too (a payment arriving later is refunded).
        _require_scheduled(appointment)
    appointment.status = AppointmentStatus.cancelled
    appointment.cancel_reason = reason
    appointment.cancelled_by = _actor(principal)
    appointment.cancelled_at = tx.now
    await tx.session.flush()
    who = principal.display_name or "The service"
    await conversations.do_post_notice(
        tx,
        appointment.conversation_id,
        appointment.tenant_id,
        body=f"{who} cancelled the appointment: {reason}",
        meta={
            "event": "appointment_cancelled",
            "appointment_id": appointment.id,
            "by": _actor(principal),
            "reason": reason,
        },
    )
    await conversations.do_end_by_system(
        tx, appointment.conversation_id, appointment.tenant_id, reason=EndReason.cancelled
    )
    return await _view(tx, appointment)


# The deadline: an appointment completes when its chat's deadline (ends_at + grace) passes.


async def find_due_completions(tx: UnitOfWork, *, limit: int) -> list[tuple[str, str]]:
    """(conversation id, tenant id) of scheduled appointments past their chat's deadline."""
    return await repository.due_to_complete(tx.session, now=tx.now, limit=limit)


async def do_complete_due(tx: UnitOfWork, conversation_id: str, tenant_id: str) -> bool:
    """Under the appointment's lock (then the chat's): if it is still scheduled and past its
    deadline, close its chat (`expired`, unless the expiry sweep or a person already ended
    it) and mark it completed. False when there was nothing left to do."""
    appointment = await repository.lock_by_conversation(tx.session, conversation_id, tenant_id)
    if (
        appointment is None
        or appointment.status != AppointmentStatus.scheduled
        or appointment.closes_at > tx.now
    ):
        return False
    await conversations.do_close_expired(tx, conversation_id, tenant_id)
    appointment.status = AppointmentStatus.completed
    appointment.completed_at = tx.now
    return True


# paidbook: paid bookings. A hold becomes scheduled when its checkout is paid, or is released.


async def do_confirm_payment(tx: UnitOfWork, tenant_id: str, conversation_id: str) -> bool:
    """The payment of a held booking arrived (payments' completion, as the system actor):
    under the appointment's lock the hold turns `scheduled` and its reminder is queued. False
    when the hold is gone (released or cancelled): the caller refunds the payment. A
    booking already scheduled (a repeated delivery) is True and changes nothing."""
    appointment = await repository.lock_by_conversation(tx.session, conversation_id, tenant_id)
    if appointment is None or appointment.status == AppointmentStatus.cancelled:
        return False
    if appointment.status != AppointmentStatus.pending_payment:
        return True
    appointment.status = AppointmentStatus.scheduled
    await tx.session.flush()
    await conversations.do_post_notice(
        tx,
        conversation_id,
        tenant_id,
        body=f"Paid: appointment booked for {_when(appointment.starts_at, appointment.ends_at)}.",
        meta={"event": "appointment_booked", "appointment_id": appointment.id},
    )
    await _schedule_reminder(tx, await get_tenant(tx.session, tenant_id), appointment)
    return True


async def find_due_holds(tx: UnitOfWork, *, limit: int) -> list[tuple[str, str]]:
    """(conversation id, tenant id) of holds unpaid for PAYMENT_HOLD."""
    return await repository.unpaid_holds(
        tx.session, created_before=tx.now - PAYMENT_HOLD, limit=limit
    )


async def do_release_hold(tx: UnitOfWork, conversation_id: str, tenant_id: str) -> bool:
    """Under the lock: a hold still unpaid after PAYMENT_HOLD is cancelled (the slot is free,
    its chat ends `cancelled`). False when it was paid or released meanwhile."""
    appointment = await repository.lock_by_conversation(tx.session, conversation_id, tenant_id)
    if (
        appointment is None
        or appointment.status != AppointmentStatus.pending_payment
        or appointment.created_at > tx.now - PAYMENT_HOLD
    ):
        return False
    reason = "not paid in time"
    appointment.status = AppointmentStatus.cancelled
    appointment.cancel_reason = reason
    appointment.cancelled_by = "system"
    appointment.cancelled_at = tx.now
    await tx.session.flush()
    await conversations.do_post_notice(
        tx,
        conversation_id,
        tenant_id,
        body=f"The appointment was released: {reason}.",
        meta={
            "event": "appointment_cancelled",
            "appointment_id": appointment.id,
            "by": "system",
            "reason": reason,
        },
    )
    await conversations.do_end_by_system(tx, conversation_id, tenant_id, reason=EndReason.cancelled)
    return True


# Reminders (the job `appointments.remind`, see appointments/jobs.py).


async def do_remind(
    tx: UnitOfWork, principal: Principal, appointment_id: str, *, starts_at: str
) -> list[str]:
    """Post the reminder in the chat and queue an email to both people, once per start: a
    cancelled, completed or rescheduled appointment (another start) gets nothing. The ids of
    the people an email was queued for."""
    appointment = await repository.lock(tx.session, appointment_id, principal.tenant_id)
    if appointment is None or appointment.status != AppointmentStatus.scheduled:
        return []
    start = appointment.starts_at.astimezone(UTC)
    if start.isoformat() != starts_at or appointment.reminded_for == start:
        return []
    appointment.reminded_for = start
    await conversations.do_post_notice(
        tx,
        appointment.conversation_id,
        appointment.tenant_id,
        body=f"Reminder: this appointment is at {_when(start, appointment.ends_at)}.",
        meta={"event": "appointment_reminder", "appointment_id": appointment.id},
    )
    people = [appointment.customer_id, appointment.expert_id]
    for user_id in people:
        await tx.enqueue(
            EMAIL_JOB,
            {
                "to_user_id": user_id,
                "template": "appointment_reminder",
                "appointment_id": appointment.id,
                "starts_at": starts_at,
            },
            key=f"appointment-reminder:{appointment.id}:{starts_at}:{user_id}",
            tenant_id=appointment.tenant_id,
        )
    return people


# Availability and slots.


def _rule(row: Availability) -> Rule:
    return Rule(
        kind=row.kind,
        weekday=row.weekday,
        date_from=row.date_from,
        date_to=row.date_to,
        start=row.start_time,
        end=row.end_time,
    )


async def _rules(tx: UnitOfWork, tenant_id: str, expert_id: str) -> tuple[list[Rule], str | None]:
    rows = await repository.availability(tx.session, tenant_id, expert_id)
    return [_rule(r) for r in rows], (rows[0].timezone if rows else None)


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"Unknown time zone {name!r}.", code="invalid_timezone") from None
    return name


def _invalid(message: str) -> BadRequest:
    return BadRequest(message, code="invalid_availability")


def _check_availability(availability: AvailabilityIn) -> None:
    """What the schema cannot say: each span ends after it starts, exceptions are whole."""
    for w in availability.weekly:
        if w.end <= w.start:
            raise _invalid(f"Weekly hours end after they start ({w.start}-{w.end}).")
    for e in availability.exceptions:
        if e.date_to < e.date_from:
            raise _invalid("An exception's date_to must not be before its date_from.")
        if (e.date_to - e.date_from).days > MAX_EXCEPTION_DAYS:
            raise _invalid(f"An exception spans at most {MAX_EXCEPTION_DAYS} days.")
        if (e.start is None) != (e.end is None):
            raise _invalid("Give an exception both start and end, or neither.")
        if e.kind == AvailabilityKind.extra and e.start is None:
            raise _invalid("Extra hours need a start and an end.")
        if e.start is not None and e.end is not None and e.end <= e.start:
            raise _invalid(f"An exception's hours end after they start ({e.start}-{e.end}).")


async def get_availability(
    tx: UnitOfWork, principal: Principal, expert_id: str
) -> AvailabilityRead:
    """An expert's published availability (anyone of the tenant may read it)."""
    expert = await _expert(tx, principal, expert_id)
    rows = await repository.availability(tx.session, principal.tenant_id, expert.id)
    return AvailabilityRead(
        expert_id=expert.id,
        timezone=rows[0].timezone if rows else None,
        weekly=[
            WeeklyHours(weekday=r.weekday or 0, start=r.start_time or "", end=r.end_time or "")
            for r in rows
            if r.kind == AvailabilityKind.weekly
        ],
        exceptions=[
            AvailabilityException.model_validate(
                {
                    "kind": r.kind,
                    "date_from": r.date_from,
                    "date_to": r.date_to,
                    "start": r.start_time,
                    "end": r.end_time,
                }
            )
            for r in rows
            if r.kind != AvailabilityKind.weekly
        ],
    )


async def do_set_availability(
    tx: UnitOfWork, principal: Principal, expert_id: str, availability: AvailabilityIn
) -> AvailabilityRead:
    """Replace an expert's availability: the expert, an admin or a service key. Existing
    appointments stay as they are."""
    expert = await _expert(tx, principal, expert_id)
    if not (principal.is_admin or principal.is_service or principal.user_id == expert.id):
        raise Forbidden("Only the expert or an admin publishes availability.", code="forbidden")
    zone = _zone(availability.timezone)
    _check_availability(availability)
    base = {"tenant_id": principal.tenant_id, "expert_id": expert.id, "timezone": zone}
    rows = [
        Availability(
            id=new_id(),
            kind=AvailabilityKind.weekly,
            weekday=w.weekday,
            start_time=w.start,
            end_time=w.end,
            **base,
        )
        for w in availability.weekly
    ] + [
        Availability(
            id=new_id(),
            kind=e.kind,
            date_from=e.date_from,
            date_to=e.date_to,
            start_time=e.start,
            end_time=e.end,
            **base,
        )
        for e in availability.exceptions
    ]
    # Replacing is a delete then an insert: without the expert's row locked, two concurrent
    # replacements would each delete only the rows they saw and both insert (a merge).
    await lock_user(tx.session, principal.tenant_id, expert.id)
    await repository.replace_availability(tx.session, principal.tenant_id, expert.id, rows)
    return await get_availability(tx, principal, expert.id)


async def list_slots(
    tx: UnitOfWork,
    principal: Principal,
    expert_id: str,
    *,
    window_start: datetime | None,
    window_end: datetime | None,
    duration_minutes: int,
) -> SlotPage:
    """Free slots of `duration_minutes` in the window (default: the next 7 days, at most
    31): inside the published availability, not begun, overlapping no live appointment."""
    expert = await _expert(tx, principal, expert_id)
    start = window_start or tx.now
    end = window_end or start + DEFAULT_SLOT_WINDOW
    if end <= start or end - start > MAX_SLOT_WINDOW:
        raise BadRequest("`to` must be after `from`, at most 31 days later.", code="invalid_window")
    rules, zone = await _rules(tx, principal.tenant_id, expert.id)
    slots: list[Slot] = []
    if zone is not None:
        available = open_intervals(rules, zone, start, end)
        busy = await repository.busy(tx.session, principal.tenant_id, expert.id, start, end)
        slots = [
            Slot(starts_at=s, ends_at=e)
            for s, e in free_slots(
                available,
                busy,
                duration=timedelta(minutes=duration_minutes),
                window=(start, end),
                not_before=tx.now,
            )
        ]
    return SlotPage(expert_id=expert.id, duration_minutes=duration_minutes, slots=slots)


async def list_experts(tx: UnitOfWork, principal: Principal) -> list[ExpertRead]:
    """The tenant's staff who publish availability (whom a customer can book)."""
    rows = await repository.experts_with_availability(tx.session, principal.tenant_id)
    return [
        ExpertRead(id=u.id, display_name=u.display_name, timezone=tz)
        for u, tz in rows
        if u.is_staff
    ]


# import: appointments another system recorded, for conversations `parlour import` made.


async def do_import_appointment(
    tx: UnitOfWork,
    conversation: Conversation,
    *,
    expert_id: str,
    starts_at: datetime,
    ends_at: datetime,
    status: str,
    created_at: datetime,
    cancelled_at: datetime | None = None,
) -> Appointment:
    """The appointment behind an imported appointment chat. Parlour's rules hold: it ends after
    it starts, an expert is never booked twice at once (409 `slot_taken`, from the database's
    rule), its chat closes the tenant's grace hours after the end. A scheduled one still to
    come gets its reminder; one whose deadline passed is completed by the sweep."""
    if status not in AppointmentStatus.__members__ or status == AppointmentStatus.pending_payment:
        raise BadRequest(f"Unknown appointment status '{status}'.", code="invalid_status")
    if ends_at <= starts_at:
        raise BadRequest("An appointment ends after it starts.", code="invalid_times")
    tenant = await get_tenant(tx.session, conversation.tenant_id)
    expert = await get_user(tx.session, Principal.system_actor(tenant.id), expert_id)
    if not expert.is_staff:
        raise _expert_not_found()
    closes_at = ends_at + timedelta(hours=tenant.typed_settings.appointment_grace_hours)
    appointment = Appointment(
        id=new_id(),
        tenant_id=tenant.id,
        customer_id=conversation.customer_id,
        expert_id=expert.id,
        starts_at=starts_at,
        ends_at=ends_at,
        closes_at=closes_at,
        status=status,
        conversation_id=conversation.id,
        created_by="system",
        created_at=created_at,
        cancelled_by="system" if status == AppointmentStatus.cancelled else None,
        cancelled_at=(cancelled_at or created_at)
        if status == AppointmentStatus.cancelled
        else None,
        completed_at=conversation.ended_at if status == AppointmentStatus.completed else None,
    )
    if status != AppointmentStatus.cancelled:
        await _refuse_overlap(tx, tenant.id, expert.id, starts_at, ends_at)
    tx.session.add(appointment)
    await _flush_or_slot_taken(tx)
    if conversation.status != Status.ended:
        await conversations.do_set_closes_at(tx, conversation.id, tenant.id, closes_at)
    if status == AppointmentStatus.scheduled and starts_at > tx.now:
        await _schedule_reminder(tx, tenant, appointment)
    return appointment
