"""REST for channel accounts (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Request, Response, status

from parlour.channels import service
from parlour.channels.schemas import ChannelCreate, ChannelList, ChannelRead, ChannelUpdate
from parlour.core.http import error_responses
from parlour.deps import PrincipalDep, RuntimeDep
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
