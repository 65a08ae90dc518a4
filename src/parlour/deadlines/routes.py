"""`POST /api/v1/cron/close-expired`: the sweep for external schedulers, behind a secret.

The caller presents `Authorization: Bearer <PARLOUR_CRON_SECRET>`. A missing or wrong secret, or
no secret configured, is 401 and nothing runs; all three answer alike, so the answer tells an
outsider nothing about the configuration.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from parlour.core.errors import Unauthorized
from parlour.core.http import error_responses
from parlour.core.schemas import OutputModel
from parlour.deadlines.sweep import sweep
from parlour.deps import RuntimeDep

router = APIRouter(prefix="/cron", tags=["ops"])

CRON_SECRET = HTTPBearer(
    scheme_name="cronSecret",
    description="`Authorization: Bearer <PARLOUR_CRON_SECRET>` (the cron endpoints only).",
    auto_error=False,
)


class Closed(OutputModel):
    deadline: str
    conversation_id: str
    tenant_id: str
    reason: str


class CloseExpiredReport(OutputModel):
    closed: list[Closed]


def check_cron_secret(configured: str, authorization: str | None) -> None:
    """Raise Unauthorized unless `authorization` is `Bearer <configured>` (and one is set)."""
    scheme, _, given = (authorization or "").partition(" ")
    ok = bool(configured) and scheme.lower() == "bearer"
    # Compare anyway (constant time, on bytes: a non-ASCII header must not raise).
    same = hmac.compare_digest(given.strip().encode(), configured.encode())
    if not (ok and same):
        raise Unauthorized("A valid cron secret is required.", code="unauthorized")


@router.post("/close-expired", response_model=CloseExpiredReport, responses=error_responses(401))
async def close_expired(
    request: Request,
    runtime: RuntimeDep,
    _secret: Annotated[HTTPAuthorizationCredentials | None, Security(CRON_SECRET)],
) -> CloseExpiredReport:
    """Run one pass of the deadline sweep now; lists the conversations it closed. Idempotent:
    a conversation already closed (by this or any node) is not closed again."""
    check_cron_secret(runtime.settings.cron_secret, request.headers.get("authorization"))
    acted = await sweep(
        runtime.uow, runtime.deadlines, batch_size=runtime.settings.sweep_batch_size
    )
    return CloseExpiredReport(
        closed=[
            Closed(
                deadline=a.deadline,
                conversation_id=a.conversation_id,
                tenant_id=a.tenant_id,
                reason=a.outcome,
            )
            for a in acted
        ]
    )
