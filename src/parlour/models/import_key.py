"""What `parlour import` brought in: one row per source row, naming the Parlour row it became.

The key (tenant, source system, source table, source id) makes an import idempotent (a row
already here is skipped) and resumable (a run stopped half-way continues after the last
committed batch)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime


class ImportKey(Base):
    __tablename__ = "import_keys"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    # The source system's layout (`sessions`, `web_chat`, `appointments`, `whatsapp`).
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    source_table: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The source row's id as text (uuids, serials and phone numbers alike).
    source_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    # The Parlour row it became (a user, conversation, message, ticket or appointment id).
    target_id: Mapped[str] = mapped_column(String(32))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
