"""REST for channel accounts (admins only) and for a conversation's channel (staff)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Request, Response, status

from parlour.channels import delivery, service
from parlour.channels.schemas import (
    ChannelCreate,
    ChannelList,
    ChannelRead,
    ChannelUpdate,
    ConversationChannelRead,
    TemplateSend,
)
from parlour.core.http import error_responses
from parlour.deps import ConversationIdPath, PrincipalDep, RuntimeDep
from parlour.messages.schemas import MessageRead
from parlour.runtime import Runtime

router = APIRouter(prefix="/channels", tags=["channels"])

ERRORS = error_responses(400, 401, 403, 404, 409, 422)
ChannelIdPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


def public_base(request: Request, runtime: Runtime) -> str:
    """Where Twilio reaches us: PARLOUR_PUBLIC_URL, else this request's own origin."""
    return runtime.settings.public_url or str(request.base_url).rstrip("/")


@router.get("", response_model=ChannelList, responses=ERRORS)
async def list_channels(
    request: Request, principal: PrincipalDep, runtime: RuntimeDep
) -> ChannelList:
    """The tenant's channel accounts, with the webhook URLs to give Twilio; credentials only
    as hints."""
    async with runtime.uow(write=False) as tx:
        found = await service.list_channels(tx, principal, public_url=public_base(request, runtime))
    return ChannelList(channels=found)


@router.post("", response_model=ChannelRead, status_code=status.HTTP_201_CREATED, responses=ERRORS)
async def create_channel(
    request: Request,
    body: Annotated[ChannelCreate, Body()],
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> ChannelRead:
    """Add a WhatsApp or SMS number (Twilio credentials, stored as secrets) or an email inbox."""
    async with runtime.uow() as tx:
        return await service.do_create(
            tx,
            principal,
            body,
            server_secret=runtime.secret_key,
            public_url=public_base(request, runtime),
        )


@router.get("/{channel_id}", response_model=ChannelRead, responses=ERRORS)
async def get_channel(
    request: Request, channel_id: ChannelIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> ChannelRead:
    """One channel account."""
    async with runtime.uow(write=False) as tx:
        return await service.get_channel(
            tx, principal, channel_id, public_url=public_base(request, runtime)
        )


@router.patch("/{channel_id}", response_model=ChannelRead, responses=ERRORS)
async def update_channel(
    request: Request,
    channel_id: ChannelIdPath,
    body: ChannelUpdate,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> ChannelRead:
    """Enable or disable, rename, rotate credentials, change the number or the approved
    WhatsApp templates."""
    async with runtime.uow() as tx:
        return await service.do_update(
            tx,
            principal,
            channel_id,
            body,
            server_secret=runtime.secret_key,
            public_url=public_base(request, runtime),
        )


@router.delete(
    "/{channel_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=ERRORS,
)
async def delete_channel(
    channel_id: ChannelIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> None:
    """Delete a channel account and its credentials."""
    async with runtime.uow() as tx:
        await service.do_delete(tx, principal, channel_id)


# --- a conversation's channel (staff) -------------------------------------------------------

conversation_router = APIRouter(prefix="/conversations", tags=["channels"])
MessageIdPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


@conversation_router.get(
    "/{conversation_id}/channel", response_model=ConversationChannelRead, responses=ERRORS
)
async def get_conversation_channel(
    conversation_id: ConversationIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> ConversationChannelRead:
    """The WhatsApp or SMS channel a conversation came in over, whether a free-form reply may
    be sent now (WhatsApp's 24-hour window) and the approved templates to send otherwise."""
    async with runtime.uow(write=False) as tx:
        found = await delivery.conversation_channel(tx, principal, conversation_id)
    return ConversationChannelRead.model_validate(found, from_attributes=True)


@conversation_router.post(
    "/{conversation_id}/channel/template",
    response_model=MessageRead,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
async def send_template(
    conversation_id: ConversationIdPath,
    body: TemplateSend,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> MessageRead:
    """Send one of the channel's approved WhatsApp templates (an agent taking part), also
    outside the 24-hour window."""
    async with runtime.uow() as tx:
        return await delivery.do_send_template(
            tx,
            principal,
            conversation_id,
            content_sid=body.content_sid,
            variables=body.variables,
            max_chars=runtime.settings.max_message_chars,
        )


@conversation_router.post(
    "/{conversation_id}/messages/{message_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    responses=ERRORS,
)
async def retry_delivery(
    conversation_id: ConversationIdPath,
    message_id: MessageIdPath,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> Response:
    """Send a message that `failed` again (staff who may read the conversation): back to
    `queued`, and a new send job; 409 `not_retryable` for any other status."""
    async with runtime.uow() as tx:
        await delivery.do_retry(tx, principal, conversation_id, message_id)
    return Response(status_code=status.HTTP_202_ACCEPTED)
