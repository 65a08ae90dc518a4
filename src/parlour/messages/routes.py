"""REST for messages: history pages and sending (through the group-commit writer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from parlour.conversations.service import do_open_for_reading, reading_may_write
from parlour.core.http import error_responses
from parlour.deps import ConversationIdPath, PrincipalDep, RuntimeDep
from parlour.messages import service
from parlour.messages.schemas import MessageCreate, MessagePage, MessageRead

router = APIRouter(prefix="/conversations", tags=["messages"])

# `seq` is a 32-bit column: a bigger bound cannot match and would fail the query itself.
MAX_SEQ = 2**31 - 1

ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 429)
SEND_ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 429, 503)


@router.get("/{conversation_id}/messages", response_model=MessagePage, responses=ERRORS)
async def list_messages(
    conversation_id: ConversationIdPath,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    after_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    before_seq: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> MessagePage:
    """History in seq order: after `after_seq` to catch up, before `before_seq` to scroll back.
    An admin who is not taking part reads as an observer (recorded, announced per tenant)."""
    async with runtime.uow(write=reading_may_write(principal)) as tx:
        await do_open_for_reading(tx, principal, conversation_id)
        return await service.list_messages(
            tx,
            principal,
            conversation_id=conversation_id,
            after_seq=after_seq,
            before_seq=before_seq,
            limit=limit,
        )


@router.post(
    "/{conversation_id}/messages",
    response_model=MessageRead,
    status_code=status.HTTP_201_CREATED,
    responses=SEND_ERRORS,
)
async def send_message(
    conversation_id: ConversationIdPath,
    body: MessageCreate,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> MessageRead:
    """Post a message. A retry with the same `client_msg_id` returns the original message,
    also after the conversation has ended. 503 `unavailable` when the server is busy or the
    database is away: retry with the same `client_msg_id` (the message may have been stored)."""
    await runtime.limiter.hit(
        f"send:{principal.user_id or principal.api_key_id}",
        limit=runtime.settings.send_rate_per_minute,
    )
    return await runtime.writer.send(
        service.SendRequest(
            principal,
            conversation_id,
            body.body,
            body.client_msg_id,
            attachment_ids=tuple(body.attachment_ids),
        )
    )
