"""Routing on SQLite and PostgreSQL: auto-assignment within capacity, the queue draining in
arrival order, offline agents returning unanswered work, the safety net, routed kinds."""

from __future__ import annotations

import json

from sqlalchemy import select

from parlour.core.events import Event, staff_channel, user_channel
from parlour.deadlines.sweep import sweep
from parlour.messages.service import do_send_message
from parlour.models.conversation import Participant
from parlour.models.message import Message
from parlour.runtime import Runtime
from tests.api.support import make_member
from tests.factories import make_tenant
from tests.routing.support import (
    create_many,
    create_one,
    end,
    force_online,
    set_capacity,
    set_routed_kinds,
    set_status,
    state,
)


async def _cast(rt: Runtime, agents: int = 3):  # type: ignore[no-untyped-def]
    await make_tenant(rt)
    customer = await make_member(rt, "customer", name="Cara")
    staff = [await make_member(rt, "agent", name=f"Agent{i}") for i in range(agents)]
    admin = await make_member(rt, "admin", name="Ada")
    return customer, staff, admin


async def test_fifty_at_once_three_agents_nine_assigned_then_drained_in_order(
    runtime: Runtime,
) -> None:
    customer, agents, admin = await _cast(runtime)
    for a in agents:
        await set_status(runtime, a, "online")
    await create_many(runtime, customer, 50)

    s = await state(runtime)
    s.check({})
    assert len(s.active()) == 9 and len(s.waiting()) == 41
    assert sorted(s.load().values()) == [3, 3, 3]

    # Ending the assigned ones (all at once) frees the slots; the oldest waiting get them.
    while s.waiting() or s.active():
        expected_next = s.waiting()[:9]
        for cid in s.active():
            await end(runtime, admin, cid)
        s = await state(runtime)
        s.check({})
        assert s.active() == expected_next


async def test_each_end_assigns_the_oldest_waiting(runtime: Runtime) -> None:
    customer, agents, admin = await _cast(runtime, agents=1)
    await set_capacity(runtime, admin, agents[0], 1)
    await set_status(runtime, agents[0], "online")
    ids = [await create_one(runtime, customer) for _ in range(4)]
    for i, cid in enumerate(ids):
        s = await state(runtime)
        assert s.active() == [cid]
        assert s.waiting() == ids[i + 1 :]
        await end(runtime, agents[0], cid)


async def test_least_busy_then_longest_idle(runtime: Runtime) -> None:
    customer, (a, b), _admin = await _cast(runtime, agents=2)
    await set_status(runtime, a, "online")
    first = await create_one(runtime, customer)
    await set_status(runtime, b, "online")
    second = await create_one(runtime, customer)  # b is less busy
    third = await create_one(runtime, customer)  # equal load: a was routed longer ago
    s = await state(runtime)
    assert s.agents[first] == [a.user_id]
    assert s.agents[second] == [b.user_id]
    assert s.agents[third] == [a.user_id]


async def test_assignment_says_so_and_is_live(runtime: Runtime) -> None:
    customer, (agent,), _admin = await _cast(runtime, agents=1)
    seen: list[Event] = []
    assert agent.user_id is not None
    await runtime.broker.subscribe(user_channel(agent.user_id), seen.append)
    await runtime.broker.subscribe(staff_channel(agent.tenant_id), seen.append)
    await set_status(runtime, agent, "online")
    cid = await create_one(runtime, customer)

    async with runtime.uow(write=False) as tx:
        bodies = [
            (m.body, m.meta)
            for m in await tx.session.scalars(
                select(Message).where(Message.conversation_id == cid).order_by(Message.seq)
            )
        ]
    assert bodies[-1][0] == "Agent0 was assigned to the conversation."
    assert bodies[-1][1] == {"event": "joined", "user_id": agent.user_id, "by": "system"}
    frames = [json.loads(e.payload) for e in seen]
    inbox = [f for f in frames if f["type"] == "conversation"]
    assert inbox and inbox[-1]["conversation"]["id"] == cid
    assert inbox[-1]["conversation"]["status"] == "active"
    queue = [(f["action"], f["entry"]["id"]) for f in frames if f["type"] == "queue"]
    assert queue == [("queued", cid), ("dequeued", cid)]


async def test_nobody_online_or_away_leaves_it_waiting(runtime: Runtime) -> None:
    customer, (a, b), _ = await _cast(runtime, agents=2)
    await set_status(runtime, a, "away")
    cid = await create_one(runtime, customer)
    assert (await state(runtime)).waiting() == [cid]
    await set_status(runtime, b, "online")  # coming online drains the queue
    assert (await state(runtime)).agents[cid] == [b.user_id]


async def test_capacity_raise_drains_and_zero_takes_nothing(runtime: Runtime) -> None:
    customer, (agent,), admin = await _cast(runtime, agents=1)
    await set_capacity(runtime, admin, agent, 0)
    await set_status(runtime, agent, "online")
    ids = [await create_one(runtime, customer) for _ in range(3)]
    assert (await state(runtime)).waiting() == ids
    await set_capacity(runtime, admin, agent, 2)
    s = await state(runtime)
    assert s.active() == ids[:2] and s.waiting() == ids[2:]


