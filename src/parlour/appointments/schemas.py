"""Appointment and availability wire schemas."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from parlour.core.schemas import InputModel, OutputModel
from parlour.models.appointment import AppointmentStatus

# The longest appointment anyone may record or book: a bounded interval keeps the overlap
# rule, the slot listing and the chat's deadline sane.
MAX_APPOINTMENT_MINUTES = 12 * 60
MAX_BOOKING_MINUTES = 8 * 60
MIN_BOOKING_MINUTES = 5
MAX_NOTE = 2000
MAX_REASON = 500
MAX_RULES = 200


def _utc(value: datetime) -> datetime:
    # What cannot be stored as UTC (year 9999 with a negative offset, year 1 with a positive
    # one) is a valid date-time the domain cannot hold: 400 `time_out_of_range` (core.http).
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "time_out_of_range", "the time is out of the range that can be stored"
        ) from None


def _integral(value: object) -> object:
    # JSON Schema counts 30.0 as an integer (and JavaScript may send one); 30.5 stays wrong.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An instant with an offset, stored as UTC. Not strict: JSON carries times as ISO strings.
Instant = Annotated[AwareDatetime, Field(strict=False), AfterValidator(_utc)]
Minutes = Annotated[int, BeforeValidator(_integral)]
HHMM = Annotated[str, Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
IdStr = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


class AppointmentCreate(InputModel):
    """An appointment recorded by an admin or a service key (a site's own booking system)."""

    customer_id: IdStr
    expert_id: IdStr
    starts_at: Instant
    ends_at: Instant
    note: str | None = Field(default=None, max_length=MAX_NOTE)


class BookingIn(InputModel):
    """A customer books a free published slot of an expert."""

    expert_id: IdStr
    starts_at: Instant
    duration_minutes: Minutes = Field(ge=MIN_BOOKING_MINUTES, le=MAX_BOOKING_MINUTES)


class AppointmentUpdate(InputModel):
    """Reschedule (both times, or `starts_at` alone keeping the length) and/or change the note."""

    starts_at: Instant | None = None
    ends_at: Instant | None = None
    note: str | None = Field(default=None, max_length=MAX_NOTE)


class CancelIn(InputModel):
    reason: str = Field(min_length=1, max_length=MAX_REASON)


class AppointmentRead(OutputModel):
    id: str
    tenant_id: str
    customer_id: str
    customer_name: str
    expert_id: str
    expert_name: str
    starts_at: datetime
    ends_at: datetime
    closes_at: datetime
    status: AppointmentStatus
    note: str | None
    conversation_id: str
    created_by: str
    created_at: datetime
    cancel_reason: str | None
    cancelled_by: str | None
    cancelled_at: datetime | None
    completed_at: datetime | None


class BookingRead(AppointmentRead):
    """paidbook: a booking; when the tenant's `appointment_plan` has a price, the appointment
    is `pending_payment` and `checkout_url` is where the customer pays (null otherwise)."""

    checkout_url: str | None = None


class AppointmentPage(OutputModel):
    appointments: list[AppointmentRead]


View = Literal["all", "upcoming", "history"]


class WeeklyHours(InputModel):
    weekday: Minutes = Field(ge=0, le=6, description="0 Monday … 6 Sunday")
    start: HHMM
    end: HHMM = Field(description="After `start`; 24:00 is midnight at the day's end")


class AvailabilityException(InputModel):
    """Dates off (whole days, or `start`..`end` on each) or extra hours (`start`..`end`).
    (The service checks the combination: 400 `invalid_availability`.)"""

    kind: Literal["off", "extra"]
    date_from: Annotated[date, Field(strict=False)]
    date_to: Annotated[date, Field(strict=False)]
    start: HHMM | None = None
    end: HHMM | None = None


class AvailabilityIn(InputModel):
    timezone: str = Field(
        min_length=1, max_length=64, description="An IANA zone, e.g. Europe/Berlin"
    )
    weekly: list[WeeklyHours] = Field(default_factory=list, max_length=MAX_RULES)
    exceptions: list[AvailabilityException] = Field(default_factory=list, max_length=MAX_RULES)


class AvailabilityRead(OutputModel):
    expert_id: str
    timezone: str | None
    weekly: list[WeeklyHours]
    exceptions: list[AvailabilityException]


class Slot(OutputModel):
    starts_at: datetime
    ends_at: datetime


class SlotPage(OutputModel):
    expert_id: str
    duration_minutes: int
    slots: list[Slot]


class ExpertRead(OutputModel):
    id: str
    display_name: str
    timezone: str | None


class ExpertPage(OutputModel):
    experts: list[ExpertRead]
