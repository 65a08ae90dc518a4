"""Tenants: the organisations sharing one install. Every other row carries `tenant_id`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime
from parlour.models.tenant_settings import TenantSettings

DEFAULT_TENANT_SLUG = "default"


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The settings an admin changed (JSON); read them typed, defaults filled in, through
    # `typed_settings` (the schema is `TenantSettings`).
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def typed_settings(self) -> TenantSettings:
        """The tenant's settings, typed, with defaults for what it never changed."""
        return TenantSettings.from_stored(self.settings)

    def setting(self, key: str) -> Any:
        """One setting by name, or its default (an unknown name is a KeyError)."""
        if key not in TenantSettings.model_fields:
            raise KeyError(key)
        return getattr(self.typed_settings, key)
