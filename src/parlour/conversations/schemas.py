"""Conversation wire schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from parlour.core.schemas import InputModel, OutputModel
from parlour.messages.schemas import MessageRead
from parlour.models.conversation import Status


class ParticipantRead(OutputModel):
    user_id: str
    display_name: str
    role: str
    joined_at: datetime
    left_at: datetime | None
    last_read_seq: int


class ConversationRead(OutputModel):
    id: str
    tenant_id: str
    kind: str
    channel: str
    status: Status
    subject: str | None
    customer_id: str
    created_at: datetime
    last_activity_at: datetime
    closes_at: datetime | None
    ended_at: datetime | None
    ended_by_id: str | None
    end_reason: str | None
    last_seq: int
    participants: list[ParticipantRead]
    unread_count: int = 0
    last_message: MessageRead | None = None


def _utc(value: datetime) -> datetime:
    # Reject what cannot be stored as UTC (year 9999 with a negative offset) with a 422.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("datetime out of range") from None


class QueueEntry(OutputModel):
    """A waiting conversation as staff who may not read it see it in the queue: enough to pick
    it up, nothing of what was said (no subject, no last message, no message text)."""

    id: str
    kind: str
    channel: str
    status: Status
    created_at: datetime
    customer_display_name: str


def _whole(value: object) -> object:
    # timing: JSON Schema counts 10.0 as an integer; 2.5 stays wrong.
    return int(value) if isinstance(value, float) and value.is_integer() else value


class ConversationCreate(InputModel):
    kind: str = Field(default="support", pattern=r"^[a-z][a-z0-9_]{0,31}$")
    customer_id: str | None = Field(default=None, max_length=64)
    subject: str | None = Field(default=None, max_length=200)
    # When the deadline sweep ends it (reason `expired`); staff and service keys only.
    # (Not strict: the body arrives as parsed JSON, where a time can only be an ISO string.)
    closes_at: Annotated[AwareDatetime, Field(strict=False), AfterValidator(_utc)] | None = None
    # timing: a time limit that starts when the first agent joins (staff and service keys).
    time_limit_minutes: Annotated[int | None, BeforeValidator(_whole)] = Field(
        default=None, ge=1, le=1440
    )


class ParticipantAdd(InputModel):
    user_id: str = Field(max_length=64)
    role: Literal["agent", "observer"] = "agent"
    # An agent taking part hands the conversation over to `user_id` and leaves it.
    transfer: bool = False


EndReasonIn = Literal[
    "customer",
    "agent",
    "admin",
    "time_limit",
    "appointment_over",
    "cancelled",
    "refunded",
    "inactivity",
    "expired",
]


class EndIn(InputModel):
    reason: EndReasonIn | None = None


def _integral(value: object) -> object:
    # JSON Schema counts 3.0 as an integer (and JavaScript clients may send one); 3.5 stays wrong.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class ReadIn(InputModel):
    seq: Annotated[int, BeforeValidator(_integral)] = Field(ge=0)


class ReadState(OutputModel):
    conversation_id: str
    user_id: str | None
    last_read_seq: int
    unread_count: int


class ConversationPage(OutputModel):
    # `scope=queue` lists QueueEntry items for staff who may not read those conversations.
    conversations: list[ConversationRead | QueueEntry]


# inbox
class UnreadTotals(OutputModel):
    """The caller's unread messages: in all, and per channel (every known channel listed)."""

    total: int
    channels: dict[str, int]
