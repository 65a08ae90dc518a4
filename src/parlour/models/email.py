"""Email threads: which conversation a mail belongs to (docs/email.md).

An `EmailThread` is the email side of one conversation: the channel address it came in on (the
From of replies), the contact's address, the subject, and the random token of its reply address
(`support+<token>@…`). An `EmailMessageId` records the Message-ID of every message of the thread,
inbound and outbound, so a reply's `In-Reply-To` / `References` find the conversation, and a
replayed mail (the same Message-ID) is recognised.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime


class EmailThread(Base):
    __tablename__ = "email_threads"
    __table_args__ = (Index(None, "tenant_id", "contact_id"),)

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # The email channel account it came in on (its address is kept even if the account goes).
    channel_id: Mapped[str | None] = mapped_column(String(32))
    channel_address: Mapped[str] = mapped_column(String(254))
    contact_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    # The tag of the conversation's reply address: 128 random bits, unique.
    reply_token: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EmailMessageId(Base):
    __tablename__ = "email_message_ids"
    __table_args__ = (
        # One Message-ID names one message per tenant: a replayed mail finds it.
        UniqueConstraint("tenant_id", "header_id"),
        Index(None, "conversation_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    # The Parlour message it is the id of (one outbound id per message).
    message_id: Mapped[str | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    # Without angle brackets; a sha256 of it when longer than 250 characters.
    header_id: Mapped[str] = mapped_column(String(255))
    direction: Mapped[str] = mapped_column(String(8))  # "in" or "out"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
