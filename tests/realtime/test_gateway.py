"""The gateway in-process (a fake ASGI socket the test controls), on both databases: a failing
sender closes with 1011, a stuck client is closed in bounded time, a resubscribe never replays
an earlier backlog, and the history read checks access."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import delete

from parlour.conversations.service import do_observe
from parlour.core.events import Audience, Event
from parlour.messages.service import do_send_message, list_messages
from parlour.models.conversation import Participant
from parlour.realtime import gateway
from parlour.realtime.envelopes import message_event
from parlour.runtime import Runtime
from tests.factories import make_conversation, make_user, token_for
from tests.realtime.fakesocket import FakeSocket


async def _ready(runtime: Runtime, who: Any) -> FakeSocket:
    ws = FakeSocket(runtime, token_for(runtime, who))
    await ws.until(lambda f: f["type"] == "ready")
    return ws


async def _say(runtime: Runtime, who: Any, cid: str, body: str, *, publish: bool = True) -> int:
    async with runtime.uow() as tx:
        message = await do_send_message(
            tx, who, conversation_id=cid, body=body, client_msg_id=None, max_chars=4000
        )
        if not publish:
            tx.events.clear()  # as if the publish were lost
    return message.seq


async def test_a_failing_sender_closes_the_connection_with_1011(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await make_user(runtime, "customer")
    conv = await make_conversation(runtime, customer)
    ws = await _ready(runtime, customer)

    async def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(gateway.messages, "list_messages", broken)
    ws.send({"type": "subscribe", "conversation_id": conv.id, "after_seq": 0})
    code, reason = await ws.close_code()
    assert code == 1011 and "RuntimeError" in reason
    await asyncio.wait_for(ws.task, 5)


async def test_a_client_that_stopped_reading_is_closed_in_bounded_time(runtime: Runtime) -> None:
    runtime.settings.ws_close_timeout_seconds = 0.5
    runtime.settings.ws_queue_size = 5
    customer = await make_user(runtime, "customer")
    assert customer.user_id
    ws = await _ready(runtime, customer)
    ws.gate = asyncio.Event()  # never set: the pipe is full
    ws.stuck = True  # and the close frame cannot be written either
    for i in range(20):
        await runtime.broker.publish(
            Event(audience=Audience.user(customer.user_id), type="notice", payload=f'{{"n":{i}}}')
        )
    # The handler gives up on the stuck socket instead of awaiting it forever.
    await asyncio.wait_for(ws.task, 3)


async def test_resubscribing_while_a_backlog_is_queued_sends_each_message_once_in_order(
    runtime: Runtime,
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    conv = await make_conversation(runtime, customer, agent=agent)
    for i in range(4):
        last = await _say(runtime, customer, conv.id, f"m{i}")
    ws = await _ready(runtime, customer)
    ws.gate = asyncio.Event()
    ws.send({"type": "ping"})  # the sender is stuck on this while both subscribes arrive
    ws.send({"type": "subscribe", "conversation_id": conv.id, "after_seq": 0, "ref": "a"})
    ws.send({"type": "subscribe", "conversation_id": conv.id, "after_seq": 3, "ref": "b"})
    await asyncio.sleep(0.5)  # both handled (the read loop does not wait for the sender)
    ws.gate.set()
    await ws.until(lambda f: f["type"] == "subscribed" and f["ref"] == "b")
    await asyncio.sleep(0.3)
    seqs = [f["message"]["seq"] for f in ws.frames if f["type"] == "message"]
    assert seqs == list(range(4, last + 1))
    await ws.leave()


async def test_the_history_read_checks_access(runtime: Runtime) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    conv = await make_conversation(runtime, customer, agent=agent)
    ws = await _ready(runtime, agent)
    ws.send({"type": "subscribe", "conversation_id": conv.id, "ref": "s"})
    await ws.until(lambda f: f["type"] == "subscribed")
    async with runtime.uow() as tx:  # the agent is no longer a participant
        await tx.session.execute(
            delete(Participant).where(
                Participant.conversation_id == conv.id, Participant.user_id == agent.user_id
            )
        )
    await _say(runtime, customer, conv.id, "hidden one", publish=False)
    seq = await _say(runtime, customer, conv.id, "hidden two", publish=False)
    async with runtime.uow(write=False) as tx:
        [two] = (
            await list_messages(tx, customer, conversation_id=conv.id, after_seq=seq - 1)
        ).messages
    # A live message that skips ahead: the gateway reads the missing one, as the agent.
    await runtime.broker.publish(message_event(two, conversation_id=conv.id, seq=seq))
    error = await ws.until(lambda f: f["type"] == "error")
    assert error["code"] == "conversation_not_found" and error["conversation_id"] == conv.id
    await asyncio.sleep(0.2)
    assert not [f for f in ws.frames if f["type"] == "message"]
    await ws.leave()


async def test_a_sender_that_dies_on_the_socket_closes_with_1011(runtime: Runtime) -> None:
    customer = await make_user(runtime, "customer")
    ws = await _ready(runtime, customer)
    ws.fail_at = 2  # the frame after `ready`
    ws.send({"type": "ping"})
    code, _ = await ws.close_code()
    assert code == 1011  # not left as a zombie that is later closed as "too slow"
    await asyncio.wait_for(ws.task, 5)


async def test_a_subscriber_who_loses_access_stops_receiving(runtime: Runtime) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    admin = await make_user(runtime, "admin")
    conv = await make_conversation(runtime, customer, agent=agent)
    ws = await _ready(runtime, agent)
    ws.send({"type": "subscribe", "conversation_id": conv.id, "ref": "s"})
    await ws.until(lambda f: f["type"] == "subscribed")
    async with runtime.uow() as tx:  # removed from the conversation
        await tx.session.execute(
            delete(Participant).where(
                Participant.conversation_id == conv.id, Participant.user_id == agent.user_id
            )
        )
    async with runtime.uow() as tx:  # a participant change is announced
        await do_observe(tx, admin, conv.id)
    error = await ws.until(lambda f: f["type"] == "error")
    assert error["code"] == "conversation_not_found" and error["conversation_id"] == conv.id
    await _say(runtime, customer, conv.id, "after the removal")
    await asyncio.sleep(0.3)
    # (The announcement's own system message may precede the re-check; nothing after it.)
    bodies = [f["message"]["body"] for f in ws.frames if f["type"] == "message"]
    assert "after the removal" not in bodies
    await ws.leave()


# inbox: unread counts travel on the user's feed, so they may arrive while a new connection
# re-checks its credential, before `ready`.
async def test_ready_is_the_first_frame_even_when_the_feed_speaks_first(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await make_user(runtime, "customer")
    assert customer.user_id
    check = gateway.authenticate_session

    async def busy_feed(*args: Any, **kwargs: Any) -> Any:
        # While the gateway awaits the re-check, something is published on the user's feed.
        await runtime.broker.publish(
            Event(
                audience=Audience.user(customer.user_id or ""),
                type="unread",
                payload='{"type":"unread","n":1}',
            )
        )
        return await check(*args, **kwargs)

    monkeypatch.setattr(gateway, "authenticate_session", busy_feed)
    ws = FakeSocket(runtime, token_for(runtime, customer))
    await ws.until(lambda f: f["type"] == "unread")
    assert [f["type"] for f in ws.frames[:2]] == ["ready", "unread"]
    ws.send({"type": "ping"})
    await ws.until(lambda f: f["type"] == "pong")
