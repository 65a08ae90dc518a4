"""Silent reading and hijacking: an admin's read is a recorded observation (announced per the
tenant's setting); an agent takes only a waiting conversation; a taking-part agent transfers."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_world, row_counts, set_tenant_settings
from tests.factories import make_conversation

BASE = "/api/v1/conversations"


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


def _roles(view: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {p["user_id"]: p["role"] for p in view["participants"]}


async def _history(client: httpx.AsyncClient, world: World, cid: str) -> list[dict]:  # type: ignore[type-arg]
    page = await client.get(f"{BASE}/{cid}/messages", headers=world.headers["customer"])
    return page.json()["messages"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", ["", "/messages"])
async def test_an_admin_reading_is_recorded_and_announced(
    client: httpx.AsyncClient, runtime: Runtime, world: World, path: str
) -> None:
    conv = await make_conversation(runtime, world.customer, agent=world.agent)
    response = await client.get(f"{BASE}/{conv.id}{path}", headers=world.headers["admin"])
    assert response.status_code == 200, response.text
    view = (await client.get(f"{BASE}/{conv.id}", headers=world.headers["customer"])).json()
    assert _roles(view)[world.admin.user_id] == "observer"
    observing = [
        m
        for m in await _history(client, world, conv.id)
        if m["meta"] and m["meta"].get("event") == "observing"
    ]
    assert [m["body"] for m in observing] == ["Ada is observing the conversation."]

    # Reading again records nothing more.
    before = await row_counts(runtime)
    again = await client.get(f"{BASE}/{conv.id}{path}", headers=world.headers["admin"])
    assert again.status_code == 200
    assert await row_counts(runtime) == before


async def test_concurrent_reads_by_one_admin_record_one_observation(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    conv = await make_conversation(runtime, world.customer, agent=world.agent)
    responses = await asyncio.gather(
        *(client.get(f"{BASE}/{conv.id}", headers=world.headers["admin"]) for _ in range(6))
    )
    assert [r.status_code for r in responses] == [200] * 6
    history = await _history(client, world, conv.id)
    assert [m["meta"].get("event") for m in history if m["meta"]].count("observing") == 1


async def test_observation_is_silent_only_when_the_tenant_says_so(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    await set_tenant_settings(runtime, None, announce_observers=False)
    conv = await make_conversation(runtime, world.customer, agent=world.agent)
    before = await _history(client, world, conv.id)
    await client.get(f"{BASE}/{conv.id}", headers=world.headers["admin"])
    view = (await client.get(f"{BASE}/{conv.id}", headers=world.headers["customer"])).json()
    assert _roles(view)[world.admin.user_id] == "observer"  # still recorded
    assert await _history(client, world, conv.id) == before  # not announced


async def test_keys_read_without_becoming_participants_and_ended_ones_take_nobody(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    conv = await make_conversation(runtime, world.customer, agent=world.agent)
    before = await row_counts(runtime)
    for path in ("", "/messages"):
        response = await client.get(f"{BASE}/{conv.id}{path}", headers=world.headers["api_key"])
        assert response.status_code == 200
    assert await row_counts(runtime) == before

    await client.post(f"{BASE}/{conv.id}/end", headers=world.headers["customer"])
    before = await row_counts(runtime)
    for path in ("", "/messages"):
        response = await client.get(f"{BASE}/{conv.id}{path}", headers=world.headers["admin"])
        assert response.status_code == 200
    observed = await client.post(f"{BASE}/{conv.id}/observe", headers=world.headers["admin"])
    assert observed.status_code == 200
    assert world.admin.user_id not in _roles(observed.json())
    assert await row_counts(runtime) == before


async def test_an_agent_transfers_and_leaves(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    conv = await make_conversation(runtime, world.customer, agent=world.agent)
    url = f"{BASE}/{conv.id}/participants"
    taken = await client.post(f"{BASE}/{conv.id}/join", headers=world.headers["other_agent"])
    assert_error(taken, 409, "conversation_taken")

    to_self = await client.post(
        url, json={"user_id": world.agent.user_id, "transfer": True}, headers=world.headers["agent"]
    )
    assert_error(to_self, 400, "not_transferable")
    by_admin = await client.post(
        url,
        json={"user_id": world.other_agent.user_id, "transfer": True},
        headers=world.headers["admin"],
    )
    assert_error(by_admin, 400, "not_transferable")

    moved = await client.post(
        url,
        json={"user_id": world.other_agent.user_id, "transfer": True},
        headers=world.headers["agent"],
    )
    assert moved.status_code == 200, moved.text
    parts = {p["user_id"]: p for p in moved.json()["participants"]}
    assert parts[world.other_agent.user_id]["role"] == "agent"
    assert parts[world.agent.user_id]["left_at"] is not None
    tail = [(m["body"], m["meta"]) for m in (await _history(client, world, conv.id))[-2:]]
    assert tail == [
        (
            "Nia was assigned to the conversation.",
            {"event": "joined", "user_id": world.other_agent.user_id, "by": world.agent.user_id},
        ),
        (
            "Abe handed the conversation over and left.",
            {"event": "left", "user_id": world.agent.user_id, "reason": "transfer"},
        ),
    ]
    new = await client.post(
        f"{BASE}/{conv.id}/messages",
        json={"body": "hi, Nia here"},
        headers=world.headers["other_agent"],
    )
    assert new.status_code == 201
    old = await client.post(
        f"{BASE}/{conv.id}/messages", json={"body": "still me?"}, headers=world.headers["agent"]
    )
    assert_error(old, 403, "not_a_poster")
    # Having left, the old agent cannot hand it on again.
    again = await client.post(
        url, json={"user_id": world.admin.user_id}, headers=world.headers["agent"]
    )
    assert_error(again, 403)
