"""Canned responses: a tenant's saved replies, inserted by shortcut (`/greeting`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime


class CannedResponse(Base):
    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("tenant_id", "shortcut"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    # Lower-case, without the slash: "greeting" for `/greeting`.
    shortcut: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
