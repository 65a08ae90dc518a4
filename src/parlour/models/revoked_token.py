"""Access tokens revoked before their expiry (logout), by their `jti`.

A row lives only as long as the token it revokes would have: once `expires_at` has passed the
token is refused for its expiry anyway, so expired rows are pruned (see auth/revocation.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime


class RevokedToken(Base):
    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The token's own expiry: after it the row is useless and pruned.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
