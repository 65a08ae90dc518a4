"""Appointments (a booked time between a customer and an expert, with its chat) and the
weekly availability experts publish for self-booking."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime

# The name of the database rule that makes double booking impossible: an exclusion constraint
# on PostgreSQL, a trigger raising this text on SQLite (migration 0012). The service maps a
# violation naming it to 409 `slot_taken`.
NO_OVERLAP = "appointments_no_overlap"


class AppointmentStatus(enum.StrEnum):
    # paidbook: a booking held (its slot taken) until its checkout is paid; no migration, the
    # column is a plain string and the no-overlap rule covers every status but `cancelled`.
    pending_payment = "pending_payment"
    scheduled = "scheduled"
    completed = "completed"
    cancelled = "cancelled"


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index(None, "tenant_id", "expert_id", "starts_at"),
        Index(None, "tenant_id", "customer_id", "starts_at"),
        Index(None, "status", "closes_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    expert_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # ends_at + the tenant's grace when booked or rescheduled; the chat's `closes_at` too.
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=AppointmentStatus.scheduled)
    note: Mapped[str | None] = mapped_column(Text)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), unique=True)
    created_by: Mapped[str] = mapped_column(String(32))  # a user id, "service" or "system"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_by: Mapped[str | None] = mapped_column(String(32))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The start the reminder was posted for: a repeated reminder job posts nothing twice.
    reminded_for: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AvailabilityKind(enum.StrEnum):
    weekly = "weekly"  # every `weekday`, start_time to end_time
    off = "off"  # date_from..date_to: not available (the whole days, or start..end on each)
    extra = "extra"  # date_from..date_to: available start..end on each, beyond the weekly hours


class Availability(Base):
    """One rule of an expert's published availability, in the expert's own time zone
    (local wall-clock times, so 09:00 stays 09:00 across daylight saving)."""

    __tablename__ = "expert_availability"
    __table_args__ = (Index(None, "tenant_id", "expert_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    expert_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    weekday: Mapped[int | None] = mapped_column(Integer)  # 0 Monday .. 6 Sunday (weekly)
    date_from: Mapped[date | None] = mapped_column(Date)
    date_to: Mapped[date | None] = mapped_column(Date)
    start_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM"
    end_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM"; "24:00" is midnight
