"""Lifecycle race plans shared by the in-process race tests and the two-process runner.

A plan is a list of steps (end, join, assign, observe) against one conversation; each step runs
in its own unit of work, so on PostgreSQL each holds its own connection and transaction.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from parlour.auth.principal import Principal, db_scope
from parlour.conversations import service
from parlour.core.errors import AppError
from parlour.models.conversation import Conversation, Participant, Status
from parlour.models.message import Message
from parlour.runtime import Runtime


@dataclass(frozen=True)
class Step:
    action: str  # end | join | assign | observe
    principal: Principal
    conversation_id: str
    user_id: str | None = None  # the agent an `assign` adds

    def to_json(self) -> dict[str, Any]:
        p = self.principal
        return {
            "action": self.action,
            "conversation_id": self.conversation_id,
            "user_id": self.user_id,
            "principal": {"tenant_id": p.tenant_id, "role": p.role, "user_id": p.user_id},
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Step:
        return cls(
            action=raw["action"],
            principal=Principal(**raw["principal"]),
            conversation_id=raw["conversation_id"],
            user_id=raw["user_id"],
        )


async def run_step(rt: Runtime, step: Step, barrier: asyncio.Barrier | None) -> str:
    """Run one step in its own unit of work; "ok" or the refusing error's code."""
    sqlite = rt.engine.dialect.name == "sqlite"
    try:
        if barrier is not None and sqlite:
            # SQLite's writer holds the write lock from BEGIN: wait before, not inside.
            await barrier.wait()
        # rls: each step in its actor's own scope, as the edge would run it.
        async with rt.uow(scope=db_scope(step.principal)) as tx:
            if barrier is not None and not sqlite:
                await barrier.wait()  # every transaction open, then all go at once
            cid = step.conversation_id
            if step.action == "end":
                await service.do_end(tx, step.principal, cid, reason=None)
            elif step.action == "join":
                await service.do_join(tx, step.principal, cid)
            elif step.action == "assign":
                assert step.user_id is not None
                await service.do_add_participant(
                    tx, step.principal, cid, user_id=step.user_id, role="agent"
                )
            elif step.action == "observe":
                await service.do_observe(tx, step.principal, cid)
            else:
                raise AssertionError(step.action)
        return "ok"
    except AppError as exc:
        return exc.code
    except Exception as exc:  # a crash (a unique violation, a deadlock) is an outcome too
        return f"crash: {type(exc).__name__}"


async def run_plan(rt: Runtime, steps: list[Step]) -> list[str]:
    barrier = asyncio.Barrier(len(steps))
    outcomes = list(await asyncio.gather(*(run_step(rt, s, barrier) for s in steps)))
    assert not [o for o in outcomes if o.startswith("crash")], outcomes
    return outcomes


async def check_outcome(rt: Runtime, conversation_id: str) -> None:
    """Exactly one "ended" message, and it is the last one; the status stays ended; nobody
    joined after the end (every participant's joining message comes before it)."""
    async with rt.uow(write=False) as tx:
        conversation = await tx.session.get(Conversation, conversation_id)
        assert conversation is not None
        messages = list(
            await tx.session.scalars(
                select(Message).where(Message.conversation_id == conversation_id)
            )
        )
        participants = list(
            await tx.session.scalars(
                select(Participant).where(Participant.conversation_id == conversation_id)
            )
        )
    assert conversation.status == Status.ended, conversation.status
    events = [(m.seq, (m.meta or {}).get("event"), m.meta or {}) for m in messages]
    ended = [seq for seq, event, _ in events if event == "ended"]
    assert len(ended) == 1, f"{len(ended)} ended messages: {events}"
    assert ended[0] == max(seq for seq, _, _ in events), f"messages after the end: {events}"
    assert ended[0] == conversation.last_seq
    # Every staff participant was announced (joined, or observing) before the end.
    announced = {
        meta.get("user_id") for _, event, meta in events if event in ("joined", "observing")
    }
    for p in participants:
        if p.role in ("agent", "observer"):
            assert p.user_id in announced, f"{p.role} {p.user_id} added without a message"
