"""The deadline sweep with a controllable clock, on both databases.

Nothing closes before `closes_at`; after it each conversation closes once, by the system actor,
with one "ended" message; racing sweeps (tasks; processes on PostgreSQL) close each once.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parlour.config import Settings
from parlour.conversations import service as conversations
from parlour.core.clock import FrozenClock
from parlour.core.domain_events import DomainEvent
from parlour.core.errors import AppError
from parlour.deadlines import conversation_expiry
from parlour.deadlines.registry import Due
from parlour.deadlines.sweep import sweep
from parlour.runtime import Runtime, build_runtime
from tests.api.support import make_member
from tests.deadlines.support import (
    conversation,
    ended_messages,
    later,
    message_count,
    open_with_deadline,
)
from tests.factories import make_tenant

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def _pythonpath() -> str:
    """The tests' root importable in the runner (after any PYTHONPATH the run was given)."""
    return os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


async def _cast(rt: Runtime):  # type: ignore[no-untyped-def]
    await make_tenant(rt)
    admin = await make_member(rt, "admin", name="Ada")
    customer = await make_member(rt, "customer", name="Cara")
    return admin, customer


async def _sweep(rt: Runtime, batch_size: int = 100) -> list[str]:
    return [a.conversation_id for a in await sweep(rt.uow, rt.deadlines, batch_size=batch_size)]


async def test_nothing_before_closes_at_then_closed_once_by_the_system_actor(
    frozen: Runtime, clock: FrozenClock
) -> None:
    admin, customer = await _cast(frozen)
    cid = await open_with_deadline(frozen, admin, customer, later(START, minutes=10))
    ended: list[DomainEvent] = []

    async def on_ended(event: DomainEvent) -> None:
        ended.append(event)

    frozen.hooks.on(conversations.ENDED, on_ended)

    clock.advance(minutes=9, seconds=59)
    assert await _sweep(frozen) == []
    assert (await conversation(frozen, cid)).status == "waiting"

    clock.advance(seconds=1)  # exactly at closes_at: due
    assert await _sweep(frozen) == [cid]
    assert await _sweep(frozen) == []  # idempotent
    clock.advance(hours=1)
    assert await _sweep(frozen) == []

    closed = await conversation(frozen, cid)
    assert (closed.status, closed.end_reason, closed.ended_by_id) == ("ended", "expired", None)
    assert closed.ended_at == later(START, minutes=10)
    [message] = await ended_messages(frozen, cid)
    assert message.body == "Parlour ended the conversation (expired)."
    assert message.meta == {"event": "ended", "user_id": None, "reason": "expired", "by": "system"}
    assert message.sender_id is None
    assert [(e.name, e.data["reason"], e.data["by"]) for e in ended] == [
        ("conversation.ended", "expired", "system")
    ]


async def test_a_conversation_ended_by_hand_is_not_closed_again(
    frozen: Runtime, clock: FrozenClock
) -> None:
    admin, customer = await _cast(frozen)
    cid = await open_with_deadline(frozen, admin, customer, later(START, minutes=1))
    async with frozen.uow() as tx:
        await conversations.do_end(tx, customer, cid, reason=None)
    clock.advance(minutes=2)
    assert await _sweep(frozen) == []
    assert len(await ended_messages(frozen, cid)) == 1
    assert (await conversation(frozen, cid)).end_reason == "customer"


async def test_act_rechecks_under_the_lock(frozen: Runtime, clock: FrozenClock) -> None:
    """A stale `find_due` answer (another node closed it, or the deadline moved) does nothing."""
    admin, customer = await _cast(frozen)
    cid = await open_with_deadline(frozen, admin, customer, later(START, minutes=1))
    # Other domains register deadlines too (routing's safety net): take the expiry one.
    [deadline] = [d for d in frozen.deadlines if d.name == conversation_expiry.NAME]
    due = Due(conversation_id=cid, tenant_id=admin.tenant_id)
    async with frozen.uow() as tx:
        assert await deadline.act(tx, due) is None  # not due yet
    clock.advance(minutes=1)
    async with frozen.uow() as tx:
        assert await deadline.act(tx, due) == "expired"
    before = await message_count(frozen)
    async with frozen.uow() as tx:
        assert await deadline.act(tx, due) is None  # already closed
    assert await message_count(frozen) == before


