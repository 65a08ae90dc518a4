"""What crosses the wire about jobs (the admin API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from parlour.core.schemas import OutputModel


class JobSummary(OutputModel):
    id: str
    kind: str
    key: str
    status: str
    attempts: int
    max_attempts: int
    # Queued: when it may next run. Running: when its lease ends.
    run_at: datetime
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    last_error: str | None


class JobRead(JobSummary):
    payload: dict[str, Any]
    idempotency_key: str
    lease_until: datetime | None


class JobPage(OutputModel):
    jobs: list[JobSummary]
