"""What crosses the wire for tickets and the public support start."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from parlour.auth.schemas import TokenOut
from parlour.conversations.schemas import ConversationRead
from parlour.core.schemas import InputModel, OutputModel
from parlour.messages.schemas import MessageRead
from parlour.models.ticket import TicketPriority, TicketStatus

MAX_SUBJECT = 200


class SupportStartIn(InputModel):
    """A visitor's first message (and, optionally, how to reach them)."""

    message: str = Field(min_length=1, max_length=4000)
    display_name: str | None = Field(default=None, max_length=120)
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 ()\-]{3,31}$")
    email: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s\x00]{1,64}@[^@\s\x00]{1,189}$"
    )
    subject: str | None = Field(default=None, max_length=MAX_SUBJECT)
    client_msg_id: str | None = Field(default=None, max_length=64)


class TicketRead(OutputModel):
    """A ticket as staff see it. `redacted`: a waiting ticket an agent may not read yet (from
    the queue): its subject, contact and customer name are withheld until they join."""

    id: str
    tenant_id: str
    number: int
    status: TicketStatus
    priority: TicketPriority
    subject: str | None
    conversation_id: str
    conversation_status: str
    customer_id: str
    customer_name: str | None
    contact_email: str | None
    # The current agent participant of its conversation (None while queued).
    assignee_id: str | None
    previous_ticket_id: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    redacted: bool = False


class TicketPage(OutputModel):
    tickets: list[TicketRead]
    # Pass as `before` for the next (older) page; null on the last page.
    next_before: int | None


class TicketPatch(InputModel):
    """Any of these; `resolved` (or `closed`) ends the ticket's conversation, `closed` is final."""

    # Literals, not the enums: request bodies are strict, and JSON has no enum instances.
    status: Literal["open", "pending", "resolved", "closed"] | None = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    subject: str | None = Field(default=None, min_length=1, max_length=MAX_SUBJECT)


class SupportStartOut(OutputModel):
    """The support conversation, its ticket, and for a new guest the credential the widget
    keeps (`null` when the caller used its own). `created` is false when the caller already
    had an open support conversation: the message went there."""

    conversation: ConversationRead
    ticket: TicketRead
    credential: TokenOut | None
    created: bool


class EarlierTicket(OutputModel):
    """A customer's earlier ticket and its transcript (newest last)."""

    ticket: TicketRead
    messages: list[MessageRead]
    has_more: bool


class TicketHistory(OutputModel):
    """The tickets this one follows, most recent first."""

    earlier: list[EarlierTicket]
