"""Session time limits with a frozen clock (no sleeping), on SQLite and PostgreSQL.

The clock starts at the first agent's join, the warning comes exactly one minute before the
end and not earlier, the end comes exactly at the limit (reason `time_limit`, by the system
actor), extensions move the end before and after the start, an ended session refuses messages,
and racing sweeps end it once.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from parlour.conversations import service as conversations
from parlour.core.clock import FrozenClock
from parlour.core.errors import AppError
from parlour.messages.service import do_send_message
from parlour.models.timing import ConversationTimer
from parlour.runtime import Runtime
from parlour.timing import service as timing
from tests.deadlines.support import conversation
from tests.deadlines.test_sweep import ROOT, _pythonpath
from tests.timing.support import (
    START,
    cast,
    join,
    open_timed,
    run_sweep,
    system_events,
    timer,
)

TEN_MINUTES = 600


def events(found: list[tuple[str, str]]) -> list[str]:
    return [e for e, _ in found]


async def test_the_clock_does_not_run_before_an_agent_joins(
    frozen: Runtime, clock: FrozenClock
) -> None:
    who = await cast(frozen)
    cid = await open_timed(frozen, who, TEN_MINUTES)
    clock.advance(hours=2)
    assert await run_sweep(frozen) == []
    waiting = await timer(frozen, cid)
    assert (waiting.started_at, waiting.ends_at, waiting.due_at) == (None, None, None)
    assert (await conversation(frozen, cid)).status == "waiting"
    assert "time_limit_warning" not in events(await system_events(frozen, cid))


async def test_warning_exactly_one_minute_before_and_end_exactly_at_the_limit(
    frozen: Runtime, clock: FrozenClock
) -> None:
    who = await cast(frozen)
    cid = await open_timed(frozen, who, TEN_MINUTES)
    clock.advance(minutes=3)
    joined_at = clock.now()
    await join(frozen, who.agent, cid)  # the hook starts the clock from the join
    started = await timer(frozen, cid)
    assert started.started_at == joined_at
    assert started.ends_at == joined_at + timedelta(minutes=10)
    assert events(await system_events(frozen, cid))[-1] == "time_limit_started"

    clock.advance(minutes=8, seconds=59)  # T-61s
    assert await run_sweep(frozen) == []
    assert "time_limit_warning" not in events(await system_events(frozen, cid))

    clock.advance(seconds=1)  # T-60s exactly
    assert await run_sweep(frozen) == []  # a warning closes nothing
    warned = [b for e, b in await system_events(frozen, cid) if e == "time_limit_warning"]
    assert warned == ["One minute left: this session ends at 09:13:00 UTC."]
    assert (await timer(frozen, cid)).warned_at == clock.now()

    clock.advance(seconds=59)  # T-1s: still open, no second warning
    assert await run_sweep(frozen) == []
    assert (await conversation(frozen, cid)).status == "active"
    assert events(await system_events(frozen, cid)).count("time_limit_warning") == 1

    clock.advance(seconds=1)  # T exactly
    assert await run_sweep(frozen) == [(cid, "time_limit")]
    ended = await conversation(frozen, cid)
    assert (ended.status, ended.end_reason, ended.ended_by_id) == ("ended", "time_limit", None)
    assert ended.ended_at == joined_at + timedelta(minutes=10)
    assert events(await system_events(frozen, cid))[-1] == "ended"
    finished = await timer(frozen, cid)
    assert (finished.finished_at, finished.due_at) == (clock.now(), None)

    clock.advance(minutes=5)
    assert await run_sweep(frozen) == []  # done: nothing more
    assert events(await system_events(frozen, cid)).count("ended") == 1


async def test_the_ended_session_refuses_new_messages(frozen: Runtime, clock: FrozenClock) -> None:
    who = await cast(frozen)
    cid = await open_timed(frozen, who, 120)
    await join(frozen, who.agent, cid)
    clock.advance(minutes=2)
    assert await run_sweep(frozen) == [(cid, "time_limit")]
    for sender in (who.customer, who.agent):
        with pytest.raises(AppError) as refused:
            async with frozen.uow() as tx:
                await do_send_message(
                    tx,
                    sender,
                    conversation_id=cid,
                    body="still there?",
                    client_msg_id=None,
                    max_chars=4000,
                )
        assert refused.value.code == "conversation_ended"


async def test_extension_before_the_start_adds_to_the_limit(
    frozen: Runtime, clock: FrozenClock
) -> None:
    who = await cast(frozen)
    cid = await open_timed(frozen, who, TEN_MINUTES)
    async with frozen.uow() as tx:
        await timing.extend_time_limit(tx, cid, who.admin.tenant_id, 300)
    assert (await timer(frozen, cid)).limit_seconds == 900
    assert (await system_events(frozen, cid))[-1] == (
        "time_limit_extended",
        "The time limit was extended by 5 minutes.",
    )
    clock.advance(minutes=1)
    await join(frozen, who.agent, cid)
    assert (await timer(frozen, cid)).ends_at == START + timedelta(minutes=16)
    assert any(
        "time limit of 15 minutes has started" in b for _, b in await system_events(frozen, cid)
    )

    clock.advance(minutes=14)  # 10 minutes after the join: the old end passes unnoticed
    assert await run_sweep(frozen) == []
    assert (await conversation(frozen, cid)).status == "active"
    clock.advance(minutes=1)
    assert await run_sweep(frozen) == [(cid, "time_limit")]


async def test_extension_while_running_moves_the_end_and_warns_again(
    frozen: Runtime, clock: FrozenClock
) -> None:
    who = await cast(frozen)
    cid = await open_timed(frozen, who, TEN_MINUTES)
    await join(frozen, who.agent, cid)
    clock.advance(minutes=9)
    await run_sweep(frozen)  # the first warning
    async with frozen.uow() as tx:
        await timing.extend_time_limit(tx, cid, who.admin.tenant_id, 300)
    extended = await timer(frozen, cid)
    assert extended.ends_at == START + timedelta(minutes=15)
    assert extended.warned_at is None  # a new warning will come
    assert extended.limit_seconds == 900

    clock.advance(minutes=1)  # the old end
    assert await run_sweep(frozen) == []
    assert (await conversation(frozen, cid)).status == "active"
    clock.advance(minutes=3, seconds=59)  # new T-61s
    assert await run_sweep(frozen) == []
    assert events(await system_events(frozen, cid)).count("time_limit_warning") == 1
    clock.advance(seconds=1)  # new T-60s
    await run_sweep(frozen)
    assert events(await system_events(frozen, cid)).count("time_limit_warning") == 2
    clock.advance(minutes=1)
    assert await run_sweep(frozen) == [(cid, "time_limit")]
    assert (await conversation(frozen, cid)).ended_at == START + timedelta(minutes=15)


async def test_an_extension_within_the_last_minute_keeps_the_warning_already_given(
    frozen: Runtime, clock: FrozenClock
) -> None:
    who = await cast(frozen)
    cid = await open_timed(frozen, who, TEN_MINUTES)
    await join(frozen, who.agent, cid)
    clock.advance(minutes=9, seconds=30)
    await run_sweep(frozen)
    async with frozen.uow() as tx:
        await timing.extend_time_limit(tx, cid, who.admin.tenant_id, 20)  # 50 s left
    clock.advance(seconds=49)
    assert await run_sweep(frozen) == []
    assert events(await system_events(frozen, cid)).count("time_limit_warning") == 1
    clock.advance(seconds=1)
    assert await run_sweep(frozen) == [(cid, "time_limit")]


async def test_extending_what_cannot_be_extended(frozen: Runtime, clock: FrozenClock) -> None:
    who = await cast(frozen)
    cid = await open_timed(frozen, who, 60)
    async with frozen.uow() as tx:
        plain = await conversations.do_create_conversation(
            tx, who.admin, kind="support", customer_id=who.customer.user_id, subject=None
        )
    for target, seconds, code in [
        (plain.id, 60, "no_time_limit"),
        (cid, 0, "invalid_time_limit"),
        (cid, -5, "invalid_time_limit"),
        ("missing", 60, "conversation_not_found"),
    ]:
        with pytest.raises(AppError) as refused:
            async with frozen.uow() as tx:
                await timing.extend_time_limit(tx, target, who.admin.tenant_id, seconds)
        assert refused.value.code == code
    await join(frozen, who.agent, cid)
    clock.advance(minutes=1)
    await run_sweep(frozen)
    with pytest.raises(AppError) as refused:
        async with frozen.uow() as tx:
            await timing.extend_time_limit(tx, cid, who.admin.tenant_id, 60)
    assert refused.value.code == "conversation_ended"


async def test_a_session_ended_by_hand_is_left_alone_and_finished(
    frozen: Runtime, clock: FrozenClock
) -> None:
    who = await cast(frozen)
    cid = await open_timed(frozen, who, TEN_MINUTES)
    await join(frozen, who.agent, cid)
    async with frozen.uow() as tx:
        await conversations.do_end(tx, who.customer, cid, reason=None)
    clock.advance(minutes=20)
    assert await run_sweep(frozen) == []
    assert (await timer(frozen, cid)).finished_at is not None
    assert events(await system_events(frozen, cid)).count("ended") == 1
    assert (await conversation(frozen, cid)).end_reason == "customer"


async def test_a_limit_set_after_the_join_starts_from_the_join(
    frozen: Runtime, clock: FrozenClock
) -> None:
    who = await cast(frozen)
    async with frozen.uow() as tx:
        view = await conversations.do_create_conversation(
            tx, who.admin, kind="support", customer_id=who.customer.user_id, subject=None
        )
    await join(frozen, who.agent, view.id)
    clock.advance(minutes=2)
    async with frozen.uow() as tx:
        await timing.set_time_limit(tx, view.id, view.tenant_id, TEN_MINUTES)
    assert (await timer(frozen, view.id)).ends_at == START + timedelta(minutes=10)


async def test_racing_sweeps_end_it_once(frozen: Runtime, clock: FrozenClock) -> None:
    who = await cast(frozen)
    ids = [await open_timed(frozen, who, 60) for _ in range(3)]
    for cid in ids:
        await join(frozen, who.agent, cid)
    clock.advance(minutes=1)  # the warning and the end are both due: the end wins
    results = await asyncio.gather(*(run_sweep(frozen) for _ in range(4)))
    closed = sorted(item for result in results for item in result)
    assert closed == sorted((cid, "time_limit") for cid in ids)
    for cid in ids:
        found = events(await system_events(frozen, cid))
        assert found.count("ended") == 1
        assert found[-1] == "ended"
        assert "time_limit_warning" not in found


async def _forget_the_start(rt: Runtime, conversation_id: str) -> None:
    """As if the join hook had never run (it failed, or ran nowhere)."""
    async with rt.uow() as tx:
        await tx.session.execute(
            update(ConversationTimer)
            .where(ConversationTimer.conversation_id == conversation_id)
            .values(started_at=None, ends_at=None, due_at=None, warned_at=None)
        )


async def test_the_sweep_starts_a_clock_the_join_hook_missed_from_the_join(
    frozen: Runtime, clock: FrozenClock
) -> None:
    who = await cast(frozen)
    cid = await open_timed(frozen, who, TEN_MINUTES)
    joined_at = clock.now()
    await join(frozen, who.agent, cid)
    await _forget_the_start(frozen, cid)
    clock.advance(minutes=2)
    assert await run_sweep(frozen) == []
    repaired = await timer(frozen, cid)
    assert repaired.started_at == joined_at
    assert repaired.ends_at == joined_at + timedelta(minutes=10)
    clock.advance(minutes=8)
    assert await run_sweep(frozen) == [(cid, "time_limit")]

    # One that ended before anyone noticed is finished, never started.
    other = await open_timed(frozen, who, TEN_MINUTES)
    await join(frozen, who.agent, other)
    await _forget_the_start(frozen, other)
    async with frozen.uow() as tx:
        await conversations.do_end(tx, who.customer, other, reason=None)
    assert await run_sweep(frozen) == []
    finished = await timer(frozen, other)
    assert (finished.started_at, finished.finished_at is not None) == (None, True)
    assert await run_sweep(frozen) == []


async def _race_processes(db_url: str, now: datetime, n: int = 3) -> list[tuple[str, str]]:
    """`n` sweep processes (tests/deadlines/sweep_runner.py) at `now`, started together."""
    start_at = str(time.time() + 3)  # time for every process to import and connect
    runners = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.deadlines.sweep_runner",
            db_url,
            now.isoformat(),
            start_at,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": _pythonpath()},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(n)
    ]
    closed = []
    for runner in runners:
        out, err = await asyncio.wait_for(runner.communicate(), timeout=60)
        assert runner.returncode == 0, err.decode()
        closed += [
            (json.loads(line)["conversation_id"], json.loads(line)["outcome"])
            for line in out.decode().splitlines()
        ]
    return closed


async def test_racing_sweep_processes_warn_once_and_end_once(
    frozen: Runtime, clock: FrozenClock, db_url: str
) -> None:
    who = await cast(frozen)
    ids = [await open_timed(frozen, who, 120) for _ in range(10)]
    for cid in ids:
        await join(frozen, who.agent, cid)
    assert await _race_processes(db_url, START + timedelta(seconds=90)) == []  # warnings only
    for cid in ids:
        assert events(await system_events(frozen, cid)).count("time_limit_warning") == 1
    closed = await _race_processes(db_url, START + timedelta(seconds=120))
    assert sorted(closed) == sorted((cid, "time_limit") for cid in ids)
    for cid in ids:
        found = events(await system_events(frozen, cid))
        assert (found.count("time_limit_warning"), found.count("ended")) == (1, 1)
        assert found[-1] == "ended"
