"""Idempotency that outlives the conversation, and messages from other channels: the system
actor posting for a bot or a channel contact, with a provider's id that is unique per tenant
and channel."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from parlour.auth.principal import Principal
from parlour.conversations import service as conversations
from parlour.core.errors import AppError, ConversationEnded, Forbidden, NotFound
from parlour.core.ids import new_id
from parlour.messages.schemas import MessageRead
from parlour.messages.service import SendRequest
from parlour.models.conversation import Participant
from parlour.models.message import Message
from parlour.realtime.frames import client_frame
from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_member, make_world
from tests.factories import auth, make_conversation

BASE = "/api/v1/conversations"


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


@pytest.fixture
async def cid(runtime: Runtime, world: World) -> str:
    return (await make_conversation(runtime, world.customer, agent=world.agent)).id


async def _end(runtime: Runtime, who: Principal, cid: str) -> None:
    async with runtime.uow() as tx:
        await conversations.do_end(tx, who, cid, reason=None)


async def _rows(runtime: Runtime, **where: str) -> list[Message]:
    async with runtime.uow(write=False) as tx:
        query = select(Message).filter_by(**where).order_by(Message.seq)
        return list(await tx.session.scalars(query))


async def _add_bot(runtime: Runtime, cid: str) -> Principal:
    """A bot user taking part in the conversation (role `bot`)."""
    bot = await make_member(runtime, "agent", name="Helperbot")
    assert bot.user_id is not None
    async with runtime.uow() as tx:
        tx.session.add(
            Participant(
                id=new_id(),
                tenant_id=bot.tenant_id,
                conversation_id=cid,
                user_id=bot.user_id,
                role="bot",
                joined_at=tx.now,
                last_read_seq=0,
            )
        )
    return bot


# -- idempotency after the end ------------------------------------------------------------


async def test_a_retry_after_the_end_gets_the_original_over_rest(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    headers = world.headers["customer"]
    url = f"{BASE}/{cid}/messages"
    first = await client.post(url, json={"body": "bye", "client_msg_id": "k-1"}, headers=headers)
    assert first.status_code == 201, first.text
    await _end(runtime, world.customer, cid)
    again = await client.post(url, json={"body": "bye", "client_msg_id": "k-1"}, headers=headers)
    assert again.status_code in (200, 201), again.text
    assert again.json() == first.json()
    # A new message is still refused.
    fresh = await client.post(url, json={"body": "bye", "client_msg_id": "k-2"}, headers=headers)
    assert_error(fresh, 409, "conversation_ended")
    assert len(await _rows(runtime, conversation_id=cid, kind="text")) == 1


async def test_a_retry_after_the_end_gets_the_original_through_the_writer(
    runtime: Runtime, world: World, cid: str
) -> None:
    first = await runtime.writer.send(SendRequest(world.customer, cid, "bye", "k-1"))
    await _end(runtime, world.agent, cid)
    again = await runtime.writer.send(SendRequest(world.customer, cid, "bye", "k-1"))
    assert again == first
    with pytest.raises(ConversationEnded):
        await runtime.writer.send(SendRequest(world.customer, cid, "bye", "k-2"))
    # Someone else's id is not the customer's: the agent's retry of an unknown id is refused.
    with pytest.raises(ConversationEnded):
        await runtime.writer.send(SendRequest(world.agent, cid, "bye", "k-1"))


# -- sender, channel and external_id ------------------------------------------------------


async def test_the_system_actor_posts_for_a_bot_and_a_provider_retry_makes_no_duplicate(
    runtime: Runtime, world: World, cid: str
) -> None:
    bot = await _add_bot(runtime, cid)
    system = Principal.system_actor(world.customer.tenant_id)

    def inbound(body: str) -> SendRequest:
        return SendRequest(
            system, cid, body, kind="bot", channel="sms", external_id="SM-1", sender_id=bot.user_id
        )

    first = await runtime.writer.send(inbound("Hello from the bot"))
    assert first.sender_id == bot.user_id
    assert (first.kind, first.channel) == ("bot", "sms")
    # The provider delivers it again (later, and twice at once): the original, no new row.
    again = await runtime.writer.send(inbound("Hello from the bot"))
    together = await asyncio.gather(*(runtime.writer.send(inbound("dup")) for _ in range(3)))
    assert again == first and all(m == first for m in together)
    rows = await _rows(runtime, external_id="SM-1")
    assert [(r.id, r.channel, r.sender_id) for r in rows] == [(first.id, "sms", bot.user_id)]

    # The same provider id on another channel is another message.
    other = await runtime.writer.send(
        SendRequest(system, cid, "mail", channel="email", external_id="SM-1", sender_id=bot.user_id)
    )
    assert other.id != first.id and other.channel == "email"


async def test_the_system_actor_posts_for_a_channel_contact_in_one_batch(
    runtime: Runtime, world: World, cid: str
) -> None:
    system = Principal.system_actor(world.customer.tenant_id)
    # Two copies of one inbound SMS in the same batch, and a web message beside them.
    results = await asyncio.gather(
        *(
            runtime.writer.send(
                SendRequest(
                    system,
                    cid,
                    "sms in",
                    channel="sms",
                    external_id="SM-9",
                    sender_id=world.customer.user_id,
                )
            )
            for _ in range(2)
        ),
        runtime.writer.send(SendRequest(world.customer, cid, "web in")),
    )
    assert results[0] == results[1]
    assert results[0].sender_id == world.customer.user_id and results[0].channel == "sms"
    assert results[2].channel == "web"
    assert len(await _rows(runtime, external_id="SM-9")) == 1


async def test_what_the_system_actor_may_not_do(runtime: Runtime, world: World, cid: str) -> None:
    system = Principal.system_actor(world.customer.tenant_id)
    # For someone who is not a participant.
    with pytest.raises(Forbidden):
        await runtime.writer.send(
            SendRequest(system, cid, "x", sender_id=world.other_agent.user_id)
        )
    # For nobody.
    with pytest.raises(AppError) as nobody:
        await runtime.writer.send(SendRequest(system, cid, "x"))
    assert nobody.value.code == "no_sender"
    # In another tenant's conversation.
    foreign = Principal.system_actor(world.foreign_admin.tenant_id)
    with pytest.raises(NotFound):
        await runtime.writer.send(SendRequest(foreign, cid, "x", sender_id=world.customer.user_id))
    # After the end.
    await _end(runtime, world.agent, cid)
    with pytest.raises(ConversationEnded):
        await runtime.writer.send(SendRequest(system, cid, "x", sender_id=world.customer.user_id))


async def test_a_user_cannot_choose_sender_channel_or_external_id(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    url = f"{BASE}/{cid}/messages"
    for extra in (
        {"sender_id": world.agent.user_id},
        {"channel": "sms"},
        {"external_id": "SM-1"},
        {"kind": "bot"},
    ):
        response = await client.post(
            url, json={"body": "hi", **extra}, headers=auth(runtime, world.customer)
        )
        assert_error(response, 422)
        with pytest.raises(ValidationError):
            client_frame.validate_python(
                {"type": "send", "conversation_id": cid, "body": "hi", **extra}, strict=True
            )
    # And the service refuses them from anyone but the system actor.
    for request in (
        SendRequest(world.customer, cid, "hi", sender_id=world.agent.user_id),
        SendRequest(world.customer, cid, "hi", channel="sms"),
        SendRequest(world.agent, cid, "hi", external_id="SM-1"),
    ):
        with pytest.raises(Forbidden):
            await runtime.writer.send(request)
    assert await _rows(runtime, kind="text") == []


async def test_external_ids_are_unique_per_tenant_and_channel_but_nulls_never_collide(
    runtime: Runtime, world: World, cid: str
) -> None:
    tenant = world.customer.tenant_id

    def row(seq: int, channel: str, external_id: str | None) -> dict[str, object]:
        return {
            "id": new_id(),
            "tenant_id": tenant,
            "conversation_id": cid,
            "seq": 100 + seq,
            "kind": "text",
            "body": "b",
            "channel": channel,
            "external_id": external_id,
            "created_at": runtime.clock.now(),
        }

    async with runtime.uow() as tx:  # NULLs: as many as you like, on every channel
        await tx.session.execute(insert(Message), [row(1, "web", None), row(2, "web", None)])
        await tx.session.execute(insert(Message), [row(3, "sms", "X"), row(4, "email", "X")])
    with pytest.raises(IntegrityError):
        async with runtime.uow() as tx:
            await tx.session.execute(insert(Message), [row(5, "sms", "X")])
    async with runtime.uow(write=False) as tx:
        count = await tx.session.scalar(select(func.count()).select_from(Message))
    assert count == 4 + len(await _rows(runtime, kind="system"))


def test_message_read_names_its_channel() -> None:
    assert "channel" in MessageRead.model_fields
