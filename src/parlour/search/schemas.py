"""Search wire schemas: what `GET /api/v1/search` answers."""

from __future__ import annotations

from datetime import datetime

from parlour.core.schemas import OutputModel
from parlour.models.conversation import Status


class MessageHitRead(OutputModel):
    """A message that matched, with where it lives. `snippet` is HTML-safe: the message
    text around the first match, escaped, each matching word in `<mark>…</mark>`."""

    conversation_id: str
    message_id: str
    seq: int
    kind: str
    sender_id: str | None
    sender_name: str | None
    created_at: datetime
    # The channel the message came in on or went out by, and its conversation's.
    channel: str
    conversation_channel: str
    conversation_status: Status
    conversation_subject: str | None
    snippet: str


class ConversationHitRead(OutputModel):
    """A conversation whose subject (or, for staff, customer's name or email) matched.
    `subject_html` is the subject escaped with its matches marked, like a snippet."""

    conversation_id: str
    subject: str | None
    subject_html: str
    status: Status
    channel: str
    # Staff only (customers see None): the customer the conversation is with.
    customer_name: str | None
    last_activity_at: datetime


class SearchPage(OutputModel):
    query: str
    messages: list[MessageHitRead]
    # On the first page only (offset 0); empty on the next ones.
    conversations: list[ConversationHitRead]
    # The offset of the next page of messages, or None when this was the last.
    next_offset: int | None
