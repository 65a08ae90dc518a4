"""AI context: one summary per conversation and one analysis per inbound message."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime


class AiStatus(enum.StrEnum):
    """A message's `ai_status` and an analysis' status."""

    pending = "pending"
    processed = "processed"
    failed = "failed"
    skipped = "skipped"


class SummaryStatus(enum.StrEnum):
    pending = "pending"  # a refresh is queued or running (the last good text stays readable)
    ready = "ready"
    failed = "failed"  # the last refresh gave up; `error` says why


class ConversationSummary(Base):
    """The current context summary of a conversation (one row, refreshed in place). `body`
    is the last good summary; a failed refresh keeps it and records `error`."""

    __tablename__ = "ai_summaries"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    body: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(16))
    model: Mapped[str | None] = mapped_column(String(100))
    # The highest message seq the body covers (an incremental refresh starts after it).
    covers_seq: Mapped[int] = mapped_column(Integer, default=0)
    # When `body` was made; when the pending refresh was asked for, and why.
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(16))
    # The pending refresh's id, also in its job's payload: a job records only its own request
    # (a late job of an earlier request changes nothing).
    request_id: Mapped[str] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class MessageAnalysis(Base):
    """What the provider found in one inbound message. PII is kept as kinds and spans of the
    original text, never the values."""

    __tablename__ = "ai_message_analyses"
    __table_args__ = (Index(None, "conversation_id", "seq"),)

    message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    pii_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"kind": "card", "start": 5, "end": 24}, ...]
    pii_spans: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    intent: Mapped[str | None] = mapped_column(String(32))
    provider: Mapped[str | None] = mapped_column(String(16))
    model: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
