"""Signed, expiring access tokens (JWT, HS256) used as Bearer header or HttpOnly cookie."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

ALGORITHM = "HS256"
COOKIE_NAME = "parlour_token"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    tenant_id: str


def issue_token(
    *, secret: str, user_id: str, tenant_id: str, now: datetime, ttl_seconds: int
) -> str:
    payload = {
        "sub": user_id,
        "tid": tenant_id,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def read_token(token: str, *, secret: str, now: datetime) -> TokenClaims | None:
    """The claims of a valid, unexpired token; None for anything else."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "tid", "exp"], "verify_exp": False},
        )
    except jwt.PyJWTError:
        return None
    exp, sub, tid = payload.get("exp"), payload.get("sub"), payload.get("tid")
    if not isinstance(exp, int) or exp <= now.timestamp():
        return None
    if not isinstance(sub, str) or not isinstance(tid, str):
        return None
    return TokenClaims(user_id=sub, tenant_id=tid)
