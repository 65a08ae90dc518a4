"""Workers in real processes: a SIGKILLed worker's job is taken over after its lease; two
workers never run one attempt twice (PostgreSQL: `FOR UPDATE SKIP LOCKED`, without which this
test fails; SQLite: the claim's write lock)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import func, select

from parlour.models.job import Job
from parlour.runtime import Runtime
from tests.conftest import TEST_SECRET
from tests.factories import make_tenant
from tests.jobs.conftest import eventually, load

ROOT = Path(__file__).resolve().parents[2]


def _lines(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines()] if log.exists() else []


@asynccontextmanager
async def worker_process(
    db_url: str, log: Path, tmp_path: Path, *, lease: float, concurrency: int = 4
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A node running `tests.jobs.runner`, started and (unless the test killed it) stopped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLOUR_")}
    env.update(
        PARLOUR_DATABASE_URL=db_url,
        PARLOUR_DATA_DIR=str(tmp_path / "data"),
        PARLOUR_SECRET_KEY=TEST_SECRET,
        PARLOUR_LOG_LEVEL="warning",
        PARLOUR_JOB_LEASE_SECONDS=str(lease),
        PARLOUR_JOB_POLL_SECONDS="0.1",
        PARLOUR_JOB_CONCURRENCY=str(concurrency),
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.jobs.runner", "--log", str(log), cwd=ROOT, env=env
    )
    try:
        await eventually(
            lambda: _started(log, proc.pid), timeout=30, what=f"worker {proc.pid} to start"
        )
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _started(log: Path, pid: int) -> bool:
    return any(line[0] == "started" and int(line[3]) == pid for line in _lines(log))


def _has(log: Path, predicate: Callable[[list[str]], bool]) -> Callable[[], object]:
    async def check() -> bool:
        return any(predicate(line) for line in _lines(log))

    return check


async def test_a_job_of_a_killed_worker_is_finished_by_another_after_its_lease(
    runtime: Runtime, db_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "calls.log"
    tenant = await make_tenant(runtime)
    lease = 2.0
    async with worker_process(db_url, log, tmp_path, lease=lease) as first:
        async with runtime.uow() as tx:
            job_id = (await tx.enqueue("test.block-first", {}, key="k", tenant_id=tenant)).id
        await eventually(_has(log, lambda line: line[:2] == ["claimed", job_id]), what="a claim")
        first.send_signal(signal.SIGKILL)
        await first.wait()
    claimed = await load(runtime, job_id)
    assert (claimed.status, claimed.attempts) == ("running", 1)
    assert claimed.lease_owner is not None and f":{first.pid}:" in claimed.lease_owner
    assert claimed.lease_until is not None

    async with worker_process(db_url, log, tmp_path, lease=lease) as second:
        done = await eventually(lambda: _done(runtime, job_id), timeout=30, what="the takeover")
    ran = [line for line in _lines(log) if line[0] == "ran"]
    assert ran == [["ran", job_id, "2", str(second.pid)]]
    assert done.attempts == 2
    # Taken over only once the first claim's lease (renewed while that worker lived) ran out.
    assert done.started_at is not None and done.started_at >= claimed.lease_until


async def _done(rt: Runtime, job_id: str) -> Job | None:
    job = await load(rt, job_id)
    return job if job.status == "done" else None


async def test_two_worker_processes_run_each_job_once(
    runtime: Runtime, db_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "calls.log"
    tenant = await make_tenant(runtime)
    total = 200
    async with (
        worker_process(db_url, log, tmp_path, lease=30, concurrency=8) as a,
        worker_process(db_url, log, tmp_path, lease=30, concurrency=8) as b,
    ):
        async with runtime.uow() as tx:
            for n in range(total):
                await tx.enqueue("test.count", {"n": n}, key=f"job-{n}", tenant_id=tenant)
        await eventually(lambda: _all_done(runtime, total), timeout=60, what="every job done")
    ran = [line for line in _lines(log) if line[0] == "ran"]
    per_job = Counter(line[1] for line in ran)
    assert len(per_job) == total
    assert set(per_job.values()) == {1}, [j for j, n in per_job.items() if n > 1]
    assert {line[2] for line in ran} == {"1"}
    by_process = Counter(line[3] for line in ran)
    # Both took part (else this proves nothing about two workers).
    assert set(by_process) == {str(a.pid), str(b.pid)}, by_process


async def _all_done(rt: Runtime, total: int) -> bool:
    async with rt.uow(write=False) as tx:
        done = await tx.session.scalar(
            select(func.count()).select_from(Job).where(Job.status == "done")
        )
    return done == total
