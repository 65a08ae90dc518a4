"""Paid sessions on the test provider, on SQLite and PostgreSQL with a controllable clock:
the no-expert refund, extensions, evidence, and who may not."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from parlour.auth.principal import Principal
from parlour.conversations import service as conversations_service
from parlour.core.clock import FrozenClock
from parlour.deadlines.sweep import sweep
from parlour.models.conversation import Status
from parlour.runtime import Runtime
from tests.api.support import assert_error, make_member, set_tenant_settings
from tests.factories import auth, make_tenant
from tests.jobs.conftest import eventually
from tests.payments.support import ORIGIN, checkout, conversations, order_by_session, orders


@pytest.fixture
async def cast(offline_rt: Runtime) -> dict:
    await make_tenant(offline_rt)
    await make_tenant(offline_rt, "elsewhere")
    return {
        "customer": await make_member(offline_rt, "customer", name="Cara"),
        "other": await make_member(offline_rt, "customer", name="Otto"),
        "agent": await make_member(offline_rt, "agent", name="Abe"),
        "admin": await make_member(offline_rt, "admin", name="Ada"),
        "foreign_admin": await make_member(offline_rt, "admin", name="Fay", tenant="elsewhere"),
    }


async def buy(
    http: httpx.AsyncClient, rt: Runtime, customer: Principal, plan: str = "chat10", **params: str
) -> str:
    """Check out and pay on the test page; the checkout session id."""
    headers = auth(rt, customer)
    response = await checkout(http, headers, plan, **params)
    assert response.status_code == 303, response.text
    sid = response.headers["location"].rsplit("/", 1)[-1]
    paid = await http.post(f"/checkout/test/{sid}", headers={**headers, **ORIGIN})
    assert paid.status_code == 303
    return sid


async def run_sweep(rt: Runtime) -> list[str]:
    return [a.outcome for a in await sweep(rt.uow, rt.deadlines, batch_size=10)]


async def test_no_expert_refunds_locally_and_ends_the_session(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict, clock: FrozenClock
) -> None:
    await set_tenant_settings(offline_rt, None, no_expert_refund_minutes=5)
    sid = await buy(offline_http, offline_rt, cast["customer"])
    clock.advance(minutes=4)
    assert await run_sweep(offline_rt) == []
    clock.advance(minutes=1)
    assert await run_sweep(offline_rt) == ["no_expert"]
    [conversation] = await conversations(offline_rt)
    assert (conversation.status, conversation.end_reason) == (Status.ended, "no_expert")

    async def refunded() -> bool:
        return (await order_by_session(offline_rt, sid)).status == "refunded"

    await eventually(refunded, what="the local refund")
    order = await order_by_session(offline_rt, sid)
    assert order.refund_id == f"re_parlour_test_{order.id}"
    assert await run_sweep(offline_rt) == []


async def test_an_expert_who_joined_keeps_the_promise(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict, clock: FrozenClock
) -> None:
    sid = await buy(offline_http, offline_rt, cast["customer"])
    [conversation] = await conversations(offline_rt)
    async with offline_rt.uow() as tx:
        await conversations_service.do_join(tx, cast["agent"], conversation.id)
    clock.advance(minutes=30)
    # Past the no-expert window, and past chat10's 10 minutes since the join: the time limit
    # ends the session; nothing is refunded.
    assert await run_sweep(offline_rt) == ["time_limit"]
    order = await order_by_session(offline_rt, sid)
    assert (order.status, order.no_expert_due_at) == ("paid", None)
    [conversation] = await conversations(offline_rt)
    assert (conversation.status, conversation.end_reason) == (Status.ended, "time_limit")


async def test_an_extension_of_a_running_session(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    await buy(offline_http, offline_rt, cast["customer"])
    [conversation] = await conversations(offline_rt)
    url = f"/api/v1/conversations/{conversation.id}/extension"
    customer = auth(offline_rt, cast["customer"])
    # Waiting: nothing runs yet.
    offer = (await offline_http.get(url, headers=customer)).json()
    assert offer == {**offer, "available": False, "reason": "not_running"}
    assert_error(
        await checkout(offline_http, customer, "chat10", extend=conversation.id),
        409,
        "not_running",
    )
    async with offline_rt.uow() as tx:
        await conversations_service.do_join(tx, cast["agent"], conversation.id)
    offer = (await offline_http.get(url, headers=customer)).json()
    assert offer["available"] and (offer["minutes"], offer["amount"]) == (5, 499)
    # The plan's 10 minutes run from the expert's join (timing's clock, set by the payment).
    timer_url = f"/api/v1/conversations/{conversation.id}/timer"
    timer = (await offline_http.get(timer_url, headers=customer)).json()
    assert timer["limit_seconds"] == 600 and timer["ends_at"] is not None
    ends_before = datetime.fromisoformat(timer["ends_at"])
    # Only its customer: another customer learns nothing; staff are offered nothing.
    assert_error(await offline_http.get(url, headers=auth(offline_rt, cast["other"])), 404)
    staff = (await offline_http.get(url, headers=auth(offline_rt, cast["agent"]))).json()
    assert staff["available"] is False
    other = auth(offline_rt, cast["other"])
    assert_error(await checkout(offline_http, other, "chat10", extend=conversation.id), 404)

    sid = await buy(offline_http, offline_rt, cast["customer"], extend=conversation.id)
    extension = await order_by_session(offline_rt, sid)
    assert (extension.purpose, extension.status, extension.amount) == ("extension", "paid", 499)
    assert (extension.conversation_id, extension.extension_minutes) == (conversation.id, 5)
    # The paid extension moved the end by its 5 minutes.
    timer = (await offline_http.get(timer_url, headers=customer)).json()
    assert datetime.fromisoformat(timer["ends_at"]) - ends_before == timedelta(minutes=5)
    state = await offline_http.get(f"/api/v1/orders/by-checkout/{sid}", headers=customer)
    assert state.json()["destination"] == f"/chat/{conversation.id}"
    assert len(await conversations(offline_rt)) == 1


async def test_a_plan_without_a_limit_sells_no_extension(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    await buy(offline_http, offline_rt, cast["customer"], "diagnostic")
    [conversation] = await conversations(offline_rt)
    async with offline_rt.uow() as tx:
        await conversations_service.do_join(tx, cast["agent"], conversation.id)
    url = f"/api/v1/conversations/{conversation.id}/extension"
    offer = (await offline_http.get(url, headers=auth(offline_rt, cast["customer"]))).json()
    assert (offer["available"], offer["reason"]) == (False, "not_extendable")


async def test_evidence_for_admins_only(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict, clock: FrozenClock
) -> None:
    await buy(offline_http, offline_rt, cast["customer"])
    [order] = await orders(offline_rt)
    [conversation] = await conversations(offline_rt)
    async with offline_rt.uow() as tx:
        await conversations_service.do_join(tx, cast["agent"], conversation.id)
    for who, text in [("customer", "Hello?"), ("agent", "Hi, how can I help?")]:
        response = await offline_http.post(
            f"/api/v1/conversations/{conversation.id}/messages",
            json={"body": text},
            headers=auth(offline_rt, cast[who]),
        )
        assert response.status_code in (200, 201), response.text
    clock.advance(minutes=7, seconds=30)
    async with offline_rt.uow() as tx:
        await conversations_service.do_end(tx, cast["agent"], conversation.id, reason=None)

    url = f"/api/v1/admin/orders/{order.id}/evidence"
    for who in ("customer", "other", "agent"):
        assert_error(await offline_http.get(url, headers=auth(offline_rt, cast[who])), 403)
    assert_error(await offline_http.get(url), 401)
    foreign = auth(offline_rt, cast["foreign_admin"])
    assert_error(await offline_http.get(url, headers=foreign), 404, "order_not_found")
    response = await offline_http.get(url, headers=auth(offline_rt, cast["admin"]))
    assert response.status_code == 200, response.text
    evidence = response.json()
    assert evidence["order"]["id"] == order.id
    assert evidence["order"]["payment_intent_id"] == f"pi_parlour_test_{order.id}"
    assert evidence["order"]["amount"] == 999
    bodies = [m["body"] for m in evidence["transcript"]]
    assert "Hello?" in bodies and "Hi, how can I help?" in bodies
    roles = sorted(p["role"] for p in evidence["participants"])
    assert roles == ["agent", "customer"]
    assert evidence["seconds_billed"] == 450 and evidence["minutes_billed"] == 8
    # Reading the evidence did not make the admin an observer.
    async with offline_rt.uow(write=False) as tx:
        view = await conversations_service.get_conversation(
            tx, Principal.system_actor(order.tenant_id), conversation.id
        )
    assert len(view.participants) == 2


async def test_orders_list_for_admins_only(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    await buy(offline_http, offline_rt, cast["customer"])
    url = "/api/v1/admin/orders"
    for who in ("customer", "agent"):
        assert_error(await offline_http.get(url, headers=auth(offline_rt, cast[who])), 403)
    foreign = await offline_http.get(url, headers=auth(offline_rt, cast["foreign_admin"]))
    assert foreign.json() == []
    mine = await offline_http.get(url, headers=auth(offline_rt, cast["admin"]))
    assert [o["status"] for o in mine.json()] == ["paid"]
    paid = await offline_http.get(
        url, params={"status": "expired"}, headers=auth(offline_rt, cast["admin"])
    )
    assert paid.json() == []


async def test_an_extension_paid_after_the_session_ended_is_refunded(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    await buy(offline_http, offline_rt, cast["customer"])
    [conversation] = await conversations(offline_rt)
    async with offline_rt.uow() as tx:
        await conversations_service.do_join(tx, cast["agent"], conversation.id)
    headers = auth(offline_rt, cast["customer"])
    response = await checkout(offline_http, headers, "chat10", extend=conversation.id)
    sid = response.headers["location"].rsplit("/", 1)[-1]
    async with offline_rt.uow() as tx:
        await conversations_service.do_end(tx, cast["agent"], conversation.id, reason=None)
    await offline_http.post(f"/checkout/test/{sid}", headers={**headers, **ORIGIN})

    async def refunded() -> bool:
        return (await order_by_session(offline_rt, sid)).status == "refunded"

    await eventually(refunded, what="the extension's refund")
    assert (await order_by_session(offline_rt, sid)).refund_reason == "extension_unused"
    # The session's own order is untouched.
    paid = [o for o in await orders(offline_rt) if o.purpose == "session"]
    assert [o.status for o in paid] == ["paid"]


async def test_an_expert_joining_as_the_wait_ends_either_serves_or_is_refused(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict, clock: FrozenClock
) -> None:
    """The no-expert refund and an expert's join race (each its own connection): either the
    expert joined first and nothing is refunded, or the session was refunded and ended first
    and the join is refused — never an expert in a refunded session."""
    import asyncio

    from parlour.core.errors import AppError
    from parlour.payments import service as payments_service

    agents = [cast["agent"], await make_member(offline_rt, "agent", name="Bea")]
    for _ in range(3):
        sid = await buy(offline_http, offline_rt, cast["customer"])
        order = await order_by_session(offline_rt, sid)
        assert order.conversation_id is not None
        clock.advance(minutes=16)

        async def refund(
            conversation_id: str = order.conversation_id, tenant_id: str = order.tenant_id
        ) -> str:
            async with offline_rt.uow() as tx:
                done = await payments_service.do_no_expert(tx, conversation_id, tenant_id)
            return "refunded" if done else "kept"

        async def join(agent: Principal, conversation_id: str = order.conversation_id) -> str:
            try:
                async with offline_rt.uow() as tx:
                    await conversations_service.do_join(tx, agent, conversation_id)
            except AppError as exc:
                return exc.code
            return "joined"

        outcomes = await asyncio.gather(refund(), *(join(a) for a in agents))
        order = await order_by_session(offline_rt, sid)
        async with offline_rt.uow(write=False) as tx:
            view = await conversations_service.get_conversation(
                tx, Principal.system_actor(order.tenant_id), order.conversation_id
            )
        joined = [p for p in view.participants if p.role == "agent"]
        if outcomes[0] == "refunded":
            assert view.end_reason == "no_expert" and joined == [], outcomes
            assert set(outcomes[1:]) == {"conversation_ended"}, outcomes
        else:
            assert outcomes[0] == "kept" and joined, outcomes
            assert order.refund_requested_at is None and view.status != "ended", outcomes
