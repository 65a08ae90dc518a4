"""Routing: who gets a waiting conversation (docs/routing.md).

A conversation is routed while it is `waiting` and its kind is in the tenant's `routed_kinds`.
It goes to an online staff member under their capacity, the least busy first (fewest open
conversations they are the current agent of), then the longest idle (the oldest
`last_routed_at`: last assigned or freed), or it waits; the queue drains in arrival order.

Every capacity decision locks the agent's routing row first, then (through the conversations
service) the conversation, and re-checks both under the locks: no agent is ever over capacity
and no conversation is assigned twice. One agent row per transaction, always before the
conversation, so lock orders never cross.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from parlour.auth.principal import Principal
from parlour.auth.service import get_tenant, get_user
from parlour.conversations import service as conversations
from parlour.conversations.schemas import ConversationRead
from parlour.core.domain_events import DomainEvent
from parlour.core.errors import BadRequest, Conflict, Forbidden, NotFound
from parlour.core.uow import UnitOfWork
from parlour.models.routing import AgentRouting, Availability
from parlour.models.tenant_settings import TenantSettings
from parlour.models.user import Role
from parlour.routing import repository
from parlour.routing.repository import Load
from parlour.routing.schemas import AvailabilityRead

# Domain event: capacity may have come free (an agent came online, their capacity rose, work
# went back to the queue). The router drains the tenant's queue after the commit.
MAY_ROUTE = "routing.may_route"
MAX_CAPACITY = 100


def _staff_user(principal: Principal) -> str:
    """The caller's user id if it is an agent or admin (who have an availability)."""
    if (
        principal.user_id is None
        or principal.is_service
        or principal.is_system
        or principal.role not in (Role.agent, Role.admin)
    ):
        raise Forbidden("Only agents and admins have an availability.", code="staff_only")
    return principal.user_id


async def _settings(tx: UnitOfWork, tenant_id: str) -> TenantSettings:
    return (await get_tenant(tx.session, tenant_id)).typed_settings


def _capacity(capacity: int | None, settings: TenantSettings) -> int:
    return settings.default_agent_capacity if capacity is None else capacity


async def _read(
    tx: UnitOfWork, row: AgentRouting | None, user_id: str, settings: TenantSettings
) -> AvailabilityRead:
    return AvailabilityRead(
        user_id=user_id,
        status=Availability(row.status) if row else Availability.offline,
        status_changed_at=row.status_changed_at if row else None,
        capacity=_capacity(row.capacity if row else None, settings),
        active_conversations=await repository.active_count(
            tx.session, user_id, settings.routed_kinds
        ),
    )


async def get_availability(tx: UnitOfWork, principal: Principal) -> AvailabilityRead:
    """The caller's availability, capacity and load (agents and admins)."""
    user_id = _staff_user(principal)
    row = await repository.get(tx.session, user_id)
    return await _read(tx, row, user_id, await _settings(tx, principal.tenant_id))


async def _locked_row(tx: UnitOfWork, user_id: str, tenant_id: str) -> AgentRouting:
    await repository.ensure(tx.session, user_id=user_id, tenant_id=tenant_id)
    row = await repository.lock(tx.session, user_id, tenant_id)
    assert row is not None
    return row


async def do_set_availability(
    tx: UnitOfWork, principal: Principal, status: Availability
) -> AvailabilityRead:
    """Set the caller's availability. Going offline returns the conversations they have not
    answered yet to the queue (they leave them; each waits again and is routed anew)."""
    user_id = _staff_user(principal)
    tenant_id = principal.tenant_id
    row = await _locked_row(tx, user_id, tenant_id)
    if row.status != status:
        row.status = status
        row.status_changed_at = tx.now
    returned: list[str] = []
    settings = await _settings(tx, tenant_id)
    if status == Availability.offline:
        # Under the agent's lock: no routing can hand them another one meanwhile.
        unanswered = await repository.unanswered(
            tx.session, tenant_id, user_id, settings.routed_kinds
        )
        for conversation_id in unanswered:
            if await conversations.do_return_to_queue(tx, conversation_id, tenant_id, user_id):
                returned.append(conversation_id)
    if status == Availability.online or returned:
        tx.emit_domain(DomainEvent(MAY_ROUTE, tenant_id, {"user_id": user_id}))
    read = await _read(tx, row, user_id, settings)
    read.returned_to_queue = returned
    return read


async def do_set_capacity(
    tx: UnitOfWork, principal: Principal, user_id: str, capacity: int
) -> None:
    """An admin sets how many active conversations a staff member takes at most."""
    if not principal.is_admin or principal.user_id is None:
        raise Forbidden("Only admins set an agent's capacity.", code="admin_only")
    if not 0 <= capacity <= MAX_CAPACITY:
        raise BadRequest(f"capacity must be between 0 and {MAX_CAPACITY}.", code="invalid_capacity")
    user = await get_user(tx.session, principal, user_id)
    if not user.is_staff:
        raise BadRequest("Only agents and admins have a capacity.", code="not_staff")
    row = await _locked_row(tx, user.id, user.tenant_id)
    raised = row.capacity is None or capacity > row.capacity
    row.capacity = capacity
    if raised:
        tx.emit_domain(DomainEvent(MAY_ROUTE, user.tenant_id, {"user_id": user.id}))


