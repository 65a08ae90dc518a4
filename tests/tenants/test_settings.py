"""Typed tenant settings: GET/PATCH /api/v1/tenant/settings, on both databases."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from parlour.auth.service import get_tenant_by_slug
from parlour.models.tenant import Tenant
from parlour.models.tenant_settings import TenantSettings
from parlour.runtime import Runtime
from parlour.tenants import service
from tests.api.support import World, assert_error, make_world, set_tenant_settings

URL = "/api/v1/tenant/settings"
DEFAULTS = TenantSettings().model_dump(mode="json")


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


async def stored(rt: Runtime, slug: str | None = None) -> dict[str, Any]:
    """The raw JSON the tenant's row holds."""
    async with rt.uow(write=False) as tx:
        tenant = await get_tenant_by_slug(tx.session, slug)
        return dict(tenant.settings or {})


async def test_admin_reads_the_defaults(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(URL, headers=world.headers["admin"])
    assert response.status_code == 200, response.text
    assert response.json() == DEFAULTS
    assert DEFAULTS == {
        "customer_conversation_kinds": ["support"],
        "announce_observers": True,
        "staff_label": "expert",
        "call_kinds": ["video"],  # video
        # attachments
        "private_read_receipts": False,
        # appointments
        "appointment_grace_hours": 6,
        "appointment_reminder_minutes": 15,
        "max_upcoming_bookings": 3,
        "appointment_plan": None,  # paidbook
        # routing
        "routed_kinds": ["support", "consultation", "video", "diagnostic"],
        "default_agent_capacity": 3,
        "no_expert_refund_minutes": 15,  # payments
        # desk
        "widget_allowed_origins": [],
        "support_inactivity_seconds": 86400,
        # ai:
        "ai_enabled": True,
        "ai_provider": None,
        "ai_base_url": None,
        "ai_model": None,
        "ai_mask_outbound_pii": True,
        "ai_mask_stored_pii": False,
        "ai_phone_region": "US",
    }


async def test_who_may_not(client: httpx.AsyncClient, runtime: Runtime, world: World) -> None:
    expected = {
        "anonymous": 401,
        "customer": 403,
        "agent": 403,
        "api_key": 403,  # a service key acts for the tenant's business, not its configuration
        "foreign_api_key": 403,
    }
    for caller, status in expected.items():
        headers = world.headers[caller]
        assert_error(await client.get(URL, headers=headers), status)
        patch = {"staff_label": "hacked"}
        assert_error(await client.patch(URL, json=patch, headers=headers), status)
    # A cookie alone (what a cross-site form would ride on) is a credential like any other:
    # an agent's cookie is still refused.
    token = world.headers["agent"]["Authorization"].split()[1]
    client.cookies.set("parlour_token", token)
    response = await client.patch(URL, json={"staff_label": "x"})
    assert_error(response, 403)
    client.cookies.clear()
    assert await stored(runtime) == {}
    assert await stored(runtime, "elsewhere") == {}


async def test_partial_update_keeps_the_rest_and_another_tenant_is_unaffected(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    admin = world.headers["admin"]
    response = await client.patch(URL, json={"staff_label": "  mechanic  "}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json() == {**DEFAULTS, "staff_label": "mechanic"}

    response = await client.patch(URL, json={"announce_observers": False}, headers=admin)
    assert response.json() == {**DEFAULTS, "staff_label": "mechanic", "announce_observers": False}
    assert (await client.get(URL, headers=admin)).json() == response.json()
    # The row keeps only what was changed: a later default reaches the rest.
    assert await stored(runtime) == {"staff_label": "mechanic", "announce_observers": False}

    # Another tenant's admin changes its own tenant, never this one.
    foreign = world.headers["foreign_admin"]
    response = await client.patch(URL, json={"staff_label": "volunteer"}, headers=foreign)
    assert response.json()["staff_label"] == "volunteer"
    assert (await client.get(URL, headers=admin)).json()["staff_label"] == "mechanic"
    assert await stored(runtime, "elsewhere") == {"staff_label": "volunteer"}

    # null resets a setting to its default; an empty patch changes nothing.
    response = await client.patch(URL, json={"staff_label": None}, headers=admin)
    assert response.json() == {**DEFAULTS, "announce_observers": False}
    assert await stored(runtime) == {"announce_observers": False}
    response = await client.patch(URL, json={}, headers=admin)
    assert response.json() == {**DEFAULTS, "announce_observers": False}


BAD_PATCHES = [
    ({"stafff_label": "typo"}, "stafff_label"),  # unknown key
    ({"staff_label": "ok", "extra": 1}, "extra"),  # one unknown key spoils the lot
    ({"announce_observers": "false"}, "announce_observers"),  # no coercion from strings
    ({"announce_observers": 0}, "announce_observers"),
    ({"staff_label": 7}, "staff_label"),
    ({"staff_label": ""}, "staff_label"),
    ({"staff_label": "x" * 41}, "staff_label"),
    ({"staff_label": "two\nlines"}, "staff_label"),
    ({"customer_conversation_kinds": "support"}, "customer_conversation_kinds"),
    ({"customer_conversation_kinds": ["Support!"]}, "customer_conversation_kinds"),
    ({"customer_conversation_kinds": [1]}, "customer_conversation_kinds"),
]


async def test_unknown_keys_and_wrong_types_are_422_and_change_nothing(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    admin = world.headers["admin"]
    await client.patch(URL, json={"staff_label": "mechanic"}, headers=admin)
    for body, field in BAD_PATCHES:
        response = await client.patch(URL, json={**body}, headers=admin)
        error = assert_error(response, 422)
        assert field in error["message"], (body, error)
    for body in ([], "staff_label=x", None):
        assert_error(await client.patch(URL, json=body, headers=admin), 422)
    assert await stored(runtime) == {"staff_label": "mechanic"}


async def test_the_typed_settings_drive_the_services(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    customer = world.headers["customer"]
    admin = world.headers["admin"]
    conversations = "/api/v1/conversations"
    assert (
        await client.post(conversations, json={"kind": "chat"}, headers=customer)
    ).status_code == 403
    await client.patch(URL, json={"customer_conversation_kinds": ["chat"]}, headers=admin)
    assert (
        await client.post(conversations, json={"kind": "chat"}, headers=customer)
    ).status_code == 201
    response = await client.post(conversations, json={"kind": "support"}, headers=customer)
    assert_error(response, 403, "kind_not_allowed")
    # The old accessor still answers, from the typed model.
    async with runtime.uow(write=False) as tx:
        tenant = await get_tenant_by_slug(tx.session, None)
        assert tenant.setting("customer_conversation_kinds") == ["chat"]
        assert tenant.setting("staff_label") == "expert"
        with pytest.raises(KeyError):
            tenant.setting("no_such_setting")


async def test_a_row_this_version_cannot_read_falls_back_to_defaults(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    # Written by hand or by another version: an unknown key and a value of the wrong type.
    await set_tenant_settings(
        runtime, None, retired_setting=1, staff_label=5, announce_observers=False
    )
    response = await client.get(URL, headers=world.headers["admin"])
    assert response.json() == {**DEFAULTS, "announce_observers": False}
    # The next change stores only what is readable.
    await client.patch(URL, json={"staff_label": "agent"}, headers=world.headers["admin"])
    assert await stored(runtime) == {"announce_observers": False, "staff_label": "agent"}


async def test_concurrent_patches_of_different_settings_both_survive(
    runtime: Runtime, world: World
) -> None:
    """Read-then-write under the tenant row lock: without it, the later commit writes back the
    settings it read before the other committed, and one change is lost."""

    async def patch(changes: dict[str, Any], entered: asyncio.Event, go: asyncio.Event) -> None:
        async with runtime.uow() as tx:
            entered.set()
            await go.wait()
            await service.do_update_settings(tx, world.admin, changes)

    for round_ in range(3):
        label = f"label{round_}"
        entered = asyncio.Event()
        go = asyncio.Event()
        tasks = [
            asyncio.create_task(patch({"staff_label": label}, entered, go)),
            asyncio.create_task(patch({"announce_observers": bool(round_ % 2)}, entered, go)),
        ]
        # On PostgreSQL both transactions are open before either reads; on SQLite the second
        # waits for the first's write lock (BEGIN IMMEDIATE), which serialises them anyway.
        await asyncio.wait_for(entered.wait(), 5)
        await asyncio.sleep(0.1)
        go.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        async with runtime.uow(write=False) as tx:
            tenant = await tx.session.scalar(
                select(Tenant).where(Tenant.id == world.admin.tenant_id)
            )
            assert tenant is not None
            assert tenant.settings == {"staff_label": label, "announce_observers": bool(round_ % 2)}
