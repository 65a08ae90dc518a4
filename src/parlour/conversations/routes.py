"""REST for conversations: thin adapters over the conversation service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from parlour.auth.principal import Principal
from parlour.conversations import service
from parlour.conversations.reads import ReadRequest
from parlour.conversations.schemas import (
    ConversationCreate,
    ConversationPage,
    ConversationRead,
    EndIn,
    ParticipantAdd,
    ReadIn,
    ReadState,
    UnreadTotals,
)
from parlour.conversations.unread import unread_totals  # inbox
from parlour.core.http import error_responses
from parlour.core.proxies import client_ip
from parlour.deps import ConversationIdPath, PrincipalDep, RuntimeDep
from parlour.models.conversation import Channel, Status
from parlour.models.user import Role
from parlour.runtime import Runtime
from parlour.timing import service as timing  # timing

router = APIRouter(prefix="/conversations", tags=["conversations"])

ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422)
READ_ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 503)


async def limit_creation(runtime: Runtime, request: Request, principal: Principal) -> None:
    """Customers open conversations at a bounded rate, per customer and per client address (a
    guest costs nothing to make, so one address's guests share a budget too). Staff and service
    keys act for the tenant itself and are not limited here. The pages share these counters."""
    if principal.role != Role.customer:
        return
    settings = runtime.settings
    await runtime.limiter.hit(
        f"conversation:{principal.user_id}", limit=settings.conversation_rate_per_minute
    )
    await runtime.limiter.hit(
        f"conversation-address:{client_ip(request)}",
        limit=settings.conversation_address_rate_per_minute,
    )


@router.post(
    "",
    response_model=ConversationRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422, 429),
)
async def create_conversation(
    body: ConversationCreate, request: Request, principal: PrincipalDep, runtime: RuntimeDep
) -> ConversationRead:
    """Open a conversation for a customer (customers: a few a minute, 429 beyond)."""
    await limit_creation(runtime, request, principal)
    async with runtime.uow() as tx:
        view = await service.do_create_conversation(
            tx,
            principal,
            kind=body.kind,
            customer_id=body.customer_id,
            subject=body.subject,
            closes_at=body.closes_at,
        )
        if body.time_limit_minutes is not None:  # timing
            await timing.do_limit_new_conversation(
                tx, principal, view.id, minutes=body.time_limit_minutes
            )
        return view


@router.get("", response_model=ConversationPage, responses=ERRORS)
async def list_conversations(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    scope: service.Scope = "mine",
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIST)] = 50,
    channel: Channel | None = None,  # inbox
) -> ConversationPage:
    """The caller's conversations, newest activity first (`scope=queue`: waiting ones, staff;
    `scope=all`: the tenant's, admins); `channel` keeps one channel's (web, whatsapp, sms,
    email). Each carries its `channel` and the caller's `unread_count`."""
    async with runtime.uow(write=False) as tx:
        found = await service.list_conversations(
            tx, principal, scope=scope, status=status, limit=limit, channel=channel
        )
    return ConversationPage(conversations=found)


# inbox: declared before `/{conversation_id}`, which would otherwise take "unread" as an id.
@router.get("/unread", response_model=UnreadTotals, responses=error_responses(401, 422))
async def get_unread_totals(principal: PrincipalDep, runtime: RuntimeDep) -> UnreadTotals:
    """The caller's unread messages in all and per channel, over the conversations they take
    part in (a customer: their own; staff: those they have joined and not left)."""
    async with runtime.uow(write=False) as tx:
        return await unread_totals(tx, principal)


@router.get("/{conversation_id}", response_model=ConversationRead, responses=ERRORS)
async def get_conversation(
    conversation_id: ConversationIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> ConversationRead:
    """One conversation. An admin who is not taking part reads it as an observer (recorded,
    and announced if the tenant says so)."""
    async with runtime.uow(write=service.reading_may_write(principal)) as tx:
        return await service.get_conversation(tx, principal, conversation_id)


@router.post("/{conversation_id}/join", response_model=ConversationRead, responses=ERRORS)
async def join(
    conversation_id: ConversationIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> ConversationRead:
    """An agent takes a waiting conversation (making it active); an active one answers 409
    `conversation_taken` (an admin assigns it, or its agent transfers it). Admins may join any
    open conversation."""
    async with runtime.uow() as tx:
        return await service.do_join(tx, principal, conversation_id)


@router.post("/{conversation_id}/observe", response_model=ConversationRead, responses=ERRORS)
async def observe(
    conversation_id: ConversationIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> ConversationRead:
    """An admin watches the conversation read-only."""
    async with runtime.uow() as tx:
        return await service.do_observe(tx, principal, conversation_id)


@router.post("/{conversation_id}/participants", response_model=ConversationRead, responses=ERRORS)
async def add_participant(
    conversation_id: ConversationIdPath,
    body: ParticipantAdd,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> ConversationRead:
    """An admin assigns an agent (or adds an observer); an agent taking part brings in another
    agent, or with `transfer` hands the conversation over and leaves."""
    async with runtime.uow() as tx:
        return await service.do_add_participant(
            tx,
            principal,
            conversation_id,
            user_id=body.user_id,
            role=body.role,
            transfer=body.transfer,
        )


@router.post("/{conversation_id}/end", response_model=ConversationRead, responses=ERRORS)
async def end(
    conversation_id: ConversationIdPath,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    body: EndIn | None = None,
) -> ConversationRead:
    async with runtime.uow() as tx:
        return await service.do_end(
            tx, principal, conversation_id, reason=body.reason if body else None
        )


@router.post("/{conversation_id}/read", response_model=ReadState, responses=READ_ERRORS)
async def mark_read(
    conversation_id: ConversationIdPath, body: ReadIn, principal: PrincipalDep, runtime: RuntimeDep
) -> ReadState:
    """Move the caller's read pointer forward (group-committed with other read pointers)."""
    return await runtime.read_writer.submit(ReadRequest(principal, conversation_id, body.seq))
