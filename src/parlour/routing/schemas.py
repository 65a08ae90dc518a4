"""Routing wire schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from parlour.core.schemas import InputModel, OutputModel
from parlour.models.routing import Availability


class AvailabilityIn(InputModel):
    status: Literal["online", "away", "offline"]


class AvailabilityRead(OutputModel):
    """A staff member's routing state as they see it."""

    user_id: str
    status: Availability
    status_changed_at: datetime | None
    capacity: int = Field(description="Maximum active conversations (theirs or the default).")
    active_conversations: int
    # Conversations this change returned to the queue (going offline with unanswered work).
    returned_to_queue: list[str] = Field(default_factory=list)


class AssignIn(InputModel):
    user_id: str = Field(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
