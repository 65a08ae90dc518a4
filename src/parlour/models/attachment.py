"""Files uploaded into a conversation, then referenced by one message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime


class Attachment(Base):
    __tablename__ = "attachments"
    __table_args__ = (Index(None, "conversation_id", "message_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    uploaded_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    # Set once, when a message references it; until then only the uploader may read it.
    message_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id"))
    # Sanitised display name (never used on disk).
    filename: Mapped[str] = mapped_column(String(255))
    # Sniffed from the bytes, never the declared type or the name.
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    # Where the storage backend keeps the bytes (random names, never the user's).
    storage_key: Mapped[str] = mapped_column(String(128))
    thumbnail_key: Mapped[str | None] = mapped_column(String(128))
    thumbnail_content_type: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
