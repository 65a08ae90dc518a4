"""Time-limit wire schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, Field

from parlour.core.schemas import InputModel, OutputModel


def _whole(value: object) -> object:
    # JSON Schema counts 5.0 as an integer (and JavaScript clients may send one); 5.5 stays wrong.
    return int(value) if isinstance(value, float) and value.is_integer() else value


class ExtendIn(InputModel):
    minutes: Annotated[int, BeforeValidator(_whole)] = Field(ge=1, le=240)


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
