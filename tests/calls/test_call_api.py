"""video: GET /api/v1/conversations/{id}/call answers only the call's two parties (with the
STUN/TURN servers, TURN credentials included); everyone else gets the 404 of a conversation
that does not exist, and an admin's request records no observation."""

from __future__ import annotations

import json

import httpx
import pytest

from parlour.core.ice import IceServer
from parlour.runtime import Runtime
from parlour.tenants.schemas import SecretName
from tests.api.support import World, assert_error, make_world, row_counts, set_tenant_settings
from tests.calls.support import end, make_video_conversation
from tests.factories import auth

TURN = {"urls": ["turn:turn.example.org:3478"], "username": "u1", "credential": "s3cret-turn"}


def url(cid: str) -> str:
    return f"/api/v1/conversations/{cid}/call"


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


async def test_the_two_parties_get_their_side_and_the_ice_servers(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    runtime.settings.ice_servers = [IceServer.model_validate(TURN)]
    conv = await make_video_conversation(runtime, world.customer, agent=world.agent)
    mine = await client.get(url(conv.id), headers=world.headers["customer"])
    assert mine.status_code == 200, mine.text
    assert mine.headers["cache-control"] == "no-store"
    assert mine.json() == {
        "conversation_id": conv.id,
        "role": "customer",
        "polite": True,
        "peer": {"user_id": world.agent.user_id, "display_name": "Abe"},
        "ice_servers": [TURN],
    }
    theirs = (await client.get(url(conv.id), headers=world.headers["agent"])).json()
    assert theirs["role"] == "agent" and theirs["polite"] is False
    assert theirs["peer"] == {"user_id": world.customer.user_id, "display_name": "Cara"}


async def test_a_turn_secret_gives_each_party_its_own_expiring_credentials(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    runtime.settings.turn_secret = "shared-with-coturn"
    runtime.settings.turn_urls = ["turn:turn.example.org:3478"]
    conv = await make_video_conversation(runtime, world.customer, agent=world.agent)
    mine = (await client.get(url(conv.id), headers=world.headers["customer"])).json()
    theirs = (await client.get(url(conv.id), headers=world.headers["agent"])).json()
    [turn] = mine["ice_servers"]
    assert turn["urls"] == ["turn:turn.example.org:3478"]
    assert turn["username"].endswith(f":{world.customer.user_id}")
    assert theirs["ice_servers"][0]["username"].endswith(f":{world.agent.user_id}")
    assert turn["credential"] != theirs["ice_servers"][0]["credential"]


async def test_while_waiting_the_customer_has_no_peer_yet(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    conv = await make_video_conversation(runtime, world.customer)
    body = (await client.get(url(conv.id), headers=world.headers["customer"])).json()
    assert body["peer"] is None and body["ice_servers"] == []


async def test_no_turn_credentials_while_nobody_is_there_to_call(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    """TURN relays cost bandwidth: a customer who merely waits (a session anyone can open)
    gets the listed servers only; the time-limited credentials come once an agent is there."""
    runtime.settings.ice_servers = [IceServer(urls=["stun:stun.example.org:3478"])]
    runtime.settings.turn_secret = "shared-with-coturn"
    runtime.settings.turn_urls = ["turn:turn.example.org:3478"]
    conv = await make_video_conversation(runtime, world.customer)
    body = (await client.get(url(conv.id), headers=world.headers["customer"])).json()
    assert body["peer"] is None
    assert body["ice_servers"] == [
        {"urls": ["stun:stun.example.org:3478"], "username": None, "credential": None}
    ]


async def test_who_may_not(client: httpx.AsyncClient, runtime: Runtime, world: World) -> None:
    runtime.settings.ice_servers = [IceServer.model_validate(TURN)]
    conv = await make_video_conversation(runtime, world.customer, agent=world.agent)
    other = await make_video_conversation(runtime, world.other_customer, agent=world.other_agent)
    before = await row_counts(runtime)
    refused = {
        "anonymous": 401,
        "other_customer": 404,  # the customer of another conversation
        "other_agent": 404,  # an agent of the tenant who is not taking part
        "admin": 404,  # reads every conversation, but is not a party to its call
        "foreign_admin": 404,
        "foreign_customer": 404,
        "api_key": 404,
        "foreign_api_key": 404,
    }
    missing = assert_error(
        await client.get(url("doesnotexist"), headers=world.headers["customer"]), 404
    )
    for caller, status in refused.items():
        response = await client.get(url(conv.id), headers=world.headers[caller])
        error = assert_error(response, status)
        assert "s3cret-turn" not in response.text
        if status == 404:
            assert error == missing, caller  # nothing tells it apart from a missing one
    # The admin's refused request recorded no observation.
    assert await row_counts(runtime) == before
    assert (await client.get(url(other.id), headers=world.headers["other_customer"])).is_success


async def test_an_observer_and_a_replaced_agent_are_not_parties(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    conv = await make_video_conversation(runtime, world.customer, agent=world.agent)
    # The admin observes (a recorded participant, read-only), then an agent takes over.
    assert (
        await client.get(f"/api/v1/conversations/{conv.id}", headers=world.headers["admin"])
    ).is_success
    moved = await client.post(
        f"/api/v1/conversations/{conv.id}/participants",
        json={"user_id": world.other_agent.user_id, "role": "agent", "transfer": True},
        headers={**world.headers["agent"], "Origin": "http://testserver"},
    )
    assert moved.status_code in (200, 201), moved.text
    for caller in ("admin", "agent"):
        assert_error(
            await client.get(url(conv.id), headers=world.headers[caller]),
            404,
            "conversation_not_found",
        )
    now = (await client.get(url(conv.id), headers=world.headers["customer"])).json()
    assert now["peer"]["user_id"] == world.other_agent.user_id


async def test_a_revoked_token_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    conv = await make_video_conversation(runtime, world.customer, agent=world.agent)
    headers = auth(runtime, world.customer)
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert_error(await client.get(url(conv.id), headers=headers), 401)


async def test_only_the_tenants_call_kinds_hold_calls(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    support = await make_video_conversation(
        runtime, world.customer, agent=world.agent, kind="support"
    )
    assert_error(
        await client.get(url(support.id), headers=world.headers["customer"]),
        404,
        "conversation_not_found",
    )
    await set_tenant_settings(runtime, None, call_kinds=["video", "support"])
    assert (await client.get(url(support.id), headers=world.headers["customer"])).is_success


async def test_an_ended_conversation_has_no_call(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    conv = await make_video_conversation(runtime, world.customer, agent=world.agent)
    await end(runtime, world.agent, conv.id)
    assert_error(
        await client.get(url(conv.id), headers=world.headers["customer"]), 409, "conversation_ended"
    )
    assert_error(
        await client.get(url(conv.id), headers=world.headers["other_customer"]),
        404,
        "conversation_not_found",
    )


async def test_a_tenants_own_ice_servers_replace_the_servers(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    runtime.settings.ice_servers = [IceServer(urls=["stun:stun.example.org:3478"])]
    conv = await make_video_conversation(runtime, world.customer, agent=world.agent)
    admin = {**world.headers["admin"], "Origin": "http://testserver"}
    put = await client.put(
        f"/api/v1/tenant/secrets/{SecretName.ice_servers.value}",
        json={"value": json.dumps([TURN])},
        headers=admin,
    )
    assert put.status_code == 200, put.text
    body = (await client.get(url(conv.id), headers=world.headers["agent"])).json()
    assert body["ice_servers"] == [TURN]
    # A value that is not a list of servers falls back to the server's (and is logged).
    put = await client.put(
        f"/api/v1/tenant/secrets/{SecretName.ice_servers.value}",
        json={"value": '[{"urls": "http://not-ice"}]'},
        headers=admin,
    )
    assert put.status_code == 200
    body = (await client.get(url(conv.id), headers=world.headers["agent"])).json()
    assert body["ice_servers"] == [
        {"urls": ["stun:stun.example.org:3478"], "username": None, "credential": None}
    ]
