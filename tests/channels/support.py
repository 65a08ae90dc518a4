"""Shared helpers for the channel tests."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

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


CUSTOMER = "+447700900123"


def twilio_form(
    sid: str, body: str = "Hello", *, sender: str = CUSTOMER, **extra: str
) -> dict[str, str]:
    """What Twilio posts for an inbound WhatsApp message."""
    return {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "From": f"whatsapp:{sender}",
        "To": "whatsapp:+14155550100",
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Cliff",
        "WaId": sender.removeprefix("+"),
        **extra,
    }


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature, computed by the twilio library's own validator."""
    return str(RequestValidator(token).compute_signature(url, params))


async def post_signed(
    client: httpx.AsyncClient,
    path: str,
    params: dict[str, str],
    *,
    signed_url: str | None = None,
    signed_params: dict[str, str] | None = None,
    token: str = AUTH_TOKEN,
) -> httpx.Response:
    """POST `params` as Twilio does, signed for `signed_url` (default: the URL posted to)."""
    url = signed_url or f"http://testserver{path}"
    signature = sign(url, signed_params if signed_params is not None else params, token)
    return await client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def messages_path(channel_id: str) -> str:
    return f"/api/v1/webhooks/twilio/{channel_id}/messages"


def status_path(channel_id: str) -> str:
    return f"/api/v1/webhooks/twilio/{channel_id}/status"
