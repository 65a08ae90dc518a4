"""Rating wire schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, Field

from parlour.core.schemas import InputModel, OutputModel


def _whole(value: object) -> object:
    # JSON Schema counts 4.0 as an integer (and JavaScript clients may send one); 4.5 stays wrong.
    return int(value) if isinstance(value, float) and value.is_integer() else value


class RatingIn(InputModel):
    score: Annotated[int, BeforeValidator(_whole)] = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class RatingRead(OutputModel):
    id: str
    conversation_id: str
    customer_id: str
    score: int
    comment: str | None
    # The agents who took part, to whom the rating counts.
    agent_ids: list[str]
    created_at: datetime


class RatingState(OutputModel):
    """A conversation's rating as its readers see it, and whether the caller may rate it now."""

    rating: RatingRead | None
    may_rate: bool


class RatingSummary(OutputModel):
    count: int
    # Null without ratings.
    average: float | None


class AgentRatings(RatingSummary):
    agent_id: str
    display_name: str


class MyRatings(RatingSummary):
    recent: list[RatingRead]


class TenantRatings(RatingSummary):
    agents: list[AgentRatings]
    recent: list[RatingRead]
