"""Durable jobs: the transactional outbox (see docs/architecture/jobs.md)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime

# Longest kind and caller key accepted by `tx.enqueue`.
MAX_KIND_CHARS = 64
MAX_KEY_CHARS = 200


class JobStatus(enum.StrEnum):
    queued = "queued"  # waiting for run_at
    running = "running"  # claimed: a worker holds the lease until lease_until
    done = "done"
    failed = "failed"  # out of attempts (or failed permanently); last_error says why


def idempotency_key(tenant_id: str | None, kind: str, key: str) -> str:
    """The job's unique key: the caller's key scoped by tenant and kind, so two tenants (or two
    kinds) never share one. Handlers hand exactly this to providers."""
    return f"{tenant_id or 'node'}:{kind}:{key}"


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # The claim: due rows of a status, oldest first.
        Index(None, "status", "run_at"),
        # The admin list: one tenant's jobs of a status, newest first.
        Index(None, "tenant_id", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # None for node-wide jobs (no tenant's system actor to act as).
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(MAX_KIND_CHARS))
    key: Mapped[str] = mapped_column(String(MAX_KEY_CHARS))
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.queued)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    # When the job may next be claimed. While running it equals lease_until: a job whose worker
    # died becomes due again when its lease ends, found by the same (status, run_at) index.
    run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Which worker holds the lease; with `attempts` it names one claim.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
