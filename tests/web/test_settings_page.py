"""The admin's settings page without a browser: who sees it, and that no secret value leaks."""

from __future__ import annotations

import httpx

from parlour.auth.tokens import COOKIE_NAME
from parlour.runtime import Runtime
from tests.factories import auth, make_user, token_for

PAGE = "/admin/settings"


async def test_only_admins_see_the_settings_page(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    response = await client.get(PAGE)
    assert (response.status_code, response.headers["location"]) == (
        303,
        "/login?next=/admin/settings",
    )
    for role in ("customer", "agent"):
        client.cookies.set(COOKIE_NAME, token_for(runtime, await make_user(runtime, role)))
        response = await client.get(PAGE)
        assert response.status_code == 403
        assert "This page is for admins." in response.text


async def test_the_page_shows_the_settings_and_never_a_secret(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_user(runtime, "admin")
    headers = auth(runtime, admin)
    value = "sk_live_abcdefghijklmnopqrstuvwxyz0123"
    await client.patch("/api/v1/tenant/settings", json={"staff_label": "mechanic"}, headers=headers)
    await client.put(
        "/api/v1/tenant/secrets/stripe_secret_key", json={"value": value}, headers=headers
    )
    client.cookies.set(COOKIE_NAME, token_for(runtime, admin))
    response = await client.get(PAGE)
    assert response.status_code == 200
    assert "Content-Security-Policy" in response.headers
    assert 'value="mechanic"' in response.text
    assert 'data-secret="stripe_secret_key"' in response.text
    assert '"set": true' in response.text or '"set":true' in response.text
    assert value not in response.text and value[:-4] not in response.text
    assert 'href="/admin/settings"' in (await client.get("/admin")).text
