"""Limits per account and per address, client addresses from trusted proxies only, and failures
that do not tell tenants apart. The limiter's clock is frozen (a minute boundary half way
through would reset a count)."""

from __future__ import annotations

import httpx
import pytest

from parlour.config import Settings
from parlour.core.clock import FrozenClock
from parlour.core.proxies import TrustedProxies
from parlour.core.ratelimit import RateLimiter
from parlour.runtime import Runtime
from tests.api.support import assert_error, row_counts
from tests.factories import PASSWORD, auth, make_tenant, make_user

LOGIN = "/api/v1/auth/login"
SAME_ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture(autouse=True)
def frozen_window(runtime: Runtime) -> None:
    runtime.limiter = RateLimiter(FrozenClock())


async def email_of(rt: Runtime, principal: object) -> str:
    from parlour.auth.service import get_user

    async with rt.uow(write=False) as tx:
        user = await get_user(tx.session, principal, principal.user_id)  # type: ignore[arg-type, attr-defined]
        assert user.email
        return user.email


def test_x_forwarded_for_is_walked_from_the_right_through_trusted_hops_only() -> None:
    trusted = TrustedProxies(["127.0.0.1", "10.0.0.0/8"])
    assert trusted.client_behind("127.0.0.1", "203.0.113.9") == "203.0.113.9"
    # The client wrote the left part itself; our proxies appended the rest.
    assert trusted.client_behind("127.0.0.1", "1.2.3.4, 203.0.113.9, 10.0.0.5") == "203.0.113.9"
    assert trusted.client_behind("127.0.0.1", "garbage, 10.0.0.5") == "10.0.0.5"
    assert trusted.client_behind("198.51.100.1", "203.0.113.9") == "198.51.100.1"
    assert TrustedProxies([]).client_behind("127.0.0.1", "203.0.113.9") == "127.0.0.1"


