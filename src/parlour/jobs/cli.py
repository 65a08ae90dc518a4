"""`parlour jobs list|show|retry`: the node operator's view of every tenant's jobs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from parlour.config import Settings
from parlour.core import rls
from parlour.core.errors import AppError
from parlour.jobs import service
from parlour.jobs.service import OPERATOR
from parlour.models.job import Job, JobStatus
from parlour.runtime import Runtime, build_runtime

app = typer.Typer(help="Durable jobs: list, show and retry.", no_args_is_help=True)

T = TypeVar("T")


def _run(work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run `work` against the configured database; an AppError becomes `error: ...`, exit 1."""

    async def main() -> T:
        runtime = build_runtime(Settings())
        rls.enter(rls.ALL_TENANTS)  # rls: the operator acts across tenants
        try:
            return await work(runtime)
        finally:
            await runtime.engine.dispose()

    try:
        return asyncio.run(main())
    except AppError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


def _when(job: Job) -> str:
    return job.created_at.strftime("%Y-%m-%d %H:%M:%S")


@app.command("list")
def list_jobs(
    status: Annotated[
        JobStatus | None, typer.Option(help="Only jobs of this status (e.g. failed).")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="Only jobs of this kind.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
) -> None:
    """Jobs of every tenant, newest first."""

    async def work(rt: Runtime) -> list[Job]:
        async with rt.uow(write=False) as tx:
            return await service.list_jobs(tx, OPERATOR, status=status, kind=kind, limit=limit)

    jobs = _run(work)
    if not jobs:
        typer.echo("no jobs")
        return
    typer.echo(f"{'id':<32}  {'kind':<24} {'status':<8} {'tries':>5}  {'created (UTC)':<19}  error")
    for job in jobs:
        tries = f"{job.attempts}/{job.max_attempts}"
        error = (job.last_error or "").splitlines()[0][:60] if job.last_error else ""
        typer.echo(
            f"{job.id:<32}  {job.kind:<24} {job.status:<8} {tries:>5}  {_when(job)}  {error}"
        )


def _print(job: Job) -> None:
    fields = {
        "id": job.id,
        "kind": job.kind,
        "tenant": job.tenant_id or "(node-wide)",
        "key": job.key,
        "idempotency key": job.idempotency_key,
        "status": job.status,
        "attempts": f"{job.attempts} of {job.max_attempts}",
        "run at": job.run_at.isoformat(),
        "lease until": job.lease_until.isoformat() if job.lease_until else "-",
        "lease owner": job.lease_owner or "-",
        "created at": job.created_at.isoformat(),
        "started at": job.started_at.isoformat() if job.started_at else "-",
        "finished at": job.finished_at.isoformat() if job.finished_at else "-",
        "payload": json.dumps(job.payload, sort_keys=True),
        "last error": job.last_error or "-",
    }
    for name, value in fields.items():
        typer.echo(f"{name + ':':<17}{value}")


@app.command("show")
def show(job_id: str) -> None:
    """One job: its payload, attempts, lease and last error."""

    async def work(rt: Runtime) -> Job:
        async with rt.uow(write=False) as tx:
            return await service.get_job(tx, OPERATOR, job_id)

    _print(_run(work))


@app.command("retry")
def retry(job_id: str) -> None:
    """Queue a failed job again with a fresh set of attempts (a queued one runs now)."""

    async def work(rt: Runtime) -> Job:
        async with rt.uow() as tx:
            return await service.do_retry(tx, OPERATOR, job_id)

    job = _run(work)
    typer.echo(f"job {job.id} queued again ({job.kind}); a worker runs it within seconds")
