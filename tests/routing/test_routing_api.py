"""Routing over HTTP: availability, capacity through PATCH /users/{id}, picks and admins'
assignment, with who may not (customers, keys, another tenant, revoked and inactive users)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from parlour.models.message import Message
from parlour.runtime import Runtime
from tests.api.support import World, assert_error, deactivate, make_member, make_world
from tests.factories import auth
from tests.routing.support import create_one, state


async def _availability(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.get("/api/v1/me/availability", headers=headers)


async def _set(client: httpx.AsyncClient, headers: dict[str, str], status: str) -> httpx.Response:
    return await client.put("/api/v1/me/availability", json={"status": status}, headers=headers)


async def test_availability_for_staff_only(runtime: Runtime, client: httpx.AsyncClient) -> None:
    w = await make_world(runtime)
    h = w.headers
    got = (await _availability(client, h["agent"])).json()
    assert got["status"] == "offline" and got["capacity"] == 3
    assert got["active_conversations"] == 0 and got["status_changed_at"] is None
    put = await _set(client, h["agent"], "online")
    assert put.status_code == 200 and put.json()["status"] == "online"
    assert put.json()["status_changed_at"] is not None
    assert (await _availability(client, h["agent"])).json()["status"] == "online"
    assert (await _set(client, h["admin"], "away")).json()["status"] == "away"

    assert_error(await _availability(client, {}), 401)
    assert_error(await _set(client, {}, "online"), 401)
    for caller in ("customer", "api_key"):
        assert_error(await _availability(client, h[caller]), 403, "staff_only")
        assert_error(await _set(client, h[caller], "online"), 403, "staff_only")
    assert_error(await _set(client, h["agent"], "busy"), 422)
    bad = await client.put(
        "/api/v1/me/availability", json={"status": "online", "x": 1}, headers=h["agent"]
    )
    assert_error(bad, 422)


async def test_revoked_and_inactive_staff_are_refused(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    w = await make_world(runtime)
    headers = auth(runtime, w.agent)
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert_error(await _set(client, headers, "online"), 401)
    assert w.other_agent.user_id is not None
    await deactivate(runtime, w.other_agent.user_id)
    assert_error(await _set(client, w.headers["other_agent"], "online"), 401)
    cid = await create_one(runtime, w.customer)
    pick = f"/api/v1/conversations/{cid}/pick"
    assert_error(await client.post(pick, headers=w.headers["other_agent"]), 401)
    # An inactive agent is not assigned by an admin either.
    assign = f"/api/v1/conversations/{cid}/assign"
    body = {"user_id": w.other_agent.user_id}
    assert_error(
        await client.post(assign, json=body, headers=w.headers["admin"]), 400, "user_inactive"
    )


async def test_capacity_through_patch_users(runtime: Runtime, client: httpx.AsyncClient) -> None:
    w = await make_world(runtime)
    h = w.headers
    url = f"/api/v1/users/{w.agent.user_id}"
    ok = await client.patch(url, json={"capacity": 5}, headers=h["admin"])
    assert ok.status_code == 200, ok.text
    assert ok.json()["id"] == w.agent.user_id and ok.json()["is_active"] is True
    assert (await _availability(client, h["agent"])).json()["capacity"] == 5

    for bad in (-1, 101, "3", 2.5, None):
        assert_error(
            await client.patch(url, json={"capacity": bad}, headers=h["admin"]),
            (400 if bad is None else 422),
        )
    assert_error(await client.patch(url, json={}, headers=h["admin"]), 400, "nothing_to_change")
    for caller in ("agent", "other_agent", "customer"):
        assert_error(await client.patch(url, json={"capacity": 9}, headers=h[caller]), 403)
    assert_error(await client.patch(url, json={"capacity": 9}, headers=h["api_key"]), 403)
    assert_error(await client.patch(url, json={"capacity": 9}, headers=h["foreign_admin"]), 404)
    customer_url = f"/api/v1/users/{w.customer.user_id}"
    assert_error(
        await client.patch(customer_url, json={"capacity": 2}, headers=h["admin"]), 400, "not_staff"
    )
    assert (await _availability(client, h["agent"])).json()["capacity"] == 5
    # Both at once.
    both = await client.patch(url, json={"capacity": 1, "is_active": False}, headers=h["admin"])
    assert both.status_code == 200 and both.json()["is_active"] is False


async def test_pick_from_the_queue(runtime: Runtime, client: httpx.AsyncClient) -> None:
    w = await make_world(runtime)
    h = w.headers
    cid = await create_one(runtime, w.customer)
    url = f"/api/v1/conversations/{cid}/pick"
    assert_error(await client.post(url), 401)
    assert_error(await client.post(url, headers=h["customer"]), 403)
    for caller in ("other_customer", "foreign_admin", "foreign_api_key"):
        assert_error(await client.post(url, headers=h[caller]), 404, "conversation_not_found")
    assert_error(await client.post(url, headers=h["api_key"]), 403)

    got = await client.post(url, headers=h["agent"])
    assert got.status_code == 200 and got.json()["status"] == "active"
    assert (await client.post(url, headers=h["agent"])).status_code == 200  # again: no change
    assert_error(await client.post(url, headers=h["other_agent"]), 409, "conversation_taken")
    assert_error(await client.post(url, headers=h["admin"]), 409, "conversation_taken")

    # Capacity: an agent with capacity 1 and one conversation cannot pick another.
    await client.patch(f"/api/v1/users/{w.agent.user_id}", json={"capacity": 1}, headers=h["admin"])
    other = await create_one(runtime, w.customer)
    full = await client.post(f"/api/v1/conversations/{other}/pick", headers=h["agent"])
    assert_error(full, 409, "at_capacity")
    await client.post(f"/api/v1/conversations/{cid}/end", headers=h["agent"])
    assert_error(await client.post(url, headers=h["other_agent"]), 409, "conversation_ended")
    freed = await client.post(f"/api/v1/conversations/{other}/pick", headers=h["agent"])
    assert freed.status_code == 200


async def _bodies(runtime: Runtime, cid: str) -> list[str]:
    async with runtime.uow(write=False) as tx:
        return list(
            await tx.session.scalars(
                select(Message.body).where(Message.conversation_id == cid).order_by(Message.seq)
            )
        )


async def test_admin_reassigns(runtime: Runtime, client: httpx.AsyncClient) -> None:
    w: World = await make_world(runtime)
    h = w.headers
    cid = await create_one(runtime, w.customer)
    await client.post(f"/api/v1/conversations/{cid}/pick", headers=h["agent"])
    # The target is at capacity 0: an admin's assignment is deliberate and goes through.
    await client.patch(
        f"/api/v1/users/{w.other_agent.user_id}", json={"capacity": 0}, headers=h["admin"]
    )
    url = f"/api/v1/conversations/{cid}/assign"
    body = {"user_id": w.other_agent.user_id}
    got = await client.post(url, json=body, headers=h["admin"])
    assert got.status_code == 200, got.text
    current = [
        p["user_id"]
        for p in got.json()["participants"]
        if p["role"] == "agent" and p["left_at"] is None
    ]
    assert current == [w.other_agent.user_id]
    assert (await _bodies(runtime, cid))[-2:] == [
        "Nia was assigned to the conversation.",
        "Abe was reassigned to Nia.",
    ]
    (await state(runtime)).check({w.other_agent.user_id: 1})
    # Assigning it to whoever has it already writes nothing.
    before = await _bodies(runtime, cid)
    assert (await client.post(url, json=body, headers=h["admin"])).status_code == 200
    assert await _bodies(runtime, cid) == before
    # And back, by the tenant's service key.
    back = await client.post(url, json={"user_id": w.agent.user_id}, headers=h["api_key"])
    assert back.status_code == 200


async def test_who_may_not_assign(runtime: Runtime, client: httpx.AsyncClient) -> None:
    w = await make_world(runtime)
    h = w.headers
    foreign_agent = await make_member(runtime, "agent", tenant="elsewhere", name="Fox")
    cid = await create_one(runtime, w.customer)
    url = f"/api/v1/conversations/{cid}/assign"
    body = {"user_id": w.agent.user_id}
    assert_error(await client.post(url, json=body), 401)
    assert_error(await client.post(url, json=body, headers=h["customer"]), 403, "admin_only")
    for caller in ("agent", "other_customer", "foreign_admin", "foreign_api_key"):
        assert_error(await client.post(url, json=body, headers=h[caller]), 404)
    to_customer = {"user_id": w.customer.user_id}
    assert_error(await client.post(url, json=to_customer, headers=h["admin"]), 400, "not_staff")
    to_foreign = {"user_id": foreign_agent.user_id}
    assert_error(await client.post(url, json=to_foreign, headers=h["admin"]), 404, "user_not_found")
    assert_error(await client.post(url, json={"user_id": "x y"}, headers=h["admin"]), 422)
    missing = "/api/v1/conversations/nope/assign"
    assert_error(await client.post(missing, json=body, headers=h["admin"]), 404)
    assert (await state(runtime)).waiting() == [cid]  # nothing above changed it
    await client.post(f"/api/v1/conversations/{cid}/pick", headers=h["agent"])
    # An agent taking part may read it, and still may not reassign it.
    to_other = {"user_id": w.other_agent.user_id}
    assert_error(await client.post(url, json=to_other, headers=h["agent"]), 403, "admin_only")
    await client.post(f"/api/v1/conversations/{cid}/end", headers=h["admin"])
    assert_error(await client.post(url, json=body, headers=h["admin"]), 409, "conversation_ended")
