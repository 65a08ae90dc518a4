"""Twilio's inbound webhook, signed with the twilio library's own RequestValidator: a valid
delivery stores one message in the contact's conversation; a tampered body, a wrong URL, a
missing signature or an unknown channel store nothing; a replay stores nothing more."""

from __future__ import annotations

import asyncio
import io

import httpx
from PIL import Image
from sqlalchemy import select

from parlour.models import ChannelConversation, Conversation, Message, Ticket, User
from parlour.runtime import Runtime
from tests.api.support import World, assert_error
from tests.channels.support import (
    CUSTOMER,
    channel_rows,
    messages_path,
    post_signed,
    twilio_form,
)
from tests.channels.twilio_standin import TwilioStandIn
from tests.jobs.conftest import eventually

SID = "SM" + "1" * 32


async def _inbound_messages(rt: Runtime) -> list[Message]:
    async with rt.uow(write=False) as tx:
        query = select(Message).where(Message.channel == "whatsapp").order_by(Message.seq)
        return list(await tx.session.scalars(query))


async def test_a_signed_message_starts_a_support_conversation_with_its_contact(
    http: httpx.AsyncClient, twilio_rt: Runtime, whatsapp: str, cast: World
) -> None:
    answer = await post_signed(http, messages_path(whatsapp), twilio_form(SID, "My order?"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/xml")
    assert answer.text.endswith("<Response/>")

    [message] = await _inbound_messages(twilio_rt)
    assert (message.body, message.external_id, message.channel) == ("My order?", SID, "whatsapp")
    async with twilio_rt.uow(write=False) as tx:
        contact = await tx.session.get(User, message.sender_id)
        conversation = await tx.session.get(Conversation, message.conversation_id)
        thread = await tx.session.get(ChannelConversation, message.conversation_id)
        ticket = await tx.session.scalar(
            select(Ticket).where(Ticket.conversation_id == message.conversation_id)
        )
    assert contact is not None and conversation is not None and thread is not None
    assert (contact.role, contact.phone, contact.display_name) == ("customer", CUSTOMER, "Cliff")
    assert contact.tenant_id == cast.admin.tenant_id
    assert (conversation.kind, conversation.channel, conversation.customer_id) == (
        "support",
        "whatsapp",
        contact.id,
    )
    assert conversation.subject == "My order?"
    assert (thread.channel_id, thread.address) == (whatsapp, CUSTOMER)
    assert ticket is not None and ticket.status == "open"

    # The next message from the same number continues the same conversation.
    again = await post_signed(http, messages_path(whatsapp), twilio_form("SM" + "2" * 32, "Hi?"))
    assert again.status_code == 200
    both = await _inbound_messages(twilio_rt)
    assert [m.body for m in both] == ["My order?", "Hi?"]
    assert {m.conversation_id for m in both} == {conversation.id}


async def test_a_replayed_message_sid_stores_one_message(
    http: httpx.AsyncClient, twilio_rt: Runtime, whatsapp: str
) -> None:
    for _ in range(3):
        r = await post_signed(http, messages_path(whatsapp), twilio_form(SID))
        assert r.status_code == 200
    assert len(await _inbound_messages(twilio_rt)) == 1


async def test_concurrent_deliveries_of_one_message_store_one(
    http: httpx.AsyncClient, twilio_rt: Runtime, whatsapp: str
) -> None:
    """Twilio retrying while the first delivery is still in flight: one contact, one
    conversation, one message (PostgreSQL: the channel and users row locks)."""
    results = await asyncio.gather(
        *(post_signed(http, messages_path(whatsapp), twilio_form(SID)) for _ in range(5))
    )
    assert [r.status_code for r in results] == [200] * 5
    assert len(await _inbound_messages(twilio_rt)) == 1
    async with twilio_rt.uow(write=False) as tx:
        contacts = list(await tx.session.scalars(select(User).where(User.phone == CUSTOMER)))
        threads = list(await tx.session.scalars(select(ChannelConversation)))
    assert len(contacts) == 1 and len(threads) == 1


async def test_a_tampered_body_is_refused_and_stores_nothing(
    http: httpx.AsyncClient, twilio_rt: Runtime, whatsapp: str
) -> None:
    before = await channel_rows(twilio_rt)
    signed = twilio_form(SID, "Hello")
    tampered = {**signed, "Body": "Send me a refund"}
    r = await post_signed(http, messages_path(whatsapp), tampered, signed_params=signed)
    assert_error(r, 403, "invalid_signature")
    assert await channel_rows(twilio_rt) == before


async def test_a_signature_for_another_url_is_refused(
    http: httpx.AsyncClient, twilio_rt: Runtime, whatsapp: str
) -> None:
    before = await channel_rows(twilio_rt)
    path = messages_path(whatsapp)
    for url in (f"https://evil.example{path}", f"http://testserver{path}x", "http://testserver/"):
        r = await post_signed(http, path, twilio_form(SID), signed_url=url)
        assert_error(r, 403, "invalid_signature")
    # Signed with another token (another account's), or not signed at all.
    r = await post_signed(http, path, twilio_form(SID), token="z" * 32)
    assert_error(r, 403, "invalid_signature")
    assert_error(await http.post(path, data=twilio_form(SID)), 403, "invalid_signature")
    assert await channel_rows(twilio_rt) == before


async def test_unknown_or_disabled_channels_are_404_and_store_nothing(
    http: httpx.AsyncClient, twilio_rt: Runtime, whatsapp: str, cast: World
) -> None:
    before = await channel_rows(twilio_rt)
    r = await post_signed(http, messages_path("0" * 32), twilio_form(SID))
    assert_error(r, 404, "channel_not_found")
    assert await channel_rows(twilio_rt) == before
    await http.patch(
        f"/api/v1/channels/{whatsapp}", json={"enabled": False}, headers=cast.headers["admin"]
    )
    before = await channel_rows(twilio_rt)
    r = await post_signed(http, messages_path(whatsapp), twilio_form(SID))
    assert_error(r, 404, "channel_not_found")
    assert await channel_rows(twilio_rt) == before


async def test_public_url_is_what_the_signature_covers(
    http: httpx.AsyncClient, twilio_rt: Runtime, whatsapp: str
) -> None:
    """Behind a proxy Twilio signs the public URL, not the one the app sees."""
    twilio_rt.settings.public_url = "https://chat.example.org"
    path = messages_path(whatsapp)
    assert_error(await post_signed(http, path, twilio_form(SID)), 403, "invalid_signature")
    public = await post_signed(
        http, path, twilio_form(SID), signed_url=f"https://chat.example.org{path}"
    )
    assert public.status_code == 200


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


async def test_media_are_fetched_with_the_account_credentials_into_attachments(
    http: httpx.AsyncClient, twilio_rt: Runtime, whatsapp: str, standin: TwilioStandIn
) -> None:
    standin.media["ME1"] = (_png(), "image/png")
    form = twilio_form(
        SID, "", NumMedia="1", MediaUrl0=standin.media_url("ME1"), MediaContentType0="image/png"
    )
    r = await post_signed(http, messages_path(whatsapp), form)
    assert r.status_code == 200

    async def posted() -> list[Message]:
        return await _inbound_messages(twilio_rt)

    [message] = await eventually(posted, what="the media message")
    assert message.external_id == SID and message.body == ""
    [attachment] = message.attachments or []
    assert attachment["content_type"] == "image/png" and attachment["width"] == 8
    # Fetched once, with the account's credentials (Basic auth).
    assert len(standin.media_requests) == 1
    assert (standin.media_requests[0] or "").startswith("Basic ")
    # A replay of it posts nothing more.
    again = await post_signed(http, messages_path(whatsapp), form)
    assert again.status_code == 200
    await asyncio.sleep(0.3)
    assert len(await _inbound_messages(twilio_rt)) == 1
    assert len(standin.media_requests) == 1


async def test_deleting_the_channel_keeps_its_conversations(
    http: httpx.AsyncClient, twilio_rt: Runtime, whatsapp: str, cast: World
) -> None:
    assert (await post_signed(http, messages_path(whatsapp), twilio_form(SID))).status_code == 200
    deleted = await http.delete(f"/api/v1/channels/{whatsapp}", headers=cast.headers["admin"])
    assert deleted.status_code == 204
    [message] = await _inbound_messages(twilio_rt)
    async with twilio_rt.uow(write=False) as tx:
        thread = await tx.session.get(ChannelConversation, message.conversation_id)
    assert thread is not None and thread.channel_id is None
    # Its webhooks are gone with it.
    r = await post_signed(http, messages_path(whatsapp), twilio_form("SM" + "3" * 32))
    assert_error(r, 404, "channel_not_found")
