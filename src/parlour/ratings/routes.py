"""REST for ratings: the customer's verdict on an ended conversation, and who sees averages."""

from __future__ import annotations

from fastapi import APIRouter, status

from parlour.conversations.service import reading_may_write
from parlour.core.http import error_responses
from parlour.deps import ConversationIdPath, PrincipalDep, RuntimeDep
from parlour.ratings import service
from parlour.ratings.schemas import MyRatings, RatingIn, RatingRead, RatingState, TenantRatings

router = APIRouter(tags=["ratings"])

ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422)


@router.post(
    "/conversations/{conversation_id}/rating",
    response_model=RatingRead,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
async def rate(
    conversation_id: ConversationIdPath,
    body: RatingIn,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> RatingRead:
    """The customer rates an ended conversation once: 1-5 and an optional comment (409
    `conversation_not_ended` before the end, `already_rated` the second time)."""
    async with runtime.uow() as tx:
        return await service.do_rate(
            tx, principal, conversation_id, score=body.score, comment=body.comment
        )


@router.get("/conversations/{conversation_id}/rating", response_model=RatingState, responses=ERRORS)
async def get_rating(
    conversation_id: ConversationIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> RatingState:
    """The conversation's rating (null until rated) and whether the caller may rate it now."""
    async with runtime.uow(write=reading_may_write(principal)) as tx:
        return await service.get_rating(tx, principal, conversation_id)


@router.get("/me/ratings", response_model=MyRatings, responses=error_responses(401, 403, 422))
async def my_ratings(principal: PrincipalDep, runtime: RuntimeDep) -> MyRatings:
    """The caller's own ratings (agents and admins): count, average and the latest."""
    async with runtime.uow(write=False) as tx:
        return await service.my_ratings(tx, principal)


@router.get(
    "/admin/ratings", response_model=TenantRatings, responses=error_responses(401, 403, 422)
)
async def tenant_ratings(principal: PrincipalDep, runtime: RuntimeDep) -> TenantRatings:
    """Every rating of the tenant (admins): the overall average, each agent's, the latest."""
    async with runtime.uow(write=False) as tx:
        return await service.tenant_ratings(tx, principal)
