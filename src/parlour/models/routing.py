"""Routing state of a staff member: availability, capacity, and when they were last routed."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime


class Availability(enum.StrEnum):
    online = "online"  # receives new conversations
    away = "away"  # keeps what they have, receives nothing new
    offline = "offline"  # unanswered conversations go back to the queue


class AgentRouting(Base):
    """One row per staff member who has ever set an availability or been given a capacity
    (no row: offline, the tenant's default capacity). The row is also the lock that
    serialises every capacity decision about this agent (docs/routing.md)."""

    __tablename__ = "agent_routing"
    __table_args__ = (Index(None, "tenant_id", "status"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    status: Mapped[str] = mapped_column(String(16), default=Availability.offline)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Maximum active conversations; NULL: the tenant's `default_agent_capacity`.
    capacity: Mapped[int | None] = mapped_column(Integer)
    # The last time a conversation was assigned to them or left them ("longest idle" first).
    last_routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
