"""Ratings: after a conversation ends its customer rates it once, 1-5 with an optional
comment; the rating counts for every agent who took part (transfers included). Agents see
their own average, admins the tenant's (docs/time-limits-ratings-transcripts.md)."""

from __future__ import annotations

from parlour.auth.principal import Principal
from parlour.conversations import service as conversations
from parlour.conversations.schemas import ConversationRead
from parlour.core.errors import Conflict, Forbidden
from parlour.core.ids import new_id
from parlour.core.uow import UnitOfWork
from parlour.models.conversation import ParticipantRole, Status
from parlour.models.timing import Rating, RatingAgent
from parlour.ratings import repository
from parlour.ratings.schemas import (
    AgentRatings,
    MyRatings,
    RatingRead,
    RatingState,
    TenantRatings,
)

RECENT = 20


def _is_its_customer(principal: Principal, view: ConversationRead) -> bool:
    return principal.is_customer and principal.user_id == view.customer_id


async def _read(tx: UnitOfWork, ratings: list[Rating]) -> list[RatingRead]:
    agents = await repository.agents_of(tx.session, [r.id for r in ratings])
    return [
        RatingRead(
            id=r.id,
            conversation_id=r.conversation_id,
            customer_id=r.customer_id,
            score=r.score,
            comment=r.comment,
            agent_ids=agents.get(r.id, []),
            created_at=r.created_at,
        )
        for r in ratings
    ]


async def do_rate(
    tx: UnitOfWork, principal: Principal, conversation_id: str, *, score: int, comment: str | None
) -> RatingRead:
    """The conversation's customer rates it, once, after it ended. Anyone who may not read it
    learns nothing (404); a reader who is not its customer is 403 `not_the_customer`; before the
    end 409 `conversation_not_ended`; a second rating 409 `already_rated`."""
    view = await conversations.get_conversation(tx, principal, conversation_id)
    if not _is_its_customer(principal, view):
        raise Forbidden("Only the conversation's customer rates it.", code="not_the_customer")
    # Under the conversation's lock: two ratings at once are serialised, the second sees the
    # first (and the unique conversation_id would refuse it anyway).
    locked = await conversations.lock_conversation(tx, conversation_id, principal.tenant_id)
    if locked is None or locked.status != Status.ended:
        raise Conflict("A conversation is rated after it has ended.", code="conversation_not_ended")
    if await repository.for_conversation(tx.session, conversation_id) is not None:
        raise Conflict("This conversation has already been rated.", code="already_rated")
    rating = Rating(
        id=new_id(),
        tenant_id=principal.tenant_id,
        conversation_id=conversation_id,
        customer_id=view.customer_id,
        score=score,
        comment=comment or None,
        created_at=tx.now,
    )
    tx.session.add(rating)
    await tx.session.flush()
    agents = dict.fromkeys(p.user_id for p in view.participants if p.role == ParticipantRole.agent)
    for agent_id in agents:
        tx.session.add(
            RatingAgent(rating_id=rating.id, agent_id=agent_id, tenant_id=rating.tenant_id)
        )
    await tx.session.flush()
    [read] = await _read(tx, [rating])
    return read


async def get_rating(tx: UnitOfWork, principal: Principal, conversation_id: str) -> RatingState:
    """A conversation's rating for its readers, and whether the caller may rate it now."""
    view = await conversations.get_conversation(tx, principal, conversation_id)
    found = await repository.for_conversation(tx.session, conversation_id)
    may_rate = found is None and view.status == Status.ended and _is_its_customer(principal, view)
    return RatingState(rating=(await _read(tx, [found]))[0] if found else None, may_rate=may_rate)


async def my_ratings(tx: UnitOfWork, principal: Principal) -> MyRatings:
    """An agent's (or an admin's) own ratings: how many, the average, the latest."""
    if principal.user_id is None or principal.is_customer or not principal.is_staff:
        raise Forbidden("Only agents and admins have ratings.", code="staff_only")
    count, average = await repository.summary_for_agent(
        tx.session, principal.tenant_id, principal.user_id
    )
    recent = await repository.recent(
        tx.session, principal.tenant_id, agent_id=principal.user_id, limit=RECENT
    )
    return MyRatings(count=count, average=average, recent=await _read(tx, recent))


async def tenant_ratings(tx: UnitOfWork, principal: Principal) -> TenantRatings:
    """Every rating of the tenant, for its admins: the overall average, each agent's, the
    latest."""
    if not principal.is_admin or principal.is_service:
        raise Forbidden("Only admins see every rating.", code="admin_only")
    count, average = await repository.summary_for_tenant(tx.session, principal.tenant_id)
    agents = await repository.per_agent(tx.session, principal.tenant_id)
    recent = await repository.recent(tx.session, principal.tenant_id, limit=RECENT)
    return TenantRatings(
        count=count,
        average=average,
        agents=[
            AgentRatings(agent_id=aid, display_name=name, count=n, average=avg)
            for aid, name, n, avg in agents
        ],
        recent=await _read(tx, recent),
    )
