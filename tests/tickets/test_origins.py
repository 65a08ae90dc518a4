"""The tenant's widget origins, on both databases: the support API answers CORS (preflight
included) only for them and refuses other sites; the embed page may be framed only by them;
the realtime gateway accepts a guest's credential only from them (or our own origin)."""

from __future__ import annotations

import httpx

from parlour.auth.service import get_tenant_by_slug, principal_for
from parlour.runtime import Runtime
from parlour.tickets import service
from tests.api.support import assert_error, make_world, row_counts
from tests.factories import token_for
from tests.realtime.fakesocket import FakeSocket
from tests.tickets.support import START, allow_widget

SHOP = "https://shop.example"
EVIL = "https://evil.example"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}


async def test_cors_answers_only_the_tenants_widget_origins(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await make_world(runtime)
    await allow_widget(runtime, SHOP)
    await allow_widget(runtime, "https://other.example", tenant="elsewhere")

    preflight = await client.options(START, headers={"Origin": SHOP, **PREFLIGHT})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SHOP
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"]
    assert "authorization" in preflight.headers["access-control-allow-headers"]
    assert preflight.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in preflight.headers
    # The default port and a trailing slash are the same origin.
    same = await client.options(START, headers={"Origin": SHOP + ":443", **PREFLIGHT})
    assert same.status_code == 204

    allowed = await client.post(START, json={"message": "From the shop"}, headers={"Origin": SHOP})
    assert allowed.status_code == 201 and allowed.headers["access-control-allow-origin"] == SHOP

    before = await row_counts(runtime)
    for origin in (
        EVIL,
        "null",
        "http://shop.example",
        "https://other.example",
        "https://x.shop.example",
    ):
        refused = await client.options(START, headers={"Origin": origin, **PREFLIGHT})
        assert_error(refused, 403, "origin_not_allowed")
        assert "access-control-allow-origin" not in refused.headers
        posted = await client.post(START, json={"message": "hi"}, headers={"Origin": origin})
        assert_error(posted, 403, "origin_not_allowed")
        assert "access-control-allow-origin" not in posted.headers
    # The other tenant's site is its own tenant's (the tenant is the query's).
    other = await client.options(
        START,
        params={"tenant": "elsewhere"},
        headers={"Origin": "https://other.example", **PREFLIGHT},
    )
    assert other.status_code == 204
    unknown = await client.options(
        START, params={"tenant": "nowhere"}, headers={"Origin": SHOP, **PREFLIGHT}
    )
    assert_error(unknown, 403, "origin_not_allowed")
    assert await row_counts(runtime) == before

    # Our own pages (and no Origin at all: not a browser) need no CORS.
    own = await client.post(START, json={"message": "hi"}, headers={"Origin": "http://testserver"})
    assert own.status_code == 201 and "access-control-allow-origin" not in own.headers
    assert (await client.post(START, json={"message": "hi"})).status_code == 201
    # Only the support API is open to the widget's sites: tickets are not.
    tickets = await client.get("/api/v1/tickets", headers={"Origin": SHOP})
    assert "access-control-allow-origin" not in tickets.headers


async def test_the_embed_page_is_framed_only_by_the_listed_sites(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await make_world(runtime)
    closed = await client.get("/support/embed")
    assert closed.status_code == 200
    assert "frame-ancestors 'self';" in closed.headers["content-security-policy"] + ";"
    await allow_widget(runtime, SHOP, "http://localhost:8080")
    embed = await client.get("/support/embed")
    policy = embed.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://shop.example http://localhost:8080" in policy
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "x-frame-options" not in embed.headers
    # The full page is not frameable at all, as every other page.
    page = await client.get("/support")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert (await client.get("/support/embed", params={"tenant": "nowhere"})).status_code == 404
    assert (await client.get("/support/embed", params={"tenant": "<x>"})).status_code == 422
    script = await client.get("/widget.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/support/embed" in script.text


async def test_widget_origins_are_validated_as_exact_origins(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = await make_world(runtime)
    url = "/api/v1/tenant/settings"
    ok = await client.patch(
        url,
        json={"widget_allowed_origins": ["HTTPS://Shop.Example:443/", "http://localhost:8080"]},
        headers=world.headers["admin"],
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["widget_allowed_origins"] == ["https://shop.example", "http://localhost:8080"]
    for bad in (["*"], ["https://shop.example/path"], ["shop.example"], ["null"], ["ftp://x"], "x"):
        response = await client.patch(
            url, json={"widget_allowed_origins": bad}, headers=world.headers["admin"]
        )
        assert response.status_code == 422, (bad, response.text)
    for bad_wait in (59, "60", 10**9):
        response = await client.patch(
            url, json={"support_inactivity_seconds": bad_wait}, headers=world.headers["admin"]
        )
        assert response.status_code == 422, bad_wait


async def _guest(rt: Runtime) -> str:
    async with rt.uow() as tx:
        tenant = await get_tenant_by_slug(tx.session, None)
        started = await service.do_start_support(
            tx, tenant, None, service.Visitor(message="hi"), max_chars=4000
        )
    assert started.guest is not None
    return token_for(rt, principal_for(started.guest))


async def _outcome(ws: FakeSocket) -> str:
    frame = await ws.until(lambda f: f["type"] in ("ready", "error"))
    if frame["type"] == "ready":
        await ws.leave()
        return "ready"
    code, _ = await ws.close_code()
    return str(code)


async def test_the_realtime_gateway_accepts_a_guest_only_from_listed_origins(
    runtime: Runtime,
) -> None:
    world = await make_world(runtime)
    await allow_widget(runtime, SHOP)
    guest = await _guest(runtime)
    customer = token_for(runtime, world.customer)

    # A guest's token: our own origin, a listed site, or no Origin (not a browser).
    for origin in (None, "http://testserver", "http://allowed.example", SHOP):
        assert await _outcome(FakeSocket(runtime, guest, origin=origin)) == "ready", origin
    assert await _outcome(FakeSocket(runtime, guest, origin=EVIL)) == "4003"
    assert await _outcome(FakeSocket(runtime, guest, origin="null")) == "4003"
    # A signed-in customer's token is not tied to an origin (unchanged).
    assert await _outcome(FakeSocket(runtime, customer, origin=EVIL)) == "ready"
    # Cookies: a guest's from a listed site passes; a customer's does not (the tenant's list
    # widens guests only), nor anyone's from elsewhere.
    assert await _outcome(FakeSocket(runtime, guest, origin=SHOP, by_cookie=True)) == "ready"
    assert await _outcome(FakeSocket(runtime, guest, origin=EVIL, by_cookie=True)) == "4003"
    assert await _outcome(FakeSocket(runtime, customer, origin=SHOP, by_cookie=True)) == "4003"
    assert await _outcome(FakeSocket(runtime, customer, origin=EVIL, by_cookie=True)) == "4003"
    # Taking the site off the list shuts its guests out at once.
    await allow_widget(runtime)
    assert await _outcome(FakeSocket(runtime, guest, origin=SHOP)) == "4003"


async def test_a_client_with_its_own_token_is_not_taken_for_the_cookies_user(
    runtime: Runtime,
) -> None:
    world = await make_world(runtime)
    guest = await _guest(runtime)
    agent = token_for(runtime, world.agent)
    # The support page in a browser where an agent is signed in: `?auth=frame`, then the
    # guest's token in the first frame; the agent's cookie is not used.
    ws = FakeSocket(runtime, agent, by_cookie=True, query="auth=frame", origin="http://testserver")
    ws.send({"type": "auth", "token": guest})
    ready = await ws.until(lambda f: f["type"] == "ready")
    assert ready["role"] == "customer" and ready["user_id"] != world.agent.user_id
    await ws.leave()
    # Without it the cookie authenticates, as before.
    ws = FakeSocket(runtime, agent, by_cookie=True, origin="http://testserver")
    ready = await ws.until(lambda f: f["type"] == "ready")
    assert ready["user_id"] == world.agent.user_id
    await ws.leave()
