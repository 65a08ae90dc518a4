"""REST for time limits: the countdown a chat room shows."""

from __future__ import annotations

from fastapi import APIRouter

from parlour.conversations.service import reading_may_write
from parlour.core.http import error_responses
from parlour.deps import ConversationIdPath, PrincipalDep, RuntimeDep
from parlour.timing import service
from parlour.timing.schemas import TimerRead

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
