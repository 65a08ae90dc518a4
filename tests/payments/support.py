"""Helpers the payments tests share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from parlour.auth.principal import Principal
from parlour.models.conversation import Conversation, Participant
from parlour.models.payment import Order, Provider, StripeEvent
from parlour.payments import plans
from parlour.payments import service as payments
from parlour.runtime import Runtime
from tests.payments.fake_stripe import FakeStripe

ORIGIN = {"Origin": "http://testserver"}


async def checkout(
    http: httpx.AsyncClient, headers: dict[str, str], plan: str = "chat10", **params: str
) -> httpx.Response:
    return await http.get("/api/v1/checkout", params={"plan": plan, **params}, headers=headers)


async def stripe_checkout(
    http: httpx.AsyncClient, fake: FakeStripe, headers: dict[str, str], plan: str = "chat10"
) -> dict[str, Any]:
    """Start a checkout against the stand-in; the `checkout.session` it created."""
    response = await checkout(http, headers, plan)
    assert response.status_code == 303, response.text
    session_id = response.headers["location"].rsplit("/", 1)[-1]
    return fake.sessions[session_id]


async def orders(rt: Runtime) -> list[Order]:
    async with rt.uow(write=False) as tx:
        return list(await tx.session.scalars(select(Order).order_by(Order.created_at, Order.id)))


async def order_by_session(rt: Runtime, session_id: str) -> Order:
    async with rt.uow(write=False) as tx:
        order = await tx.session.scalar(
            select(Order).where(Order.checkout_session_id == session_id)
        )
    assert order is not None
    return order


async def conversations(rt: Runtime) -> list[Conversation]:
    async with rt.uow(write=False) as tx:
        return list(await tx.session.scalars(select(Conversation)))


async def participants(rt: Runtime, conversation_id: str) -> list[Participant]:
    async with rt.uow(write=False) as tx:
        return list(
            await tx.session.scalars(
                select(Participant).where(Participant.conversation_id == conversation_id)
            )
        )


async def event_count(rt: Runtime) -> int:
    async with rt.uow(write=False) as tx:
        return int(await tx.session.scalar(select(func.count()).select_from(StripeEvent)) or 0)


@dataclass(frozen=True)
class MatrixIds:
    """A plan, and a paid (test-provider) order of a customer, for the authorization matrix."""

    plan_id: str
    order_id: str
    session_id: str

    def fill(self, url: str) -> str:
        return (
            url.replace("{plan_id}", self.plan_id)
            .replace("{order_id}", self.order_id)
            .replace("{session_id}", self.session_id)
            .replace("{tenant_slug}", "elsewhere")
        )


async def matrix_ids(rt: Runtime, customer: Principal) -> MatrixIds:
    async with rt.uow() as tx:
        await plans.do_seed_default_plans(tx, customer.tenant_id)
        draft = await payments.prepare_checkout(tx, customer, plan_code="chat10", extend=None)
        sid = payments.new_test_session_id()
        order = await payments.do_record_pending(tx, draft, session_id=sid, provider=Provider.test)
        paid = payments.PaidCheckout(sid, True, order.amount, order.currency, "pi_matrix")
        await payments.do_complete_checkout(tx, customer.tenant_id, paid)
        plan = await plans.get_active_plan(tx, customer.tenant_id, "chat10")
        return MatrixIds(plan_id=plan.id, order_id=order.id, session_id=sid)
