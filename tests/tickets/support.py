"""Helpers the desk tests share."""

from __future__ import annotations

from typing import Any

import httpx

from parlour.auth.principal import Principal
from parlour.auth.service import get_tenant
from parlour.conversations import service as conversations
from parlour.runtime import Runtime
from parlour.tickets import service
from tests.api.support import set_tenant_settings

START = "/api/v1/support/conversations"


async def start_chat(
    client: httpx.AsyncClient,
    message: str = "My order never arrived",
    *,
    token: str | None = None,
    tenant: str | None = None,
    expect: int = 201,
    **fields: Any,
) -> dict[str, Any]:
    """POST the support start (as a new guest, or with `token`); the JSON answer."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    params = {"tenant": tenant} if tenant else {}
    response = await client.post(
        START, json={"message": message, **fields}, headers=headers, params=params
    )
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


async def allow_widget(rt: Runtime, *origins: str, tenant: str | None = None) -> None:
    await set_tenant_settings(rt, tenant, widget_allowed_origins=list(origins))


async def make_ticket(rt: Runtime, customer: Principal, agent: Principal | None = None) -> str:
    """A support chat the customer starts (its ticket's id), joined by `agent` when given."""
    async with rt.uow() as tx:
        tenant = await get_tenant(tx.session, customer.tenant_id)
        started = await service.do_start_support(
            tx, tenant, customer, service.Visitor(message="Help"), max_chars=4000
        )
        if agent is not None:
            await conversations.do_join(tx, agent, started.conversation.id)
    return started.ticket.id
