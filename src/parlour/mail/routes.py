"""`POST /api/v1/webhooks/email`: raw MIME from a provider that receives the mail (SES,
SendGrid's raw inbound parse, a forwarding script).

The caller presents `Authorization: Bearer <PARLOUR_EMAIL_WEBHOOK_SECRET>`, compared in
constant time; a missing or wrong secret, or none configured, is 401 and nothing is stored (all
three answer alike). The body is the message itself (up to `PARLOUR_EMAIL_MAX_BYTES`); `to`
(repeatable) names the envelope recipients when the provider knows them, otherwise the
message's own Delivered-To / To / Cc do. A replayed message (the same Message-ID) stores
nothing new and answers `duplicate`.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from parlour.core.errors import BadRequest, Unauthorized
from parlour.core.http import error_responses
from parlour.core.schemas import OutputModel
from parlour.deps import RuntimeDep
from parlour.mail import ingest

router = APIRouter(prefix="/webhooks/email", tags=["webhooks"])

EMAIL_SECRET = HTTPBearer(
    scheme_name="emailWebhookSecret",
    description="`Authorization: Bearer <PARLOUR_EMAIL_WEBHOOK_SECRET>` (inbound email only).",
    auto_error=False,
)
# Documented as octet-stream (what clients and schema tools know how to send); any
# Content-Type is taken, `message/rfc822` included: the body is read as the raw message.
RAW_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The raw email (RFC 5322 bytes, as `message/rfc822`).",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


class EmailReceived(OutputModel):
    status: Literal["stored", "duplicate"]
    # How many tenants' conversations it went to (one per receiving tenant).
    deliveries: int


def check_webhook_secret(configured: str, authorization: str | None) -> None:
    """Raise Unauthorized unless `authorization` is `Bearer <configured>` (and one is set)."""
    scheme, _, given = (authorization or "").partition(" ")
    ok = bool(configured) and scheme.lower() == "bearer"
    # Compare anyway (constant time, on bytes: a non-ASCII header must not raise).
    same = hmac.compare_digest(given.strip().encode(), configured.encode())
    if not (ok and same):
        raise Unauthorized("A valid email webhook secret is required.", code="unauthorized")


@router.post(
    "",
    response_model=EmailReceived,
    responses=error_responses(400, 401, 403, 404, 413, 422),
    openapi_extra=RAW_BODY,
)
async def receive_email(
    request: Request,
    runtime: RuntimeDep,
    _secret: Annotated[HTTPAuthorizationCredentials | None, Security(EMAIL_SECRET)],
    to: Annotated[list[Annotated[str, Query(max_length=254)]] | None, Query(max_length=20)] = None,
) -> EmailReceived:
    """Store one inbound email (raw RFC 5322 bytes) in the conversation it belongs to."""
    check_webhook_secret(
        runtime.settings.email_webhook_secret, request.headers.get("authorization")
    )
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("The body must be the raw email.", code="empty_email")
    deliveries = await ingest.receive(runtime, raw, to or [])
    fresh = [d for d in deliveries if not d.duplicate]
    return EmailReceived(status="stored" if fresh else "duplicate", deliveries=len(deliveries))
