"""paidbook: a booking paid through checkout (the tenant's `appointment_plan`), on both
databases with the frozen clock: the hold keeps the slot, paying schedules it, an unpaid hold
is released after 30 minutes, and a payment arriving after that is refunded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from parlour.config import Settings
from parlour.core.clock import FrozenClock
from parlour.models.conversation import Status
from parlour.payments import plans
from parlour.runtime import Runtime
from tests.api.support import assert_error, set_tenant_settings
from tests.appointments.support import Cast, jobs_of, load, make_cast, run_sweep
from tests.conftest import running
from tests.factories import auth
from tests.http_client import app_client
from tests.payments.conftest import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    completed_session,
    event,
    fake_stripe,  # noqa: F401 (a fixture)
    signed,
)
from tests.payments.fake_stripe import FakeStripe
from tests.payments.support import ORIGIN, order_by_session

BOOK = "/api/v1/appointments/book"
SLOT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # Monday 11:00 in Berlin: published


@pytest.fixture
async def paid(settings: Settings, clock: FrozenClock) -> AsyncIterator[Runtime]:
    """The frozen runtime with the built-in test provider (no Stripe key)."""
    settings.sweep_interval_seconds = 0
    settings.job_worker = False
    settings.payments_test_provider = True
    async with running(settings, clock) as rt:
        yield rt


@pytest.fixture
async def http(paid: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(paid) as client:
        yield client


@pytest.fixture
async def cast(paid: Runtime) -> Cast:
    cast = await make_cast(paid)
    async with paid.uow() as tx:
        await plans.do_seed_default_plans(tx, cast.customer.tenant_id)
    await set_tenant_settings(paid, None, appointment_plan="diagnostic")
    return cast


async def book(http: httpx.AsyncClient, rt: Runtime, cast: Cast, who: Any = None) -> httpx.Response:
    return await http.post(
        BOOK,
        json={
            "expert_id": cast.expert.user_id,
            "starts_at": SLOT.isoformat(),
            "duration_minutes": 60,
        },
        headers=auth(rt, who or cast.customer),
    )


async def pay(http: httpx.AsyncClient, rt: Runtime, cast: Cast, checkout_url: str) -> str:
    """The test provider's Pay button (the webhook's own completion); the session id."""
    response = await http.post(checkout_url, headers={**auth(rt, cast.customer), **ORIGIN})
    assert response.status_code == 303, response.text
    return checkout_url.rsplit("/", 1)[-1]


async def test_a_paid_booking_holds_the_slot_until_paid(
    paid: Runtime, http: httpx.AsyncClient, cast: Cast
) -> None:
    response = await book(http, paid, cast)
    assert response.status_code == 201, response.text
    held = response.json()
    assert held["status"] == "pending_payment"
    assert held["checkout_url"].startswith("/checkout/test/cs_parlour_test_")
    # The slot is held: nobody else books it, and it is not offered.
    assert_error(await book(http, paid, cast, cast.other_customer), 409, "slot_taken")
    assert await jobs_of(paid, "appointments.remind") == []
    sid = await pay(http, paid, cast, held["checkout_url"])
    order = await order_by_session(paid, sid)
    assert (order.status, order.purpose, order.conversation_id) == (
        "paid",
        "appointment",
        held["conversation_id"],
    )
    appointment, chat = await load(paid, held["id"])
    assert appointment.status == "scheduled" and chat.status == Status.active
    assert len(await jobs_of(paid, "appointments.remind")) == 1
    # Paying again (a repeated delivery) changes nothing.
    await pay(http, paid, cast, held["checkout_url"])
    assert len(await jobs_of(paid, "appointments.remind")) == 1
    assert await jobs_of(paid, "payments.refund") == []


async def test_an_unpaid_hold_is_released_after_30_minutes_and_a_late_payment_refunded(
    paid: Runtime, http: httpx.AsyncClient, cast: Cast, clock: FrozenClock
) -> None:
    held = (await book(http, paid, cast)).json()
    clock.advance(minutes=29)
    assert ("appointment.payment_hold", "released") not in await run_sweep(paid)
    assert (await load(paid, held["id"]))[0].status == "pending_payment"
    clock.advance(minutes=1)
    assert ("appointment.payment_hold", "released") in await run_sweep(paid)
    appointment, chat = await load(paid, held["id"])
    assert appointment.status == "cancelled" and chat.status == Status.ended
    # The slot is free again: another customer books it.
    again = await book(http, paid, cast, cast.other_customer)
    assert again.status_code == 201 and again.json()["status"] == "pending_payment"
    # The first customer pays after all: the money goes back, the slot stays the other's.
    sid = await pay(http, paid, cast, held["checkout_url"])
    order = await order_by_session(paid, sid)
    assert order.status == "paid" and order.refund_reason == "appointment_released"
    assert [j.payload["order_id"] for j in await jobs_of(paid, "payments.refund")] == [order.id]
    assert (await load(paid, held["id"]))[0].status == "cancelled"


async def test_a_cancelled_hold_is_upcoming_until_then_and_its_payment_refunded(
    paid: Runtime, http: httpx.AsyncClient, cast: Cast
) -> None:
    held = (await book(http, paid, cast)).json()
    headers = auth(paid, cast.customer)
    upcoming = await http.get("/api/v1/appointments?view=upcoming", headers=headers)
    assert [a["id"] for a in upcoming.json()["appointments"]] == [held["id"]]
    cancelled = await http.post(
        f"/api/v1/appointments/{held['id']}/cancel",
        json={"reason": "changed my mind"},
        headers=headers,
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    history = await http.get("/api/v1/appointments?view=history", headers=headers)
    assert [a["id"] for a in history.json()["appointments"]] == [held["id"]]
    sid = await pay(http, paid, cast, held["checkout_url"])
    order = await order_by_session(paid, sid)
    assert order.refund_reason == "appointment_released"
    assert len(await jobs_of(paid, "payments.refund")) == 1


async def test_without_a_plan_booking_is_free(
    paid: Runtime, http: httpx.AsyncClient, cast: Cast
) -> None:
    await set_tenant_settings(paid, None, appointment_plan=None)
    response = await book(http, paid, cast)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "scheduled" and response.json()["checkout_url"] is None


@pytest.fixture
async def stripe_paid(
    settings: Settings,
    clock: FrozenClock,
    fake_stripe: FakeStripe,  # noqa: F811
) -> AsyncIterator[Runtime]:
    """The frozen runtime whose tenant sells through (the stand-in) Stripe."""
    settings.sweep_interval_seconds = 0
    settings.job_worker = False
    settings.stripe_secret_key = SECRET_KEY
    settings.stripe_webhook_secret = WEBHOOK_SECRET
    settings.stripe_api_base = fake_stripe.url
    async with running(settings, clock) as rt:
        yield rt


async def test_a_signed_webhook_pays_a_stripe_booking(
    stripe_paid: Runtime,
    fake_stripe: FakeStripe,  # noqa: F811
) -> None:
    rt = stripe_paid
    cast = await make_cast(rt)
    async with rt.uow() as tx:
        await plans.do_seed_default_plans(tx, cast.customer.tenant_id)
    await set_tenant_settings(rt, None, appointment_plan="diagnostic")
    async with app_client(rt) as client:
        response = await book(client, rt, cast)
        assert response.status_code == 201, response.text
        held = response.json()
        assert held["status"] == "pending_payment"
        assert held["checkout_url"].startswith("https://checkout.stripe.test/")
        [session] = fake_stripe.sessions.values()
        assert session["metadata"]["purpose"] == "appointment"
        assert session["metadata"]["appointment"] == held["id"]
        payload = event("checkout.session.completed", completed_session(session))
        delivered = await client.post(
            "/api/v1/webhooks/stripe", content=payload, headers=signed(payload)
        )
        assert delivered.status_code == 200, delivered.text
    appointment, chat = await load(rt, held["id"])
    assert appointment.status == "scheduled" and chat.status == Status.active
    order = await order_by_session(rt, session["id"])
    assert (order.status, order.purpose) == ("paid", "appointment")
