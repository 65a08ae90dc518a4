"""Lifecycle races with real concurrency: each task its own unit of work (own connection).

A concurrent end and join must not revive an ended conversation, and two concurrent ends must
write one "ended" message. On PostgreSQL the races also run from two processes.
"""

from __future__ import annotations

from parlour.auth.principal import Principal
from parlour.runtime import Runtime
from tests.api.support import make_member
from tests.conversations.race_support import Step, check_outcome, run_plan
from tests.factories import make_conversation, make_tenant

ROUNDS = 4


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
