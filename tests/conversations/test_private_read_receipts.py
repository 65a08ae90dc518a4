"""Private read receipts: with the tenant setting on, an agent's reading is stored but the
customer is not told (no `read` event, no pointer in the views they read) until the agent
replies; with it off (the default) the customer sees it at once."""

from __future__ import annotations

import httpx
import pytest

from parlour.conversations.service import do_mark_read
from parlour.runtime import Runtime
from tests.api.support import World, make_world, set_tenant_settings
from tests.factories import make_conversation, token_for
from tests.realtime.fakesocket import FakeSocket

BASE = "/api/v1/conversations"


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


async def _say(client: httpx.AsyncClient, world: World, who: str, cid: str, body: str) -> int:
    r = await client.post(f"{BASE}/{cid}/messages", json={"body": body}, headers=world.headers[who])
    assert r.status_code == 201, r.text
    return int(r.json()["seq"])


async def _pointer(client: httpx.AsyncClient, world: World, viewer: str, cid: str) -> int:
    """The agent's read pointer as `viewer` sees it in the conversation's view."""
    view = (await client.get(f"{BASE}/{cid}", headers=world.headers[viewer])).json()
    [agent] = [p for p in view["participants"] if p["user_id"] == world.agent.user_id]
    return int(agent["last_read_seq"])


async def _socket(runtime: Runtime, who: object, cid: str) -> FakeSocket:
    ws = FakeSocket(runtime, token_for(runtime, who))  # type: ignore[arg-type]
    await ws.until(lambda f: f["type"] == "ready")
    ws.send({"type": "subscribe", "conversation_id": cid, "ref": "s"})
    await ws.until(lambda f: f["type"] == "subscribed")
    return ws


def _reads(ws: FakeSocket, user_id: str | None) -> list[int]:
    return [f["seq"] for f in ws.frames if f["type"] == "read" and f["user_id"] == user_id]


async def test_by_default_the_customer_sees_the_agent_read(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    cid = (await make_conversation(runtime, world.customer, agent=world.agent)).id
    customer_ws = await _socket(runtime, world.customer, cid)
    seq = await _say(client, world, "customer", cid, "hello?")
    r = await client.post(f"{BASE}/{cid}/read", json={"seq": seq}, headers=world.headers["agent"])
    assert r.status_code == 200, r.text
    await customer_ws.until(lambda f: f["type"] == "read" and f["user_id"] == world.agent.user_id)
    assert await _pointer(client, world, "customer", cid) == seq
    await customer_ws.leave()


async def test_private_receipts_hide_the_agent_read_until_they_reply(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    await set_tenant_settings(runtime, None, private_read_receipts=True)
    cid = (await make_conversation(runtime, world.customer, agent=world.agent)).id
    customer_ws = await _socket(runtime, world.customer, cid)
    agent_ws = await _socket(runtime, world.agent, cid)
    seq = await _say(client, world, "customer", cid, "hello?")

    # Read over REST and over the WebSocket (both group-committed), and by the service.
    r = await client.post(f"{BASE}/{cid}/read", json={"seq": seq}, headers=world.headers["agent"])
    assert r.status_code == 200 and r.json()["last_read_seq"] == seq
    await agent_ws.until(lambda f: f["type"] == "read" and f["user_id"] == world.agent.user_id)
    seq2 = await _say(client, world, "customer", cid, "anyone there?")
    agent_ws.send({"type": "read", "conversation_id": cid, "seq": seq2})
    await agent_ws.until(
        lambda f: f["type"] == "read" and f["user_id"] == world.agent.user_id and f["seq"] == seq2
    )
    seq3 = await _say(client, world, "customer", cid, "hello??")
    async with runtime.uow() as tx:
        await do_mark_read(tx, world.agent, cid, seq=seq3)

    # Stored: the agent's own view and the admin's see it; the customer's view does not.
    assert await _pointer(client, world, "agent", cid) == seq3
    assert await _pointer(client, world, "admin", cid) == seq3
    assert await _pointer(client, world, "customer", cid) == 0
    listed = await client.get(BASE, headers=world.headers["customer"])
    [mine] = [c for c in listed.json()["conversations"] if c["id"] == cid]
    [agent_part] = [p for p in mine["participants"] if p["user_id"] == world.agent.user_id]
    assert agent_part["last_read_seq"] == 0
    assert _reads(customer_ws, world.agent.user_id) == []

    # Replying reveals the reading up to the reply, and nothing more afterwards.
    reply = await _say(client, world, "agent", cid, "Here now!")
    assert await _pointer(client, world, "customer", cid) == reply
    # The customer's reading is still shown to the agent.
    r = await client.post(
        f"{BASE}/{cid}/read", json={"seq": reply}, headers=world.headers["customer"]
    )
    assert r.status_code == 200
    await agent_ws.until(lambda f: f["type"] == "read" and f["user_id"] == world.customer.user_id)
    later = await _say(client, world, "customer", cid, "great")
    await client.post(f"{BASE}/{cid}/read", json={"seq": later}, headers=world.headers["agent"])
    assert await _pointer(client, world, "customer", cid) == reply
    assert await _pointer(client, world, "agent", cid) == later
    assert _reads(customer_ws, world.agent.user_id) == []
    # The live `conversation` events (one view for everyone) hide it too.
    end = await client.post(f"{BASE}/{cid}/end", json={}, headers=world.headers["agent"])
    assert end.status_code == 200
    event = await customer_ws.until(
        lambda f: f["type"] == "conversation" and f["conversation"]["status"] == "ended"
    )
    [agent_part] = [
        p for p in event["conversation"]["participants"] if p["user_id"] == world.agent.user_id
    ]
    assert agent_part["last_read_seq"] <= later - 1
    for ws in (customer_ws, agent_ws):
        await ws.leave()