async def test_a_batch_bounds_one_pass(frozen: Runtime, clock: FrozenClock) -> None:
    admin, customer = await _cast(frozen)
    ids = [
        await open_with_deadline(frozen, admin, customer, later(START, minutes=1 + i))
        for i in range(5)
    ]
    clock.advance(hours=1)
    first = await _sweep(frozen, batch_size=2)
    assert first == ids[:2]  # the longest overdue first
    assert await _sweep(frozen, batch_size=2) == ids[2:4]
    assert await _sweep(frozen, batch_size=2) == ids[4:]
    assert await _sweep(frozen, batch_size=2) == []


async def test_racing_sweeps_close_each_conversation_once(
    frozen: Runtime, clock: FrozenClock
) -> None:
    admin, customer = await _cast(frozen)
    ids = [
        await open_with_deadline(frozen, admin, customer, later(START, minutes=1)) for _ in range(6)
    ]
    clock.advance(minutes=5)
    results = await asyncio.gather(*(_sweep(frozen) for _ in range(4)))
    closed = [cid for result in results for cid in result]
    assert sorted(closed) == sorted(ids), results
    for cid in ids:
        assert len(await ended_messages(frozen, cid)) == 1


async def test_racing_sweep_processes_close_each_conversation_once(
    frozen: Runtime, clock: FrozenClock, db_url: str
) -> None:
    admin, customer = await _cast(frozen)
    ids = [
        await open_with_deadline(frozen, admin, customer, later(START, minutes=1))
        for _ in range(30)
    ]
    now = later(START, minutes=5).isoformat()
    start_at = str(time.time() + 3)  # time for every process to import and connect
    runners = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.deadlines.sweep_runner",
            db_url,
            now,
            start_at,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": _pythonpath()},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    closed: list[str] = []
    for runner in runners:
        out, err = await asyncio.wait_for(runner.communicate(), timeout=60)
        assert runner.returncode == 0, err.decode()
        closed += [json.loads(line)["conversation_id"] for line in out.decode().splitlines()]
    assert sorted(closed) == sorted(ids)
    for cid in ids:
        assert len(await ended_messages(frozen, cid)) == 1
        assert (await conversation(frozen, cid)).end_reason == "expired"


async def test_the_in_process_sweep_runs_supervised_in_the_runtime(
    settings: Settings, clock: FrozenClock
) -> None:
    settings.sweep_interval_seconds = 0.05
    rt = build_runtime(settings, clock=clock)
    await rt.start()
    try:
        admin, customer = await _cast(rt)
        cid = await open_with_deadline(rt, admin, customer, later(START, minutes=10))
        await asyncio.sleep(0.3)  # several passes: nothing is due
        assert (await conversation(rt, cid)).status == "waiting"
        clock.advance(minutes=10)
        for _ in range(100):
            if (await conversation(rt, cid)).status == "ended":
                break
            await asyncio.sleep(0.05)
        assert (await conversation(rt, cid)).end_reason == "expired"
        await asyncio.sleep(0.2)  # more passes change nothing
        assert len(await ended_messages(rt, cid)) == 1
    finally:
        await rt.stop()
    assert rt._sweeper is None  # stopped with the runtime


async def test_closes_at_on_creation_is_for_staff_and_in_the_future(
    frozen: Runtime, clock: FrozenClock
) -> None:
    admin, customer = await _cast(frozen)
    with pytest.raises(AppError) as err:
        await open_with_deadline(frozen, admin, customer, START)
    assert err.value.code == "invalid_closes_at"
    with pytest.raises(AppError) as err:
        async with frozen.uow() as tx:
            await conversations.do_create_conversation(
                tx,
                customer,
                kind="support",
                customer_id=None,
                subject=None,
                closes_at=later(START, minutes=5),
            )
    assert err.value.code == "closes_at_not_allowed"
