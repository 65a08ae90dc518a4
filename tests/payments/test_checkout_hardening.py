"""Checkout hardening, on SQLite and PostgreSQL: the test provider only where it is turned on,
no guest sign-up or cross-site checkout by GET, checkouts rate limited, NUL bytes refused as
bad input, and Stripe's error text kept from visitors."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import func, select

from parlour.auth.tokens import COOKIE_NAME
from parlour.models.user import User
from parlour.runtime import Runtime
from tests.api.support import assert_error, make_member
from tests.factories import auth, make_tenant
from tests.payments.fake_stripe import FakeStripe
from tests.payments.support import ORIGIN, checkout, conversations, order_by_session, orders


@pytest.fixture
async def cast(offline_rt: Runtime) -> dict:
    await make_tenant(offline_rt)
    return {
        "customer": await make_member(offline_rt, "customer", name="Cara"),
        "other": await make_member(offline_rt, "customer", name="Otto"),
    }


async def user_count(rt: Runtime) -> int:
    async with rt.uow(write=False) as tx:
        return int(await tx.session.scalar(select(func.count()).select_from(User)) or 0)


def cookie_of(rt: Runtime, principal: object) -> str:
    return auth(rt, principal)["Authorization"].split()[1]  # type: ignore[arg-type]


# --- the test provider only where it is on ----------------------------------------------------


async def test_without_keys_and_the_test_provider_off_nothing_is_sold(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    offline_rt.settings.payments_test_provider = False
    assert not offline_rt.settings.demo
    users = await user_count(offline_rt)
    headers = auth(offline_rt, cast["customer"])
    assert_error(await checkout(offline_http, headers), 503, "payments_not_configured")
    # The plans page's guest sign-up neither creates the guest nor signs it in.
    page = await offline_http.post(
        "/checkout", data={"plan": "chat10", "email": "vis@example.com"}, headers=ORIGIN
    )
    assert page.status_code == 503 and COOKIE_NAME not in page.cookies
    assert await orders(offline_rt) == []
    assert await user_count(offline_rt) == users


async def test_an_order_from_before_cannot_be_paid_once_the_provider_is_off(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    headers = auth(offline_rt, cast["customer"])
    started = await checkout(offline_http, headers)
    assert started.status_code == 303
    sid = started.headers["location"].rsplit("/", 1)[-1]
    offline_rt.settings.payments_test_provider = False
    page = await offline_http.get(f"/checkout/test/{sid}", headers=headers)
    assert page.status_code == 503 and "Payments are not set up" in page.text
    paid = await offline_http.post(f"/checkout/test/{sid}", headers={**headers, **ORIGIN})
    assert paid.status_code == 503
    assert (await order_by_session(offline_rt, sid)).status == "pending"
    assert await conversations(offline_rt) == []


@pytest.mark.parametrize("switch", ["payments_test_provider", "demo"])
async def test_the_setting_or_the_demo_turns_the_test_provider_on(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict, switch: str
) -> None:
    offline_rt.settings.payments_test_provider = False
    setattr(offline_rt.settings, switch, True)
    headers = auth(offline_rt, cast["customer"])
    started = await checkout(offline_http, headers)
    assert started.status_code == 303
    sid = started.headers["location"].rsplit("/", 1)[-1]
    paid = await offline_http.post(f"/checkout/test/{sid}", headers={**headers, **ORIGIN})
    assert paid.status_code == 303
    assert (await order_by_session(offline_rt, sid)).status == "paid"


async def test_a_tenant_without_keys_sells_nothing_beside_one_with_keys(
    stripe_rt: Runtime, http: httpx.AsyncClient, fake_stripe: FakeStripe
) -> None:
    # The default tenant has the server's Stripe keys; another tenant has none of its own.
    await make_tenant(stripe_rt)
    await make_tenant(stripe_rt, "elsewhere")
    theirs = await make_member(stripe_rt, "customer", name="Fin", tenant="elsewhere")
    assert_error(await checkout(http, auth(stripe_rt, theirs)), 503, "payments_not_configured")
    assert await orders(stripe_rt) == []
    assert fake_stripe.posts("/v1/checkout/sessions") == []


# --- GET /api/v1/checkout: no sign-up, no cross-site, rate limited ----------------------------


async def test_a_get_never_signs_a_visitor_up(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    users = await user_count(offline_rt)
    response = await checkout(offline_http, {}, email="vis@example.com")
    assert_error(response, 401, "login_required")
    assert COOKIE_NAME not in response.cookies
    assert await user_count(offline_rt) == users
    assert await orders(offline_rt) == []


async def test_a_cross_site_get_riding_on_the_cookie_is_refused(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    offline_http.cookies.set(COOKIE_NAME, cookie_of(offline_rt, cast["customer"]))
    try:
        refused = await checkout(offline_http, {"Sec-Fetch-Site": "cross-site"})
        assert_error(refused, 403, "csrf_rejected")
        assert await orders(offline_rt) == []
        # A link on our own page (or a typed address) goes through.
        for site in ("same-origin", "none"):
            ok = await checkout(offline_http, {"Sec-Fetch-Site": site})
            assert ok.status_code == 303, ok.text
    finally:
        offline_http.cookies.clear()
    # The access token is not sent by a browser on its own: not checked.
    bearer = {**auth(offline_rt, cast["customer"]), "Sec-Fetch-Site": "cross-site"}
    assert (await checkout(offline_http, bearer)).status_code == 303
    assert len(await orders(offline_rt)) == 3


async def test_checkouts_are_rate_limited_per_user(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    offline_rt.settings.checkout_rate_per_minute = 2
    headers = auth(offline_rt, cast["customer"])
    for _ in range(2):
        assert (await checkout(offline_http, headers)).status_code == 303
    assert_error(await checkout(offline_http, headers), 429, "rate_limited")
    assert len(await orders(offline_rt)) == 2
    # Another customer has its own allowance.
    assert (await checkout(offline_http, auth(offline_rt, cast["other"]))).status_code == 303


async def test_checkouts_are_rate_limited_per_address(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    offline_rt.settings.checkout_address_rate_per_minute = 2
    assert (await checkout(offline_http, auth(offline_rt, cast["customer"]))).status_code == 303
    assert (await checkout(offline_http, auth(offline_rt, cast["other"]))).status_code == 303
    assert_error(await checkout(offline_http, auth(offline_rt, cast["other"])), 429, "rate_limited")
    page = await offline_http.post(
        "/checkout", data={"plan": "chat10", "email": "vis@example.com"}, headers=ORIGIN
    )
    assert page.status_code == 429
    assert len(await orders(offline_rt)) == 2


# --- NUL bytes and other bad input ------------------------------------------------------------


async def test_a_nul_byte_is_bad_input_everywhere_on_the_pages(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    headers = auth(offline_rt, cast["customer"])
    for path in (
        "/checkout/test/cs_parlour_test_x%00",
        "/checkout/success?session_id=cs_x%00",
        "/plans?tenant=x%00",
    ):
        response = await offline_http.get(path, headers=headers)
        assert response.status_code == 422, (path, response.text)
    paid = await offline_http.post(
        "/checkout/test/cs_parlour_test_x%00", headers={**headers, **ORIGIN}
    )
    assert paid.status_code == 422
    for field in ("plan", "tenant", "extend", "email"):
        data = {"plan": "chat10", field: "x\x00y"}
        form = await offline_http.post("/checkout", data=data, headers={**headers, **ORIGIN})
        assert form.status_code == 422, (field, form.text)
    assert await orders(offline_rt) == []


# --- Stripe's words stay in the log -----------------------------------------------------------


async def test_stripes_error_text_is_logged_not_shown(
    stripe_rt: Runtime,
    http: httpx.AsyncClient,
    fake_stripe: FakeStripe,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await make_tenant(stripe_rt)
    customer = await make_member(stripe_rt, "customer", name="Cara")
    detail = "No such destination: acct_1SECRETaccount (key sk_test_parlour...key)"
    fake_stripe.checkout_error = (
        400,
        {"error": {"type": "invalid_request_error", "message": detail}},
    )
    with caplog.at_level(logging.ERROR, logger="parlour.payments.provider"):
        response = await checkout(http, auth(stripe_rt, customer))
    body = assert_error(response, 503, "payment_provider_unavailable")
    assert "acct_1SECRET" not in response.text and "sk_test" not in response.text
    assert body["message"] == "The payment provider could not be reached. Try again."
    assert "acct_1SECRETaccount" in caplog.text
    assert await orders(stripe_rt) == []
