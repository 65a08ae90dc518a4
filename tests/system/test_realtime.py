"""The realtime gateway against a real server process with real WebSocket clients."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from parlour.messages.service import list_messages
from parlour.runtime import Runtime
from tests.factories import make_conversation, make_user, token_for
from tests.system.conftest import LiveServer
from tests.system.wsclient import RealtimeClient

pytestmark = pytest.mark.system


async def _history(rt: Runtime, who, conversation_id: str) -> list[str]:
    async with rt.uow(write=False) as tx:
        page = await list_messages(tx, who, conversation_id=conversation_id, limit=200)
    return [m.body for m in page.messages]


async def test_two_participants_chat_live(runtime: Runtime, shared_server: LiveServer) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    conv = await make_conversation(runtime, customer, agent=agent)
    c = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, customer))
    a = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, agent))
    await c.subscribe(conv.id, after_seq=conv.last_seq)
    await a.subscribe(conv.id, after_seq=conv.last_seq)

    await c.send(
        {"type": "send", "conversation_id": conv.id, "client_msg_id": "c-1", "body": "Hello?"}
    )
    ack = await c.until(lambda f: f["type"] == "ack")
    assert ack["client_msg_id"] == "c-1" and ack["message"]["seq"] == conv.last_seq + 1
    got = await a.until(lambda f: f["type"] == "message")
    assert got["message"]["body"] == "Hello?" and got["message"]["sender_id"] == customer.user_id

    await a.send({"type": "typing", "conversation_id": conv.id, "active": True})
    typing = await c.until(lambda f: f["type"] == "typing")
    assert typing["user_id"] == agent.user_id and typing["active"] is True

    await a.send(
        {"type": "send", "conversation_id": conv.id, "client_msg_id": "a-1", "body": "Hi!"}
    )
    reply = await c.until(lambda f: f["type"] == "message" and f["message"]["body"] == "Hi!")
    await c.send({"type": "read", "conversation_id": conv.id, "seq": reply["message"]["seq"]})
    receipt = await a.until(lambda f: f["type"] == "read")
    assert receipt == {
        "type": "read",
        "conversation_id": conv.id,
        "user_id": customer.user_id,
        "seq": reply["message"]["seq"],
    }
    await c.close()
    await a.close()


async def test_resubscribe_after_disconnect_gets_every_message_once_in_order(
    runtime: Runtime, shared_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    conv = await make_conversation(runtime, customer, agent=agent)
    sender = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, agent))
    reader = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, customer))
    received = [m["seq"] for m in await reader.subscribe(conv.id, after_seq=0)]

    async def send_all() -> None:
        for i in range(60):
            await sender.send(
                {
                    "type": "send",
                    "conversation_id": conv.id,
                    "client_msg_id": f"m{i}",
                    "body": f"message {i}",
                }
            )
            if i % 10 == 0:
                await asyncio.sleep(0.01)

    sending = asyncio.create_task(send_all())
    # Read a few live messages, then drop the connection mid-stream.
    while len(received) < conv.last_seq + 10:
        frame = await reader.until(lambda f: f["type"] == "message")
        received.append(frame["message"]["seq"])
    reader.drop()
    await sending
    reader = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, customer))
    received += [m["seq"] for m in await reader.subscribe(conv.id, after_seq=received[-1])]
    last = conv.last_seq + 60
    while received[-1] < last:
        frame = await reader.until(lambda f: f["type"] == "message")
        received.append(frame["message"]["seq"])
    assert received == list(range(1, last + 1))
    acks = [await sender.until(lambda f: f["type"] == "ack") for _ in range(60)]
    assert sorted(a["message"]["seq"] for a in acks) == list(range(conv.last_seq + 1, last + 1))
    await reader.close()
    await sender.close()


async def test_non_participant_subscribe_fails_and_learns_nothing(
    runtime: Runtime, shared_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    stranger = await make_user(runtime, "customer")
    conv = await make_conversation(runtime, customer)
    s = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, stranger))
    errors = []
    for conversation_id in (conv.id, "does-not-exist"):
        await s.send(
            {"type": "subscribe", "conversation_id": conversation_id, "after_seq": 0, "ref": "x"}
        )
        error = await s.until(lambda f: f["type"] == "error")
        errors.append({k: error[k] for k in ("code", "message", "ref")})
    assert errors[0] == errors[1]
    assert errors[0]["code"] == "conversation_not_found"
    # Its send and typing get the same answer; nothing leaks, nothing is stored.
    await s.send({"type": "send", "conversation_id": conv.id, "client_msg_id": "x1", "body": "hi"})
    error = await s.until(lambda f: f["type"] == "error")
    assert error["code"] == "conversation_not_found" and error["ref"] == "x1"
    await s.send({"type": "ping", "ref": "p"})
    await s.until(lambda f: f["type"] == "pong")
    assert not [f for f in s.seen if f["type"] == "message"]
    assert "hi" not in await _history(runtime, customer, conv.id)
    await s.close()


async def test_sending_into_an_ended_conversation(
    runtime: Runtime, shared_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    conv = await make_conversation(runtime, customer, agent=agent)
    c = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, customer))
    await c.subscribe(conv.id)
    async with httpx.AsyncClient(base_url=shared_server.url) as http:
        response = await http.post(
            f"/api/v1/conversations/{conv.id}/end",
            headers={"Authorization": f"Bearer {token_for(runtime, agent)}"},
        )
        assert response.status_code == 200
    event = await c.until(lambda f: f["type"] == "conversation")
    assert event["conversation"]["status"] == "ended"
    assert event["conversation"]["end_reason"] == "agent"
    await c.send(
        {"type": "send", "conversation_id": conv.id, "client_msg_id": "late", "body": "wait"}
    )
    error = await c.until(lambda f: f["type"] == "error")
    assert error["code"] == "conversation_ended" and error["ref"] == "late"
    assert "wait" not in await _history(runtime, customer, conv.id)
    await c.close()


async def test_retried_client_msg_id_makes_no_duplicate(
    runtime: Runtime, shared_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    conv = await make_conversation(runtime, customer, agent=agent)
    a = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, agent))
    await a.subscribe(conv.id)
    c = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, customer))
    frame = {"type": "send", "conversation_id": conv.id, "client_msg_id": "dup", "body": "once"}
    await c.send(frame)
    first = await c.until(lambda f: f["type"] == "ack")
    await c.close()
    # The client did not trust the ack (say it never arrived) and retries on a new connection.
    c = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, customer))
    await c.send(frame)
    await c.send(frame)
    second = await c.until(lambda f: f["type"] == "ack")
    third = await c.until(lambda f: f["type"] == "ack")
    assert first["message"] == second["message"] == third["message"]
    await a.send({"type": "ping", "ref": "sync"})
    await a.until(lambda f: f["type"] == "pong")
    assert [m["body"] for m in a.messages(conv.id)] == ["once"]
    assert (await _history(runtime, customer, conv.id)).count("once") == 1
    await c.close()
    await a.close()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ('{"type": "send", "conversation_id": "C", "body": 5, "ref": "r"}', "invalid_frame"),
        (
            '{"type": "send", "conversation_id": "C", "body": "x", "surprise": 1, "ref": "r"}',
            "invalid_frame",
        ),
        ('{"type": "launch", "ref": "r"}', "invalid_frame"),
        (
            '{"type": "subscribe", "conversation_id": "C", "after_seq": "1", "ref": "r"}',
            "invalid_frame",
        ),
        (
            '{"type": "send", "conversation_id": "C", "body": "' + "x" * 4001 + '", "ref": "r"}',
            "message_too_long",
        ),
        ('{"type": "send", "conversation_id": "C", "body": "   ", "ref": "r"}', "empty_message"),
        ('{"type":"send","conversation_id":"C","body":"\\u0000","ref":"r"}', "invalid_frame"),
        ('{"type": "subscribe", "conversation_id": "C\\u0000", "ref": "r"}', "invalid_frame"),
    ],
)
async def test_bad_frames_get_clear_errors_and_store_nothing(
    runtime: Runtime, shared_server: LiveServer, raw: str, code: str
) -> None:
    customer = await make_user(runtime, "customer")
    conv = await make_conversation(runtime, customer)
    c = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, customer))
    await c.send(json.loads(raw.replace('"C"', json.dumps(conv.id))))
    error = await c.until(lambda f: f["type"] == "error")
    assert error["code"] == code and error["ref"] == "r" and error["message"]
    # The connection stays usable after a bad frame.
    await c.send({"type": "ping", "ref": "after"})
    assert (await c.until(lambda f: f["type"] == "pong"))["ref"] == "after"
    assert len(await _history(runtime, customer, conv.id)) == 1  # only "started the conversation"
    await c.close()


@pytest.mark.parametrize(
    ("payload", "close_code"),
    [("this is not json", 1007), ("[1, 2, 3]", 1007), (b"\x00binary", 1003)],
)
async def test_malformed_frames_close_the_connection(
    runtime: Runtime, shared_server: LiveServer, payload: str | bytes, close_code: int
) -> None:
    customer = await make_user(runtime, "customer")
    c = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, customer))
    await c.ws.send(payload)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await c.until(lambda f: False)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == close_code


async def test_oversized_frame_closes_with_1009(
    runtime: Runtime, shared_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    c = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, customer))
    await c.ws.send(
        json.dumps({"type": "ping", "ref": "x" * (shared_server.settings.ws_max_frame_bytes + 10)})
    )
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await c.until(lambda f: False)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_authentication(runtime: Runtime, shared_server: LiveServer) -> None:
    customer = await make_user(runtime, "customer")
    token = token_for(runtime, customer)
    # First-frame auth.
    c = await RealtimeClient.connect(shared_server.ws_url)
    await c.send({"type": "auth", "token": token})
    assert (await c.next())["type"] == "ready"
    await c.close()
    # A bad token, or a first frame that is not auth, is closed with 4001.
    for first in ({"type": "auth", "token": "nope"}, {"type": "ping"}):
        c = await RealtimeClient.connect(shared_server.ws_url)
        await c.send(first)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await c.until(lambda f: False)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


async def test_cookie_auth_checks_the_origin(runtime: Runtime, shared_server: LiveServer) -> None:
    customer = await make_user(runtime, "customer")
    cookie = {"Cookie": f"parlour_token={token_for(runtime, customer)}"}
    url = f"{shared_server.ws_url}/api/v1/realtime"
    host = shared_server.url.removeprefix("http://")
    for origin in (f"http://{host}", "http://allowed.example"):
        async with websockets.connect(url, additional_headers=cookie, origin=origin) as ws:  # type: ignore[arg-type]
            assert json.loads(await ws.recv())["type"] == "ready"
    async with websockets.connect(
        url, additional_headers=cookie, origin="http://evil.example"
    ) as ws:  # type: ignore[arg-type]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003
