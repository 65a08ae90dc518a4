"""Today's deadline: a conversation whose `closes_at` has passed ends with reason `expired`,
by the tenant's system actor ("Parlour ended the conversation (expired).")."""

from __future__ import annotations

from parlour.conversations import service as conversations
from parlour.core.uow import UnitOfWork
from parlour.deadlines.registry import DeadlineRegistry, Due
from parlour.models.conversation import EndReason

NAME = "conversation.closes_at"


async def find_due(tx: UnitOfWork, limit: int) -> list[Due]:
    found = await conversations.find_expired(tx, limit=limit)
    return [Due(conversation_id=cid, tenant_id=tid) for cid, tid in found]


async def act(tx: UnitOfWork, due: Due) -> str | None:
    closed = await conversations.do_close_expired(tx, due.conversation_id, due.tenant_id)
    return EndReason.expired.value if closed else None


def register(registry: DeadlineRegistry) -> None:
    registry.register_deadline(NAME, find_due, act)
