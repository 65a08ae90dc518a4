"""Wiring time limits into the node: the sweep's deadline and the hook that starts the clock.

Why a hook for the start (not a call inside the join): the lifecycle stays unaware of time
limits, and the hook runs after the join committed, under the conversation's lock, taking the
start time from the participant's stored `joined_at` (the join's own transaction time), so a
hook that runs a moment later starts the clock at the join, not at its own time. Joins and
assignments happen in server processes (HTTP, WebSocket, routing), where the hook is
registered. A timer set after an agent already joined starts in `set_time_limit` itself.
"""

from __future__ import annotations

import logging
from typing import Protocol

from parlour.conversations.service import PARTICIPANT_JOINED
from parlour.core.domain_events import DomainEvent, DomainHooks
from parlour.core.uow import UnitOfWork
from parlour.deadlines.registry import DeadlineRegistry, Due
from parlour.models.conversation import ParticipantRole
from parlour.timing import service

NAME = "conversation.time_limit"


class UnitsOfWork(Protocol):
    """`Runtime.uow`."""

    def __call__(self, *, write: bool = True) -> UnitOfWork: ...


log = logging.getLogger(__name__)


async def find_due(tx: UnitOfWork, limit: int) -> list[Due]:
    found = await service.find_due(tx, limit=limit)
    return [Due(conversation_id=cid, tenant_id=tid) for cid, tid in found]


async def act(tx: UnitOfWork, due: Due) -> str | None:
    """The end reason when the limit ended the conversation. A warning is no closing: it is
    written (and visible in the transcript) but not reported as an outcome."""
    outcome = await service.do_act_on_timer(tx, due.conversation_id, due.tenant_id)
    return None if outcome == service.WARNED else outcome


def register(deadlines: DeadlineRegistry, hooks: DomainHooks, uow: UnitsOfWork) -> None:
    deadlines.register_deadline(NAME, find_due, act)

    async def on_joined(event: DomainEvent) -> None:
        if event.data.get("role") != ParticipantRole.agent:
            return
        conversation_id = event.data["conversation_id"]
        async with uow(write=False) as tx:
            if not await service.waits_to_start(tx, conversation_id, event.tenant_id):
                return
        async with uow() as tx:
            started = await service.do_start_clock(tx, conversation_id, event.tenant_id)
        if started:
            log.info("time limit started for %s", conversation_id)

    hooks.on(PARTICIPANT_JOINED, on_joined)
