"""The queries of payments: plans, orders, handled Stripe events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.payment import Order, OrderPurpose, OrderStatus, Plan, StripeEvent


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


# --- plans ------------------------------------------------------------------------------------


async def plans_of(session: AsyncSession, tenant_id: str, *, active_only: bool) -> list[Plan]:
    query = select(Plan).where(Plan.tenant_id == tenant_id)
    if active_only:
        query = query.where(Plan.active.is_(True))
    return list(await session.scalars(query.order_by(Plan.sort_order, Plan.code)))


async def count_plans(session: AsyncSession, tenant_id: str) -> int:
    query = select(func.count()).select_from(Plan).where(Plan.tenant_id == tenant_id)
    return int(await session.scalar(query) or 0)


async def plan_by_code(session: AsyncSession, tenant_id: str, code: str) -> Plan | None:
    return await session.scalar(select(Plan).where(Plan.tenant_id == tenant_id, Plan.code == code))


async def plan_by_id(session: AsyncSession, tenant_id: str, plan_id: str) -> Plan | None:
    return await session.scalar(select(Plan).where(Plan.tenant_id == tenant_id, Plan.id == plan_id))


async def insert_plans(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert plans whose (tenant, code) is free; a concurrent seeding inserts nothing twice."""
    if rows:
        statement = _insert(session)(Plan).values(rows).on_conflict_do_nothing()
        await session.execute(statement)


async def plan_has_orders(session: AsyncSession, plan_id: str) -> bool:
    return (
        await session.scalar(select(Order.id).where(Order.plan_id == plan_id).limit(1))
    ) is not None


# --- orders -----------------------------------------------------------------------------------


def _locked(query: Select[Order]) -> Select[Order]:
    # PostgreSQL: FOR UPDATE; SQLite renders none (its writing unit of work holds the write lock).
    return query.with_for_update().execution_options(populate_existing=True)


async def order_by_id(session: AsyncSession, tenant_id: str, order_id: str) -> Order | None:
    return await session.scalar(
        select(Order).where(Order.tenant_id == tenant_id, Order.id == order_id)
    )


async def lock_order(session: AsyncSession, tenant_id: str, order_id: str) -> Order | None:
    await session.flush()
    return await session.scalar(
        _locked(select(Order).where(Order.tenant_id == tenant_id, Order.id == order_id))
    )


async def order_by_session(session: AsyncSession, tenant_id: str, session_id: str) -> Order | None:
    return await session.scalar(
        select(Order).where(Order.tenant_id == tenant_id, Order.checkout_session_id == session_id)
    )


async def lock_order_by_session(
    session: AsyncSession, tenant_id: str, session_id: str
) -> Order | None:
    await session.flush()
    return await session.scalar(
        _locked(
            select(Order).where(
                Order.tenant_id == tenant_id, Order.checkout_session_id == session_id
            )
        )
    )


async def lock_order_by_payment_intent(
    session: AsyncSession, tenant_id: str, payment_intent_id: str
) -> Order | None:
    await session.flush()
    return await session.scalar(
        _locked(
            select(Order).where(
                Order.tenant_id == tenant_id, Order.payment_intent_id == payment_intent_id
            )
        )
    )


async def lock_session_order_of(
    session: AsyncSession, tenant_id: str, conversation_id: str
) -> Order | None:
    """The order that paid for the conversation, locked."""
    await session.flush()
    return await session.scalar(
        _locked(
            select(Order).where(
                Order.tenant_id == tenant_id,
                Order.conversation_id == conversation_id,
                Order.purpose == OrderPurpose.session,
            )
        )
    )


async def orders_of_conversation(
    session: AsyncSession, tenant_id: str, conversation_id: str
) -> list[Order]:
    return list(
        await session.scalars(
            select(Order)
            .where(Order.tenant_id == tenant_id, Order.conversation_id == conversation_id)
            .order_by(Order.created_at, Order.id)
        )
    )


async def list_orders(
    session: AsyncSession, tenant_id: str, *, status: str | None, limit: int
) -> list[Order]:
    query = select(Order).where(Order.tenant_id == tenant_id)
    if status is not None:
        query = query.where(Order.status == status)
    query = query.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)
    return list(await session.scalars(query))


async def due_no_expert(
    session: AsyncSession, *, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """(conversation id, tenant id) of paid sessions whose wait for an expert is over."""
    rows = await session.execute(
        select(Order.conversation_id, Order.tenant_id)
        .where(
            Order.no_expert_due_at <= now,
            Order.status == OrderStatus.paid,
            Order.conversation_id.is_not(None),
        )
        .order_by(Order.no_expert_due_at)
        .limit(limit)
    )
    return [(str(cid), str(tid)) for cid, tid in rows]


# --- Stripe events ----------------------------------------------------------------------------


async def record_event(
    session: AsyncSession, *, event_id: str, tenant_id: str, type: str, now: datetime
) -> bool:
    """Remember a Stripe event; False when it was already handled. A concurrent delivery of the
    same event waits here (PostgreSQL) or behind the write lock (SQLite) and then gets False."""
    statement = (
        _insert(session)(StripeEvent)
        .values(id=event_id, tenant_id=tenant_id, type=type, received_at=now)
        .on_conflict_do_nothing(index_elements=["tenant_id", "id"])
        .returning(StripeEvent.id)
    )
    return (await session.scalar(statement)) is not None
