"""Job tests: a runtime with a FrozenClock (time moves when a test says) and a quick poll."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from parlour.config import Settings
from parlour.core.clock import FrozenClock
from parlour.models.job import Job
from parlour.runtime import Runtime, build_runtime


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def rt(settings: Settings, clock: FrozenClock) -> AsyncIterator[Runtime]:
    """A started node whose worker polls every 50 ms (real time) on a frozen clock."""
    settings.job_poll_seconds = 0.05
    runtime = build_runtime(settings, clock=clock)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


async def load(rt: Runtime, job_id: str) -> Job:
    async with rt.uow(write=False) as tx:
        job = await tx.session.get(Job, job_id)
    assert job is not None, job_id
    return job


async def count_jobs(rt: Runtime) -> int:
    async with rt.uow(write=False) as tx:
        return int(await tx.session.scalar(select(func.count()).select_from(Job)) or 0)


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 10.0, what: str = "condition"
) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def settled(rt: Runtime, job_id: str, *statuses: str, timeout: float = 10.0) -> Job:
    """The job once its status is one of `statuses` and no worker task runs it."""

    async def check() -> Job | None:
        job = await load(rt, job_id)
        return job if job.status in statuses and rt.job_worker.running == 0 else None

    result: Job = await eventually(check, timeout=timeout, what=f"job {job_id} in {statuses}")
    return result
