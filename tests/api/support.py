"""Helpers the REST tests share: row counts, error-body checks, API keys, a world of callers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select, update

from parlour.auth.principal import Principal
from parlour.auth.service import (
    do_create_api_key,
    do_create_user,
    get_tenant_by_slug,
    principal_for,
)
from parlour.core.ids import new_id
from parlour.models.conversation import Conversation, Participant
from parlour.models.message import Message
from parlour.models.tenant import Tenant
from parlour.models.user import ApiKey, Role, User
from parlour.runtime import Runtime
from tests.factories import auth, make_tenant

COUNTED = {
    "tenants": Tenant,
    "users": User,
    "api_keys": ApiKey,
    "conversations": Conversation,
    "participants": Participant,
    "messages": Message,
}


async def row_counts(rt: Runtime) -> dict[str, int]:
    """How many rows each table holds (to prove a refused request stored nothing)."""
    async with rt.uow(write=False) as tx:
        return {
            name: int(await tx.session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in COUNTED.items()
        }


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is `{"error": {"code", "message"}}` with this status (and code)."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and error["message"], body
    if code is not None:
        assert error["code"] == code, body
    return error


async def make_api_key(rt: Runtime, tenant: str | None = None) -> str:
    """A raw service key for the default tenant (or the tenant with slug `tenant`)."""
    async with rt.uow() as tx:
        tenant_id = (await get_tenant_by_slug(tx.session, tenant)).id
        _, raw = await do_create_api_key(tx.session, tenant_id=tenant_id, name="test", now=tx.now)
    return raw


async def deactivate(rt: Runtime, user_id: str) -> None:
    async with rt.uow() as tx:
        await tx.session.execute(update(User).where(User.id == user_id).values(is_active=False))


async def set_tenant_settings(rt: Runtime, slug: str | None, **settings: Any) -> None:
    async with rt.uow() as tx:
        tenant = await get_tenant_by_slug(tx.session, slug)
        tenant.settings = {**(tenant.settings or {}), **settings}


async def make_member(rt: Runtime, role: str, *, name: str, tenant: str | None = None) -> Principal:
    """A user without a password (they sign in by token): cheaper than Argon2 for every test."""
    async with rt.uow() as tx:
        tenant_id = (await get_tenant_by_slug(tx.session, tenant)).id
        user = await do_create_user(
            tx.session,
            tenant_id=tenant_id,
            role=Role(role),
            display_name=name,
            email=f"{name.lower()}-{new_id()[-8:]}@example.com",
            password=None,
            now=tx.now,
        )
        return principal_for(user)


@dataclass
class World:
    """One tenant's cast and a foreign tenant's admin and key, with their request headers."""

    customer: Principal
    other_customer: Principal
    agent: Principal
    other_agent: Principal
    admin: Principal
    foreign_admin: Principal
    foreign_customer: Principal
    api_key: str
    foreign_api_key: str
    headers: dict[str, dict[str, str]]


async def make_world(rt: Runtime) -> World:
    """Everyone the authorisation tests need, in the default tenant and in `elsewhere`."""
    await make_tenant(rt)
    await make_tenant(rt, "elsewhere")
    customer = await make_member(rt, "customer", name="Cara")
    other_customer = await make_member(rt, "customer", name="Otto")
    agent = await make_member(rt, "agent", name="Abe")
    other_agent = await make_member(rt, "agent", name="Nia")
    admin = await make_member(rt, "admin", name="Ada")
    foreign_admin = await make_member(rt, "admin", tenant="elsewhere", name="Fay")
    foreign_customer = await make_member(rt, "customer", tenant="elsewhere", name="Fin")
    api_key = await make_api_key(rt)
    foreign_api_key = await make_api_key(rt, "elsewhere")
    headers = {
        "anonymous": {},
        "customer": auth(rt, customer),
        "other_customer": auth(rt, other_customer),
        "agent": auth(rt, agent),
        "other_agent": auth(rt, other_agent),
        "admin": auth(rt, admin),
        "foreign_admin": auth(rt, foreign_admin),
        "foreign_customer": auth(rt, foreign_customer),
        "api_key": {"X-API-Key": api_key},
        "foreign_api_key": {"X-API-Key": foreign_api_key},
    }
    return World(
        customer=customer,
        other_customer=other_customer,
        agent=agent,
        other_agent=other_agent,
        admin=admin,
        foreign_admin=foreign_admin,
        foreign_customer=foreign_customer,
        api_key=api_key,
        foreign_api_key=foreign_api_key,
        headers=headers,
    )
