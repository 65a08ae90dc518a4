"""REST for routing: an agent's availability, picking from the queue, admins' assignment."""

from __future__ import annotations

from fastapi import APIRouter

from parlour.conversations.schemas import ConversationRead
from parlour.core.http import error_responses
from parlour.deps import ConversationIdPath, PrincipalDep, RuntimeDep
from parlour.models.routing import Availability
from parlour.routing import service
from parlour.routing.schemas import AssignIn, AvailabilityIn, AvailabilityRead

router = APIRouter(tags=["routing"])

ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422)


@router.get(
    "/me/availability", response_model=AvailabilityRead, responses=error_responses(401, 403)
)
async def get_availability(principal: PrincipalDep, runtime: RuntimeDep) -> AvailabilityRead:
    """Your availability, capacity and how many active conversations you have (staff)."""
    async with runtime.uow(write=False) as tx:
        return await service.get_availability(tx, principal)


@router.put(
    "/me/availability",
    response_model=AvailabilityRead,
    responses=error_responses(400, 401, 403, 413, 422),
)
async def set_availability(
    body: AvailabilityIn, principal: PrincipalDep, runtime: RuntimeDep
) -> AvailabilityRead:
    """`online`: new conversations are routed to you, within your capacity; `away`: you keep
    yours and get no new ones; `offline`: the conversations you have not answered yet go back
    to the queue (listed in `returned_to_queue`)."""
    async with runtime.uow() as tx:
        return await service.do_set_availability(tx, principal, Availability(body.status))


@router.post(
    "/conversations/{conversation_id}/pick", response_model=ConversationRead, responses=ERRORS
)
async def pick(
    conversation_id: ConversationIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> ConversationRead:
    """Take a waiting conversation from the queue, within your capacity (`409 at_capacity`);
    if someone else got it first, `409 conversation_taken`."""
    async with runtime.uow() as tx:
        return await service.do_pick(tx, principal, conversation_id)


@router.post(
    "/conversations/{conversation_id}/assign", response_model=ConversationRead, responses=ERRORS
)
async def assign(
    conversation_id: ConversationIdPath,
    body: AssignIn,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> ConversationRead:
    """Make an active agent or admin the conversation's agent; its current agent leaves it
    (admins). Capacity and availability do not stop an admin."""
    async with runtime.uow() as tx:
        return await service.do_assign(tx, principal, conversation_id, user_id=body.user_id)
