"""Lifecycle races with real concurrency: each task its own unit of work (own connection).

A concurrent end and join must not revive an ended conversation, and two concurrent ends must
write one "ended" message. On PostgreSQL the races also run from two processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from parlour.auth.principal import Principal
from parlour.runtime import Runtime
from tests.api.support import make_member
from tests.conversations.race_support import Step, check_outcome, run_plan
from tests.factories import make_conversation, make_tenant

ROUNDS = 4
ROOT = Path(__file__).resolve().parents[2]


def _pythonpath() -> str:
    """The tests' root importable in the runner (after any PYTHONPATH the run was given)."""
    return os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p)


async def _cast(rt: Runtime, agents: int = 4) -> tuple[Principal, list[Principal], Principal]:
    await make_tenant(rt)
    customer = await make_member(rt, "customer", name="Cara")
    staff = [await make_member(rt, "agent", name=f"Agent{i}") for i in range(agents)]
    admin = await make_member(rt, "admin", name="Ada")
    return customer, staff, admin


async def test_concurrent_ends_write_one_ended_message(runtime: Runtime) -> None:
    customer, agents, admin = await _cast(runtime, agents=1)
    for _ in range(ROUNDS):
        conv = await make_conversation(runtime, customer, agent=agents[0])
        steps = [Step("end", who, conv.id) for who in (customer, agents[0], admin) * 3]
        outcomes = await run_plan(runtime, steps)
        assert outcomes.count("ok") == 1, outcomes
        assert set(outcomes) == {"ok", "conversation_ended"}, outcomes
        await check_outcome(runtime, conv.id)


async def test_concurrent_end_and_join_never_revive(runtime: Runtime) -> None:
    customer, agents, admin = await _cast(runtime)
    for _ in range(ROUNDS):
        conv = await make_conversation(runtime, customer)
        steps = [Step("end", customer, conv.id), Step("end", admin, conv.id)]
        steps += [Step("join", a, conv.id) for a in agents]
        outcomes = await run_plan(runtime, steps)
        assert outcomes[:2].count("ok") == 1, outcomes
        await check_outcome(runtime, conv.id)


async def test_concurrent_end_assign_observe_never_revive(runtime: Runtime) -> None:
    customer, agents, admin = await _cast(runtime)
    observers = [await make_member(runtime, "admin", name=f"Obs{i}") for i in range(3)]
    for _ in range(ROUNDS):
        conv = await make_conversation(runtime, customer, agent=agents[0])
        steps = [Step("end", agents[0], conv.id), Step("end", customer, conv.id)]
        steps += [Step("assign", admin, conv.id, user_id=a.user_id) for a in agents[1:]]
        steps += [Step("observe", o, conv.id) for o in observers]
        outcomes = await run_plan(runtime, steps)
        assert outcomes[:2].count("ok") == 1, outcomes
        await check_outcome(runtime, conv.id)


async def test_end_and_join_from_two_processes(
    runtime: Runtime, db_url: str, tmp_path: Path
) -> None:
    customer, agents, admin = await _cast(runtime)
    conversations = [(await make_conversation(runtime, customer)).id for _ in range(6)]
    # Each process ends every conversation and has agents join it and the admin assign one.
    plans = []
    for half in (agents[:2], agents[2:]):
        steps = []
        for cid in conversations:
            steps += [Step("end", customer, cid), Step("end", admin, cid)]
            steps += [Step("join", a, cid) for a in half]
            steps.append(Step("assign", admin, cid, user_id=half[0].user_id))
        plan = tmp_path / f"plan-{len(plans)}.json"
        plan.write_text(json.dumps([s.to_json() for s in steps]))
        plans.append(plan)
    start_at = str(time.time() + 3)  # time for both processes to import and connect
    runners = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.conversations.race_runner",
            db_url,
            start_at,
            str(plan),
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": _pythonpath()},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for plan in plans
    ]
    ends: dict[str, int] = dict.fromkeys(conversations, 0)
    for runner in runners:
        out, err = await asyncio.wait_for(runner.communicate(), timeout=90)
        assert runner.returncode == 0, err.decode()
        for line in out.decode().splitlines():
            result = json.loads(line)
            assert not result["outcome"].startswith("crash"), result
            if result["step"]["action"] == "end" and result["outcome"] == "ok":
                ends[result["step"]["conversation_id"]] += 1
    assert set(ends.values()) == {1}, ends
    for cid in conversations:
        await check_outcome(runtime, cid)
