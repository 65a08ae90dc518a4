"""A tenant's provider keys and tokens, encrypted at rest (see `parlour.core.crypto`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime


class TenantSecret(Base):
    """One named secret of one tenant. The value is never stored in the clear: `ciphertext` is
    AES-GCM under a key derived from the server secret (version `key_version`), with the tenant
    id and the name as associated data, so a row copied to another tenant or name fails to
    open."""

    __tablename__ = "tenant_secrets"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    key_version: Mapped[int] = mapped_column(Integer)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # The last characters of a long value, so an admin can tell which key is set; None for
    # short values, where even four characters would give too much away.
    hint: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
