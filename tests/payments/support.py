"""Helpers the payments tests share."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from parlour.models.conversation import Conversation, Participant
from parlour.models.payment import Order, StripeEvent
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
