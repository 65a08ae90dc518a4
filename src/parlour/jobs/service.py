"""The rules for looking at and retrying jobs: a tenant's admins see their tenant's jobs; the
node's operator (the `parlour jobs` command, run on the server) sees every job."""

from __future__ import annotations

from dataclasses import dataclass

from parlour.auth.principal import Principal
from parlour.core.errors import BadRequest, Conflict, Forbidden, NotFound
from parlour.core.uow import UnitOfWork
from parlour.jobs import repository
from parlour.models.job import MAX_KIND_CHARS, Job, JobStatus

MAX_LIST = 200
# What a retry may restart: a failed job, or a queued one (to run it now, not after its backoff).
RETRYABLE = frozenset({JobStatus.failed, JobStatus.queued})


@dataclass(frozen=True, slots=True)
class Operator:
    """Whoever runs `parlour` on the node: not a tenant's principal, sees every tenant's jobs."""


OPERATOR = Operator()
Caller = Principal | Operator


def job_not_found() -> NotFound:
    """The one answer for a job that is missing *or* another tenant's."""
    return NotFound("Job not found.", code="job_not_found")


def _scope(caller: Caller) -> str | None:
    """The tenant whose jobs the caller may see; None for the operator (all of them)."""
    if isinstance(caller, Operator):
        return None
    if not caller.is_admin:
        raise Forbidden("Only the tenant's admins see its jobs.")
    return caller.tenant_id


async def list_jobs(
    tx: UnitOfWork,
    caller: Caller,
    *,
    status: JobStatus | None = None,
    kind: str | None = None,
    limit: int = 50,
) -> list[Job]:
    """Jobs the caller may see, newest first."""
    tenant_id = _scope(caller)
    if not 1 <= limit <= MAX_LIST:
        raise BadRequest(f"limit must be between 1 and {MAX_LIST}.", code="invalid_limit")
    if kind is not None and len(kind) > MAX_KIND_CHARS:
        raise BadRequest(f"kind has at most {MAX_KIND_CHARS} characters.", code="invalid_kind")
    return await repository.list_jobs(
        tx.session,
        tenant_id=tenant_id,
        all_tenants=tenant_id is None,
        status=status,
        kind=kind,
        limit=limit,
    )


async def get_job(tx: UnitOfWork, caller: Caller, job_id: str, *, lock: bool = False) -> Job:
    tenant_id = _scope(caller)
    job = await repository.get_job(tx.session, job_id, lock=lock)
    if job is None or (tenant_id is not None and job.tenant_id != tenant_id):
        raise job_not_found()
    return job


async def do_retry(tx: UnitOfWork, caller: Caller, job_id: str) -> Job:
    """Queue a failed job again with a fresh set of attempts (or run a queued one now). The row
    is locked and its status checked under the lock: a retry cannot race a worker's outcome."""
    job = await get_job(tx, caller, job_id, lock=True)
    if job.status not in RETRYABLE:
        raise Conflict(
            f"Only failed or queued jobs can be retried; this one is {job.status}.",
            code="job_not_retryable",
        )
    await repository.requeue(tx.session, job, now=tx.now)
    # Re-read what the UPDATE wrote (the session's copy predates it).
    await tx.session.refresh(job)
    return job
