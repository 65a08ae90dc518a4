"""Support tickets: one per support conversation, numbered 1, 2, 3 ... per tenant."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime


class TicketStatus(enum.StrEnum):
    open = "open"
    pending = "pending"  # waiting on the customer (or a third party)
    resolved = "resolved"  # its conversation has ended
    closed = "closed"  # final: nothing changes it any more


class TicketPriority(enum.StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # The number is the tenant's: allocated from `ticket_counters`, and unique as a backstop.
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("conversation_id"),
        # The staff list: a tenant's tickets of a status, newest first.
        Index(None, "tenant_id", "status", "number"),
        # The inactivity sweep: which tenants have open tickets (every few seconds).
        Index(None, "status", "tenant_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    number: Mapped[int] = mapped_column(Integer)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    # The customer's earlier ticket when they wrote again after it ended.
    previous_ticket_id: Mapped[str | None] = mapped_column(ForeignKey("tickets.id"))
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.open)
    priority: Mapped[str] = mapped_column(String(16), default=TicketPriority.normal)
    subject: Mapped[str] = mapped_column(String(200))
    # What the visitor gave to be reached at (a guest has no account email).
    contact_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TicketCounter(Base):
    """The last ticket number a tenant used: `UPDATE ... SET last_number = last_number + 1
    RETURNING last_number` hands out each number once, under the row's lock."""

    __tablename__ = "ticket_counters"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
