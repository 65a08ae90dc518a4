"""The pages without a browser: redirects, who sees what, headers, and the page data."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from parlour.auth.service import get_user
from parlour.auth.tokens import COOKIE_NAME
from parlour.demo import DEMO_PASSWORD, load_demo
from parlour.messages.service import do_send_message
from parlour.runtime import Runtime
from parlour.web.navigation import safe_next
from parlour.web.render import content_security_policy
from tests.factories import PASSWORD, make_conversation, make_user, token_for

# What a browser sends with a form posted from our own page (the CSRF check wants one of them).
SAME_ORIGIN = {"Origin": "http://testserver"}
PAGE_DATA = re.compile(r'<script type="application/json" id="page-data">(.*?)</script>', re.S)


def as_user(client: httpx.AsyncClient, rt: Runtime, principal: object) -> None:
    client.cookies.set(COOKIE_NAME, token_for(rt, principal))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/chat/abc?x=1", "/chat/abc?x=1"),
        ("/", "/"),
        (None, None),
        ("", None),
        ("https://evil.example/", None),
        ("//evil.example/", None),
        ("/\\evil.example/", None),
        ("/\t/evil.example/", None),
        ("javascript:alert(1)", None),
        ("chat/abc", None),
    ],
)
def test_next_is_a_path_on_this_site_only(value: str | None, expected: str | None) -> None:
    assert safe_next(value) == expected


async def test_home_sends_each_role_to_its_page(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"
    for role, page in [("customer", "/conversations"), ("agent", "/agent"), ("admin", "/admin")]:
        as_user(client, runtime, await make_user(runtime, role))
        response = await client.get("/")
        assert (response.status_code, response.headers["location"]) == (303, page)
        assert (await client.get(page)).status_code == 200


async def test_logged_out_pages_redirect_to_login_with_the_way_back(
    client: httpx.AsyncClient,
) -> None:
    for path in ["/chat/abc", "/agent", "/admin", "/conversations"]:
        response = await client.get(path, params={"tab": "1"})
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}%3Ftab%3D1"


async def test_pages_are_for_their_roles(client: httpx.AsyncClient, runtime: Runtime) -> None:
    as_user(client, runtime, await make_user(runtime, "customer"))
    assert (await client.get("/agent")).status_code == 403
    assert (await client.get("/admin")).status_code == 403
    as_user(client, runtime, await make_user(runtime, "agent"))
    assert (await client.get("/admin")).status_code == 403
    assert (await client.get("/conversations")).status_code == 303


async def test_stranger_and_missing_get_the_same_not_found_page(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await make_user(runtime, "customer")
    conversation = await make_conversation(runtime, owner)
    as_user(client, runtime, await make_user(runtime, "customer"))
    theirs = await client.get(f"/chat/{conversation.id}")
    missing = await client.get("/chat/0123456789abcdef0123456789abcdef")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text == missing.text


async def test_chat_page_has_a_strict_policy_and_data_that_cannot_break_out(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer = await make_user(runtime, "customer")
    conversation = await make_conversation(runtime, customer)
    body = "</script><script>alert(1)</script><!--"
    async with runtime.uow() as tx:
        await do_send_message(
            tx,
            customer,
            conversation_id=conversation.id,
            body=body,
            client_msg_id=None,
            max_chars=4000,
        )
    as_user(client, runtime, customer)
    response = await client.get(f"/chat/{conversation.id}")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert "<script>alert(1)" not in html
    # Only the page's own module scripts and the one JSON data block.
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts == [
        '<script type="application/json" id="page-data">',
        *[s for s in scripts if s.startswith('<script type="module" src="/static/')],
    ]
    found = PAGE_DATA.search(html)
    assert found is not None
    data = json.loads(found.group(1))
    assert data["history"]["messages"][-1]["body"] == body
    assert data["me"]["id"] == customer.user_id


@pytest.mark.parametrize(
    ("host", "websocket"),
    [
        ("127.0.0.1:8000", "ws://127.0.0.1:8000 wss://127.0.0.1:8000"),
        ("[::1]:8000", "ws://[::1]:8000 wss://[::1]:8000"),
        ("chat.example.com", "ws://chat.example.com wss://chat.example.com"),
    ],
)
def test_the_policy_names_the_pages_own_websocket(host: str, websocket: str) -> None:
    assert f"connect-src 'self' {websocket}" in content_security_policy(host)


@pytest.mark.parametrize("host", ["evil; script-src *", "a b", "x\n", ""])
def test_a_strange_host_header_cannot_loosen_the_policy(host: str) -> None:
    policy = content_security_policy(host)
    assert policy.endswith("connect-src 'self'")
    assert policy.count("script-src") == 1


async def test_login_form_sets_the_cookie_and_returns_to_next(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer = await make_user(runtime, "customer")
    async with runtime.uow(write=False) as tx:
        email = (await get_user(tx.session, customer, customer.user_id or "")).email
    form = {"email": email, "password": "wrong password", "next": "/chat/x"}
    wrong = await client.post("/login", data=form, headers=SAME_ORIGIN)
    assert wrong.status_code == 401 and "Wrong email or password." in wrong.text
    assert COOKIE_NAME not in wrong.cookies
    ok = await client.post("/login", data={**form, "password": PASSWORD}, headers=SAME_ORIGIN)
    assert (ok.status_code, ok.headers["location"]) == (303, "/chat/x")
    assert "httponly" in ok.headers["set-cookie"].lower()
    elsewhere = await client.post(
        "/login",
        data={**form, "password": PASSWORD, "next": "https://evil.example"},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert elsewhere.headers["location"] == "/conversations"


async def test_forms_posted_from_another_site_are_refused(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    as_user(client, runtime, await make_user(runtime, "customer"))
    evil = {"origin": "https://evil.example"}
    assert (await client.post("/logout", headers=evil)).status_code == 403
    assert (await client.post("/login", data={"email": "a@b.c"}, headers=evil)).status_code == 403
    assert (await client.post("/conversations", headers=evil)).status_code == 403
    out = await client.post("/logout", headers={"origin": "http://testserver"})
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert f'{COOKIE_NAME}=""' in out.headers["set-cookie"]


async def test_customer_starts_a_conversation_from_the_form(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    as_user(client, runtime, await make_user(runtime, "customer"))
    response = await client.post("/conversations", data={"subject": "Brakes"}, headers=SAME_ORIGIN)
    assert response.status_code == 303
    chat = await client.get(response.headers["location"])
    assert chat.status_code == 200 and "Brakes" in chat.text


async def test_static_files_are_served_revalidated(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/parlour.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert response.headers["cache-control"] == "no-cache"


async def test_login_page_offers_no_demo_accounts_without_parlour_demo(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert not runtime.settings.demo  # the default: `parlour serve` in production
    await load_demo(runtime)  # accounts that look like the demo's, with its password
    page = (await client.get("/login")).text
    assert "Trying it out?" not in page
    assert DEMO_PASSWORD not in page
    assert "customer@example.com" not in page


async def test_login_page_offers_the_demo_accounts_only_when_they_exist(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.settings.demo = True  # PARLOUR_DEMO=1, as `make run` sets it
    assert "Trying it out?" not in (await client.get("/login")).text
    await load_demo(runtime)
    page = (await client.get("/login", params={"next": "/chat/x"})).text
    assert "Trying it out?" in page
    emails = re.findall(r'name="email" value="([^"]+)"', page)
    assert emails == ["customer@example.com", "agent@example.com", "admin@example.com"]
    form = {"email": "agent@example.com", "password": DEMO_PASSWORD, "next": "/agent"}
    response = await client.post("/login", data=form, headers=SAME_ORIGIN)
    assert (response.status_code, response.headers["location"]) == (303, "/agent")
