"""The appointment REST API on both databases: what each caller may and may not do on every
endpoint (anonymous, the other customer, another agent, another tenant's admin and key, a
customer creating for others), and that a refusal changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_world

BASE = "/api/v1/appointments"
ALL_DAY = {
    "timezone": "UTC",
    "weekly": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)],
}


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


def soon(hours: int = 24) -> datetime:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now + timedelta(hours=hours)


async def publish(client: httpx.AsyncClient, world: World) -> None:
    response = await client.put(
        f"/api/v1/experts/{world.agent.user_id}/availability",
        json=ALL_DAY,
        headers=world.headers["agent"],
    )
    assert response.status_code == 200, response.text


async def create(
    client: httpx.AsyncClient, world: World, start: datetime, caller: str = "admin"
) -> httpx.Response:
    return await client.post(
        BASE,
        json={
            "customer_id": world.customer.user_id,
            "expert_id": world.agent.user_id,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=30)).isoformat(),
            "note": "first visit",
        },
        headers=world.headers[caller],
    )


async def made(client: httpx.AsyncClient, world: World, start: datetime) -> dict[str, Any]:
    response = await create(client, world, start)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def count(client: httpx.AsyncClient, world: World) -> int:
    response = await client.get(BASE, headers=world.headers["admin"])
    return len(response.json()["appointments"])


async def test_create_who_may_and_may_not(client: httpx.AsyncClient, world: World) -> None:
    expected = {
        "anonymous": (401, "unauthorized"),
        "customer": (403, "forbidden"),
        "other_customer": (403, "forbidden"),
        "agent": (403, "forbidden"),
        "foreign_admin": (404, None),  # our expert and customer do not exist over there
        "foreign_api_key": (404, None),
    }
    for i, (caller, (status, code)) in enumerate(expected.items()):
        assert_error(await create(client, world, soon(30 + i), caller), status, code)
    assert await count(client, world) == 0
    for i, caller in enumerate(("admin", "api_key")):
        response = await create(client, world, soon(50 + i))
        assert response.status_code == 201, (caller, response.text)
        body = response.json()
        assert body["conversation_id"] and body["status"] == "scheduled"
        assert body["expert_name"] == "Abe" and body["customer_name"] == "Cara"
    # A past appointment may be recorded (an import); a bad one may not.
    assert (await create(client, world, soon(-72))).status_code == 201
    bad = await client.post(
        BASE,
        json={
            "customer_id": world.customer.user_id,
            "expert_id": world.agent.user_id,
            "starts_at": soon(80).isoformat(),
            "ends_at": soon(79).isoformat(),
        },
        headers=world.headers["admin"],
    )
    assert_error(bad, 400, "invalid_times")
    naive = await client.post(
        BASE,
        json={
            "customer_id": world.customer.user_id,
            "expert_id": world.agent.user_id,
            "starts_at": "2030-01-01T10:00:00",
            "ends_at": "2030-01-01T11:00:00",
        },
        headers=world.headers["admin"],
    )
    assert naive.status_code == 422
    # The customer and the expert swapped: an expert is staff, a customer is a customer.
    swapped = await client.post(
        BASE,
        json={
            "customer_id": world.agent.user_id,
            "expert_id": world.customer.user_id,
            "starts_at": soon(90).isoformat(),
            "ends_at": soon(91).isoformat(),
        },
        headers=world.headers["admin"],
    )
    assert_error(swapped, 404, "expert_not_found")
    assert_error(await create(client, world, soon(50)), 409, "slot_taken")


async def test_book_who_may_and_may_not(client: httpx.AsyncClient, world: World) -> None:
    await publish(client, world)

    def body(hours: int) -> dict[str, Any]:
        return {
            "expert_id": world.agent.user_id,
            "starts_at": soon(hours).isoformat(),
            "duration_minutes": 30,
        }

    for caller, status in (
        ("anonymous", 401),
        ("admin", 403),
        ("api_key", 403),
        ("agent", 403),
        ("foreign_customer", 404),
        ("foreign_api_key", 403),
    ):
        response = await client.post(f"{BASE}/book", json=body(30), headers=world.headers[caller])
        assert_error(response, status)
    assert await count(client, world) == 0
    response = await client.post(f"{BASE}/book", json=body(30), headers=world.headers["customer"])
    assert response.status_code == 201, response.text
    assert response.json()["customer_id"] == world.customer.user_id
    again = await client.post(
        f"{BASE}/book", json=body(30), headers=world.headers["other_customer"]
    )
    assert_error(again, 409, "slot_taken")
    # Customers cannot use the admin's endpoint to book for someone else.
    assert_error(await create(client, world, soon(40), "customer"), 403, "forbidden")


async def test_read_list_and_filters(client: httpx.AsyncClient, world: World) -> None:
    first = await made(client, world, soon(30))
    second = await made(client, world, soon(60))
    url = f"{BASE}/{first['id']}"
    for caller in ("customer", "agent", "admin", "api_key"):
        assert (await client.get(url, headers=world.headers[caller])).status_code == 200
    assert_error(await client.get(url), 401)
    for caller in ("other_customer", "other_agent", "foreign_admin", "foreign_api_key"):
        assert_error(
            await client.get(url, headers=world.headers[caller]), 404, "appointment_not_found"
        )

    async def ids(caller: str, **params: str) -> list[str]:
        response = await client.get(BASE, params=params, headers=world.headers[caller])
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["appointments"]]

    assert await ids("customer", view="upcoming") == [first["id"], second["id"]]
    assert await ids("agent", view="upcoming") == [first["id"], second["id"]]
    assert await ids("other_customer") == []
    assert await ids("other_agent") == []
    assert await ids("foreign_admin") == []
    assert await ids("admin", expert_id=world.agent.user_id or "") == [second["id"], first["id"]]
    assert await ids("admin", customer_id=world.other_customer.user_id or "") == []
    assert await ids("admin", **{"from": soon(45).isoformat()}) == [second["id"]]
    assert await ids("admin", **{"to": soon(45).isoformat()}) == [first["id"]]
    cancel = await client.post(
        f"{BASE}/{first['id']}/cancel", json={"reason": "clash"}, headers=world.headers["admin"]
    )
    assert cancel.status_code == 200
    assert await ids("customer", view="history") == [first["id"]]
    assert await ids("admin", status="cancelled") == [first["id"]]
    assert await ids("admin", status="scheduled") == [second["id"]]
    assert_error(await client.get(BASE), 401)


async def test_reschedule_who_may_and_may_not(client: httpx.AsyncClient, world: World) -> None:
    appointment = await made(client, world, soon(30))
    url = f"{BASE}/{appointment['id']}"
    move = {"starts_at": soon(40).isoformat()}
    assert_error(await client.patch(url, json=move), 401)
    assert_error(await client.patch(url, json=move, headers=world.headers["customer"]), 403)
    for caller in ("other_customer", "other_agent", "foreign_admin", "foreign_api_key"):
        assert_error(await client.patch(url, json=move, headers=world.headers[caller]), 404)
    unchanged = await client.get(url, headers=world.headers["admin"])
    assert unchanged.json()["starts_at"] == appointment["starts_at"]
    for i, caller in enumerate(("agent", "admin", "api_key")):
        response = await client.patch(
            url, json={"starts_at": soon(40 + i).isoformat()}, headers=world.headers[caller]
        )
        assert response.status_code == 200, (caller, response.text)
    chat = await client.get(
        f"/api/v1/conversations/{appointment['conversation_id']}", headers=world.headers["customer"]
    )
    moved = response.json()
    assert chat.json()["closes_at"] == moved["closes_at"]
    past = await client.patch(
        url, json={"starts_at": soon(-5).isoformat()}, headers=world.headers["admin"]
    )
    assert_error(past, 400, "appointment_in_past")


async def test_cancel_who_may_and_may_not(client: httpx.AsyncClient, world: World) -> None:
    appointment = await made(client, world, soon(30))
    url = f"{BASE}/{appointment['id']}/cancel"
    reason = {"reason": "Cannot make it"}
    assert_error(await client.post(url, json=reason), 401)
    for caller in ("other_customer", "other_agent", "foreign_admin", "foreign_api_key"):
        assert_error(await client.post(url, json=reason, headers=world.headers[caller]), 404)
    assert_error(await client.post(url, json={}, headers=world.headers["customer"]), 422)
    response = await client.post(url, json=reason, headers=world.headers["agent"])
    assert response.status_code == 200, response.text
    assert response.json()["cancelled_by"] == world.agent.user_id
    chat = (
        await client.get(
            f"/api/v1/conversations/{appointment['conversation_id']}",
            headers=world.headers["customer"],
        )
    ).json()
    assert (chat["status"], chat["end_reason"]) == ("ended", "cancelled")
    sent = await client.post(
        f"/api/v1/conversations/{appointment['conversation_id']}/messages",
        json={"body": "are you there?"},
        headers=world.headers["customer"],
    )
    assert_error(sent, 409, "conversation_ended")
    assert_error(
        await client.post(url, json=reason, headers=world.headers["customer"]),
        409,
        "appointment_not_scheduled",
    )


async def test_availability_and_slots_who_may_not(client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/experts/{world.agent.user_id}/availability"
    assert_error(await client.put(url, json=ALL_DAY), 401)
    for caller, status in (
        ("customer", 403),
        ("other_agent", 403),
        ("foreign_admin", 404),
        ("foreign_api_key", 404),
    ):
        assert_error(await client.put(url, json=ALL_DAY, headers=world.headers[caller]), status)
    assert (await client.get(url, headers=world.headers["customer"])).json()["timezone"] is None
    bad_zone = {**ALL_DAY, "timezone": "Mars/Olympus"}
    assert_error(
        await client.put(url, json=bad_zone, headers=world.headers["agent"]),
        400,
        "invalid_timezone",
    )
    for caller in ("admin", "api_key", "agent"):
        assert (
            await client.put(url, json=ALL_DAY, headers=world.headers[caller])
        ).status_code == 200
    assert_error(await client.get(url), 401)
    assert_error(await client.get(url, headers=world.headers["foreign_customer"]), 404)

    slots = f"/api/v1/experts/{world.agent.user_id}/slots"
    window = {"from": soon(24).isoformat(), "to": soon(26).isoformat(), "duration": "60"}
    assert_error(await client.get(slots, params=window), 401)
    assert_error(
        await client.get(slots, params=window, headers=world.headers["foreign_customer"]), 404
    )
    found = await client.get(slots, params=window, headers=world.headers["customer"])
    assert [s["starts_at"] for s in found.json()["slots"]] == [
        soon(24).isoformat().replace("+00:00", "Z"),
        soon(25).isoformat().replace("+00:00", "Z"),
    ] or len(found.json()["slots"]) == 2
    too_wide = {**window, "to": soon(24 * 40).isoformat()}
    assert_error(
        await client.get(slots, params=too_wide, headers=world.headers["customer"]),
        400,
        "invalid_window",
    )
    experts = await client.get("/api/v1/experts", headers=world.headers["customer"])
    assert [e["id"] for e in experts.json()["experts"]] == [world.agent.user_id]
    assert (
        await client.get("/api/v1/experts", headers=world.headers["foreign_customer"])
    ).json() == {"experts": []}


async def test_bad_availability_is_400_and_changes_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    url = f"/api/v1/experts/{world.agent.user_id}/availability"
    headers = world.headers["agent"]
    assert (await client.put(url, json=ALL_DAY, headers=headers)).status_code == 200
    bad = [
        {"timezone": "UTC", "weekly": [{"weekday": 0, "start": "17:00", "end": "09:00"}]},
        {
            "timezone": "UTC",
            "exceptions": [{"kind": "off", "date_from": "2026-03-05", "date_to": "2026-03-04"}],
        },
        {
            "timezone": "UTC",
            "exceptions": [{"kind": "extra", "date_from": "2026-03-05", "date_to": "2026-03-05"}],
        },
        {
            "timezone": "UTC",
            "exceptions": [
                {
                    "kind": "off",
                    "date_from": "2026-03-05",
                    "date_to": "2026-03-05",
                    "start": "10:00",
                }
            ],
        },
    ]
    for body in bad:
        assert_error(await client.put(url, json=body, headers=headers), 400, "invalid_availability")
    kept = (await client.get(url, headers=headers)).json()
    assert kept["timezone"] == "UTC" and len(kept["weekly"]) == 7
