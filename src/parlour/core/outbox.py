"""What a unit of work needs to enqueue a job, without knowing where jobs are kept.

`core` is domain-free plumbing and may not import `parlour.models`, where the `jobs` table is
declared. So the unit of work only holds a `JobSink`, injected by the runtime
(`parlour.jobs.queue.JobQueue`): `tx.enqueue(...)` hands the sink its own session, so the job
row is written in the same transaction as its cause, and tells the sink after the commit so the
node's worker wakes at once instead of at its next poll.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class EnqueuedJob:
    """The job a call to `tx.enqueue` stands for: new (`created`) or the one already there with
    the same idempotency key (then its payload and run_at are the first enqueue's)."""

    id: str
    kind: str
    tenant_id: str | None
    key: str
    status: str
    run_at: datetime
    created: bool


class JobSink(Protocol):
    async def enqueue(
        self,
        session: AsyncSession,
        kind: str,
        payload: Mapping[str, Any],
        *,
        key: str,
        tenant_id: str | None,
        run_at: datetime | None,
        now: datetime,
    ) -> EnqueuedJob: ...

    def committed(self) -> None:
        """A transaction that enqueued jobs has committed (wake the worker)."""