async def test_only_routed_kinds_are_routed(runtime: Runtime) -> None:
    customer, (agent,), _admin = await _cast(runtime, agents=1)
    await set_routed_kinds(runtime, ["consultation"])
    await set_status(runtime, agent, "online")
    support = await create_one(runtime, customer, kind="support")
    paid = await create_one(runtime, customer, kind="consultation")
    s = await state(runtime)
    assert s.waiting() == [support] and s.active() == [paid]


async def test_offline_returns_unanswered_work_and_it_is_rerouted(runtime: Runtime) -> None:
    customer, (a, b), _admin = await _cast(runtime, agents=2)
    await set_status(runtime, a, "online")
    answered = await create_one(runtime, customer)
    unanswered = await create_one(runtime, customer)
    assert (await state(runtime)).load() == {a.user_id: 2}
    async with runtime.uow() as tx:
        await do_send_message(
            tx, a, conversation_id=answered, body="Hello", client_msg_id=None, max_chars=1000
        )
    await set_status(runtime, b, "online")  # nothing waiting yet: b gets nothing

    returned = await set_status(runtime, a, "offline")

    assert returned == [unanswered]
    s = await state(runtime)
    s.check({})
    assert s.agents[answered] == [a.user_id]  # answered work stays
    assert s.agents[unanswered] == [b.user_id]  # re-routed to the online agent
    async with runtime.uow(write=False) as tx:
        left = await tx.session.scalar(
            select(Participant).where(
                Participant.conversation_id == unanswered, Participant.user_id == a.user_id
            )
        )
        bodies = list(
            await tx.session.scalars(
                select(Message.body)
                .where(Message.conversation_id == unanswered)
                .order_by(Message.seq)
            )
        )
    assert left is not None and left.left_at is not None
    assert bodies[-2:] == [
        "Agent0 went offline; the conversation waits for an agent again.",
        "Agent1 was assigned to the conversation.",
    ]


async def test_offline_with_nobody_else_leaves_it_queued(runtime: Runtime) -> None:
    customer, (a,), _ = await _cast(runtime, agents=1)
    await set_status(runtime, a, "online")
    cid = await create_one(runtime, customer)
    assert await set_status(runtime, a, "offline") == [cid]
    s = await state(runtime)
    assert s.waiting() == [cid] and s.agents.get(cid) is None
    await set_status(runtime, a, "online")  # back: it comes back to them
    assert (await state(runtime)).agents[cid] == [a.user_id]


async def test_safety_net_routes_what_no_hook_did(runtime: Runtime) -> None:
    customer, (a, b), _ = await _cast(runtime, agents=2)
    ids = [await create_one(runtime, customer) for _ in range(5)]
    # Online without the after-commit hook, as when a node dies between commit and hook.
    await force_online(runtime, a, capacity=2)
    await force_online(runtime, b, capacity=1)
    assert (await state(runtime)).waiting() == ids

    acted = await sweep(runtime.uow, runtime.deadlines, batch_size=50)

    assert [x.conversation_id for x in acted] == ids[:3]
    assert {x.outcome for x in acted} == {"assigned"}
    s = await state(runtime)
    s.check({a.user_id: 2, b.user_id: 1})
    assert s.active() == ids[:3] and s.waiting() == ids[3:]
    assert await sweep(runtime.uow, runtime.deadlines, batch_size=50) == []


async def test_inactive_agent_is_not_routed(runtime: Runtime) -> None:
    from tests.api.support import deactivate

    customer, (a,), _ = await _cast(runtime, agents=1)
    await set_status(runtime, a, "online")
    assert a.user_id is not None
    await deactivate(runtime, a.user_id)
    cid = await create_one(runtime, customer)
    assert (await state(runtime)).waiting() == [cid]


async def test_unrouted_conversations_are_neither_load_nor_returned(runtime: Runtime) -> None:
    """An expert's appointment chat (joined at booking, open for days) does not fill their
    capacity, and going offline does not hand it back to a queue it never came from."""
    from parlour.conversations import service as conversations

    customer, (agent,), admin = await _cast(runtime, agents=1)
    await set_capacity(runtime, admin, agent, 1)
    async with runtime.uow() as tx:
        booked = await conversations.do_create_conversation(
            tx, admin, kind="appointment", customer_id=customer.user_id, subject="Booked"
        )
        await conversations.do_join(tx, agent, booked.id)
    await set_status(runtime, agent, "online")
    support = await create_one(runtime, customer)
    s = await state(runtime)
    assert support in s.active()  # the appointment chat took no slot

    returned = await set_status(runtime, agent, "offline")
    assert returned == [support]
    async with runtime.uow(write=False) as tx:
        view = await conversations.get_conversation(tx, customer, booked.id)
    assert view.status == "active"
    assert any(p.user_id == agent.user_id and p.left_at is None for p in view.participants)
