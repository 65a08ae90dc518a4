"""Channel accounts: admins add, list, change and delete their tenant's WhatsApp, SMS and
email channels; credentials are sealed tenant secrets and never come back."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from parlour.auth.tokens import COOKIE_NAME
from parlour.channels import service as channels
from parlour.models.tenant_secret import TenantSecret
from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_world
from tests.channels.support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    URL,
    channel_rows,
    create_twilio_channel,
)


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


async def test_create_list_update_delete(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    admin = world.headers["admin"]
    made = await create_twilio_channel(client, admin, from_number="whatsapp:+1 (415) 555-0100")
    assert made.status_code == 201, made.text
    body = made.json()
    cid = body["id"]
    assert body["kind"] == "whatsapp" and body["from_number"] == "+14155550100"
    assert body["enabled"] is True and body["name"] == "WhatsApp +14155550100"
    # Never the credentials: hints only (the last 4 characters of long values).
    assert AUTH_TOKEN not in made.text and ACCOUNT_SID not in made.text
    assert body["credentials"] == {
        "account_sid_hint": ACCOUNT_SID[-4:],
        "auth_token_set": True,
        "auth_token_hint": AUTH_TOKEN[-4:],
    }
    assert body["webhooks"]["messages_url"].endswith(f"/api/v1/webhooks/twilio/{cid}/messages")
    assert body["webhooks"]["status_url"].endswith(f"/api/v1/webhooks/twilio/{cid}/status")

    email = await client.post(
        URL,
        json={"kind": "email", "address": "Help@Shop.Example", "display_name": "Shop help"},
        headers=admin,
    )
    assert email.status_code == 201, email.text
    assert email.json()["address"] == "help@shop.example"
    assert email.json()["credentials"] is None and email.json()["webhooks"] is None

    listed = await client.get(URL, headers=admin)
    assert [c["id"] for c in listed.json()["channels"]] == [cid, email.json()["id"]]
    assert AUTH_TOKEN not in listed.text

    # The credentials are sealed tenant secrets; the system reads them back.
    async with runtime.uow(write=False) as tx:
        sealed = list(await tx.session.scalars(select(TenantSecret.ciphertext)))
        account = await channels.twilio_account(tx.session, cid, server_secret=runtime.secret_key)
    assert sealed and all(AUTH_TOKEN.encode() not in c for c in sealed)
    assert account is not None and (account.account_sid, account.auth_token) == (
        ACCOUNT_SID,
        AUTH_TOKEN,
    )

    template = {"name": "Follow up", "content_sid": "HX" + "a" * 32, "variables": ["1"]}
    rotated = "rotated" + "y" * 25
    changed = await client.patch(
        f"{URL}/{cid}",
        json={"enabled": False, "name": "Support", "auth_token": rotated, "templates": [template]},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["enabled"] is False and changed.json()["name"] == "Support"
    assert changed.json()["credentials"]["auth_token_hint"] == rotated[-4:]
    assert changed.json()["templates"] == [{**template, "body": ""}]
    assert rotated not in changed.text

    assert (await client.delete(f"{URL}/{cid}", headers=admin)).status_code == 204
    assert_error(await client.get(f"{URL}/{cid}", headers=admin), 404, "channel_not_found")
    async with runtime.uow(write=False) as tx:
        names = list(await tx.session.scalars(select(TenantSecret.name)))
    assert not [n for n in names if cid in n]  # its credentials went with it


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "sms", "account_sid": "XX1", "auth_token": AUTH_TOKEN, "from_number": "+1415555"},
        {"kind": "sms", "account_sid": ACCOUNT_SID, "from_number": "+14155550100"},
        {"kind": "fax", "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN},
        {"kind": "email", "address": "not-an-address"},
        {"kind": "email", "address": "a@b.example", "account_sid": ACCOUNT_SID},
    ],
)
async def test_bad_input_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, runtime: Runtime, world: World, body: dict[str, str]
) -> None:
    before = await channel_rows(runtime)
    assert_error(await client.post(URL, json=body, headers=world.headers["admin"]), 422)
    assert await channel_rows(runtime) == before


@pytest.mark.parametrize("number", ["123", "0.1.0", "+1 415", "whatsapp:  9-0"])
async def test_impossible_numbers_are_refused(
    client: httpx.AsyncClient, runtime: Runtime, world: World, number: str
) -> None:
    before = await channel_rows(runtime)
    made = await create_twilio_channel(client, world.headers["admin"], from_number=number)
    assert_error(made, 400, "invalid_phone_number")
    assert await channel_rows(runtime) == before


async def test_numbers_and_addresses_are_unique(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    assert (await create_twilio_channel(client, world.headers["admin"])).status_code == 201
    again = await create_twilio_channel(
        client, world.headers["admin"], from_number="+1 415 555 0100"
    )
    assert_error(again, 409, "number_taken")
    # The same number as SMS is another channel.
    sms = await create_twilio_channel(client, world.headers["admin"], kind="sms")
    assert sms.status_code == 201
    # An email address belongs to one tenant across the whole service.
    mine = {"kind": "email", "address": "desk@shop.example"}
    assert (await client.post(URL, json=mine, headers=world.headers["admin"])).status_code == 201
    theirs = await client.post(
        URL, json={**mine, "address": "DESK@shop.example"}, headers=world.headers["foreign_admin"]
    )
    assert_error(theirs, 409, "address_taken")


async def test_concurrent_creates_of_one_address_make_one(
    client: httpx.AsyncClient, world: World
) -> None:
    body = {"kind": "email", "address": "race@shop.example"}
    results = await asyncio.gather(
        *(client.post(URL, json=body, headers=world.headers["admin"]) for _ in range(5))
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) == 1 and set(statuses) <= {201, 409}, statuses


async def test_who_may_not(client: httpx.AsyncClient, runtime: Runtime, world: World) -> None:
    made = await create_twilio_channel(client, world.headers["admin"])
    cid = made.json()["id"]
    before = await channel_rows(runtime)
    for who in ("customer", "agent", "api_key", "foreign_api_key"):
        headers = world.headers[who]
        assert_error(await client.get(URL, headers=headers), 403, "admin_only")
        assert_error(await create_twilio_channel(client, headers, from_number="+14155550111"), 403)
        assert_error(
            await client.patch(f"{URL}/{cid}", json={"enabled": False}, headers=headers), 403
        )
        assert_error(await client.delete(f"{URL}/{cid}", headers=headers), 403)
    assert_error(await client.get(URL), 401)
    assert_error(await create_twilio_channel(client, {}), 401)
    # Another tenant's admin: nothing of ours in its list, our channel is "not found".
    foreign = world.headers["foreign_admin"]
    listed = await client.get(URL, headers=foreign)
    assert listed.status_code == 200 and listed.json()["channels"] == []
    assert_error(await client.get(f"{URL}/{cid}", headers=foreign), 404, "channel_not_found")
    r = await client.patch(f"{URL}/{cid}", json={"auth_token": "z" * 32}, headers=foreign)
    assert_error(r, 404, "channel_not_found")
    assert_error(await client.delete(f"{URL}/{cid}", headers=foreign), 404)
    # Cross-site with the admin's cookie: refused as CSRF before anything else.
    client.cookies.set(COOKIE_NAME, world.headers["admin"]["Authorization"].split()[1])
    cross = await client.post(
        URL,
        json={"kind": "email", "address": "csrf@shop.example"},
        headers={"Origin": "https://evil.example"},
    )
    client.cookies.clear()
    assert_error(cross, 403, "csrf_rejected")
    assert await channel_rows(runtime) == before


async def test_fields_of_another_kind_are_refused(client: httpx.AsyncClient, world: World) -> None:
    email = await client.post(
        URL, json={"kind": "email", "address": "x@shop.example"}, headers=world.headers["admin"]
    )
    r = await client.patch(
        f"{URL}/{email.json()['id']}", json={"auth_token": "z" * 32}, headers=world.headers["admin"]
    )
    assert_error(r, 409, "not_for_this_channel")
