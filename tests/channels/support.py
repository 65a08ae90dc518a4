"""Shared helpers for the channel tests."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from parlour.models import (
    Attachment,
    Channel,
    Conversation,
    Job,
    Message,
    TenantSecret,
    User,
)
from parlour.runtime import Runtime
from tests.api.support import World

URL = "/api/v1/channels"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "authtoken" + "x" * 23  # 32 characters, like Twilio's


async def create_twilio_channel(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    *,
    kind: str = "whatsapp",
    from_number: str = "+14155550100",
    account_sid: str = ACCOUNT_SID,
    auth_token: str = AUTH_TOKEN,
) -> httpx.Response:
    return await client.post(
        URL,
        json={
            "kind": kind,
            "account_sid": account_sid,
            "auth_token": auth_token,
            "from_number": from_number,
        },
        headers=headers,
    )


async def twilio_channel_id(client: httpx.AsyncClient, world: World, **kwargs: str) -> str:
    made = await create_twilio_channel(client, world.headers["admin"], **kwargs)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def channel_rows(rt: Runtime) -> dict[str, int]:
    """Rows in the tables a channel request may write (to prove a refused one wrote none)."""
    async with rt.uow(write=False) as tx:
        return {
            model.__tablename__: int(
                await tx.session.scalar(select(func.count()).select_from(model)) or 0
            )
            for model in (Channel, TenantSecret, User, Conversation, Message, Job, Attachment)
        }
