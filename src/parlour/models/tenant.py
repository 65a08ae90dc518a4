"""Tenants: the organisations sharing one install. Every other row carries `tenant_id`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime

DEFAULT_TENANT_SLUG = "default"

# What a tenant may change about how its conversations behave; merged over these defaults.
DEFAULT_TENANT_SETTINGS: dict[str, Any] = {
    # Conversation kinds a customer may open for itself (others are opened by staff or payment).
    "customer_conversation_kinds": ["support"],
    # Whether participants are told when an admin starts observing a conversation.
    "announce_observers": True,
    # What the tenant calls its staff ("expert", "mechanic", "volunteer", "agent").
    "staff_label": "expert",
}


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def setting(self, key: str) -> Any:
        """A tenant setting, or its default."""
        return (self.settings or {}).get(key, DEFAULT_TENANT_SETTINGS[key])
