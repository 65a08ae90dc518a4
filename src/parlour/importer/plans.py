"""What one source row becomes in Parlour. A system module turns its tables into these; the
service writes them through the domains' services. A `Key` names a source row: the mapping
table records it with the Parlour id it became."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# (source table, source id)
Key = tuple[str, str]


@dataclass(frozen=True)
class Skip:
    """A source row not imported, and why (reported; a re-run reports it again)."""

    table: str
    source_id: str
    reason: str


@dataclass(frozen=True)
class Person:
    key: Key
    role: str  # customer or agent
    name: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class TicketPlan:
    status: str
    priority: str
    subject: str | None
    created_at: datetime
    updated_at: datetime
    contact_email: str | None = None


@dataclass(frozen=True)
class AppointmentPlan:
    expert: Key
    starts_at: datetime
    ends_at: datetime
    status: str
    created_at: datetime
    cancelled_at: datetime | None = None


@dataclass(frozen=True)
class ConversationPlan:
    key: Key
    kind: str
    status: str
    customer: Key
    created_at: datetime
    agents: list[Key] = field(default_factory=list)
    channel: str = "web"
    subject: str | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    summary: str | None = None
    ticket: TicketPlan | None = None
    appointment: AppointmentPlan | None = None


@dataclass(frozen=True)
class MessagePlan:
    key: Key
    conversation: Key
    sender: Key | None  # None: a system or bot message
    kind: str
    body: str
    created_at: datetime
    channel: str = "web"
    external_id: str | None = None
