"""REST for appointments, experts' availability and free slots: thin adapters over the
appointments service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from parlour.appointments import service
from parlour.appointments.schemas import (
    MAX_BOOKING_MINUTES,
    MIN_BOOKING_MINUTES,
    AppointmentCreate,
    AppointmentPage,
    AppointmentRead,
    AppointmentUpdate,
    AvailabilityIn,
    AvailabilityRead,
    BookingIn,
    BookingRead,
    CancelIn,
    ExpertPage,
    Instant,
    SlotPage,
    View,
)
from parlour.conversations.routes import limit_creation
from parlour.core.http import error_responses
from parlour.deps import ConversationIdPath, PrincipalDep, RuntimeDep
from parlour.models.appointment import AppointmentStatus
from parlour.models.payment import Provider
from parlour.payments import service as payments
from parlour.payments.routes import open_stripe_checkout

router = APIRouter(prefix="/appointments", tags=["appointments"])
experts_router = APIRouter(prefix="/experts", tags=["appointments"])

ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422)
# Ids in paths: the same shape as conversation ids.
IdPath = ConversationIdPath
IdQuery = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


@router.post(
    "", response_model=AppointmentRead, status_code=status.HTTP_201_CREATED, responses=ERRORS
)
async def create_appointment(
    body: AppointmentCreate, principal: PrincipalDep, runtime: RuntimeDep
) -> AppointmentRead:
    """Record an appointment (admins and service keys; a past one too, for imports). Its chat
    (`conversation_id`) exists at once, both people in it; 409 `slot_taken` if the expert
    already has an appointment then."""
    async with runtime.uow() as tx:
        return await service.do_create_appointment(
            tx,
            principal,
            customer_id=body.customer_id,
            expert_id=body.expert_id,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            note=body.note,
        )


@router.post(
    "/book",
    response_model=BookingRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422, 429, 503),
)
async def book(
    body: BookingIn, request: Request, principal: PrincipalDep, runtime: RuntimeDep
) -> BookingRead:
    """A customer books a free slot of an expert's published availability (400
    `slot_not_available` outside it, 409 `slot_taken` if someone was faster). A booking opens
    a conversation, so it counts against the customer's conversation rate (429 beyond).
    When the tenant's `appointment_plan` has a price, the booking is `pending_payment` (the
    slot held for 30 minutes) and `checkout_url` is where to pay it (docs/appointments.md)."""
    await limit_creation(runtime, request, principal)
    settings = runtime.settings
    async with runtime.uow() as tx:
        plan = await payments.appointment_plan(tx, principal.tenant_id)
        booked = await service.do_book(
            tx,
            principal,
            expert_id=body.expert_id,
            starts_at=body.starts_at,
            duration_minutes=body.duration_minutes,
            pending_payment=plan is not None,
        )
        if plan is None:
            return BookingRead.model_validate(booked.model_dump())
        draft = payments.appointment_draft(
            principal, plan, appointment_id=booked.id, conversation_id=booked.conversation_id
        )
        keys = await payments.stripe_keys(
            tx, principal.tenant_id, settings=settings, server_secret=runtime.secret_key
        )
        if not keys.secret_key:
            # The built-in test provider; a tenant that cannot sell refuses (the raise rolls
            # the hold back).
            payments.require_test_provider(settings)
            session_id = payments.new_test_session_id()
            await payments.do_record_pending(
                tx, draft, session_id=session_id, provider=Provider.test
            )
            url = f"/checkout/test/{session_id}"
            return BookingRead.model_validate({**booked.model_dump(), "checkout_url": url})
    # Outside any transaction: the provider call (a failure leaves the hold to expire).
    base = str(request.base_url).rstrip("/")
    url = await open_stripe_checkout(
        runtime, keys.secret_key, draft, base=base, cancel="/appointments"
    )
    return BookingRead.model_validate({**booked.model_dump(), "checkout_url": url})


@router.get("", response_model=AppointmentPage, responses=ERRORS)
async def list_appointments(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    view: View = "all",
    status: AppointmentStatus | None = None,
    expert_id: IdQuery = None,
    customer_id: IdQuery = None,
    starts_from: Annotated[Instant | None, Query(alias="from")] = None,
    starts_before: Annotated[Instant | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIST)] = 100,
) -> AppointmentPage:
    """Admins and service keys: the tenant's appointments; customers and experts: their own.
    `view=upcoming` (scheduled, those under way first) or `history` (completed, cancelled);
    filters: status, expert, customer, and `from`/`to` on the start."""
    async with runtime.uow(write=False) as tx:
        found = await service.list_appointments(
            tx,
            principal,
            view=view,
            status=status,
            expert_id=expert_id,
            customer_id=customer_id,
            starts_from=starts_from,
            starts_before=starts_before,
            limit=limit,
        )
    return AppointmentPage(appointments=found)


@router.get("/{appointment_id}", response_model=AppointmentRead, responses=ERRORS)
async def get_appointment(
    appointment_id: IdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> AppointmentRead:
    async with runtime.uow(write=False) as tx:
        return await service.get_appointment(tx, principal, appointment_id)


@router.patch("/{appointment_id}", response_model=AppointmentRead, responses=ERRORS)
async def update_appointment(
    appointment_id: IdPath, body: AppointmentUpdate, principal: PrincipalDep, runtime: RuntimeDep
) -> AppointmentRead:
    """Reschedule (admins, service keys, the expert): the chat's deadline and the reminder
    move with it."""
    async with runtime.uow() as tx:
        return await service.do_update_appointment(
            tx,
            principal,
            appointment_id,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            note=body.note,
        )


@router.post("/{appointment_id}/cancel", response_model=AppointmentRead, responses=ERRORS)
async def cancel_appointment(
    appointment_id: IdPath, body: CancelIn, principal: PrincipalDep, runtime: RuntimeDep
) -> AppointmentRead:
    """Either person or an admin cancels; the chat ends at once (reason `cancelled`)."""
    async with runtime.uow() as tx:
        return await service.do_cancel(tx, principal, appointment_id, reason=body.reason)


@experts_router.get("", response_model=ExpertPage, responses=ERRORS)
async def list_experts(principal: PrincipalDep, runtime: RuntimeDep) -> ExpertPage:
    """The staff who publish availability (whom customers can book)."""
    async with runtime.uow(write=False) as tx:
        return ExpertPage(experts=await service.list_experts(tx, principal))


@experts_router.get("/{expert_id}/availability", response_model=AvailabilityRead, responses=ERRORS)
async def get_availability(
    expert_id: IdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> AvailabilityRead:
    async with runtime.uow(write=False) as tx:
        return await service.get_availability(tx, principal, expert_id)


@experts_router.put("/{expert_id}/availability", response_model=AvailabilityRead, responses=ERRORS)
async def put_availability(
    expert_id: IdPath, body: AvailabilityIn, principal: PrincipalDep, runtime: RuntimeDep
) -> AvailabilityRead:
    """Replace the expert's weekly hours and exceptions (the expert, admins, service keys)."""
    async with runtime.uow() as tx:
        return await service.do_set_availability(tx, principal, expert_id, body)


@experts_router.get("/{expert_id}/slots", response_model=SlotPage, responses=ERRORS)
async def list_slots(
    expert_id: IdPath,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    window_start: Annotated[Instant | None, Query(alias="from")] = None,
    window_end: Annotated[Instant | None, Query(alias="to")] = None,
    duration: Annotated[int, Query(ge=MIN_BOOKING_MINUTES, le=MAX_BOOKING_MINUTES)] = 30,
) -> SlotPage:
    """Free slots of `duration` minutes between `from` and `to` (default: the next 7 days; at
    most 31)."""
    async with runtime.uow(write=False) as tx:
        return await service.list_slots(
            tx,
            principal,
            expert_id,
            window_start=window_start,
            window_end=window_end,
            duration_minutes=duration,
        )
