"""The inbox per channel: `GET /conversations?channel=`, unread counts per conversation and per
channel (`GET /conversations/unread`), who is counted, and who hears the live `unread` events.

On SQLite and PostgreSQL (the `runtime`/`client` fixtures)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from parlour.auth.principal import Principal
from parlour.conversations import service as conversations
from parlour.core.events import Audience, Event, conversation_channel, staff_channel, user_channel
from parlour.core.ids import new_id
from parlour.messages.service import SendRequest, do_send_message, do_send_messages
from parlour.models.conversation import Channel
from parlour.runtime import Runtime
from tests.api.support import make_api_key
from tests.factories import auth, make_conversation, make_tenant, make_user

ZERO = {"web": 0, "whatsapp": 0, "sms": 0, "email": 0}


async def say(rt: Runtime, who: Principal, conversation_id: str, *bodies: str) -> None:
    """`who` writes in the conversation from the web."""
    async with rt.uow() as tx:
        for body in bodies:
            await do_send_message(
                tx,
                who,
                conversation_id=conversation_id,
                body=body,
                client_msg_id=None,
                max_chars=4000,
            )


async def inbound(
    rt: Runtime, customer: Principal, conversation_id: str, channel: str, n: int
) -> None:
    """`n` messages from the customer arriving through a channel (the system actor stores them,
    as a webhook does)."""
    system = Principal.system_actor(customer.tenant_id)
    requests = [
        SendRequest(
            system,
            conversation_id,
            f"inbound {i}",
            channel=channel,
            external_id=f"SM{new_id()}",
            sender_id=customer.user_id,
        )
        for i in range(n)
    ]
    async with rt.uow() as tx:
        for result in await do_send_messages(tx, requests, max_chars=4000):
            assert not isinstance(result, Exception), result


async def unread(client: httpx.AsyncClient, rt: Runtime, who: Principal) -> dict[str, Any]:
    response = await client.get("/api/v1/conversations/unread", headers=auth(rt, who))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["total"] == sum(body["channels"].values())
    return body["channels"]


async def test_unread_per_conversation_and_per_channel(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    agent = await make_user(runtime, "agent")
    web_customer = await make_user(runtime, "customer")
    wa_customer = await make_user(runtime, "customer")
    web = await make_conversation(runtime, web_customer, agent=agent)
    wa = await make_conversation(runtime, wa_customer, agent=agent, channel=Channel.whatsapp)
    await say(runtime, web_customer, web.id, "one", "two")
    await inbound(runtime, wa_customer, wa.id, "whatsapp", 3)

    assert await unread(client, runtime, agent) == {**ZERO, "web": 2, "whatsapp": 3}
    listed = await client.get("/api/v1/conversations", headers=auth(runtime, agent))
    by_id = {c["id"]: c for c in listed.json()["conversations"]}
    assert (by_id[web.id]["channel"], by_id[web.id]["unread_count"]) == ("web", 2)
    assert (by_id[wa.id]["channel"], by_id[wa.id]["unread_count"]) == ("whatsapp", 3)

    # The filter keeps one channel's conversations.
    only_wa = await client.get(
        "/api/v1/conversations", params={"channel": "whatsapp"}, headers=auth(runtime, agent)
    )
    assert only_wa.status_code == 200
    assert [c["id"] for c in only_wa.json()["conversations"]] == [wa.id]
    none = await client.get(
        "/api/v1/conversations", params={"channel": "sms"}, headers=auth(runtime, agent)
    )
    assert none.json()["conversations"] == []

    # Reading brings the channel's count down; replying makes it the customer's to read.
    read = await client.post(
        f"/api/v1/conversations/{wa.id}/read",
        json={"seq": by_id[wa.id]["last_seq"]},
        headers=auth(runtime, agent),
    )
    assert read.status_code == 200 and read.json()["unread_count"] == 0
    assert await unread(client, runtime, agent) == {**ZERO, "web": 2}
    # Sending moved the web customer's own pointer: nothing of their own is unread.
    assert await unread(client, runtime, web_customer) == ZERO
    await say(runtime, agent, web.id, "hello")
    assert await unread(client, runtime, web_customer) == {**ZERO, "web": 1}
    assert await unread(client, runtime, agent) == ZERO  # the reply read what came before


async def test_only_what_the_caller_takes_part_in_is_counted(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    agent = await make_user(runtime, "agent")
    other_agent = await make_user(runtime, "agent")
    admin = await make_user(runtime, "admin")
    customer = await make_user(runtime, "customer")
    other_customer = await make_user(runtime, "customer")
    mine = await make_conversation(runtime, customer, agent=agent, channel=Channel.sms)
    theirs = await make_conversation(runtime, other_customer, agent=other_agent)
    await inbound(runtime, customer, mine.id, "sms", 2)
    await say(runtime, other_customer, theirs.id, "a", "b", "c")
    # Another tenant with the same shape of traffic.
    await make_tenant(runtime, "elsewhere")
    foreign_agent = await make_user(runtime, "agent", tenant="elsewhere")
    foreign_customer = await make_user(runtime, "customer", tenant="elsewhere")
    foreign = await make_conversation(
        runtime, foreign_customer, agent=foreign_agent, channel=Channel.sms
    )
    await inbound(runtime, foreign_customer, foreign.id, "sms", 4)

    assert await unread(client, runtime, agent) == {**ZERO, "sms": 2}
    assert await unread(client, runtime, other_agent) == {**ZERO, "web": 3}
    assert await unread(client, runtime, foreign_agent) == {**ZERO, "sms": 4}
    # A customer counts their own conversation only (the "started" and "joined" notes).
    own = await unread(client, runtime, customer)
    assert own == {**ZERO, "sms": 0}
    # An admin reads everything but takes part in nothing: nothing of theirs is unread.
    assert await unread(client, runtime, admin) == ZERO
    key = await make_api_key(runtime)
    keyed = await client.get(
        "/api/v1/conversations/unread", headers={"Authorization": f"Bearer {key}"}
    )
    assert keyed.status_code == 200 and keyed.json() == {"total": 0, "channels": ZERO}
    anonymous = await client.get("/api/v1/conversations/unread")
    assert anonymous.status_code == 401

    # The filter never widens access: the other agent's web conversation is not the agent's.
    listed = await client.get(
        "/api/v1/conversations", params={"channel": "web"}, headers=auth(runtime, agent)
    )
    assert listed.json()["conversations"] == []
    admin_sms = await client.get(
        "/api/v1/conversations",
        params={"scope": "all", "channel": "sms"},
        headers=auth(runtime, admin),
    )
    assert [c["id"] for c in admin_sms.json()["conversations"]] == [mine.id]


async def test_leaving_stops_the_count(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent = await make_user(runtime, "agent")
    successor = await make_user(runtime, "agent")
    admin = await make_user(runtime, "admin")
    customer = await make_user(runtime, "customer")
    conv = await make_conversation(runtime, customer, agent=agent, channel=Channel.email)
    await inbound(runtime, customer, conv.id, "email", 2)
    assert await unread(client, runtime, agent) == {**ZERO, "email": 2}
    async with runtime.uow() as tx:
        await conversations.do_reassign(tx, admin, conv.id, user_id=successor.user_id or "")
    # The agent handed it over: what follows is the successor's to read, not theirs.
    await inbound(runtime, customer, conv.id, "email", 1)
    assert await unread(client, runtime, agent) == ZERO
    # The successor: the note of the reassignment (written after they joined) and the message.
    assert await unread(client, runtime, successor) == {**ZERO, "email": 2}
    listed = await client.get("/api/v1/conversations", headers=auth(runtime, agent))
    [view] = [c for c in listed.json()["conversations"] if c["id"] == conv.id]
    assert view["unread_count"] == 0


async def test_an_unknown_channel_is_refused(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent = await make_user(runtime, "agent")
    for bad in ("fax", "WEB", "", "web,sms"):
        response = await client.get(
            "/api/v1/conversations", params={"channel": bad}, headers=auth(runtime, agent)
        )
        assert response.status_code == 422, (bad, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_request"
        assert "channel" in error["message"]


async def test_unread_events_reach_only_the_participants_concerned(runtime: Runtime) -> None:
    """Each `unread` event goes to one participant's own feed: never to the staff feed, the
    admins' feed, the conversation's subscribers, or anyone not taking part."""
    agent = await make_user(runtime, "agent")
    other_agent = await make_user(runtime, "agent")
    admin = await make_user(runtime, "admin")
    customer = await make_user(runtime, "customer")
    other_customer = await make_user(runtime, "customer")
    conv = await make_conversation(runtime, customer, agent=agent, channel=Channel.whatsapp)
    people = {
        "agent": agent,
        "other_agent": other_agent,
        "admin": admin,
        "customer": customer,
        "other_customer": other_customer,
    }
    heard: dict[str, list[Event]] = {name: [] for name in [*people, "staff", "admins", "room"]}
    for name, who in people.items():
        assert who.user_id is not None
        await runtime.broker.subscribe(user_channel(who.user_id), heard[name].append)
    await runtime.broker.subscribe(staff_channel(agent.tenant_id), heard["staff"].append)
    await runtime.broker.subscribe(
        Audience.tenant_admins(agent.tenant_id).channel, heard["admins"].append
    )
    await runtime.broker.subscribe(conversation_channel(conv.id), heard["room"].append)

    def frames(name: str) -> list[dict[str, Any]]:
        found = [json.loads(e.payload) for e in heard[name] if e.type == "unread"]
        heard[name].clear()
        return found

    await inbound(runtime, customer, conv.id, "whatsapp", 2)
    [to_agent] = frames("agent")
    assert to_agent["conversation_id"] == conv.id and to_agent["channel"] == "whatsapp"
    assert to_agent["unread_count"] == 2
    assert to_agent["last_seq"] - to_agent["read_seq"] == 2
    [to_customer] = frames("customer")
    assert to_customer["unread_count"] == 0  # their own messages
    for nobody in ("other_agent", "admin", "other_customer", "staff", "admins", "room"):
        assert frames(nobody) == [], nobody
    # A sender who had read everything before their message has nothing new to learn.
    await inbound(runtime, customer, conv.id, "whatsapp", 1)
    assert frames("customer") == []
    [again] = frames("agent")
    assert again["unread_count"] == 3

    # Reading tells the reader alone.
    async with runtime.uow() as tx:
        await conversations.do_mark_read(tx, agent, conv.id, seq=again["last_seq"])
    [read] = frames("agent")
    assert read["unread_count"] == 0 and read["read_seq"] == again["last_seq"]
    for nobody in ("customer", "other_agent", "admin", "other_customer", "staff", "admins", "room"):
        assert frames(nobody) == [], nobody

    # A system message (the conversation ends) is unread for both participants, nobody else.
    async with runtime.uow() as tx:
        await conversations.do_end(tx, agent, conv.id, reason=None)
    assert [f["unread_count"] for f in frames("agent")] == [1]
    assert [f["unread_count"] for f in frames("customer")] == [1]
    for nobody in ("other_agent", "admin", "other_customer", "staff", "admins", "room"):
        assert frames(nobody) == [], nobody
