"""`closes_at` on conversation creation: staff and keys set the deadline the sweep acts on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_world, row_counts

BASE = "/api/v1/conversations"


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


async def test_staff_and_keys_set_closes_at(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    soon = (runtime.clock.now() + timedelta(minutes=10)).astimezone(timezone(timedelta(hours=2)))
    for caller in ("agent", "admin", "api_key"):
        response = await client.post(
            BASE,
            json={"customer_id": world.customer.user_id, "closes_at": soon.isoformat()},
            headers=world.headers[caller],
        )
        assert response.status_code == 201, response.text
        stored = datetime.fromisoformat(response.json()["closes_at"])
        assert stored == soon and stored.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("caller", "closes_at", "status", "code"),
    [
        ("customer", "future", 403, "closes_at_not_allowed"),
        ("admin", "past", 400, "invalid_closes_at"),
        ("admin", "2030-01-01T10:00:00", 422, None),  # no offset: ambiguous
        ("admin", "9999-12-31T23:59:59-23:59", 422, None),  # beyond what UTC can hold
        ("admin", "tomorrow", 422, None),
    ],
)
async def test_bad_closes_at_is_refused_and_stores_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    world: World,
    caller: str,
    closes_at: str,
    status: int,
    code: str | None,
) -> None:
    now = datetime.now(UTC)
    value = {
        "future": (now + timedelta(hours=1)).isoformat(),
        "past": (now - timedelta(seconds=1)).isoformat(),
    }.get(closes_at, closes_at)
    body = {"closes_at": value}
    if caller != "customer":
        body["customer_id"] = world.customer.user_id or ""
    before = await row_counts(runtime)
    response = await client.post(BASE, json=body, headers=world.headers[caller])
    assert_error(response, status, code)
    assert await row_counts(runtime) == before
