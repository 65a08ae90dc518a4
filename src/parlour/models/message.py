"""Messages: numbered 1, 2, 3 ... per conversation with no gaps."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime


class MessageKind(enum.StrEnum):
    text = "text"
    system = "system"
    bot = "bot"
    image = "image"
    audio = "audio"
    video = "video"
    file = "file"


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        # Idempotency: one message per (conversation, sender, client_msg_id).
        UniqueConstraint("conversation_id", "sender_id", "client_msg_id"),
        # A provider's id names one message per tenant and channel: its retries make no
        # duplicate. NULLs (web messages) never collide, on SQLite and PostgreSQL alike.
        UniqueConstraint("tenant_id", "channel", "external_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    sender_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    client_msg_id: Mapped[str | None] = mapped_column(String(64))
    # Structured detail of system messages ({"event": "joined", "user_id": ...}).
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Where the message came from or goes to: web, sms, whatsapp, email ...
    channel: Mapped[str] = mapped_column(String(16), default="web", server_default="web")
    # Room for what later domains add: attachments, channel ids and statuses, AI processing.
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    external_id: Mapped[str | None] = mapped_column(String(128))
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    ai_status: Mapped[str | None] = mapped_column(String(16))
    # ai: the text as its sender wrote it, when the tenant masks personal data in stored
    # messages (`body` then holds the masked text everyone else reads). Only the sender sees it.
    body_original: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
