"""Time-limit wire schemas."""

from __future__ import annotations

from datetime import datetime

from parlour.core.schemas import OutputModel


class TimerRead(OutputModel):
    """A conversation's time limit as the chat room counts it down. `limit_seconds` null: the
    conversation has no limit. `ends_at` null: the clock has not started (no agent yet).
    `server_time` lets a client with a wrong clock count down correctly."""

    conversation_id: str
    limit_seconds: int | None
    started_at: datetime | None
    ends_at: datetime | None
    warned_at: datetime | None
    finished: bool
    server_time: datetime
