"""The no-expert promise as a deadline of the sweep: a paid session no expert joined within
the tenant's `no_expert_refund_minutes` is refunded (a job) and ends with `no_expert`."""

from __future__ import annotations

from parlour.core.uow import UnitOfWork
from parlour.deadlines.registry import DeadlineRegistry, Due
from parlour.models.conversation import EndReason
from parlour.payments import service as payments

NAME = "payments.no_expert"


async def find_due(tx: UnitOfWork, limit: int) -> list[Due]:
    found = await payments.find_no_expert_due(tx, limit=limit)
    return [Due(conversation_id=cid, tenant_id=tid) for cid, tid in found]


async def act(tx: UnitOfWork, due: Due) -> str | None:
    refunded = await payments.do_no_expert(tx, due.conversation_id, due.tenant_id)
    return EndReason.no_expert.value if refunded else None


def register(registry: DeadlineRegistry) -> None:
    registry.register_deadline(NAME, find_due, act)
