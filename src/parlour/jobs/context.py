"""What a handler is given: the job, the node's runtime and the tenant's system actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from parlour.auth.principal import Principal
from parlour.core.clock import Clock
from parlour.core.uow import UnitOfWork

if TYPE_CHECKING:
    from parlour.runtime import Runtime


class PermanentFailure(Exception):
    """Raised by a handler when trying again cannot help (an invalid phone number, a refused
    payment): the job ends `failed` at once with this message, whatever attempts remain."""


# ai: a provider that answered 429 with a Retry-After.
class RetryAfter(Exception):
    """Raised by a handler when the provider said when to call again (a 429's Retry-After):
    the next attempt waits `seconds` (capped by the kind's backoff cap) instead of the
    backoff. It still counts as a failed attempt."""

    def __init__(self, message: str, *, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


@dataclass(frozen=True)
class JobContext:
    """One attempt at one job. The handler runs outside any transaction: it opens its own
    units of work (`ctx.uow()`) for what it reads or writes, and calls providers between them."""

    runtime: Runtime
    job_id: str
    kind: str
    tenant_id: str | None
    payload: dict[str, Any]
    # Unique per (tenant, kind, caller key) and the same on every attempt: hand it to providers
    # (Stripe's Idempotency-Key, Twilio's I-Twilio-Idempotency-Token, an email's Message-ID)
    # so a repeated attempt is recognised as the same request.
    idempotency_key: str
    attempt: int  # 1 for the first
    max_attempts: int

    @property
    def principal(self) -> Principal:
        """The job's tenant's system actor, the principal its service calls act as."""
        if self.tenant_id is None:
            raise RuntimeError(f"job {self.job_id} is node-wide: it has no tenant to act for")
        return Principal.system_actor(self.tenant_id)

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    def uow(self, *, write: bool = True) -> UnitOfWork:
        return self.runtime.uow(write=write)

    @property
    def last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts
