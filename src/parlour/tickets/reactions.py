"""How the desk reacts to time and to other domains, wired by the runtime:

- `conversation.created` of a `support` conversation opened another way than the support start
  (the customer's conversations page, `POST /conversations`) gives it its ticket, in a unit of
  work of its own (the support start makes the ticket in the same transaction; then this finds
  it and does nothing).
- `conversation.ended` (any reason: the customer, an agent, expiry, a time limit) resolves the
  conversation's ticket, in a unit of work of its own after the end committed; idempotent (a
  ticket already resolved, as when staff resolved it or the inactivity sweep ended it in the
  same transaction, changes nothing).
- the `support.inactivity` deadline: a support conversation with no message for the tenant's
  `support_inactivity_seconds` (default 24 h) is ended by the deadline sweep with reason
  `inactivity` and its ticket resolved.
"""

from __future__ import annotations

from collections.abc import Callable

from parlour.conversations.service import CREATED, ENDED
from parlour.core.domain_events import DomainEvent, DomainHooks
from parlour.core.uow import UnitOfWork
from parlour.deadlines.registry import DeadlineRegistry, Due
from parlour.models.conversation import EndReason
from parlour.tickets import service

INACTIVITY = "support.inactivity"


async def find_idle(tx: UnitOfWork, limit: int) -> list[Due]:
    found = await service.find_idle(tx, limit=limit)
    return [Due(conversation_id=cid, tenant_id=tid) for cid, tid in found]


async def close_idle(tx: UnitOfWork, due: Due) -> str | None:
    closed = await service.do_close_idle(tx, due.conversation_id, due.tenant_id)
    return EndReason.inactivity.value if closed else None


def register(
    hooks: DomainHooks, deadlines: DeadlineRegistry, uow: Callable[..., UnitOfWork]
) -> None:
    async def resolve_ticket(event: DomainEvent) -> None:
        async with uow() as tx:
            await service.do_resolve_for_ended(
                tx, str(event.data["conversation_id"]), event.tenant_id
            )

    async def ensure_ticket(event: DomainEvent) -> None:
        if event.data.get("kind") != service.KIND:
            return
        async with uow() as tx:
            await service.do_ensure_ticket(tx, str(event.data["conversation_id"]), event.tenant_id)

    hooks.on(CREATED, ensure_ticket)
    hooks.on(ENDED, resolve_ticket)
    deadlines.register_deadline(INACTIVITY, find_idle, close_idle)
