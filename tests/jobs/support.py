"""Jobs in a given state, written straight into the table (the API and CLI tests' fixtures)."""

from __future__ import annotations

from sqlalchemy import update

from parlour.models.job import Job
from parlour.runtime import Runtime


async def make_job(
    rt: Runtime,
    tenant_id: str | None,
    *,
    kind: str = "test.unclaimed",  # no worker has a handler for it: it stays as made
    key: str,
    status: str = "failed",
    error: str | None = "RuntimeError: the provider said no",
) -> str:
    async with rt.uow() as tx:
        job = await tx.enqueue(kind, {"to": "+15550001"}, key=key, tenant_id=tenant_id)
        if status != "queued":
            await tx.session.execute(
                update(Job)
                .where(Job.id == job.id)
                .values(
                    status=status,
                    attempts=5,
                    last_error=error,
                    finished_at=tx.now if status in ("done", "failed") else None,
                )
            )
    return job.id
