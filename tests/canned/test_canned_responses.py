"""Canned responses: admins manage them, staff list and search them, customers and other
tenants never see them."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_world

URL = "/api/v1/canned-responses"


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


async def _create(
    client: httpx.AsyncClient, world: World, shortcut: str, title: str = "Hi", who: str = "admin"
) -> httpx.Response:
    return await client.post(
        URL,
        json={"shortcut": shortcut, "title": title, "body": f"Body of {shortcut}"},
        headers=world.headers[who],
    )


async def test_admins_manage_and_staff_search(client: httpx.AsyncClient, world: World) -> None:
    greeting = await _create(client, world, "/Greeting", "Say hello")
    assert greeting.status_code == 201, greeting.text
    assert greeting.json()["shortcut"] == "greeting"
    assert (await _create(client, world, "refund-policy", "Refunds")).status_code == 201
    assert (await _create(client, world, "bye", "Goodbye")).status_code == 201

    for who in ("agent", "admin", "api_key"):
        listed = await client.get(URL, headers=world.headers[who])
        assert listed.status_code == 200
        assert [c["shortcut"] for c in listed.json()["canned_responses"]] == [
            "bye",
            "greeting",
            "refund-policy",
        ]
    found = await client.get(URL, params={"q": "/gre"}, headers=world.headers["agent"])
    assert [c["shortcut"] for c in found.json()["canned_responses"]] == ["greeting"]
    by_title = await client.get(URL, params={"q": "REFUND"}, headers=world.headers["agent"])
    assert [c["shortcut"] for c in by_title.json()["canned_responses"]] == ["refund-policy"]
    # LIKE wildcards are matched literally.
    none = await client.get(URL, params={"q": "%"}, headers=world.headers["agent"])
    assert none.json()["canned_responses"] == []

    cid = greeting.json()["id"]
    changed = await client.patch(
        f"{URL}/{cid}", json={"body": "Hello! How can I help?"}, headers=world.headers["admin"]
    )
    assert changed.status_code == 200 and changed.json()["body"] == "Hello! How can I help?"
    assert_error(
        await client.patch(
            f"{URL}/{cid}", json={"shortcut": "bye"}, headers=world.headers["admin"]
        ),
        409,
        "shortcut_taken",
    )
    assert_error(await _create(client, world, "GREETING"), 409, "shortcut_taken")
    deleted = await client.delete(f"{URL}/{cid}", headers=world.headers["admin"])
    assert deleted.status_code == 204
    assert_error(await client.delete(f"{URL}/{cid}", headers=world.headers["admin"]), 404)


@pytest.mark.parametrize("shortcut", ["", "/", "has space", "a" * 40, "ünï", "/-x", "a/b"])
async def test_invalid_shortcuts_are_refused(
    client: httpx.AsyncClient, world: World, shortcut: str
) -> None:
    assert_error(await _create(client, world, shortcut), 422)


async def test_who_may_not(client: httpx.AsyncClient, world: World) -> None:
    made = await _create(client, world, "greeting")
    cid = made.json()["id"]
    for who in ("customer", "other_customer"):
        assert_error(await client.get(URL, headers=world.headers[who]), 403, "staff_only")
    assert_error(await client.get(URL), 401)
    for who in ("customer", "agent", "api_key"):
        assert_error(await _create(client, world, f"x-{who.replace('_', '-')}", who=who), 403)
        r = await client.patch(f"{URL}/{cid}", json={"title": "x"}, headers=world.headers[who])
        assert_error(r, 403)
        assert_error(await client.delete(f"{URL}/{cid}", headers=world.headers[who]), 403)
    # Another tenant sees none of them and cannot reach them by id.
    foreign = await client.get(URL, headers=world.headers["foreign_admin"])
    assert foreign.status_code == 200 and foreign.json()["canned_responses"] == []
    r = await client.patch(
        f"{URL}/{cid}", json={"title": "x"}, headers=world.headers["foreign_admin"]
    )
    assert_error(r, 404, "canned_response_not_found")
    assert_error(await client.delete(f"{URL}/{cid}", headers=world.headers["foreign_admin"]), 404)
    # The same shortcut in another tenant is another canned response.
    assert (await _create(client, world, "greeting", who="foreign_admin")).status_code == 201


async def test_concurrent_creates_of_one_shortcut_make_one(
    client: httpx.AsyncClient, world: World
) -> None:
    results = await asyncio.gather(*(_create(client, world, "same") for _ in range(5)))
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) == 1 and set(statuses) <= {201, 409}, statuses
    listed = await client.get(URL, headers=world.headers["agent"])
    assert len(listed.json()["canned_responses"]) == 1
