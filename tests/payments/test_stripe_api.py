"""Checkout creation and refunds against a small local HTTP server that speaks Stripe's API
(a STAND-IN for api.stripe.com: tests/payments/fake_stripe.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from parlour.core.clock import FrozenClock
from parlour.deadlines.sweep import sweep
from parlour.models.conversation import Status
from parlour.runtime import Runtime
from tests.api.support import assert_error, make_member
from tests.factories import auth, make_tenant
from tests.jobs.conftest import eventually
from tests.payments.conftest import SECRET_KEY, completed_session, event, signed
from tests.payments.fake_stripe import FakeStripe
from tests.payments.support import (
    ORIGIN,
    checkout,
    conversations,
    order_by_session,
    stripe_checkout,
)


@pytest.fixture
async def cast(stripe_rt: Runtime) -> dict:
    await make_tenant(stripe_rt)
    return {
        "customer": await make_member(stripe_rt, "customer", name="Cara"),
        "agent": await make_member(stripe_rt, "agent", name="Abe"),
        "admin": await make_member(stripe_rt, "admin", name="Ada"),
    }


async def test_checkout_creates_a_stripe_session_and_a_pending_order(
    stripe_rt: Runtime, http: httpx.AsyncClient, fake_stripe: FakeStripe, cast: dict
) -> None:
    customer = cast["customer"]
    response = await checkout(http, auth(stripe_rt, customer), "video15")
    assert response.status_code == 303
    [request] = fake_stripe.posts("/v1/checkout/sessions")
    sid = response.headers["location"].rsplit("/", 1)[-1]
    assert response.headers["location"] == f"https://checkout.stripe.test/c/pay/{sid}"
    form = request.form
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == "2999"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["line_items[0][price_data][product_data][name]"] == "Live Video"
    assert form["line_items[0][quantity]"] == "1"
    assert form["metadata[tenant]"] == customer.tenant_id
    assert form["metadata[plan]"] == "video15"
    assert form["metadata[customer]"] == customer.user_id
    assert form["metadata[purpose]"] == "session"
    assert form["success_url"] == (
        "http://testserver/checkout/success?session_id={CHECKOUT_SESSION_ID}"
    )
    assert form["cancel_url"] == "http://testserver/plans"
    assert request.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert request.headers["idempotency-key"].startswith("checkout:")
    order = await order_by_session(stripe_rt, sid)
    assert form["client_reference_id"] == order.id == form["metadata[parlour_order]"]
    assert (order.status, order.amount, order.currency, order.kind) == (
        "pending",
        2999,
        "USD",
        "video",
    )
    assert (order.time_limit_minutes, order.after_payment) == (15, "call")


async def test_who_may_not_check_out(
    stripe_rt: Runtime, http: httpx.AsyncClient, fake_stripe: FakeStripe, cast: dict
) -> None:
    assert_error(await checkout(http, {}), 401, "email_required")
    assert_error(await checkout(http, auth(stripe_rt, cast["agent"])), 403, "customers_only")
    assert_error(await checkout(http, auth(stripe_rt, cast["admin"])), 403, "customers_only")
    assert_error(await checkout(http, auth(stripe_rt, cast["customer"]), "nope"), 404)
    assert_error(await checkout(http, {"Authorization": "Bearer forged"}), 401, "email_required")
    assert fake_stripe.posts("/v1/checkout/sessions") == []


async def test_a_visitor_with_an_email_becomes_a_signed_in_guest(
    stripe_rt: Runtime, http: httpx.AsyncClient, fake_stripe: FakeStripe, cast: dict
) -> None:
    # The plans page's form signs the visitor up (a GET never does: tests/payments/
    # test_checkout_hardening.py).
    response = await http.post(
        "/checkout", data={"plan": "chat10", "email": "new@example.com"}, headers=ORIGIN
    )
    assert response.status_code == 303, response.text
    assert response.cookies.get("parlour_token")
    [request] = fake_stripe.posts("/v1/checkout/sessions")
    assert request.form["customer_email"] == "new@example.com"
    http.cookies.clear()


async def test_a_provider_failure_records_nothing(
    stripe_rt: Runtime, http: httpx.AsyncClient, fake_stripe: FakeStripe, cast: dict
) -> None:
    stripe_rt.settings.stripe_api_base = "http://127.0.0.1:9"  # nothing listens there
    response = await checkout(http, auth(stripe_rt, cast["customer"]))
    assert_error(response, 503, "payment_provider_unavailable")
    assert await conversations(stripe_rt) == []


async def pay(http: httpx.AsyncClient, session: dict, pi: str = "pi_test_1") -> None:
    payload = event("checkout.session.completed", completed_session(session, payment_intent=pi))
    response = await http.post("/api/v1/webhooks/stripe", content=payload, headers=signed(payload))
    assert response.json()["outcome"] == "fulfilled"


async def test_an_admin_refund_goes_through_stripe_with_an_idempotency_key(
    stripe_rt: Runtime, http: httpx.AsyncClient, fake_stripe: FakeStripe, cast: dict
) -> None:
    session = await stripe_checkout(http, fake_stripe, auth(stripe_rt, cast["customer"]))
    await pay(http, session)
    order = await order_by_session(stripe_rt, session["id"])
    admin = auth(stripe_rt, cast["admin"])
    url = f"/api/v1/admin/orders/{order.id}/refund"
    assert_error(await http.post(url, headers=auth(stripe_rt, cast["agent"])), 403)
    assert_error(await http.post(url, headers=auth(stripe_rt, cast["customer"])), 403)
    response = await http.post(url, headers=admin)
    assert response.status_code == 202, response.text

    async def refunded() -> bool:
        return (await order_by_session(stripe_rt, session["id"])).status == "refunded"

    await eventually(refunded, what="the refund job")
    [request] = fake_stripe.posts("/v1/refunds")
    assert request.form["payment_intent"] == "pi_test_1"
    assert request.headers["idempotency-key"] == f"{order.tenant_id}:payments.refund:{order.id}"
    order = await order_by_session(stripe_rt, session["id"])
    assert order.refund_id == "re_fake0002"
    [conversation] = await conversations(stripe_rt)
    assert (conversation.status, conversation.end_reason) == (Status.ended, "refunded")
    # Refunding again: 409, and Stripe is not asked twice.
    assert_error(await http.post(url, headers=admin), 409, "not_refundable")
    assert len(fake_stripe.posts("/v1/refunds")) == 1


async def test_no_expert_in_time_refunds_through_stripe_and_ends_the_session(
    stripe_rt: Runtime,
    http: httpx.AsyncClient,
    fake_stripe: FakeStripe,
    cast: dict,
    clock: FrozenClock,
) -> None:
    session = await stripe_checkout(http, fake_stripe, auth(stripe_rt, cast["customer"]))
    await pay(http, session)
    clock.advance(minutes=14, seconds=59)
    assert await sweep(stripe_rt.uow, stripe_rt.deadlines, batch_size=10) == []
    clock.advance(seconds=2)
    [acted] = await sweep(stripe_rt.uow, stripe_rt.deadlines, batch_size=10)
    assert (acted.deadline, acted.outcome) == ("payments.no_expert", "no_expert")
    [conversation] = await conversations(stripe_rt)
    assert (conversation.status, conversation.end_reason) == (Status.ended, "no_expert")

    async def refunded() -> bool:
        return (await order_by_session(stripe_rt, session["id"])).status == "refunded"

    await eventually(refunded, what="the refund job")
    [request] = fake_stripe.posts("/v1/refunds")
    assert request.form["payment_intent"] == "pi_test_1"
    order = await order_by_session(stripe_rt, session["id"])
    assert request.headers["idempotency-key"] == f"{order.tenant_id}:payments.refund:{order.id}"
    assert order.refund_reason == "no_expert"
    # A second sweep does nothing more.
    assert await sweep(stripe_rt.uow, stripe_rt.deadlines, batch_size=10) == []
