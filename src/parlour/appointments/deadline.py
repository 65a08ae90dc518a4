"""The appointment deadline: a scheduled appointment whose chat deadline (ends_at + grace)
passed is completed, its chat closed (`expired`) if the expiry deadline has not already done
it. Registered with the runtime's DeadlineRegistry after the conversation expiry."""

from __future__ import annotations

from parlour.appointments import service
from parlour.core.uow import UnitOfWork
from parlour.deadlines.registry import DeadlineRegistry, Due

NAME = "appointment.completion"
COMPLETED = "completed"


async def find_due(tx: UnitOfWork, limit: int) -> list[Due]:
    found = await service.find_due_completions(tx, limit=limit)
    return [Due(conversation_id=cid, tenant_id=tid) for cid, tid in found]


async def act(tx: UnitOfWork, due: Due) -> str | None:
    done = await service.do_complete_due(tx, due.conversation_id, due.tenant_id)
    return COMPLETED if done else None


# paidbook: a booking unpaid for service.PAYMENT_HOLD is released (cancelled, slot freed).
HOLD_NAME = "appointment.payment_hold"
RELEASED = "released"


async def find_due_holds(tx: UnitOfWork, limit: int) -> list[Due]:
    found = await service.find_due_holds(tx, limit=limit)
    return [Due(conversation_id=cid, tenant_id=tid) for cid, tid in found]


async def release_hold(tx: UnitOfWork, due: Due) -> str | None:
    done = await service.do_release_hold(tx, due.conversation_id, due.tenant_id)
    return RELEASED if done else None


def register(registry: DeadlineRegistry) -> None:
    registry.register_deadline(NAME, find_due, act)
    registry.register_deadline(HOLD_NAME, find_due_holds, release_hold)