async def do_pick(tx: UnitOfWork, principal: Principal, conversation_id: str) -> ConversationRead:
    """An agent (or admin) takes a waiting conversation from the queue, within their
    capacity. When two pick the same one, one wins; the other gets `409 conversation_taken`."""
    if principal.user_id is None or principal.role not in (Role.agent, Role.admin):
        # Customers, keys and the system actor: the join's own refusals (404 or 403).
        return await conversations.do_join(tx, principal, conversation_id, only_waiting=True)
    system = Principal.system_actor(principal.tenant_id)
    view = await conversations.get_conversation(tx, system, conversation_id)  # 404 first
    if any(
        p.user_id == principal.user_id and p.role == "agent" and p.left_at is None
        for p in view.participants
    ):
        # Already theirs: the join changes nothing (and counts against no capacity).
        return await conversations.do_join(tx, principal, conversation_id, only_waiting=True)
    row = await _locked_row(tx, principal.user_id, principal.tenant_id)
    settings = await _settings(tx, principal.tenant_id)
    capacity = _capacity(row.capacity, settings)
    busy = await repository.active_count(
        tx.session, principal.user_id, settings.routed_kinds, excluding=conversation_id
    )
    if busy >= capacity:
        raise Conflict(
            f"You already have {busy} active conversations (your capacity is {capacity}).",
            code="at_capacity",
        )
    view = await conversations.do_join(tx, principal, conversation_id, only_waiting=True)
    row.last_routed_at = tx.now
    return view


async def do_assign(
    tx: UnitOfWork, principal: Principal, conversation_id: str, *, user_id: str
) -> ConversationRead:
    """An admin makes an active staff member the conversation's agent (its current agent, if
    any, leaves). On purpose this ignores the target's availability and capacity: it is the
    admin's decision (docs/routing.md)."""
    target = None
    if principal.is_admin or principal.is_service:
        target = await repository.staff_user(tx.session, user_id, principal.tenant_id)
        if target is None:
            raise NotFound("User not found.", code="user_not_found")
    row = None
    if target is not None and target.is_staff and target.is_active:
        row = await _locked_row(tx, target.id, target.tenant_id)
    # The conversations service refuses everyone else, and re-checks it all under its lock.
    view = await conversations.do_reassign(tx, principal, conversation_id, user_id=user_id)
    if row is not None:
        row.last_routed_at = tx.now
    return view


# --- the router -------------------------------------------------------------------------


def _best(loads: list[Load], settings: TenantSettings) -> Load | None:
    """Least busy, then longest idle (never routed first), then by id for a stable order."""
    free = [x for x in loads if x.active < _capacity(x.capacity, settings)]
    if not free:
        return None
    return min(
        free,
        key=lambda x: (
            x.active,
            x.last_routed_at is not None,
            x.last_routed_at or _EPOCH,
            x.user_id,
        ),
    )


_EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Plan:
    conversation_id: str
    user_id: str


async def next_assignment(tx: UnitOfWork, tenant_id: str) -> Plan | None:
    """The assignment to try next, read without locks: the oldest waiting routed conversation
    and the best free agent; None when either is missing."""
    settings = await _settings(tx, tenant_id)
    best = _best(
        await repository.online_loads(tx.session, tenant_id, settings.routed_kinds), settings
    )
    if best is None:
        return None
    waiting = await repository.oldest_waiting(tx.session, tenant_id, settings.routed_kinds, limit=1)
    return Plan(waiting[0], best.user_id) if waiting else None


async def do_route(tx: UnitOfWork, tenant_id: str, plan: Plan) -> bool:
    """Carry out a plan if it still holds under the locks: the agent's row first (still
    online, still under capacity), then the conversation (still waiting). False, writing
    nothing, when it no longer holds; the caller plans again."""
    row = await repository.lock(tx.session, plan.user_id, tenant_id)
    if row is None or row.status != Availability.online:
        return False
    settings = await _settings(tx, tenant_id)
    busy = await repository.active_count(tx.session, plan.user_id, settings.routed_kinds)
    if busy >= _capacity(row.capacity, settings):
        return False
    if not await conversations.do_assign_routed(tx, plan.conversation_id, tenant_id, plan.user_id):
        return False
    row.last_routed_at = tx.now
    return True


async def do_route_conversation(tx: UnitOfWork, tenant_id: str, conversation_id: str) -> str | None:
    """Route one conversation now if an agent is free (the safety net); who got it, or None."""
    settings = await _settings(tx, tenant_id)
    best = _best(
        await repository.online_loads(tx.session, tenant_id, settings.routed_kinds), settings
    )
    if best is None:
        return None
    plan = Plan(conversation_id, best.user_id)
    return plan.user_id if await do_route(tx, tenant_id, plan) else None


async def find_routable(tx: UnitOfWork, *, limit: int) -> list[tuple[str, str]]:
    """(conversation id, tenant id) of waiting routed conversations that an online agent has
    room for right now, oldest first per tenant, at most `limit`: the safety net's work."""
    found: list[tuple[str, str]] = []
    for tenant_id in await repository.tenants_with_online_agents(tx.session, limit=limit):
        settings = await _settings(tx, tenant_id)
        loads = await repository.online_loads(tx.session, tenant_id, settings.routed_kinds)
        room = sum(max(0, _capacity(x.capacity, settings) - x.active) for x in loads)
        room = min(room, limit - len(found))
        waiting = await repository.oldest_waiting(
            tx.session, tenant_id, settings.routed_kinds, limit=room
        )
        found += [(cid, tenant_id) for cid in waiting]
        if len(found) >= limit:
            break
    return found


async def do_mark_freed(tx: UnitOfWork, tenant_id: str, user_ids: list[str]) -> None:
    """A conversation left these agents: they count as idle from now (rows locked in id
    order, nothing else locked after them)."""
    for user_id in sorted(set(user_ids)):
        row = await repository.lock(tx.session, user_id, tenant_id)
        if row is not None:
            row.last_routed_at = tx.now


async def agents_of(tx: UnitOfWork, conversation_id: str, tenant_id: str) -> list[str]:
    return await conversations.current_agent_ids(tx, conversation_id, tenant_id)
