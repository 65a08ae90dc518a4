"""The appointments page without a browser: who sees which appointments, the admin's filters,
and a logged-out visitor sent to log in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from parlour.auth.tokens import COOKIE_NAME
from parlour.runtime import Runtime
from tests.api.support import World, make_world
from tests.factories import token_for


def as_user(client: httpx.AsyncClient, rt: Runtime, principal: object) -> None:
    client.cookies.set(COOKIE_NAME, token_for(rt, principal))  # type: ignore[arg-type]


async def test_who_sees_what(client: httpx.AsyncClient, runtime: Runtime) -> None:
    world: World = await make_world(runtime)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    response = await client.post(
        "/api/v1/appointments",
        json={
            "customer_id": world.customer.user_id,
            "expert_id": world.agent.user_id,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=45)).isoformat(),
            "note": "Bring the papers",
        },
        headers=world.headers["admin"],
    )
    assert response.status_code == 201, response.text
    appointment = response.json()

    page = await client.get("/appointments")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")

    for who in (world.customer, world.agent):
        as_user(client, runtime, who)
        page = await client.get("/appointments")
        assert page.status_code == 200
        assert f"/chat/{appointment['conversation_id']}" in page.text
        assert "Bring the papers" in page.text
    as_user(client, runtime, world.customer)
    assert "Book an appointment" in (await client.get("/appointments")).text
    for who in (world.other_customer, world.other_agent, world.foreign_admin):
        as_user(client, runtime, who)
        page = await client.get("/appointments")
        assert page.status_code == 200
        assert appointment["conversation_id"] not in page.text

    as_user(client, runtime, world.admin)
    page = await client.get("/appointments")
    assert f"/chat/{appointment['conversation_id']}" in page.text and "Filter" in page.text
    filtered = await client.get("/appointments", params={"status": "cancelled"})
    assert appointment["conversation_id"] not in filtered.text
    day = start.date()
    inside = await client.get(
        "/appointments", params={"from": day.isoformat(), "to": day.isoformat()}
    )
    assert appointment["conversation_id"] in inside.text
    before = (day - timedelta(days=1)).isoformat()
    outside = await client.get("/appointments", params={"from": before, "to": before})
    assert appointment["conversation_id"] not in outside.text
    bad = await client.get("/appointments", params={"status": "nonsense"})
    assert bad.status_code == 422
