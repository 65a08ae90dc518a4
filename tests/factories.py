"""Test data, built through the same services the app uses."""

from __future__ import annotations

import itertools

from parlour.auth.principal import Principal
from parlour.auth.service import (
    do_create_user,
    do_ensure_default_tenant,
    get_tenant_by_slug,
    principal_for,
)
from parlour.auth.tokens import issue_token
from parlour.conversations import service as conversations
from parlour.conversations.schemas import ConversationRead
from parlour.core.ids import new_id
from parlour.models.conversation import Channel  # inbox
from parlour.models.tenant import Tenant
from parlour.models.user import Role
from parlour.runtime import Runtime

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


async def make_tenant(rt: Runtime, slug: str | None = None) -> str:
    """The default tenant's id, or a new tenant's when a slug is given."""
    async with rt.uow() as tx:
        if slug is None:
            return (await do_ensure_default_tenant(tx.session, now=tx.now)).id
        tenant = Tenant(id=new_id(), slug=slug, name=slug.title(), settings={}, created_at=tx.now)
        tx.session.add(tenant)
        await tx.session.flush()
        return tenant.id


async def make_user(
    rt: Runtime,
    role: Role | str = Role.customer,
    *,
    tenant: str | None = None,
    name: str | None = None,
) -> Principal:
    """A user with PASSWORD, in the default tenant (or the tenant with slug `tenant`)."""
    n = next(_counter)
    role = Role(role)
    async with rt.uow() as tx:
        if tenant is None:
            tenant_id = (await do_ensure_default_tenant(tx.session, now=tx.now)).id
        else:
            tenant_id = (await get_tenant_by_slug(tx.session, tenant)).id
        user = await do_create_user(
            tx.session,
            tenant_id=tenant_id,
            role=role,
            display_name=name or f"{role.value.title()} {n}",
            email=f"{role.value}{n}@example.com",
            password=PASSWORD,
            now=tx.now,
        )
        return principal_for(user)


def token_for(rt: Runtime, principal: Principal) -> str:
    assert principal.user_id is not None
    return issue_token(
        secret=rt.secret_key,
        user_id=principal.user_id,
        tenant_id=principal.tenant_id,
        now=rt.clock.now(),
        ttl_seconds=3600,
    )


def auth(rt: Runtime, principal: Principal) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(rt, principal)}"}


async def make_conversation(
    rt: Runtime,
    customer: Principal,
    *,
    agent: Principal | None = None,
    kind: str = "support",
    channel: Channel = Channel.web,  # inbox
) -> ConversationRead:
    """A conversation opened by the customer (a channel's: by the system actor for the
    customer, as inbound traffic opens them); joined by `agent` when given."""
    opener = customer if channel == Channel.web else Principal.system_actor(customer.tenant_id)
    async with rt.uow() as tx:
        conversation = await conversations.do_create_conversation(
            tx, opener, kind=kind, customer_id=customer.user_id, subject="Help", channel=channel
        )
        if agent is not None:
            conversation = await conversations.do_join(tx, agent, conversation.id)
    return conversation
