"""Channel accounts: a tenant's WhatsApp or SMS number (Twilio) or email inbox. Inbound
traffic finds its tenant through one of these (the channel id in a Twilio webhook's URL, the
receiving address of an email)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime


class ChannelKind(enum.StrEnum):
    whatsapp = "whatsapp"
    sms = "sms"
    email = "email"


# The kinds that go through Twilio (an account SID, an auth token and a number).
TWILIO_KINDS = frozenset({ChannelKind.whatsapp, ChannelKind.sms})


class Channel(Base):
    __tablename__ = "channels"
    __table_args__ = (
        # Inbound mail finds the tenant by its receiving address: one owner across the service.
        UniqueConstraint("address"),
        # One account per number and kind in a tenant (NULLs, email accounts, never collide).
        UniqueConstraint("tenant_id", "kind", "from_number"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    # whatsapp/sms: the number messages come to and go from, E.164 ("+14155550100").
    from_number: Mapped[str | None] = mapped_column(String(32))
    # email: the receiving address, lower-cased; and the name replies are sent under.
    address: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str | None] = mapped_column(String(120))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Per-channel settings, e.g. {"templates": [{"name", "content_sid", "variables", ...}]}
    # (WhatsApp's approved templates). Credentials are never here: they are tenant secrets.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
