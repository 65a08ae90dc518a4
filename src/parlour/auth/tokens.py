"""Signed, expiring access tokens (JWT, HS256) used as Bearer header or HttpOnly cookie."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from parlour.core.ids import new_id

ALGORITHM = "HS256"
COOKIE_NAME = "parlour_token"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    tenant_id: str
    # The token's own id: logout revokes exactly this token (see auth/revocation.py).
    jti: str
    # When it was issued, to the microsecond: a password change revokes every earlier token.
    issued_at: datetime
    expires_at: datetime


def issue_token(
    *, secret: str, user_id: str, tenant_id: str, now: datetime, ttl_seconds: int
) -> str:
    payload = {
        "sub": user_id,
        "tid": tenant_id,
        "jti": new_id(),
        # NumericDate may carry fractions (RFC 7519); microseconds order a token against a
        # password change made in the same second.
        "iat": round(now.timestamp(), 6),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def read_token(token: str, *, secret: str, now: datetime) -> TokenClaims | None:
    """The claims of a valid, unexpired token; None for anything else (tokens without a `jti`,
    from before revocation existed, included)."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            # Time is checked below against the injected clock, not PyJWT's.
            options={
                "require": ["sub", "tid", "exp", "iat", "jti"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError:
        return None
    exp, sub, tid = payload.get("exp"), payload.get("sub"), payload.get("tid")
    jti, iat = payload.get("jti"), payload.get("iat")
    if not isinstance(exp, int) or exp <= now.timestamp():
        return None
    if not isinstance(sub, str) or not isinstance(tid, str):
        return None
    if not isinstance(jti, str) or not jti or len(jti) > 64:
        return None
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        return None
    return TokenClaims(
        user_id=sub,
        tenant_id=tid,
        jti=jti,
        issued_at=datetime.fromtimestamp(iat, UTC),
        expires_at=datetime.fromtimestamp(exp, UTC),
    )
