"""The built-in test provider (a tenant without a Stripe key): the checkout goes to a local
"test payment" page whose Pay button runs the webhook's completion; only the order's own
customer may pay, only by a same-origin form, only while the tenant has no key."""

from __future__ import annotations

import httpx
import pytest

from parlour.auth.tokens import COOKIE_NAME
from parlour.runtime import Runtime
from tests.api.support import assert_error, make_member
from tests.factories import auth, make_tenant
from tests.payments.support import ORIGIN, checkout, conversations, order_by_session


@pytest.fixture
async def cast(offline_rt: Runtime) -> dict:
    await make_tenant(offline_rt)
    return {
        "customer": await make_member(offline_rt, "customer", name="Cara"),
        "other": await make_member(offline_rt, "customer", name="Otto"),
    }


async def start(http: httpx.AsyncClient, rt: Runtime, customer, plan: str = "chat10") -> str:
    response = await checkout(http, auth(rt, customer), plan)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/checkout/test/cs_parlour_test_")
    return location.rsplit("/", 1)[-1]


async def test_pay_on_the_test_page_opens_the_conversation(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    sid = await start(offline_http, offline_rt, cast["customer"])
    headers = auth(offline_rt, cast["customer"])
    page = await offline_http.get(f"/checkout/test/{sid}", headers=headers)
    assert page.status_code == 200 and "Test payment" in page.text and "no money moves" in page.text
    state = await offline_http.get(f"/api/v1/orders/by-checkout/{sid}", headers=headers)
    assert state.json()["destination"] is None and state.json()["order"]["status"] == "pending"
    paid = await offline_http.post(f"/checkout/test/{sid}", headers={**headers, **ORIGIN})
    assert paid.status_code == 303
    assert paid.headers["location"] == f"/checkout/success?session_id={sid}"
    [conversation] = await conversations(offline_rt)
    state = await offline_http.get(f"/api/v1/orders/by-checkout/{sid}", headers=headers)
    assert state.json()["destination"] == f"/chat/{conversation.id}"
    order = await order_by_session(offline_rt, sid)
    assert (order.status, order.provider, order.time_limit_minutes) == ("paid", "test", 10)
    # Paying again changes nothing; the page now forwards to the success page.
    again = await offline_http.post(f"/checkout/test/{sid}", headers={**headers, **ORIGIN})
    assert again.status_code == 303
    assert len(await conversations(offline_rt)) == 1
    success = await offline_http.get(f"/checkout/success?session_id={sid}", headers=headers)
    assert success.status_code == 200 and sid in success.text


@pytest.mark.parametrize(("plan", "where"), [("video15", "/call/"), ("diagnostic", "/thank-you")])
async def test_destinations_follow_the_plan(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict, plan: str, where: str
) -> None:
    sid = await start(offline_http, offline_rt, cast["customer"], plan)
    headers = auth(offline_rt, cast["customer"])
    await offline_http.post(f"/checkout/test/{sid}", headers={**headers, **ORIGIN})
    state = (await offline_http.get(f"/api/v1/orders/by-checkout/{sid}", headers=headers)).json()
    assert state["destination"].startswith(where)
    [conversation] = await conversations(offline_rt)
    assert conversation.kind == {"video15": "video", "diagnostic": "diagnostic"}[plan]


async def test_only_the_orders_customer_may_see_or_pay_it(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    sid = await start(offline_http, offline_rt, cast["customer"])
    other = auth(offline_rt, cast["other"])
    assert (await offline_http.get(f"/checkout/test/{sid}", headers=other)).status_code == 404
    paid = await offline_http.post(f"/checkout/test/{sid}", headers={**other, **ORIGIN})
    assert paid.status_code == 404
    assert_error(
        await offline_http.get(f"/api/v1/orders/by-checkout/{sid}", headers=other),
        404,
        "order_not_found",
    )
    anonymous = await offline_http.post(f"/checkout/test/{sid}", headers=ORIGIN)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert_error(await offline_http.get(f"/api/v1/orders/by-checkout/{sid}"), 401)
    assert (await order_by_session(offline_rt, sid)).status == "pending"
    assert await conversations(offline_rt) == []


async def test_a_cross_site_pay_is_refused(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    sid = await start(offline_http, offline_rt, cast["customer"])
    token = auth(offline_rt, cast["customer"])["Authorization"].split()[1]
    offline_http.cookies.set(COOKIE_NAME, token)
    response = await offline_http.post(
        f"/checkout/test/{sid}", headers={"Origin": "https://evil.example"}
    )
    offline_http.cookies.clear()
    assert response.status_code == 403
    assert (await order_by_session(offline_rt, sid)).status == "pending"


async def test_no_test_payment_once_the_tenant_has_a_stripe_key(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    sid = await start(offline_http, offline_rt, cast["customer"])
    offline_rt.settings.stripe_secret_key = "sk_test_now_configured"
    headers = auth(offline_rt, cast["customer"])
    assert (await offline_http.get(f"/checkout/test/{sid}", headers=headers)).status_code == 404
    paid = await offline_http.post(f"/checkout/test/{sid}", headers={**headers, **ORIGIN})
    assert paid.status_code == 404
    assert (await order_by_session(offline_rt, sid)).status == "pending"


async def test_a_visitor_buys_as_a_guest_from_the_plans_page(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    page = await offline_http.get("/plans")
    assert page.status_code == 200
    for name in ("Quick Chat", "Live Video", "Diagnostic Session", "$9.99", "$29.99", "$49.99"):
        assert name in page.text
    refused = await offline_http.post("/checkout", data={"plan": "chat10"}, headers=ORIGIN)
    assert refused.status_code == 401
    response = await offline_http.post(
        "/checkout", data={"plan": "chat10", "email": "vis@example.com"}, headers=ORIGIN
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/checkout/test/")
    assert COOKIE_NAME in response.cookies
    sid = response.headers["location"].rsplit("/", 1)[-1]
    # The cookie signs the new guest in: it may pay its own order.
    paid = await offline_http.post(f"/checkout/test/{sid}", headers=ORIGIN)
    assert paid.status_code == 303
    order = await order_by_session(offline_rt, sid)
    assert (order.status, order.customer_email) == ("paid", "vis@example.com")
    offline_http.cookies.clear()
