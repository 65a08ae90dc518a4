"""The Stripe webhook through the real endpoint, signed exactly as Stripe signs, on SQLite and
PostgreSQL: valid, missing, forged, stale, replayed, concurrent, reordered deliveries."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from parlour.models.conversation import Status
from parlour.runtime import Runtime
from tests.api.support import assert_error, make_member
from tests.factories import auth, make_tenant
from tests.payments.conftest import completed_session, event, signed
from tests.payments.fake_stripe import FakeStripe
from tests.payments.support import (
    conversations,
    event_count,
    order_by_session,
    participants,
    stripe_checkout,
)

URL = "/api/v1/webhooks/stripe"


@pytest.fixture
async def session(stripe_rt: Runtime, http: httpx.AsyncClient, fake_stripe: FakeStripe) -> dict:
    await make_tenant(stripe_rt)
    customer = await make_member(stripe_rt, "customer", name="Cara")
    return await stripe_checkout(http, fake_stripe, auth(stripe_rt, customer))


async def deliver(http: httpx.AsyncClient, payload: str, **sign: object) -> httpx.Response:
    return await http.post(URL, content=payload, headers=signed(payload, **sign))  # type: ignore[arg-type]


async def test_a_paid_checkout_opens_one_waiting_conversation(
    stripe_rt: Runtime, http: httpx.AsyncClient, session: dict
) -> None:
    response = await deliver(http, event("checkout.session.completed", completed_session(session)))
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "fulfilled"
    order = await order_by_session(stripe_rt, session["id"])
    assert order.status == "paid" and order.payment_intent_id == "pi_test_1"
    [conversation] = await conversations(stripe_rt)
    assert order.conversation_id == conversation.id
    assert (conversation.kind, conversation.status) == ("consultation", Status.waiting)
    assert conversation.subject == "Quick Chat"
    assert conversation.customer_id == order.customer_id
    [part] = await participants(stripe_rt, conversation.id)
    assert (part.user_id, part.role) == (order.customer_id, "customer")
    assert order.no_expert_due_at is not None


@pytest.mark.parametrize(
    ("how", "code"),
    [
        ("missing", "signature_missing"),
        ("wrong_secret", "signature_invalid"),
        ("stale", "signature_stale"),
        ("tampered", "signature_invalid"),
    ],
)
async def test_unverified_deliveries_are_refused_and_change_nothing(
    stripe_rt: Runtime, http: httpx.AsyncClient, session: dict, how: str, code: str
) -> None:
    payload = event("checkout.session.completed", completed_session(session))
    if how == "missing":
        response = await http.post(URL, content=payload)
    elif how == "wrong_secret":
        response = await deliver(http, payload, secret="whsec_someone_else")
    elif how == "stale":
        response = await deliver(http, payload, at=int(time.time()) - 600)
    else:
        headers = signed(payload)
        response = await http.post(URL, content=payload.replace("999", "1"), headers=headers)
    assert_error(response, 400, code)
    assert (await order_by_session(stripe_rt, session["id"])).status == "pending"
    assert await conversations(stripe_rt) == []
    assert await event_count(stripe_rt) == 0


async def test_a_replayed_event_and_a_second_event_for_the_session_change_nothing(
    stripe_rt: Runtime, http: httpx.AsyncClient, session: dict
) -> None:
    payload = event("checkout.session.completed", completed_session(session))
    assert (await deliver(http, payload)).json()["outcome"] == "fulfilled"
    assert (await deliver(http, payload)).json()["outcome"] == "duplicate"
    other = event(
        "checkout.session.async_payment_succeeded", completed_session(session), event_id="evt_2"
    )
    assert (await deliver(http, other)).json()["outcome"] == "fulfilled"
    assert len(await conversations(stripe_rt)) == 1


async def test_concurrent_deliveries_of_one_event_make_one_conversation(
    stripe_rt: Runtime, http: httpx.AsyncClient, session: dict
) -> None:
    payload = event("checkout.session.completed", completed_session(session))
    other = event("checkout.session.completed", completed_session(session), event_id="evt_other")
    responses = await asyncio.gather(
        *(deliver(http, p) for p in [payload, payload, other, payload, other])
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes.count("duplicate") == 3, outcomes
    assert len(await conversations(stripe_rt)) == 1
    assert (await order_by_session(stripe_rt, session["id"])).status == "paid"
    assert await event_count(stripe_rt) == 2


async def test_expired_then_completed_the_payment_wins(
    stripe_rt: Runtime, http: httpx.AsyncClient, session: dict
) -> None:
    expired = event("checkout.session.expired", {**session, "status": "expired"})
    assert (await deliver(http, expired)).json()["outcome"] == "expired"
    assert (await order_by_session(stripe_rt, session["id"])).status == "expired"
    paid = event("checkout.session.completed", completed_session(session))
    assert (await deliver(http, paid)).json()["outcome"] == "fulfilled"
    assert (await order_by_session(stripe_rt, session["id"])).status == "paid"
    assert len(await conversations(stripe_rt)) == 1
    # An expiry arriving after the payment changes nothing.
    late = event("checkout.session.expired", session, event_id="evt_late_expiry")
    await deliver(http, late)
    assert (await order_by_session(stripe_rt, session["id"])).status == "paid"


async def test_an_unpaid_or_mismatched_completion_opens_nothing(
    stripe_rt: Runtime, http: httpx.AsyncClient, session: dict
) -> None:
    unpaid = event("checkout.session.completed", {**session, "payment_status": "unpaid"})
    assert (await deliver(http, unpaid)).json()["outcome"] == "not_fulfilled"
    cheap = event(
        "checkout.session.completed", completed_session(session, amount_total=1), event_id="evt_c"
    )
    assert (await deliver(http, cheap)).json()["outcome"] == "not_fulfilled"
    euro = event(
        "checkout.session.completed", completed_session(session, currency="eur"), event_id="evt_e"
    )
    assert (await deliver(http, euro)).json()["outcome"] == "not_fulfilled"
    assert await conversations(stripe_rt) == []
    assert (await order_by_session(stripe_rt, session["id"])).status == "pending"


async def test_charge_refunded_ends_the_conversation(
    stripe_rt: Runtime, http: httpx.AsyncClient, session: dict
) -> None:
    await deliver(http, event("checkout.session.completed", completed_session(session)))
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": "pi_test_1",
        "refunded": True,
        "amount_refunded": 999,
        "refunds": {"object": "list", "data": [{"id": "re_dash_1", "object": "refund"}]},
    }
    response = await deliver(http, event("charge.refunded", charge))
    assert response.json()["outcome"] == "refunded"
    order = await order_by_session(stripe_rt, session["id"])
    assert (order.status, order.refund_id) == ("refunded", "re_dash_1")
    [conversation] = await conversations(stripe_rt)
    assert (conversation.status, conversation.end_reason) == (Status.ended, "refunded")
    # Again (a retry under another id): nothing more happens.
    again = await deliver(http, event("charge.refunded", charge, event_id="evt_again"))
    assert again.status_code == 200


async def test_other_event_types_are_ignored(stripe_rt: Runtime, http: httpx.AsyncClient) -> None:
    await make_tenant(stripe_rt)
    response = await deliver(http, event("customer.created", {"id": "cus_1"}))
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    assert await event_count(stripe_rt) == 0


async def test_tenant_webhooks_need_the_tenant_and_its_secret(
    stripe_rt: Runtime, http: httpx.AsyncClient
) -> None:
    await make_tenant(stripe_rt)
    await make_tenant(stripe_rt, "elsewhere")
    payload = event("customer.created", {"id": "cus_1"})
    # The default tenant's secret (from the settings) is not another tenant's.
    response = await http.post(f"{URL}/elsewhere", content=payload, headers=signed(payload))
    assert_error(response, 400, "webhook_not_configured")
    response = await http.post(f"{URL}/nowhere", content=payload, headers=signed(payload))
    assert_error(response, 404, "tenant_not_found")


async def test_a_tenant_uses_its_own_webhook_secret(
    stripe_rt: Runtime, http: httpx.AsyncClient, fake_stripe: FakeStripe
) -> None:
    from parlour.tenants import service as tenants
    from parlour.tenants.schemas import SecretName

    await make_tenant(stripe_rt)
    await make_tenant(stripe_rt, "elsewhere")
    admin = await make_member(stripe_rt, "admin", name="Fay", tenant="elsewhere")
    customer = await make_member(stripe_rt, "customer", name="Fin", tenant="elsewhere")
    theirs = "whsec_elsewhere_own_secret"
    async with stripe_rt.uow() as tx:
        for name, value in [
            (SecretName.stripe_webhook_secret, theirs),
            (SecretName.stripe_secret_key, "sk_test_elsewhere"),
        ]:
            await tenants.do_put_secret(tx, admin, name, value, server_secret=stripe_rt.secret_key)
    session = await stripe_checkout(http, fake_stripe, auth(stripe_rt, customer))
    assert fake_stripe.requests[-1].headers["authorization"] == "Bearer sk_test_elsewhere"
    payload = event("checkout.session.completed", completed_session(session))
    url = f"{URL}/elsewhere"
    # The default tenant's secret does not sign for it; its own does.
    assert_error(await http.post(url, content=payload, headers=signed(payload)), 400)
    ok = await http.post(url, content=payload, headers=signed(payload, theirs))
    assert ok.json()["outcome"] == "fulfilled"
    [conversation] = await conversations(stripe_rt)
    assert conversation.tenant_id == customer.tenant_id


async def test_an_event_for_another_tenant_opens_nothing_here(
    stripe_rt: Runtime, http: httpx.AsyncClient, fake_stripe: FakeStripe
) -> None:
    await make_tenant(stripe_rt)
    await make_tenant(stripe_rt, "elsewhere")
    customer = await make_member(stripe_rt, "customer", name="Fin", tenant="elsewhere")
    # The elsewhere tenant has no key: a test-provider order (the provider turned on); a
    # forged "paid" event for its session, signed with the default tenant's secret, reaches
    # the default tenant's endpoint.
    stripe_rt.settings.payments_test_provider = True
    response = await http.get(
        "/api/v1/checkout", params={"plan": "chat10"}, headers=auth(stripe_rt, customer)
    )
    sid = response.headers["location"].rsplit("/", 1)[-1]
    obj = {
        "id": sid,
        "object": "checkout.session",
        "payment_status": "paid",
        "amount_total": 999,
        "currency": "usd",
        "payment_intent": "pi_x",
        "metadata": {
            "tenant": customer.tenant_id,
            "plan": "chat10",
            "customer": customer.user_id,
            "purpose": "session",
        },
    }
    result = await deliver(http, event("checkout.session.completed", obj))
    assert result.json()["outcome"] == "not_fulfilled"
    assert await conversations(stripe_rt) == []
    assert (await order_by_session(stripe_rt, sid)).status == "pending"


async def test_one_event_sent_to_two_tenants_is_handled_by_each(
    stripe_rt: Runtime, http: httpx.AsyncClient
) -> None:
    """Two tenants on one Stripe account both receive its events: an event is remembered per
    tenant, so the second tenant's delivery is no `duplicate` of the first's."""
    from parlour.tenants import service as tenants
    from parlour.tenants.schemas import SecretName
    from tests.payments.conftest import WEBHOOK_SECRET

    await make_tenant(stripe_rt)
    await make_tenant(stripe_rt, "elsewhere")
    admin = await make_member(stripe_rt, "admin", name="Fay", tenant="elsewhere")
    async with stripe_rt.uow() as tx:
        await tenants.do_put_secret(
            tx,
            admin,
            SecretName.stripe_webhook_secret,
            WEBHOOK_SECRET,
            server_secret=stripe_rt.secret_key,
        )
    payload = event(
        "checkout.session.expired",
        {"id": "cs_test_shared", "object": "checkout.session"},
        event_id="evt_shared_account",
    )
    first = await deliver(http, payload)
    second = await http.post(f"{URL}/elsewhere", content=payload, headers=signed(payload))
    assert (first.json()["outcome"], second.json()["outcome"]) == ("expired", "expired")
    again = await http.post(f"{URL}/elsewhere", content=payload, headers=signed(payload))
    assert again.json()["outcome"] == "duplicate"
    assert await event_count(stripe_rt) == 2
