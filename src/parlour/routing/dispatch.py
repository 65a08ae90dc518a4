"""The router: when to route. Reacts after commit to the domain events that may let work
flow (a conversation created or ended, an agent leaving one, an agent online or with more
capacity) by draining the tenant's queue, and registers the periodic safety net with the
deadline sweep, so that work a crashed node never routed (between its commit and its hooks)
is routed by the next pass on any node.

Each assignment is its own short transaction (plan without locks, then lock and re-check in
`service.do_route`). One drain per tenant at a time on a node: the others wait for it and
then find the queue drained, instead of all contending for the same first agent's row.
Across nodes the row locks keep it correct.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Protocol

from parlour.conversations.service import CREATED, ENDED, PARTICIPANT_LEFT
from parlour.core.domain_events import DomainEvent, DomainHooks
from parlour.core.uow import UnitOfWork
from parlour.deadlines.registry import DeadlineRegistry, Due
from parlour.routing import service
from parlour.routing.service import MAY_ROUTE

log = logging.getLogger(__name__)

SAFETY_NET = "routing.queue"
# A drain gives up after this many plans that no longer held under the locks (another node
# took the agent or the conversation); the next event or the safety net carries on.
MAX_STALE_PLANS = 20


class UnitsOfWork(Protocol):
    def __call__(self, *, write: bool = True) -> UnitOfWork: ...


class Router:
    def __init__(self, uow: UnitsOfWork) -> None:
        self._uow = uow
        self._draining: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def drain(self, tenant_id: str) -> int:
        """Assign waiting conversations in arrival order while an agent has room; how many."""
        async with self._draining[tenant_id]:
            assigned = stale = 0
            while stale < MAX_STALE_PLANS:
                async with self._uow(write=False) as tx:
                    plan = await service.next_assignment(tx, tenant_id)
                if plan is None:
                    break
                async with self._uow() as tx:
                    done = await service.do_route(tx, tenant_id, plan)
                if done:
                    assigned += 1
                else:
                    stale += 1
            return assigned

    async def _freed(self, tenant_id: str, user_ids: list[str]) -> None:
        if user_ids:
            async with self._uow() as tx:
                await service.do_mark_freed(tx, tenant_id, user_ids)

    async def on_created(self, event: DomainEvent) -> None:
        await self.drain(event.tenant_id)

    async def on_ended(self, event: DomainEvent) -> None:
        async with self._uow(write=False) as tx:
            agents = await service.agents_of(tx, event.data["conversation_id"], event.tenant_id)
        await self._freed(event.tenant_id, agents)
        await self.drain(event.tenant_id)

    async def on_left(self, event: DomainEvent) -> None:
        await self._freed(event.tenant_id, [event.data["user_id"]])
        await self.drain(event.tenant_id)

    async def on_may_route(self, event: DomainEvent) -> None:
        await self.drain(event.tenant_id)

    def install(self, hooks: DomainHooks, deadlines: DeadlineRegistry) -> None:
        hooks.on(CREATED, self.on_created)
        hooks.on(ENDED, self.on_ended)
        hooks.on(PARTICIPANT_LEFT, self.on_left)
        hooks.on(MAY_ROUTE, self.on_may_route)
        deadlines.register_deadline(SAFETY_NET, find_due, act)


async def find_due(tx: UnitOfWork, limit: int) -> list[Due]:
    """Waiting routed conversations an online agent has room for (normally none: the hooks
    routed them already)."""
    found = await service.find_routable(tx, limit=limit)
    return [Due(conversation_id=cid, tenant_id=tid) for cid, tid in found]


async def act(tx: UnitOfWork, due: Due) -> str | None:
    user_id = await service.do_route_conversation(tx, due.tenant_id, due.conversation_id)
    return "assigned" if user_id else None
