"""REST for search: a thin adapter over the search service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import AfterValidator, AwareDatetime

from parlour.core.http import error_responses
from parlour.core.proxies import client_ip
from parlour.deps import PrincipalDep, RuntimeDep
from parlour.models.conversation import Status
from parlour.search import service
from parlour.search.query import MAX_QUERY_CHARS, Filters
from parlour.search.schemas import SearchPage

router = APIRouter(tags=["search"])

ERRORS = error_responses(400, 401, 403, 422, 429)


def _utc(value: datetime) -> datetime:
    # What cannot be stored as UTC (year 1 with a positive offset) is a 422, not a 500.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("datetime out of range") from None


When = Annotated[AwareDatetime, AfterValidator(_utc)]
# Longer than the service accepts, so an over-long search gets its own `query_too_long` code;
# far longer is refused before anything reads it.
Text = Annotated[str, Query(min_length=1, max_length=4 * MAX_QUERY_CHARS)]
Channel = Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,15}$")]
UserId = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


@router.get("/search", response_model=SearchPage, responses=ERRORS)
async def search(
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    q: Text,
    channel: Channel = None,
    status: Status | None = None,
    since: Annotated[When | None, Query(alias="from")] = None,
    until: Annotated[When | None, Query(alias="to")] = None,
    agent: UserId = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = 20,
    offset: Annotated[int, Query(ge=0, le=service.MAX_OFFSET)] = 0,
) -> SearchPage:
    """Messages (and conversations) the caller may read that match `q`: words (all must
    match), "quoted phrases", prefix* (docs/search.md). Most relevant first; snippets are
    HTML-safe with matches in <mark>. A few dozen a minute per caller and per client address
    (429 beyond); guests may not search (403 `search_not_for_guests`)."""
    # Per address too: one address can make callers (guests) faster than each one's limit.
    await runtime.limiter.hit(
        f"search-address:{client_ip(request)}",
        limit=runtime.settings.search_address_rate_per_minute,
    )
    await runtime.limiter.hit(
        f"search:{principal.user_id or principal.api_key_id or principal.tenant_id}",
        limit=runtime.settings.search_rate_per_minute,
    )
    async with runtime.uow(write=False) as tx:
        return await service.search(
            tx,
            principal,
            text=q,
            filters=Filters(
                channel=channel, status=status, since=since, until=until, agent_id=agent
            ),
            limit=limit,
            offset=offset,
        )
