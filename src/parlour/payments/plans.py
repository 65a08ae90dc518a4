"""Plans: what a tenant sells. Admins edit them; anyone may read the active ones.

Every tenant starts with the default plans: they are seeded the first time a tenant's plans are
read and it has none (a tenant that deletes every plan gets the defaults back; deactivate plans
instead). Seeding is `INSERT ... ON CONFLICT DO NOTHING`, so two first reads seed once.
"""

from __future__ import annotations

from typing import Any

from parlour.auth.principal import Principal
from parlour.core.errors import Conflict, Forbidden, NotFound
from parlour.core.ids import new_id
from parlour.core.uow import UnitOfWork
from parlour.models.payment import AfterPayment, Plan
from parlour.payments import repository
from parlour.payments.schemas import PlanCreate, PlanRead, PlanUpdate

DEFAULT_PLANS: list[dict[str, Any]] = [
    {
        "code": "chat10",
        "name": "Quick Chat",
        "description": "A 10-minute text chat with an expert.",
        "kind": "consultation",
        "price_amount": 999,
        "currency": "USD",
        "time_limit_minutes": 10,
        "after_payment": AfterPayment.chat.value,
        "extension_minutes": 5,
        "extension_price_amount": 499,
        "sort_order": 10,
    },
    {
        "code": "video15",
        "name": "Live Video",
        "description": "A 15-minute video call with an expert.",
        "kind": "video",
        "price_amount": 2999,
        "currency": "USD",
        "time_limit_minutes": 15,
        "after_payment": AfterPayment.call.value,
        "extension_minutes": 10,
        "extension_price_amount": 1999,
        "sort_order": 20,
    },
    {
        "code": "diagnostic",
        "name": "Diagnostic Session",
        "description": "Send photos and details; an expert works through it with you.",
        "kind": "diagnostic",
        "price_amount": 4999,
        "currency": "USD",
        "time_limit_minutes": None,
        "after_payment": AfterPayment.thank_you.value,
        "extension_minutes": None,
        "extension_price_amount": None,
        "sort_order": 30,
    },
]


def plan_not_found() -> NotFound:
    return NotFound("No such plan.", code="plan_not_found")


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only the tenant's admins manage its plans.")


async def needs_defaults(tx: UnitOfWork, tenant_id: str) -> bool:
    """Whether the tenant has no plans at all (a read-only check before seeding)."""
    return await repository.count_plans(tx.session, tenant_id) == 0


async def do_seed_default_plans(tx: UnitOfWork, tenant_id: str) -> None:
    """Give the tenant the default plans if it has none."""
    if not await needs_defaults(tx, tenant_id):
        return
    rows = [
        {
            **plan,
            "id": new_id(),
            "tenant_id": tenant_id,
            "active": True,
            "created_at": tx.now,
            "updated_at": tx.now,
        }
        for plan in DEFAULT_PLANS
    ]
    await repository.insert_plans(tx.session, rows)


async def list_plans(
    tx: UnitOfWork, principal: Principal | None, tenant_id: str, *, include_inactive: bool = False
) -> list[PlanRead]:
    """The tenant's plans: the active ones for anyone (visitors too), all of them for admins."""
    if include_inactive:
        if principal is None:
            raise Forbidden("Only the tenant's admins see inactive plans.")
        _require_admin(principal)
    rows = await repository.plans_of(tx.session, tenant_id, active_only=not include_inactive)
    return [PlanRead.model_validate(p) for p in rows]


async def get_active_plan(tx: UnitOfWork, tenant_id: str, code: str) -> Plan:
    plan = await repository.plan_by_code(tx.session, tenant_id, code)
    if plan is None or not plan.active:
        raise plan_not_found()
    return plan


async def get_plan_by_code(tx: UnitOfWork, tenant_id: str, code: str) -> Plan | None:
    """Any plan of the tenant by code (active or not), for the webhook's fallback."""
    return await repository.plan_by_code(tx.session, tenant_id, code)


async def do_create_plan(tx: UnitOfWork, principal: Principal, body: PlanCreate) -> PlanRead:
    _require_admin(principal)
    if await repository.plan_by_code(tx.session, principal.tenant_id, body.code) is not None:
        raise Conflict(f"A plan '{body.code}' exists already.", code="plan_exists")
    values = body.model_dump()
    values["currency"] = values["currency"].upper()
    values["after_payment"] = AfterPayment(values["after_payment"]).value
    plan = Plan(
        id=new_id(),
        tenant_id=principal.tenant_id,
        created_at=tx.now,
        updated_at=tx.now,
        **values,
    )
    tx.session.add(plan)
    await tx.session.flush()
    return PlanRead.model_validate(plan)


async def do_update_plan(
    tx: UnitOfWork, principal: Principal, plan_id: str, body: PlanUpdate
) -> PlanRead:
    _require_admin(principal)
    plan = await repository.plan_by_id(tx.session, principal.tenant_id, plan_id)
    if plan is None:
        raise plan_not_found()
    for field, value in body.model_dump(exclude_unset=True).items():
        nullable = field in {
            "description",
            "time_limit_minutes",
            "extension_minutes",
            "extension_price_amount",
        }
        if value is None and not nullable:
            continue
        if field == "currency":
            value = value.upper()
        if field == "after_payment":
            value = AfterPayment(value).value
        setattr(plan, field, value)
    plan.updated_at = tx.now
    await tx.session.flush()
    return PlanRead.model_validate(plan)


async def do_delete_plan(tx: UnitOfWork, principal: Principal, plan_id: str) -> None:
    """Delete a plan nobody bought; a plan with orders is kept for them (deactivate it)."""
    _require_admin(principal)
    plan = await repository.plan_by_id(tx.session, principal.tenant_id, plan_id)
    if plan is None:
        raise plan_not_found()
    if await repository.plan_has_orders(tx.session, plan.id):
        raise Conflict(
            "Orders were placed for this plan: deactivate it instead.", code="plan_in_use"
        )
    await tx.session.delete(plan)
    await tx.session.flush()
