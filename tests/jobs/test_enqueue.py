"""`tx.enqueue`: the job row belongs to its cause's transaction, and a key enqueues once."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from parlour.config import Settings
from parlour.core.clock import FrozenClock
from parlour.jobs import JobContext
from parlour.models.job import JobStatus
from parlour.runtime import Runtime, build_runtime
from tests.factories import make_tenant
from tests.jobs.conftest import count_jobs, eventually, load


class Boom(Exception):
    pass


async def test_a_rolled_back_transaction_leaves_no_job(rt: Runtime) -> None:
    tenant = await make_tenant(rt)
    with pytest.raises(Boom):
        async with rt.uow() as tx:
            job = await tx.enqueue("test.noop", {"n": 1}, key="k1", tenant_id=tenant)
            assert job.created
            raise Boom
    assert await count_jobs(rt) == 0

    async with rt.uow() as tx:
        job = await tx.enqueue("test.noop", {"n": 1}, key="k1", tenant_id=tenant)
    assert job.created  # the rolled-back one never existed
    assert await count_jobs(rt) == 1
    stored = await load(rt, job.id)
    assert (stored.status, stored.payload, stored.attempts) == ("queued", {"n": 1}, 0)
    assert stored.run_at == rt.clock.now()


async def test_the_same_key_enqueues_one_job(rt: Runtime) -> None:
    tenant = await make_tenant(rt)
    other = await make_tenant(rt, "other")
    async with rt.uow() as tx:
        first = await tx.enqueue("test.noop", {"n": 1}, key="order-7", tenant_id=tenant)
        again = await tx.enqueue("test.noop", {"n": 2}, key="order-7", tenant_id=tenant)
    async with rt.uow() as tx:
        later = await tx.enqueue("test.noop", {"n": 3}, key="order-7", tenant_id=tenant)
        # The key is scoped by tenant and kind: these are other jobs.
        other_tenant = await tx.enqueue("test.noop", {}, key="order-7", tenant_id=other)
        other_kind = await tx.enqueue("test.other", {}, key="order-7", tenant_id=tenant)
    assert first.created and not again.created and not later.created
    assert first.id == again.id == later.id
    assert len({first.id, other_tenant.id, other_kind.id}) == 3
    assert await count_jobs(rt) == 3
    assert (await load(rt, first.id)).payload == {"n": 1}  # the first enqueue's payload
    assert (await load(rt, first.id)).idempotency_key == f"{tenant}:test.noop:order-7"


async def test_concurrent_enqueues_of_one_key_make_one_job(rt: Runtime) -> None:
    tenant = await make_tenant(rt)

    async def enqueue() -> str:
        async with rt.uow() as tx:
            job = await tx.enqueue("test.noop", {}, key="race", tenant_id=tenant)
            await asyncio.sleep(0.05)  # both transactions open at once (PostgreSQL)
            return job.id

    ids = await asyncio.gather(*(enqueue() for _ in range(4)))
    assert len(set(ids)) == 1
    assert await count_jobs(rt) == 1


async def test_node_wide_jobs_dedupe_too(rt: Runtime) -> None:
    async with rt.uow() as tx:
        a = await tx.enqueue("test.noop", {}, key="nightly")
    async with rt.uow() as tx:
        b = await tx.enqueue("test.noop", {}, key="nightly")
    assert a.id == b.id and a.tenant_id is None
    assert await count_jobs(rt) == 1


async def test_bad_enqueues_are_refused_and_write_nothing(rt: Runtime) -> None:
    with pytest.raises(TypeError):
        async with rt.uow() as tx:
            await tx.enqueue("test.noop", {"when": object()}, key="k")
    with pytest.raises(ValueError, match="key"):
        async with rt.uow() as tx:
            await tx.enqueue("test.noop", {}, key="")
    with pytest.raises(RuntimeError, match="read-only"):
        async with rt.uow(write=False) as tx:
            await tx.enqueue("test.noop", {}, key="k")
    assert await count_jobs(rt) == 0


async def test_run_at_in_the_future_waits_for_the_clock(rt: Runtime, clock: FrozenClock) -> None:
    calls: list[int] = []

    async def handler(ctx: JobContext) -> None:
        calls.append(ctx.attempt)

    rt.jobs.register("test.later", handler)
    async with rt.uow() as tx:
        job = await tx.enqueue("test.later", {}, key="k", run_at=clock.now() + timedelta(minutes=5))
    await asyncio.sleep(0.3)  # several polls
    assert calls == []
    clock.advance(minutes=5)
    await eventually(lambda: _status(rt, job.id, JobStatus.done), what="the job to run")
    assert calls == [1]


async def _status(rt: Runtime, job_id: str, status: str) -> bool:
    return (await load(rt, job_id)).status == status


async def test_a_commit_wakes_the_worker_without_waiting_for_the_poll(settings: Settings) -> None:
    settings.job_poll_seconds = 30  # only the in-process notification can be this quick
    node = build_runtime(settings)
    ran = asyncio.Event()

    async def handler(ctx: JobContext) -> None:
        ran.set()

    node.jobs.register("test.prompt", handler)
    await node.start()
    try:
        await asyncio.sleep(0.2)  # the worker has looked once and is asleep
        started = time.monotonic()
        async with node.uow() as tx:
            await tx.enqueue("test.prompt", {}, key="k")
        await asyncio.wait_for(ran.wait(), 5)
        assert time.monotonic() - started < 2
    finally:
        await node.stop()
