"""REST for the support desk: the public support start, and tickets for staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, Security, status
from fastapi.security import HTTPAuthorizationCredentials

from parlour.auth.principal import Principal
from parlour.auth.routes import token_response
from parlour.auth.service import get_tenant_by_slug
from parlour.conversations.routes import limit_creation
from parlour.core import rls
from parlour.core.http import error_responses
from parlour.core.proxies import client_ip
from parlour.deps import (
    API_KEY,
    BEARER,
    COOKIE,
    PrincipalDep,
    RuntimeDep,
    authenticate_credential,
    credential_from,
)
from parlour.models.ticket import TicketPriority, TicketStatus
from parlour.tickets import service
from parlour.tickets.schemas import (
    SupportStartIn,
    SupportStartOut,
    TicketHistory,
    TicketPage,
    TicketPatch,
    TicketRead,
)

support_router = APIRouter(prefix="/support", tags=["support"])
router = APIRouter(prefix="/tickets", tags=["tickets"])

ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422)
TicketIdPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
TenantSlug = Annotated[
    str | None,
    Query(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$", description="Tenant slug (default)."),
]


async def optional_principal(
    request: Request,
    runtime: RuntimeDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    _api_key: Annotated[str | None, Security(API_KEY)],
    _cookie: Annotated[str | None, Security(COOKIE)],
) -> Principal | None:
    """The caller when the request carries a credential (an invalid one is 401), else None."""
    credential, _ = credential_from(request)
    if not credential:
        return None
    return await authenticate_credential(runtime, credential)


@support_router.post(
    "/conversations",
    response_model=SupportStartOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": SupportStartOut, "description": "Added to the open support conversation."},
        **error_responses(400, 401, 403, 404, 409, 413, 422, 429),
    },
    # Public: a visitor without a credential becomes a guest (`{}` makes the schemes optional).
    openapi_extra={"security": [{}, {"bearer": []}, {"apiKey": []}, {"cookie": []}]},
)
async def start_support(
    body: SupportStartIn,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    principal: Annotated[Principal | None, Security(optional_principal)],
    tenant: TenantSlug = None,
) -> SupportStartOut:
    """A visitor starts a support chat: without a credential they become a guest customer and
    the answer carries the guest's credential (`credential`, kept by the widget); a customer
    sends their own (`Authorization: Bearer`). Makes the `support` conversation (waiting for
    an agent), its ticket and the first message in one transaction. A customer whose support
    conversation has ended gets a new one linked to the earlier ticket; one whose conversation
    is still open gets the message added there (200, `created: false`). Cross-origin callers:
    only the tenant's `widget_allowed_origins` (CORS)."""
    if principal is None:
        # Guests cost nothing to make: one address gets a few a minute (shared with
        # POST /auth/guest).
        await runtime.limiter.hit(
            f"guest:{client_ip(request)}", limit=runtime.settings.guest_rate_per_minute
        )
        await runtime.limiter.hit(
            f"conversation-address:{client_ip(request)}",
            limit=runtime.settings.conversation_address_rate_per_minute,
        )
    else:
        await limit_creation(runtime, request, principal)
    visitor = service.Visitor(
        message=body.message,
        display_name=body.display_name,
        phone=body.phone,
        email=body.email,
        subject=body.subject,
        client_msg_id=body.client_msg_id,
    )
    if principal is None:
        # rls: a visitor becomes a guest here, which is the tenant's service's to do (as a
        # sign-up): the tenant by its slug first.
        async with runtime.uow(write=False, scope=rls.ALL_TENANTS) as tx:
            tenant_id = (await get_tenant_by_slug(tx.session, tenant)).id
        rls.enter(rls.DbScope.service(tenant_id))
    async with runtime.uow() as tx:
        found = await get_tenant_by_slug(tx.session, tenant)
        started = await service.do_start_support(
            tx, found, principal, visitor, max_chars=runtime.settings.max_message_chars
        )
    credential = None
    if started.guest is not None:
        # The token only: the widget keeps it (no cookie, which a third-party frame would not
        # get back anyway).
        credential = token_response(runtime, Response(), started.guest)
    if not started.created:
        response.status_code = status.HTTP_200_OK
    return SupportStartOut(
        conversation=started.conversation,
        ticket=started.ticket,
        credential=credential,
        created=started.created,
    )


@router.get("", response_model=TicketPage, responses=ERRORS)
async def list_tickets(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    status: TicketStatus | None = None,
    assignee: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=r"^[A-Za-z0-9_\-]+$",
            description="A user id, `me`, or `none` (no agent yet).",
        ),
    ] = None,
    queue: Annotated[
        bool, Query(description="Only tickets waiting for an agent (their conversation waits).")
    ] = False,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> TicketPage:
    """The tenant's tickets for staff, highest number first; page with `before=next_before`.
    Agents see their own conversations' tickets, and with `queue=true` every waiting one
    (redacted unless they take part)."""
    async with runtime.uow(write=False) as tx:
        return await service.list_tickets(
            tx,
            principal,
            status=status,
            assignee=assignee,
            queue=queue,
            before=before,
            limit=limit,
        )


@router.get("/{ticket_id}", response_model=TicketRead, responses=ERRORS)
async def get_ticket(
    ticket_id: TicketIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> TicketRead:
    """One ticket (staff who may read its conversation)."""
    async with runtime.uow(write=False) as tx:
        return await service.get_ticket(tx, principal, ticket_id)


@router.patch("/{ticket_id}", response_model=TicketRead, responses=ERRORS)
async def update_ticket(
    ticket_id: TicketIdPath, body: TicketPatch, principal: PrincipalDep, runtime: RuntimeDep
) -> TicketRead:
    """Change status, priority or subject. `resolved` (or `closed`) ends the conversation
    (reason `agent`); `closed` is final (409 `ticket_closed`); a status that may not follow the
    current one is 409 `invalid_transition`."""
    async with runtime.uow() as tx:
        return await service.do_update_ticket(
            tx,
            principal,
            ticket_id,
            status=TicketStatus(body.status) if body.status else None,
            priority=TicketPriority(body.priority) if body.priority else None,
            subject=body.subject,
        )


@router.get("/{ticket_id}/history", response_model=TicketHistory, responses=ERRORS)
async def ticket_history(
    ticket_id: TicketIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> TicketHistory:
    """The customer's earlier tickets this one follows, with their transcripts."""
    async with runtime.uow(write=False) as tx:
        return await service.ticket_history(tx, principal, ticket_id)