class TestBehindTrustedProxy:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]})

    async def test_one_account_is_limited_from_any_number_of_addresses(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        victim = await email_of(runtime, await make_user(runtime, "admin"))
        limit = runtime.settings.login_account_rate_per_minute
        assert limit == 20  # the default
        for i in range(limit):
            response = await client.post(
                LOGIN,
                json={"email": victim, "password": f"guess-{i:04d}"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            )
            assert_error(response, 401, "invalid_credentials")
        # The right password, from yet another address, with the email spelt differently.
        blocked = await client.post(
            LOGIN,
            json={"email": f"  {victim.upper()} ", "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.77"},
        )
        assert_error(blocked, 429, "rate_limited")
        # Another account, from an address that guessed before, is not affected.
        other = await email_of(runtime, await make_user(runtime, "agent"))
        ok = await client.post(
            LOGIN,
            json={"email": other, "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.1"},
        )
        assert ok.status_code == 200, ok.text

    async def test_only_failures_count_against_an_account(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        # Found by review: counting successes let anyone who knew an admin's password habits
        # (or the admin's own scripts) lock the account; its owner signing in never does now.
        owner = await email_of(runtime, await make_user(runtime, "admin"))
        limit = runtime.settings.login_account_rate_per_minute
        for i in range(limit + 5):
            response = await client.post(
                LOGIN,
                json={"email": owner, "password": PASSWORD},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            )
            assert response.status_code == 200, response.text
            client.cookies.clear()  # a script sends no cookie (the CSRF guard would refuse it)
        wrong = await client.post(
            LOGIN,
            json={"email": owner, "password": "not-it-at-all"},
            headers={"X-Forwarded-For": "198.51.100.1"},
        )
        assert_error(wrong, 401, "invalid_credentials")

    async def test_the_login_page_shares_the_account_limit(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        victim = await email_of(runtime, await make_user(runtime, "customer"))
        for i in range(runtime.settings.login_account_rate_per_minute):
            response = await client.post(
                LOGIN if i % 2 else "/login",
                **(
                    {"json": {"email": victim, "password": "wrong-password"}}
                    if i % 2
                    else {"data": {"email": victim, "password": "wrong-password"}}
                ),  # type: ignore[arg-type]
                headers={**SAME_ORIGIN, "X-Forwarded-For": f"203.0.113.{i}"},
            )
            assert response.status_code == 401, response.text
        page = await client.post(
            "/login",
            data={"email": victim, "password": PASSWORD},
            headers={**SAME_ORIGIN, "X-Forwarded-For": "198.51.100.5"},
        )
        assert page.status_code == 429 and "Too many requests" in page.text

    async def test_addresses_from_a_trusted_proxy_count_separately(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        limit = runtime.settings.login_rate_per_minute
        for i in range(limit + 5):
            response = await client.post(
                LOGIN,
                json={"email": f"nobody{i}@example.com", "password": "wrong-password"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            )
            assert_error(response, 401, "invalid_credentials")


async def test_x_forwarded_for_from_an_untrusted_peer_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Without PARLOUR_TRUSTED_PROXIES, a loopback caller is a caller like any other."""
    assert runtime.settings.trusted_proxies == []
    limit = runtime.settings.login_rate_per_minute
    for i in range(limit):
        response = await client.post(
            LOGIN,
            json={"email": f"nobody{i}@example.com", "password": "wrong-password"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        )
        assert_error(response, 401, "invalid_credentials")
    limited = await client.post(
        LOGIN,
        json={"email": "someone-new@example.com", "password": "wrong-password"},
        headers={"X-Forwarded-For": "198.51.100.1"},
    )
    assert_error(limited, 429, "rate_limited")


class TestConversationCreation:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(
            update={"conversation_rate_per_minute": 2, "conversation_address_rate_per_minute": 3}
        )

    async def test_limited_per_customer_and_per_address(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        first, second = await make_user(runtime, "customer"), await make_user(runtime, "customer")
        body = {"kind": "support"}
        url = "/api/v1/conversations"
        for _ in range(2):
            assert (
                await client.post(url, json=body, headers=auth(runtime, first))
            ).status_code == 201
        before = await row_counts(runtime)
        assert_error(
            await client.post(url, json=body, headers=auth(runtime, first)), 429, "rate_limited"
        )
        assert await row_counts(runtime) == before
        # Another customer has its own budget, but the address's is nearly spent.
        assert (await client.post(url, json=body, headers=auth(runtime, second))).status_code == 201
        assert_error(
            await client.post(url, json=body, headers=auth(runtime, second)), 429, "rate_limited"
        )

    async def test_guests_share_the_address_budget_on_the_page_too(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        await make_tenant(runtime)
        statuses = []
        for _ in range(4):
            guest = await client.post("/api/v1/auth/guest", json={})
            assert guest.status_code == 201
            # The guest's cookie, as its browser would send it with the page's form.
            response = await client.post(
                "/conversations", data={"subject": "Hi"}, headers=SAME_ORIGIN
            )
            statuses.append(response.status_code)
            client.cookies.clear()
        assert statuses == [303, 303, 303, 429]

    async def test_staff_and_service_keys_are_not_limited_here(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        customer = await make_user(runtime, "customer")
        agent = await make_user(runtime, "agent")
        body = {"kind": "support", "customer_id": customer.user_id}
        for _ in range(5):
            response = await client.post(
                "/api/v1/conversations", json=body, headers=auth(runtime, agent)
            )
            assert response.status_code == 201, response.text


async def test_the_login_page_does_not_tell_unknown_tenants_apart(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    email = await email_of(runtime, await make_user(runtime, "customer"))
    answers = []
    for tenant in ("", "no-such-tenant"):
        response = await client.post(
            "/login",
            data={"email": email, "password": "wrong-password", "tenant": tenant},
            headers=SAME_ORIGIN,
        )
        answers.append(response.status_code)
        assert "Wrong email or password." in response.text
        assert "unknown tenant" not in response.text.lower()
    assert answers == [401, 401]


async def test_guest_sign_up_for_an_unknown_tenant_names_no_tenant(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_tenant(runtime)
    before = await row_counts(runtime)
    response = await client.post("/api/v1/auth/guest", json={"tenant": "no-such-tenant"})
    error = assert_error(response, 400, "guest_not_available")
    assert "tenant" not in error["message"].lower()
    assert "set-cookie" not in response.headers
    assert await row_counts(runtime) == before
