"""Routing races with real concurrency: each task its own unit of work (on PostgreSQL its own
connection and transaction), started together behind a barrier, without the node's drain
lock, as several nodes would run them. No agent over capacity, no conversation twice."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from parlour.auth.principal import Principal
from parlour.config import Settings
from parlour.core.errors import AppError
from parlour.core.uow import UnitOfWork
from parlour.routing import service as routing
from parlour.runtime import Runtime, build_runtime
from tests.api.support import make_member
from tests.factories import make_tenant
from tests.routing.support import create_one, force_online, set_status, state

ROUNDS = 3

Action = Callable[[UnitOfWork], Awaitable[object]]


async def _race(rt: Runtime, actions: list[Action]) -> list[str]:
    """Run each action in its own unit of work, all at once; "ok", "no" (False/None) or the
    refusing error's code. A crash (deadlock, unique violation) fails the test."""
    barrier = asyncio.Barrier(len(actions))
    sqlite = rt.engine.dialect.name == "sqlite"

    async def run(action: Action) -> str:
        try:
            if sqlite:  # SQLite's writer holds the write lock from BEGIN: wait before it
                await barrier.wait()
            async with rt.uow() as tx:
                if not sqlite:
                    await barrier.wait()  # every transaction open, then all go at once
                result = await action(tx)
            return "no" if result in (False, None) else "ok"
        except AppError as exc:
            return exc.code

    return list(await asyncio.gather(*(run(a) for a in actions)))


async def _cast(rt: Runtime) -> tuple[Principal, Principal, Principal, Principal]:
    await make_tenant(rt)
    customer = await make_member(rt, "customer", name="Cara")
    a = await make_member(rt, "agent", name="Abe")
    b = await make_member(rt, "agent", name="Bea")
    admin = await make_member(rt, "admin", name="Ada")
    return customer, a, b, admin


def _pick(who: Principal, cid: str) -> Action:
    return lambda tx: routing.do_pick(tx, who, cid)


def _route(tenant_id: str, cid: str, user_id: str) -> Action:
    return lambda tx: routing.do_route(tx, tenant_id, routing.Plan(cid, user_id))


async def test_two_agents_pick_the_same_conversation_one_wins(runtime: Runtime) -> None:
    customer, a, b, _ = await _cast(runtime)
    for _ in range(ROUNDS):
        cid = await create_one(runtime, customer)  # nobody online: it waits
        outcomes = await _race(runtime, [_pick(a, cid), _pick(b, cid)])
        assert sorted(outcomes) == ["conversation_taken", "ok"], outcomes
        s = await state(runtime)
        s.check({})
        assert len(s.agents[cid]) == 1


async def test_conversations_racing_for_the_last_slot_never_overload(runtime: Runtime) -> None:
    customer, a, _, _ = await _cast(runtime)
    assert a.user_id is not None
    for _ in range(ROUNDS):
        ids = [await create_one(runtime, customer) for _ in range(4)]
        # One slot left: capacity = what they have + 1 (online without the hook's drain).
        have = (await state(runtime)).load().get(a.user_id, 0)
        await force_online(runtime, a, capacity=have + 1)
        actions = [_route(a.tenant_id, cid, a.user_id) for cid in ids]
        outcomes = await _race(runtime, actions)
        assert sorted(outcomes) == ["no", "no", "no", "ok"], outcomes
        s = await state(runtime)
        s.check({a.user_id: have + 1})
        assert s.load()[a.user_id] == have + 1


async def test_router_and_picks_racing_for_one_conversation(runtime: Runtime) -> None:
    customer, a, b, _ = await _cast(runtime)
    assert a.user_id is not None and b.user_id is not None
    for _ in range(ROUNDS):
        await force_online(runtime, a, capacity=10, status="offline")
        cid = await create_one(runtime, customer)
        await force_online(runtime, a, capacity=10)
        # Two nodes' routers and an agent's pick, all for the same conversation.
        actions = [
            _route(a.tenant_id, cid, a.user_id),
            _route(a.tenant_id, cid, a.user_id),
            _pick(b, cid),
        ]
        outcomes = await _race(runtime, actions)
        assert outcomes.count("ok") == 1, outcomes
        s = await state(runtime)
        s.check({a.user_id: 10})
        assert len(s.agents[cid]) == 1


async def test_picks_racing_for_an_agents_last_slot(runtime: Runtime) -> None:
    customer, a, _, admin = await _cast(runtime)
    assert a.user_id is not None
    async with runtime.uow() as tx:
        await routing.do_set_capacity(tx, admin, a.user_id, 1)
    ids = [await create_one(runtime, customer) for _ in range(3)]
    outcomes = await _race(runtime, [_pick(a, cid) for cid in ids])
    assert sorted(outcomes) == ["at_capacity", "at_capacity", "ok"], outcomes
    (await state(runtime)).check({a.user_id: 1})


async def test_going_offline_while_the_router_assigns(runtime: Runtime) -> None:
    """The offline change and an assignment queue on the agent's row: either the agent gets
    it and it comes straight back (unanswered), or it is never assigned."""
    customer, a, _, _ = await _cast(runtime)
    assert a.user_id is not None
    for _ in range(ROUNDS):
        await force_online(runtime, a, capacity=5, status="offline")
        cid = await create_one(runtime, customer)
        await force_online(runtime, a, capacity=5)
        outcomes = await _race(
            runtime,
            [
                _route(a.tenant_id, cid, a.user_id),
                lambda tx: routing.do_set_availability(tx, a, "offline"),  # type: ignore[arg-type]
            ],
        )
        assert outcomes[1] == "ok", outcomes
        s = await state(runtime)
        s.check({})
        assert s.agents.get(cid) is None and cid in s.waiting()
    await set_status(runtime, a, "online")
    assert not (await state(runtime)).waiting()


async def test_two_nodes_drain_one_queue_at_once(runtime: Runtime, settings: Settings) -> None:
    """Two nodes (own engines and pools, no shared in-process lock) drain the same queue at
    the same time: only the row locks keep them apart. Every slot is filled once, in arrival
    order, nobody over capacity."""
    quiet = settings.model_copy(update={"sweep_interval_seconds": 0, "job_worker": False})
    other_node = build_runtime(quiet)
    await other_node.start()
    try:
        customer, a, b, _ = await _cast(runtime)
        assert a.user_id is not None and b.user_id is not None
        ids = [await create_one(runtime, customer) for _ in range(12)]
        await force_online(runtime, a, capacity=3)
        await force_online(runtime, b, capacity=2)
        counts = await asyncio.gather(
            runtime.router.drain(a.tenant_id), other_node.router.drain(a.tenant_id)
        )
        assert sum(counts) == 5, counts
        s = await state(runtime)
        s.check({a.user_id: 3, b.user_id: 2})
        assert s.active() == ids[:5]
    finally:
        await other_node.stop()
