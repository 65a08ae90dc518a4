"""The admin jobs API: a tenant's admins look at its jobs and retry failed ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from parlour.core.http import error_responses
from parlour.deps import PrincipalDep, RuntimeDep
from parlour.jobs import service
from parlour.jobs.schemas import JobPage, JobRead, JobSummary
from parlour.models.job import MAX_KIND_CHARS, JobStatus

router = APIRouter(prefix="/admin/jobs", tags=["jobs"])

JobIdPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


@router.get("", response_model=JobPage, responses=error_responses(400, 401, 403, 422))
async def list_jobs(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    status: JobStatus | None = None,
    kind: Annotated[
        str | None, Query(min_length=1, max_length=MAX_KIND_CHARS, pattern=r"^[^\x00]*$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIST)] = 50,
) -> JobPage:
    """The tenant's jobs, newest first (`status=failed`: the ones that need a look). Admins."""
    async with runtime.uow(write=False) as tx:
        jobs = await service.list_jobs(tx, principal, status=status, kind=kind, limit=limit)
    return JobPage(jobs=[JobSummary.model_validate(job) for job in jobs])


@router.get("/{job_id}", response_model=JobRead, responses=error_responses(400, 401, 403, 404, 422))
async def get_job(job_id: JobIdPath, principal: PrincipalDep, runtime: RuntimeDep) -> JobRead:
    """One of the tenant's jobs, with its payload and last error. Admins."""
    async with runtime.uow(write=False) as tx:
        job = await service.get_job(tx, principal, job_id)
    return JobRead.model_validate(job)


@router.post(
    "/{job_id}/retry",
    response_model=JobRead,
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
async def retry_job(job_id: JobIdPath, principal: PrincipalDep, runtime: RuntimeDep) -> JobRead:
    """Queue a failed job again with a fresh set of attempts (a queued one runs now). Admins;
    409 `job_not_retryable` for a job that is running or done."""
    async with runtime.uow() as tx:
        job = await service.do_retry(tx, principal, job_id)
    runtime.job_worker.wake()
    return JobRead.model_validate(job)
