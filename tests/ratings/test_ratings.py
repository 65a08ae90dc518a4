"""Ratings: the customer rates an ended conversation once; agents see their own average,
admins everyone's; who may not."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from parlour.conversations import service as conversations
from parlour.runtime import Runtime
from tests.api.support import World, assert_error, deactivate, make_world
from tests.factories import auth, make_conversation

BASE = "/api/v1/conversations"


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


async def ended(runtime: Runtime, world: World, *, transfer: bool = False) -> str:
    """A conversation the agent took (and with `transfer` handed to the other agent), ended."""
    cid = (await make_conversation(runtime, world.customer, agent=world.agent)).id
    async with runtime.uow() as tx:
        if transfer:
            await conversations.do_add_participant(
                tx,
                world.agent,
                cid,
                user_id=world.other_agent.user_id or "",
                role="agent",
                transfer=True,
            )
        await conversations.do_end(tx, world.customer, cid, reason=None)
    return cid


async def test_the_customer_rates_once_after_the_end(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    cid = (await make_conversation(runtime, world.customer, agent=world.agent)).id
    customer = world.headers["customer"]
    early = await client.post(f"{BASE}/{cid}/rating", json={"score": 5}, headers=customer)
    assert_error(early, 409, "conversation_not_ended")
    state = (await client.get(f"{BASE}/{cid}/rating", headers=customer)).json()
    assert state == {"rating": None, "may_rate": False}

    await client.post(f"{BASE}/{cid}/end", headers=customer)
    state = (await client.get(f"{BASE}/{cid}/rating", headers=customer)).json()
    assert state == {"rating": None, "may_rate": True}
    rated = await client.post(
        f"{BASE}/{cid}/rating", json={"score": 4, "comment": "  Quick and kind  "}, headers=customer
    )
    assert rated.status_code == 201, rated.text
    body = rated.json()
    assert (body["score"], body["comment"], body["agent_ids"]) == (
        4,
        "Quick and kind",
        [world.agent.user_id],
    )
    again = await client.post(f"{BASE}/{cid}/rating", json={"score": 1}, headers=customer)
    assert_error(again, 409, "already_rated")
    state = (await client.get(f"{BASE}/{cid}/rating", headers=world.headers["agent"])).json()
    assert state["rating"]["score"] == 4 and state["may_rate"] is False


@pytest.mark.parametrize(
    "body",
    [{"score": 0}, {"score": 6}, {"score": "5"}, {"score": 4.5}, {}, {"score": 3, "extra": 1}],
)
async def test_bad_ratings_are_422(
    client: httpx.AsyncClient, runtime: Runtime, world: World, body: dict[str, object]
) -> None:
    cid = await ended(runtime, world)
    response = await client.post(
        f"{BASE}/{cid}/rating", json=body, headers=world.headers["customer"]
    )
    assert_error(response, 422)
    state = (await client.get(f"{BASE}/{cid}/rating", headers=world.headers["customer"])).json()
    assert state["rating"] is None


async def test_who_may_not_rate(client: httpx.AsyncClient, runtime: Runtime, world: World) -> None:
    cid = await ended(runtime, world)
    url = f"{BASE}/{cid}/rating"
    for caller, status, code in [
        ("anonymous", 401, None),
        ("other_customer", 404, "conversation_not_found"),
        ("other_agent", 404, "conversation_not_found"),
        ("foreign_admin", 404, "conversation_not_found"),
        ("foreign_customer", 404, "conversation_not_found"),
        ("foreign_api_key", 404, "conversation_not_found"),
        ("agent", 403, "not_the_customer"),
        ("admin", 403, "not_the_customer"),
        ("api_key", 403, "not_the_customer"),
    ]:
        response = await client.post(url, json={"score": 1}, headers=world.headers[caller])
        assert_error(response, status, code)
    # A revoked (deactivated) customer's token rates nothing either.
    headers = auth(runtime, world.customer)
    await deactivate(runtime, world.customer.user_id or "")
    assert_error(await client.post(url, json={"score": 1}, headers=headers), 401)
    state = (await client.get(url, headers=world.headers["admin"])).json()
    assert state["rating"] is None


async def test_two_ratings_at_once_store_one(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    cid = await ended(runtime, world)
    responses = await asyncio.gather(
        *(
            client.post(
                f"{BASE}/{cid}/rating", json={"score": s}, headers=world.headers["customer"]
            )
            for s in (1, 5)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 409]


async def test_a_rating_counts_for_every_agent_who_took_part_and_who_sees_averages(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    first = await ended(runtime, world, transfer=True)
    second = await ended(runtime, world)
    customer = world.headers["customer"]
    rated = await client.post(f"{BASE}/{first}/rating", json={"score": 5}, headers=customer)
    assert sorted(rated.json()["agent_ids"]) == sorted(
        [world.agent.user_id, world.other_agent.user_id]
    )
    await client.post(f"{BASE}/{second}/rating", json={"score": 2}, headers=customer)

    mine = (await client.get("/api/v1/me/ratings", headers=world.headers["agent"])).json()
    assert (mine["count"], mine["average"]) == (2, 3.5)
    assert [r["conversation_id"] for r in mine["recent"]] == [second, first]  # newest first
    other = (await client.get("/api/v1/me/ratings", headers=world.headers["other_agent"])).json()
    assert (other["count"], other["average"]) == (1, 5.0)
    nobody = (await client.get("/api/v1/me/ratings", headers=world.headers["admin"])).json()
    assert (nobody["count"], nobody["average"], nobody["recent"]) == (0, None, [])

    everyone = (await client.get("/api/v1/admin/ratings", headers=world.headers["admin"])).json()
    assert (everyone["count"], everyone["average"]) == (2, 3.5)
    assert [(a["display_name"], a["count"], a["average"]) for a in everyone["agents"]] == [
        ("Nia", 1, 5.0),
        ("Abe", 2, 3.5),
    ]
    foreign = (
        await client.get("/api/v1/admin/ratings", headers=world.headers["foreign_admin"])
    ).json()
    assert (foreign["count"], foreign["agents"], foreign["recent"]) == (0, [], [])
    for caller, status in [
        ("anonymous", 401),
        ("customer", 403),
        ("agent", 403),
        ("api_key", 403),
    ]:
        response = await client.get("/api/v1/admin/ratings", headers=world.headers[caller])
        assert_error(response, status)
    for caller, status in [("anonymous", 401), ("customer", 403), ("api_key", 403)]:
        response = await client.get("/api/v1/me/ratings", headers=world.headers[caller])
        assert_error(response, status)
