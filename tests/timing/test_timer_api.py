"""`time_limit_minutes` on `POST /conversations` and `GET /conversations/{id}/timer`."""

from __future__ import annotations

import httpx
import pytest

from parlour.runtime import Runtime
from tests.api.support import World, assert_error, deactivate, make_world, row_counts
from tests.factories import auth, make_conversation

BASE = "/api/v1/conversations"


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


async def test_staff_and_keys_open_a_timed_conversation_and_the_agent_starts_it(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    for caller in ("agent", "admin", "api_key"):
        created = await client.post(
            BASE,
            json={"customer_id": world.customer.user_id, "time_limit_minutes": 10},
            headers=world.headers[caller],
        )
        assert created.status_code == 201, created.text
    cid = created.json()["id"]
    timer = (await client.get(f"{BASE}/{cid}/timer", headers=world.headers["customer"])).json()
    assert timer["limit_seconds"] == 600
    assert (timer["started_at"], timer["ends_at"], timer["finished"]) == (None, None, False)
    assert timer["server_time"]

    joined = await client.post(f"{BASE}/{cid}/join", headers=world.headers["agent"])
    assert joined.status_code == 200, joined.text
    timer = (await client.get(f"{BASE}/{cid}/timer", headers=world.headers["customer"])).json()
    assert timer["started_at"] is not None and timer["ends_at"] is not None


async def test_a_conversation_without_a_limit_has_an_empty_timer(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    cid = (await make_conversation(runtime, world.customer, agent=world.agent)).id
    timer = (await client.get(f"{BASE}/{cid}/timer", headers=world.headers["agent"])).json()
    assert (timer["limit_seconds"], timer["ends_at"]) == (None, None)


@pytest.mark.parametrize(
    ("caller", "minutes", "status", "code"),
    [
        ("customer", 10, 403, "time_limit_not_allowed"),
        ("admin", 0, 422, None),
        ("admin", 1441, 422, None),
        ("admin", "10", 422, None),
        ("admin", 2.5, 422, None),
    ],
)
async def test_bad_time_limits_are_refused_and_store_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    world: World,
    caller: str,
    minutes: object,
    status: int,
    code: str | None,
) -> None:
    before = await row_counts(runtime)
    body: dict[str, object] = {"time_limit_minutes": minutes}
    if caller != "customer":
        body["customer_id"] = world.customer.user_id
    response = await client.post(BASE, json=body, headers=world.headers[caller])
    assert_error(response, status, code)
    assert await row_counts(runtime) == before


async def test_who_may_not_read_the_timer(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    cid = (await make_conversation(runtime, world.customer, agent=world.agent)).id
    for caller in ("other_customer", "other_agent", "foreign_admin", "foreign_api_key"):
        response = await client.get(f"{BASE}/{cid}/timer", headers=world.headers[caller])
        assert_error(response, 404, "conversation_not_found")
    assert_error(await client.get(f"{BASE}/{cid}/timer"), 401)
    headers = auth(runtime, world.customer)
    await deactivate(runtime, world.customer.user_id or "")
    assert_error(await client.get(f"{BASE}/{cid}/timer", headers=headers), 401)


async def test_admins_and_keys_extend_a_running_limit(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    created = await client.post(
        BASE,
        json={"customer_id": world.customer.user_id, "time_limit_minutes": 10},
        headers=world.headers["admin"],
    )
    cid = created.json()["id"]
    await client.post(f"{BASE}/{cid}/join", headers=world.headers["agent"])
    before = (await client.get(f"{BASE}/{cid}/timer", headers=world.headers["agent"])).json()
    url = f"{BASE}/{cid}/timer/extend"
    for caller, status, code in [
        ("customer", 403, "extension_not_allowed"),
        ("agent", 403, "extension_not_allowed"),
        ("other_customer", 404, "conversation_not_found"),
        ("foreign_admin", 404, "conversation_not_found"),
    ]:
        response = await client.post(url, json={"minutes": 5}, headers=world.headers[caller])
        assert_error(response, status, code)
    assert_error(await client.post(url, json={"minutes": 0}, headers=world.headers["admin"]), 422)
    extended = await client.post(url, json={"minutes": 5}, headers=world.headers["admin"])
    assert extended.status_code == 200, extended.text
    assert extended.json()["limit_seconds"] == 900
    assert extended.json()["ends_at"] > before["ends_at"]
    by_key = await client.post(url, json={"minutes": 1}, headers=world.headers["api_key"])
    assert by_key.json()["limit_seconds"] == 960
    history = await client.get(f"{BASE}/{cid}/messages", headers=world.headers["customer"])
    bodies = [m["body"] for m in history.json()["messages"]]
    assert "The time limit was extended by 5 minutes." in bodies
    assert bodies[-1] == "The time limit was extended by 1 minute."
