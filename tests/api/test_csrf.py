"""CSRF: a write authenticated by the session cookie must come from our own pages.

The check runs before routing for every route, so it is tested once per unsafe operation under
/api/v1 (from the app's own route list: a new endpoint is covered without a row here) and for the
pages' forms; then its rule in detail on `/end`, where a forged request would do harm.
"""

from __future__ import annotations

import httpx
import pytest

from parlour.app import create_app
from parlour.auth.tokens import COOKIE_NAME
from parlour.config import Settings
from parlour.models.conversation import Status
from parlour.runtime import Runtime
from tests.api.support import assert_error, make_api_key, row_counts
from tests.api.test_authorization_matrix import api_endpoints
from tests.factories import auth, make_conversation, make_user, token_for

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
EVIL = "https://evil.example"


def cookie(rt: Runtime, principal: object) -> dict[str, str]:
    return {"Cookie": f"{COOKIE_NAME}={token_for(rt, principal)}"}  # type: ignore[arg-type]


async def status_of(rt: Runtime, conversation_id: str) -> str:
    from parlour.models.conversation import Conversation

    async with rt.uow(write=False) as tx:
        found = await tx.session.get(Conversation, conversation_id)
        assert found is not None
        return str(found.status)


async def test_every_unsafe_api_operation_refuses_a_cross_site_cookie(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    conversation = await make_conversation(runtime, customer, agent=agent)
    before = await row_counts(runtime)
    operations = sorted(
        (method, path)
        for method, path in api_endpoints(create_app(runtime=runtime))
        if method in UNSAFE
    )
    assert ("POST", "/api/v1/conversations/{conversation_id}/end") in operations
    for method, path in operations:
        url = path.replace("{conversation_id}", conversation.id).replace("{user_id}", "x")
        for headers in ({"Origin": EVIL}, {"Origin": "null"}, {}):
            response = await client.request(
                method, url, headers={**cookie(runtime, agent), **headers}, json={}
            )
            assert_error(response, 403, "csrf_rejected")
    assert await row_counts(runtime) == before
    assert await status_of(runtime, conversation.id) == Status.active


async def test_cross_site_end_join_observe_change_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    admin = await make_user(runtime, "admin")
    waiting = await make_conversation(runtime, customer)
    active = await make_conversation(runtime, customer, agent=agent)
    before = await row_counts(runtime)
    attempts = [
        (customer, f"/api/v1/conversations/{active.id}/end"),
        (agent, f"/api/v1/conversations/{waiting.id}/join"),
        (admin, f"/api/v1/conversations/{active.id}/observe"),
    ]
    for who, url in attempts:
        # A form on evil.example, or its fetch(): the browser attaches our cookie.
        for headers in ({"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}, {"Origin": EVIL}):
            response = await client.post(url, headers={**cookie(runtime, who), **headers})
            assert_error(response, 403, "csrf_rejected")
    assert await status_of(runtime, active.id) == Status.active
    assert await status_of(runtime, waiting.id) == Status.waiting
    assert await row_counts(runtime) == before


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://testserver"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        {"Origin": "http://allowed.example"},  # PARLOUR_ALLOWED_ORIGINS
    ],
    ids=["origin", "sec-fetch-site", "both", "allowed-origin"],
)
async def test_a_same_origin_cookie_write_goes_through(
    client: httpx.AsyncClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    active = await make_conversation(runtime, customer, agent=agent)
    response = await client.post(
        f"/api/v1/conversations/{active.id}/end", headers={**cookie(runtime, customer), **headers}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ended"


@pytest.mark.parametrize(
    "origin",
    [
        "https://testserver",  # we are http://testserver: another scheme is another origin
        "http://testserver.evil.example",
        "http://testserver:8080",
    ],
)
async def test_a_look_alike_origin_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, origin: str
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    active = await make_conversation(runtime, customer, agent=agent)
    response = await client.post(
        f"/api/v1/conversations/{active.id}/end",
        headers={**cookie(runtime, customer), "Origin": origin},
    )
    assert_error(response, 403, "csrf_rejected")
    assert await status_of(runtime, active.id) == Status.active


async def test_bearer_and_api_key_writes_are_not_origin_checked(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """A browser never adds these by itself, so they cannot be forged from another site."""
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    key = await make_api_key(runtime)
    for headers in (
        auth(runtime, customer),
        # A Bearer header wins over a cookie sent along with it.
        {**auth(runtime, customer), **cookie(runtime, customer)},
        {"X-API-Key": key},
        {"Authorization": f"Bearer {key}"},
    ):
        active = await make_conversation(runtime, customer, agent=agent)
        for origin in ({"Origin": "null"}, {}):
            response = await client.post(
                "/api/v1/conversations",
                headers={**headers, **origin},
                json={"kind": "support", "customer_id": customer.user_id},
            )
            assert response.status_code == 201, response.text
        response = await client.post(
            f"/api/v1/conversations/{active.id}/end", headers={**headers, "Origin": EVIL}
        )
        assert response.status_code == 200, response.text


async def test_reads_are_never_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    customer = await make_user(runtime, "customer")
    response = await client.get("/api/v1/me", headers={**cookie(runtime, customer), "Origin": EVIL})
    assert response.status_code == 200


async def test_writes_without_a_credential_are_not_csrf_checked(client: httpx.AsyncClient) -> None:
    """Login and guest sign-up from a script carry no cookie: nothing to forge."""
    response = await client.post(
        "/api/v1/auth/login", json={"email": "a@b.example", "password": "x" * 8}
    )
    assert_error(response, 401, "invalid_credentials")


async def test_page_forms_are_checked_with_or_without_a_cookie(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer = await make_user(runtime, "customer")
    before = await row_counts(runtime)
    for form in ("/login", "/logout", "/conversations"):
        for who in (None, customer):
            for headers in ({"Origin": EVIL}, {"Origin": "https://testserver"}, {}):
                sent = {**headers, **(cookie(runtime, who) if who else {})}
                response = await client.post(form, headers=sent, data={"subject": "x"})
                assert response.status_code == 403, (form, who, headers)
                assert "Use the form on this site." in response.text
    assert await row_counts(runtime) == before


class TestBehindAProxy:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        # The test client connects from 127.0.0.1: here, our TLS-terminating proxy.
        return settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]})

    async def test_the_scheme_comes_from_x_forwarded_proto_of_a_trusted_proxy(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        customer = await make_user(runtime, "customer")
        agent = await make_user(runtime, "agent")
        active = await make_conversation(runtime, customer, agent=agent)
        url = f"/api/v1/conversations/{active.id}/end"
        headers = {**cookie(runtime, customer), "X-Forwarded-Proto": "https"}
        plain = await client.post(url, headers={**headers, "Origin": "http://testserver"})
        assert_error(plain, 403, "csrf_rejected")
        ok = await client.post(url, headers={**headers, "Origin": "https://testserver"})
        assert ok.status_code == 200, ok.text


async def test_x_forwarded_proto_from_anyone_else_is_ignored(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    active = await make_conversation(runtime, customer, agent=agent)
    response = await client.post(
        f"/api/v1/conversations/{active.id}/end",
        headers={
            **cookie(runtime, customer),
            "X-Forwarded-Proto": "https",
            "Origin": "https://testserver",
        },
    )
    assert_error(response, 403, "csrf_rejected")
