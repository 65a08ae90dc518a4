"""Helpers for the routing tests: a cast, availability, concurrent creation, and what the
database says about who has what."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select, update

from parlour.auth.principal import Principal
from parlour.conversations import service as conversations
from parlour.models.conversation import Conversation, Participant, Status
from parlour.models.routing import AgentRouting
from parlour.routing import service as routing
from parlour.runtime import Runtime


async def set_status(rt: Runtime, agent: Principal, status: str) -> list[str]:
    """Set the agent's availability through the service; what went back to the queue."""
    async with rt.uow() as tx:
        read = await routing.do_set_availability(tx, agent, status)  # type: ignore[arg-type]
    return read.returned_to_queue


async def set_capacity(rt: Runtime, admin: Principal, agent: Principal, capacity: int) -> None:
    assert agent.user_id is not None
    async with rt.uow() as tx:
        await routing.do_set_capacity(tx, admin, agent.user_id, capacity)


async def force_online(
    rt: Runtime, agent: Principal, capacity: int | None = None, *, status: str = "online"
) -> None:
    """Online (or `status`) without the after-commit drain (as if the node died before its
    hooks ran)."""
    assert agent.user_id is not None
    async with rt.uow() as tx:
        await tx.session.merge(
            AgentRouting(
                user_id=agent.user_id,
                tenant_id=agent.tenant_id,
                status=status,
                capacity=capacity,
            )
        )


async def create_many(rt: Runtime, customer: Principal, n: int, kind: str = "support") -> None:
    """`n` conversations opened at once, each in its own unit of work (and connection)."""

    async def one() -> None:
        async with rt.uow() as tx:
            await conversations.do_create_conversation(
                tx, customer, kind=kind, customer_id=None, subject="Help"
            )

    await asyncio.gather(*(one() for _ in range(n)))


async def create_one(rt: Runtime, customer: Principal, kind: str = "support") -> str:
    async with rt.uow() as tx:
        view = await conversations.do_create_conversation(
            tx, customer, kind=kind, customer_id=None, subject="Help"
        )
    return view.id


@dataclass
class State:
    # Conversation ids in arrival order (created_at, id).
    order: list[str]
    status: dict[str, str]
    # conversation id -> its current agents (agent participants who have not left)
    agents: dict[str, list[str]]

    def waiting(self) -> list[str]:
        return [c for c in self.order if self.status[c] == Status.waiting]

    def active(self) -> list[str]:
        return [c for c in self.order if self.status[c] == Status.active]

    def load(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for cid, users in self.agents.items():
            if self.status[cid] != Status.ended:
                for u in users:
                    counts[u] += 1
        return dict(counts)

    def check(self, capacity: dict[str, int]) -> None:
        """No agent over capacity; no conversation with two current agents; active iff an
        agent has it."""
        for user, n in self.load().items():
            assert n <= capacity.get(user, 3), (user, n)
        for cid in self.order:
            assert len(self.agents.get(cid, [])) <= 1, (cid, self.agents[cid])
            if self.status[cid] != Status.ended:
                assert (self.status[cid] == Status.active) == bool(self.agents.get(cid)), cid


async def state(rt: Runtime) -> State:
    async with rt.uow(write=False) as tx:
        rows = list(
            await tx.session.execute(
                select(Conversation.id, Conversation.status).order_by(
                    Conversation.created_at, Conversation.id
                )
            )
        )
        parts = list(
            await tx.session.execute(
                select(Participant.conversation_id, Participant.user_id).where(
                    Participant.role == "agent", Participant.left_at.is_(None)
                )
            )
        )
    agents: dict[str, list[str]] = defaultdict(list)
    for cid, uid in parts:
        agents[cid].append(uid)
    return State(
        order=[cid for cid, _ in rows], status={cid: s for cid, s in rows}, agents=dict(agents)
    )


async def end(rt: Runtime, who: Principal, conversation_id: str) -> None:
    async with rt.uow() as tx:
        await conversations.do_end(tx, who, conversation_id, reason=None)


async def set_routed_kinds(rt: Runtime, kinds: list[str]) -> None:
    from parlour.models.tenant import Tenant

    async with rt.uow() as tx:
        await tx.session.execute(
            update(Tenant).values(
                settings={
                    "routed_kinds": kinds,
                    "customer_conversation_kinds": ["support", "consultation"],
                }
            )
        )
