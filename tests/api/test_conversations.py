"""Conversations over REST: opening, listing, joining, assigning, ending and read state."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_world, row_counts, set_tenant_settings
from tests.factories import make_conversation

BASE = "/api/v1/conversations"


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


async def _open(client: httpx.AsyncClient, world: World, who: str, **body: Any) -> dict[str, Any]:
    response = await client.post(BASE, json=body, headers=world.headers[who])
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _send(client: httpx.AsyncClient, world: World, who: str, cid: str, text: str) -> int:
    response = await client.post(
        f"{BASE}/{cid}/messages", json={"body": text}, headers=world.headers[who]
    )
    assert response.status_code == 201, response.text
    return int(response.json()["seq"])


async def test_customer_opens_support_for_itself(client: httpx.AsyncClient, world: World) -> None:
    conversation = await _open(client, world, "customer", kind="support", subject="Help")
    assert conversation["status"] == "waiting"
    assert conversation["kind"] == "support"
    assert conversation["subject"] == "Help"
    assert conversation["customer_id"] == world.customer.user_id
    assert [(p["user_id"], p["role"]) for p in conversation["participants"]] == [
        (world.customer.user_id, "customer")
    ]
    # The opening is recorded as a system message.
    assert conversation["last_seq"] == 1
    assert conversation["last_message"]["kind"] == "system"
    # `kind` defaults to support.
    assert (await _open(client, world, "customer"))["kind"] == "support"


async def test_customer_may_open_only_the_kinds_its_tenant_allows(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    before = await row_counts(runtime)
    refused = await client.post(BASE, json={"kind": "sales"}, headers=world.headers["customer"])
    assert_error(refused, 403, "kind_not_allowed")
    assert await row_counts(runtime) == before

    await set_tenant_settings(runtime, None, customer_conversation_kinds=["support", "sales"])
    assert (await _open(client, world, "customer", kind="sales"))["kind"] == "sales"


async def test_customer_cannot_open_for_another_customer(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    before = await row_counts(runtime)
    response = await client.post(
        BASE,
        json={"kind": "support", "customer_id": world.other_customer.user_id},
        headers=world.headers["customer"],
    )
    assert_error(response, 403)
    assert await row_counts(runtime) == before
    # Naming itself is fine.
    mine = await _open(client, world, "customer", customer_id=world.customer.user_id)
    assert mine["customer_id"] == world.customer.user_id


@pytest.mark.parametrize("who", ["agent", "admin", "api_key"])
async def test_staff_open_for_a_customer(
    client: httpx.AsyncClient, runtime: Runtime, world: World, who: str
) -> None:
    conversation = await _open(client, world, who, kind="chat", customer_id=world.customer.user_id)
    assert conversation["customer_id"] == world.customer.user_id
    assert conversation["kind"] == "chat"
    assert conversation["status"] == "waiting"

    before = await row_counts(runtime)
    refusals = [
        ({"kind": "chat"}, 400, "customer_required"),
        ({"customer_id": world.agent.user_id}, 400, "not_a_customer"),
        ({"customer_id": "0" * 26}, 404, "user_not_found"),
        ({"customer_id": world.foreign_customer.user_id}, 404, "user_not_found"),
    ]
    for body, status, code in refusals:
        response = await client.post(BASE, json=body, headers=world.headers[who])
        assert_error(response, status, code)
    assert await row_counts(runtime) == before


async def test_list_is_newest_activity_first_with_unread_and_last_message(
    client: httpx.AsyncClient, world: World
) -> None:
    older = await _open(client, world, "customer", subject="older")
    newer = await _open(client, world, "customer", subject="newer")
    listed = (await client.get(BASE, headers=world.headers["customer"])).json()["conversations"]
    assert [c["id"] for c in listed] == [newer["id"], older["id"]]

    # Activity in the older one moves it to the top; the agent's messages are unread.
    join = await client.post(f"{BASE}/{older['id']}/join", headers=world.headers["agent"])
    assert join.status_code == 200
    await _send(client, world, "agent", older["id"], "first")
    last = await _send(client, world, "agent", older["id"], "second")
    listed = (await client.get(BASE, headers=world.headers["customer"])).json()["conversations"]
    assert [c["id"] for c in listed] == [older["id"], newer["id"]]
    top = listed[0]
    assert top["status"] == "active"
    assert top["last_seq"] == last
    assert top["last_message"]["body"] == "second"
    assert top["last_message"]["seq"] == last
    # The customer has read nothing; the sender has read its own messages.
    assert top["unread_count"] == last
    agent_view = (await client.get(BASE, headers=world.headers["agent"])).json()["conversations"]
    assert [(c["id"], c["unread_count"]) for c in agent_view] == [(older["id"], 0)]

    # The customer's own message marks everything before it read.
    await _send(client, world, "customer", older["id"], "thanks")
    listed = (await client.get(BASE, headers=world.headers["customer"])).json()["conversations"]
    assert listed[0]["unread_count"] == 0


async def test_list_filters_by_status(client: httpx.AsyncClient, world: World) -> None:
    waiting = await _open(client, world, "customer")
    active = await _open(client, world, "customer")
    await client.post(f"{BASE}/{active['id']}/join", headers=world.headers["agent"])
    ended = await _open(client, world, "customer")
    await client.post(f"{BASE}/{ended['id']}/end", headers=world.headers["customer"])

    for status, expected in (("waiting", waiting), ("active", active), ("ended", ended)):
        response = await client.get(
            BASE, params={"status": status}, headers=world.headers["customer"]
        )
        assert response.status_code == 200
        assert [c["id"] for c in response.json()["conversations"]] == [expected["id"]], status
    bogus = await client.get(BASE, params={"status": "open"}, headers=world.headers["customer"])
    assert_error(bogus, 422)


async def test_queue_is_for_staff_and_all_is_for_admins(
    client: httpx.AsyncClient, world: World
) -> None:
    waiting = await _open(client, world, "customer")
    taken = await _open(client, world, "other_customer")
    await client.post(f"{BASE}/{taken['id']}/join", headers=world.headers["agent"])

    async def ids(who: str, **params: str) -> list[str] | int:
        response = await client.get(BASE, params=params, headers=world.headers[who])
        if response.status_code != 200:
            assert_error(response, response.status_code)
            return response.status_code
        return [c["id"] for c in response.json()["conversations"]]

    # The queue: the tenant's waiting conversations, for any staff member.
    assert await ids("other_agent", scope="queue") == [waiting["id"]]
    assert await ids("admin", scope="queue") == [waiting["id"]]
    assert await ids("api_key", scope="queue") == [waiting["id"]]
    assert await ids("customer", scope="queue") == 403
    assert await ids("foreign_admin", scope="queue") == []

    everything = {waiting["id"], taken["id"]}
    assert set(await ids("admin", scope="all")) == everything  # type: ignore[arg-type]
    assert set(await ids("api_key", scope="all")) == everything  # type: ignore[arg-type]
    assert await ids("agent", scope="all") == 403
    assert await ids("customer", scope="all") == 403
    assert await ids("foreign_admin", scope="all") == []

    # `mine` (the default) is where the caller takes part.
    assert await ids("agent") == [taken["id"]]
    assert await ids("other_agent") == []
    assert await ids("customer", scope="mine") == [waiting["id"]]
    assert await ids("customer", scope="everything") == 422


async def test_get_one(client: httpx.AsyncClient, world: World) -> None:
    opened = await _open(client, world, "customer", subject="Where is my order?")
    response = await client.get(f"{BASE}/{opened['id']}", headers=world.headers["customer"])
    assert response.status_code == 200
    assert response.json() == opened


async def test_join_first_agent_activates_and_customers_cannot_join(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    conversation = await _open(client, world, "customer")
    cid = conversation["id"]
    assert_error(await client.post(f"{BASE}/{cid}/join", headers=world.headers["customer"]), 403)
    assert_error(
        await client.post(f"{BASE}/{cid}/join", headers=world.headers["other_customer"]),
        404,
        "conversation_not_found",
    )

    joined = await client.post(f"{BASE}/{cid}/join", headers=world.headers["agent"])
    assert joined.status_code == 200, joined.text
    assert joined.json()["status"] == "active"
    roles = {p["user_id"]: p["role"] for p in joined.json()["participants"]}
    assert roles == {world.customer.user_id: "customer", world.agent.user_id: "agent"}
    last_seq = joined.json()["last_seq"]

    # Joining again changes nothing; a second agent cannot take an active conversation
    # (an admin assigns it, or its agent transfers it); an admin may join it.
    again = await client.post(f"{BASE}/{cid}/join", headers=world.headers["agent"])
    assert again.json()["last_seq"] == last_seq
    before = await row_counts(runtime)
    second = await client.post(f"{BASE}/{cid}/join", headers=world.headers["other_agent"])
    assert_error(second, 409, "conversation_taken")
    assert await row_counts(runtime) == before
    admin = await client.post(f"{BASE}/{cid}/join", headers=world.headers["admin"])
    assert admin.json()["status"] == "active"
    assert len(admin.json()["participants"]) == 3

    await client.post(f"{BASE}/{cid}/end", headers=world.headers["customer"])
    before = await row_counts(runtime)
    late = await client.post(f"{BASE}/{cid}/join", headers=world.headers["admin"])
    assert_error(late, 409, "conversation_ended")
    assert await row_counts(runtime) == before


async def test_admin_assigns_an_agent_but_agents_may_not_add_observers(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    conversation = await make_conversation(runtime, world.customer, agent=world.agent)
    url = f"{BASE}/{conversation.id}/participants"

    by_agent = await client.post(
        url,
        json={"user_id": world.other_agent.user_id, "role": "observer"},
        headers=world.headers["agent"],
    )
    assert_error(by_agent, 403)
    by_outsider = await client.post(
        url, json={"user_id": world.other_agent.user_id}, headers=world.headers["other_agent"]
    )
    assert_error(by_outsider, 404, "conversation_not_found")

    before = await row_counts(runtime)
    customer = await client.post(
        url, json={"user_id": world.other_customer.user_id}, headers=world.headers["admin"]
    )
    assert_error(customer, 400, "not_staff")
    foreign = await client.post(
        url, json={"user_id": world.foreign_admin.user_id}, headers=world.headers["admin"]
    )
    assert_error(foreign, 404, "user_not_found")
    assert await row_counts(runtime) == before

    assigned = await client.post(
        url,
        json={"user_id": world.other_agent.user_id, "role": "agent"},
        headers=world.headers["admin"],
    )
    assert assigned.status_code == 200, assigned.text
    roles = {p["user_id"]: p["role"] for p in assigned.json()["participants"]}
    assert roles[world.other_agent.user_id] == "agent"
    assert world.admin.user_id not in roles  # assigning does not make the admin a participant
    # The assigned agent now sees and may post in it.
    listed = await client.get(BASE, headers=world.headers["other_agent"])
    assert [c["id"] for c in listed.json()["conversations"]] == [conversation.id]


async def test_assigning_to_a_waiting_conversation_activates_it(
    client: httpx.AsyncClient, world: World
) -> None:
    conversation = await _open(client, world, "customer")
    assigned = await client.post(
        f"{BASE}/{conversation['id']}/participants",
        json={"user_id": world.agent.user_id},
        headers=world.headers["admin"],
    )
    assert assigned.status_code == 200
    assert assigned.json()["status"] == "active"


async def test_end_with_reason_and_twice_is_409(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    conversation = await make_conversation(runtime, world.customer, agent=world.agent)
    url = f"{BASE}/{conversation.id}/end"
    ended = await client.post(url, json={"reason": "time_limit"}, headers=world.headers["agent"])
    assert ended.status_code == 200, ended.text
    body = ended.json()
    assert body["status"] == "ended"
    assert body["end_reason"] == "time_limit"
    assert body["ended_by_id"] == world.agent.user_id
    assert body["ended_at"] is not None
    assert body["last_message"]["kind"] == "system"

    before = await row_counts(runtime)
    again = await client.post(url, json={"reason": "admin"}, headers=world.headers["admin"])
    assert_error(again, 409, "conversation_ended")
    assert await row_counts(runtime) == before


async def test_end_without_a_body_and_customer_reason_is_always_customer(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    first = await make_conversation(runtime, world.customer, agent=world.agent)
    response = await client.post(f"{BASE}/{first.id}/end", headers=world.headers["admin"])
    assert response.status_code == 200, response.text
    assert response.json()["end_reason"] == "admin"

    second = await make_conversation(runtime, world.customer)
    response = await client.post(
        f"{BASE}/{second.id}/end", json={"reason": "refunded"}, headers=world.headers["customer"]
    )
    assert response.json()["end_reason"] == "customer"

    third = await make_conversation(runtime, world.customer)
    bad = await client.post(
        f"{BASE}/{third.id}/end", json={"reason": "bored"}, headers=world.headers["customer"]
    )
    assert_error(bad, 422)


async def test_read_drops_unread_to_zero_and_refuses_a_seq_beyond_the_last(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    conversation = await make_conversation(runtime, world.customer, agent=world.agent)
    cid = conversation.id
    await _send(client, world, "agent", cid, "one")
    last = await _send(client, world, "agent", cid, "two")
    view = (await client.get(f"{BASE}/{cid}", headers=world.headers["customer"])).json()
    assert view["unread_count"] == last

    halfway = await client.post(
        f"{BASE}/{cid}/read", json={"seq": last - 1}, headers=world.headers["customer"]
    )
    assert halfway.status_code == 200, halfway.text
    assert halfway.json()["unread_count"] == 1

    read = await client.post(
        f"{BASE}/{cid}/read", json={"seq": last}, headers=world.headers["customer"]
    )
    assert read.json() == {
        "conversation_id": cid,
        "user_id": world.customer.user_id,
        "last_read_seq": last,
        "unread_count": 0,
    }
    view = (await client.get(f"{BASE}/{cid}", headers=world.headers["customer"])).json()
    assert view["unread_count"] == 0

    # JSON Schema (and JavaScript) count 2.0 as an integer; 2.5 is not one.
    as_float = await client.post(
        f"{BASE}/{cid}/read", json={"seq": float(last)}, headers=world.headers["customer"]
    )
    assert as_float.status_code == 200, as_float.text
    fraction = await client.post(
        f"{BASE}/{cid}/read", json={"seq": last - 0.5}, headers=world.headers["customer"]
    )
    assert_error(fraction, 422)

    # The pointer never moves back.
    back = await client.post(
        f"{BASE}/{cid}/read", json={"seq": 1}, headers=world.headers["customer"]
    )
    assert back.json()["last_read_seq"] == last

    beyond = await client.post(
        f"{BASE}/{cid}/read", json={"seq": last + 1}, headers=world.headers["customer"]
    )
    assert_error(beyond, 400, "invalid_seq")
    negative = await client.post(
        f"{BASE}/{cid}/read", json={"seq": -1}, headers=world.headers["customer"]
    )
    assert_error(negative, 422)
