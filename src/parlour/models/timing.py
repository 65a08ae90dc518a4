"""Session time limits and ratings (the timing part of issues 7 and 9).

A `ConversationTimer` is a conversation's time limit: set when it is created (a paid plan, or
staff opening it with `time_limit_minutes`), started when the first agent joins, warned one
minute before `ends_at` and ended at `ends_at` by the deadline sweep. A `Rating` is the
customer's one verdict on an ended conversation, attributed (`RatingAgent`) to every agent who
took part.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime


class ConversationTimer(Base):
    __tablename__ = "conversation_timers"
    __table_args__ = (
        # The sweep looks for running timers by their next due time, and for the rare timer
        # whose start the join hook missed (started_at and finished_at both null).
        Index(None, "due_at"),
        Index(None, "started_at", "finished_at"),
    )

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # The whole allowance, extensions included.
    limit_seconds: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Null until the first agent joins: the clock has not started.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the one-minute warning was written for the current `ends_at` (an extension clears it).
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The next moment the sweep has work here (the warning, then the end); null once the timer
    # is finished (the conversation ended, by the limit or otherwise) or not started.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        Index(None, "tenant_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # One rating per conversation: the database refuses a second.
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), unique=True
    )
    customer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RatingAgent(Base):
    """A rating counts for each agent who took part in the conversation."""

    __tablename__ = "rating_agents"

    rating_id: Mapped[str] = mapped_column(
        ForeignKey("ratings.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
