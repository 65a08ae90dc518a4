"""The queries on the `jobs` table: enqueue, claim, lease renewal, outcomes, and the admin views.

Every outcome (`finish`, `renew_lease`, `release`) names one claim — the worker that holds the
lease and the attempt number it claimed — and changes the row only while that claim still
stands, so a worker whose lease expired and was taken over cannot overwrite the newer attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.core.ids import new_id
from parlour.core.outbox import EnqueuedJob
from parlour.models.job import Job, JobStatus, idempotency_key

# Both count as "may be claimed once run_at has passed": a running job's run_at is its lease end.
CLAIMABLE = (JobStatus.queued, JobStatus.running)


@dataclass(frozen=True, slots=True)
class Claim:
    """One worker's hold on one attempt at a job."""

    job_id: str
    owner: str
    attempt: int


async def insert_or_get(
    session: AsyncSession,
    *,
    tenant_id: str | None,
    kind: str,
    key: str,
    payload: dict[str, Any],
    max_attempts: int,
    run_at: datetime,
    now: datetime,
) -> EnqueuedJob:
    """Insert the job unless one with its idempotency key exists; either way, the job.

    `INSERT ... ON CONFLICT DO NOTHING` makes concurrent enqueues of one key safe on both
    databases: PostgreSQL waits for the other transaction and then skips; SQLite's writer holds
    the write lock. Flushing first puts any row the job refers to (its tenant) in place."""
    await session.flush()
    unique = idempotency_key(tenant_id, kind, key)
    values = {
        "id": new_id(),
        "tenant_id": tenant_id,
        "kind": kind,
        "key": key,
        "idempotency_key": unique,
        "payload": payload,
        "status": JobStatus.queued.value,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_at": run_at,
        "created_at": now,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Job)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Job.id)
    )
    inserted = await session.scalar(statement)
    if inserted is not None:
        return EnqueuedJob(inserted, kind, tenant_id, key, JobStatus.queued, run_at, created=True)
    job = (await session.execute(select(Job).where(Job.idempotency_key == unique))).scalar_one()
    return EnqueuedJob(job.id, job.kind, job.tenant_id, job.key, job.status, job.run_at, False)


async def any_due(session: AsyncSession, *, kinds: Sequence[str], now: datetime) -> bool:
    """Whether a claim would find anything: a cheap read, so an idle SQLite node does not take
    the write lock every poll."""
    query = select(Job.id).where(Job.status.in_(CLAIMABLE), Job.run_at <= now, Job.kind.in_(kinds))
    return (await session.scalar(query.limit(1))) is not None


async def lock_due(
    session: AsyncSession, *, kinds: Sequence[str], now: datetime, limit: int
) -> list[Job]:
    """Due jobs, oldest first, locked for this transaction. PostgreSQL skips rows another
    worker has locked (`FOR UPDATE SKIP LOCKED`: two workers never claim one job); SQLite
    ignores the clause, and its writing unit of work already holds the database's write lock."""
    query = (
        select(Job)
        .where(Job.status.in_(CLAIMABLE), Job.run_at <= now, Job.kind.in_(kinds))
        .order_by(Job.run_at, Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(query))


async def mark_running(
    session: AsyncSession, job: Job, *, owner: str, now: datetime, lease: timedelta
) -> Claim:
    """Claim a locked job: one more attempt, leased to `owner` until now + lease."""
    attempt = job.attempts + 1
    until = now + lease
    await session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(
            status=JobStatus.running,
            attempts=attempt,
            lease_owner=owner,
            lease_until=until,
            run_at=until,
            started_at=now,
        )
    )
    return Claim(job.id, owner, attempt)


def _held(claim: Claim) -> Any:
    return (
        (Job.id == claim.job_id)
        & (Job.status == JobStatus.running)
        & (Job.lease_owner == claim.owner)
        & (Job.attempts == claim.attempt)
    )


async def _update_held(session: AsyncSession, claim: Claim, **values: Any) -> bool:
    result = await session.execute(update(Job).where(_held(claim)).values(**values))
    return bool(getattr(result, "rowcount", 0))


async def renew_lease(session: AsyncSession, claim: Claim, *, until: datetime) -> bool:
    """Extend a held lease (a long handler's heartbeat); False if the claim was lost."""
    return await _update_held(session, claim, lease_until=until, run_at=until)


async def finish_done(session: AsyncSession, claim: Claim, *, now: datetime) -> bool:
    return await _update_held(
        session,
        claim,
        status=JobStatus.done,
        finished_at=now,
        lease_until=None,
        lease_owner=None,
        run_at=now,
    )


async def finish_retry(
    session: AsyncSession, claim: Claim, *, error: str, run_at: datetime, max_attempts: int
) -> bool:
    return await _update_held(
        session,
        claim,
        status=JobStatus.queued,
        last_error=error,
        run_at=run_at,
        lease_until=None,
        lease_owner=None,
        max_attempts=max_attempts,
    )


async def finish_failed(
    session: AsyncSession, claim: Claim, *, error: str, now: datetime, max_attempts: int
) -> bool:
    return await _update_held(
        session,
        claim,
        status=JobStatus.failed,
        last_error=error,
        finished_at=now,
        run_at=now,
        lease_until=None,
        lease_owner=None,
        max_attempts=max_attempts,
    )


async def release(session: AsyncSession, claim: Claim, *, now: datetime, error: str) -> bool:
    """Put a held job back in the queue, due now, without counting the interrupted attempt (it
    did not fail: the node stopped)."""
    return await _update_held(
        session,
        claim,
        status=JobStatus.queued,
        attempts=claim.attempt - 1,
        last_error=error,
        run_at=now,
        lease_until=None,
        lease_owner=None,
    )


async def mark_abandoned(session: AsyncSession, job: Job, *, now: datetime, error: str) -> None:
    """A locked job whose last allowed attempt never finished (its worker died): failed, not
    run again, so a job that kills its worker cannot kill every worker in turn."""
    await session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(
            status=JobStatus.failed,
            last_error=error,
            finished_at=now,
            run_at=now,
            lease_until=None,
            lease_owner=None,
        )
    )


async def list_jobs(
    session: AsyncSession,
    *,
    tenant_id: str | None,
    all_tenants: bool,
    status: JobStatus | None,
    kind: str | None,
    limit: int,
) -> list[Job]:
    """Jobs newest first: one tenant's, or every job on the node (`all_tenants`, operators)."""
    query = select(Job)
    if not all_tenants:
        query = query.where(Job.tenant_id == tenant_id)
    if status is not None:
        query = query.where(Job.status == status)
    if kind is not None:
        query = query.where(Job.kind == kind)
    query = query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    return list(await session.scalars(query))


async def get_job(session: AsyncSession, job_id: str, *, lock: bool = False) -> Job | None:
    query = select(Job).where(Job.id == job_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def requeue(session: AsyncSession, job: Job, *, now: datetime) -> None:
    """Run a (locked) job again as soon as a worker is free, with a fresh set of attempts."""
    await session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(
            status=JobStatus.queued,
            attempts=0,
            run_at=now,
            finished_at=None,
            lease_until=None,
            lease_owner=None,
        )
    )
