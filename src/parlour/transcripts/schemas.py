"""Transcript wire schemas: one line per message, the same in every format."""

from __future__ import annotations

from datetime import datetime

from parlour.core.schemas import OutputModel


class TranscriptLine(OutputModel):
    seq: int
    # UTC, ISO 8601 with a `Z`.
    time: str
    sender_id: str | None
    # The sender's display name; "Parlour" for system messages.
    sender: str
    kind: str
    body: str
    # File names of the message's attachments (empty when it has none).
    attachments: list[str]


class TranscriptParticipant(OutputModel):
    user_id: str
    display_name: str
    role: str
    joined_at: datetime
    left_at: datetime | None


class TranscriptConversation(OutputModel):
    id: str
    kind: str
    channel: str
    status: str
    subject: str | None
    customer_id: str
    created_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    ended_by_id: str | None
    participants: list[TranscriptParticipant]


class Transcript(OutputModel):
    conversation: TranscriptConversation
    messages: list[TranscriptLine]
