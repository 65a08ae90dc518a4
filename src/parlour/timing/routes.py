"""REST for time limits: the countdown a chat room shows."""

from __future__ import annotations

from fastapi import APIRouter

from parlour.conversations.service import reading_may_write
from parlour.core.http import error_responses
from parlour.deps import ConversationIdPath, PrincipalDep, RuntimeDep
from parlour.timing import service
from parlour.timing.schemas import ExtendIn, TimerRead

router = APIRouter(prefix="/conversations", tags=["conversations"])


@router.get(
    "/{conversation_id}/timer",
    response_model=TimerRead,
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
async def get_timer(
    conversation_id: ConversationIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> TimerRead:
    """The conversation's time limit: `ends_at` (null until the first agent joins, all null
    without a limit) and the server's time, to count down from. Live `timer` events on the
    conversation say when it starts, is extended, warns or finishes."""
    async with runtime.uow(write=reading_may_write(principal)) as tx:
        return await service.get_timer(tx, principal, conversation_id)


@router.post(
    "/{conversation_id}/timer/extend",
    response_model=TimerRead,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
)
async def extend_timer(
    conversation_id: ConversationIdPath,
    body: ExtendIn,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> TimerRead:
    """Admins and service keys give a timed conversation more minutes: a running clock's end
    moves (a new one-minute warning comes), one not yet started gets a longer allowance; the
    transcript says "The time limit was extended by N minutes." 409 `no_time_limit` without a
    limit, `conversation_ended` after the end."""
    async with runtime.uow() as tx:
        return await service.do_extend(tx, principal, conversation_id, minutes=body.minutes)
