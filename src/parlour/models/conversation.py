"""Conversations and their participants: the unit of access."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime


class Status(enum.StrEnum):
    waiting = "waiting"
    active = "active"
    ended = "ended"


class EndReason(enum.StrEnum):
    customer = "customer"
    agent = "agent"
    admin = "admin"
    time_limit = "time_limit"
    appointment_over = "appointment_over"
    cancelled = "cancelled"
    refunded = "refunded"
    # A paid session no expert joined in time (the customer is refunded).
    no_expert = "no_expert"
    inactivity = "inactivity"
    # Its `closes_at` deadline passed (the deadline sweep ended it as the system actor).
    expired = "expired"


# inbox: the channels a conversation (and each of its messages) travels on.
class Channel(enum.StrEnum):
    web = "web"
    whatsapp = "whatsapp"
    sms = "sms"
    email = "email"


class ParticipantRole(enum.StrEnum):
    customer = "customer"
    agent = "agent"
    observer = "observer"
    bot = "bot"


# Roles that may post (observers only read).
POSTING_ROLES = frozenset({ParticipantRole.customer, ParticipantRole.agent, ParticipantRole.bot})


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index(None, "tenant_id", "status", "last_activity_at"),
        Index(None, "closes_at"),
        # inbox: the per-channel listing (`GET /conversations?channel=`), newest activity first.
        Index(None, "tenant_id", "channel", "last_activity_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16), default="web")
    status: Mapped[str] = mapped_column(String(16), default=Status.waiting)
    subject: Mapped[str | None] = mapped_column(String(200))
    customer_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Bumped by every message: the inbox orders by it.
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    end_reason: Mapped[str | None] = mapped_column(String(32))
    # The highest message seq; allocated by UPDATE ... SET last_seq = last_seq + n.
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[str | None] = mapped_column(Text)


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("conversation_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_read_seq: Mapped[int] = mapped_column(Integer, default=0)
