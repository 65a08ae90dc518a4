"""video: WebRTC signaling over the realtime gateway, against a real server with real WebSocket
clients, on SQLite and PostgreSQL.

A `signal` frame from one of a call's two parties (the customer and the current agent of a
`video` conversation that has not ended) reaches the other party's connections and nobody
else's; anyone else is refused with exactly the error a missing conversation gets, and nothing
is relayed. Oversized and flooded frames are refused; an ended conversation refuses signaling.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from parlour.config import Settings
from parlour.runtime import Runtime
from tests.api.support import make_api_key, set_tenant_settings
from tests.calls.support import end, make_video_conversation
from tests.conftest import TEST_SECRET
from tests.factories import make_tenant, make_user, token_for
from tests.system.conftest import LiveServer, start_server, stop_server
from tests.system.wsclient import Frame, RealtimeClient

pytestmark = pytest.mark.system

RATE = 40  # signaling frames per user per minute on this module's server
MAX_SDP = 4000
# What a browser sends: CRLF line ends, relayed exactly.
SDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


@pytest.fixture(scope="module")
def call_server(system_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server for the module with a small signaling budget, so a flood is quick to show."""
    folder = tmp_path_factory.mktemp("calls")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=system_db,
        data_dir=folder / "data",
        secret_key=TEST_SECRET,
    )
    server = start_server(
        settings,
        folder / "server.log",
        PARLOUR_SIGNAL_RATE_PER_MINUTE=str(RATE),
        PARLOUR_MAX_SDP_CHARS=str(MAX_SDP),
    )
    try:
        yield server
    finally:
        stop_server(server)


def offer(cid: str, *, pc: str = "pcA", to: str | None = "pcB", ref: str = "o") -> Frame:
    return {
        "type": "signal",
        "conversation_id": cid,
        "signal": "description",
        "pc": pc,
        "to": to,
        "description": {"type": "offer", "sdp": SDP},
        "ref": ref,
    }


def candidate(cid: str, n: int, ref: str = "c") -> Frame:
    return {
        "type": "signal",
        "conversation_id": cid,
        "signal": "candidate",
        "pc": "pcA",
        "to": "pcB",
        "candidate": {
            "candidate": f"candidate:{n} 1 udp 2122260223 127.0.0.1 5{n:04d} typ host",
            "sdp_mid": "0",
            "sdp_mline_index": 0,
            "username_fragment": "abcd",
        },
        "ref": ref,
    }


async def quiet(client: RealtimeClient, seconds: float = 0.6) -> list[Frame]:
    """Every frame that arrives until none has for `seconds`."""
    got: list[Frame] = []
    try:
        while True:
            got.append(await client.next(timeout=seconds))
    except TimeoutError:
        return got


def signals(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f["type"] == "signal"]


async def answer_to(client: RealtimeClient, ref: str) -> Frame:
    """The error frame a refused signal gets (a ping after it proves none came for a relay)."""
    return await client.until(lambda f: f.get("ref") == ref)


def without_ref(frame: Frame) -> Frame:
    return {k: v for k, v in frame.items() if k != "ref"}


async def connect(server: LiveServer, rt: Runtime, who: Any) -> RealtimeClient:
    return await RealtimeClient.connect(server.ws_url, token_for(rt, who))


async def test_an_offer_reaches_only_the_other_party_and_the_answer_comes_back(
    runtime: Runtime, call_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    admin = await make_user(runtime, "admin")
    bystander = await make_user(runtime, "agent")
    conv = await make_video_conversation(runtime, customer, agent=agent)
    cust = await connect(call_server, runtime, customer)
    cust_tab2 = await connect(call_server, runtime, customer)  # the sender's other tab
    ag = await connect(call_server, runtime, agent)
    ag_tab2 = await connect(call_server, runtime, agent)  # the other party's other tab
    boss = await connect(call_server, runtime, admin)
    other = await connect(call_server, runtime, bystander)
    # The admin follows the conversation (an observer now): messages yes, signals no.
    await boss.subscribe(conv.id)

    await cust.send(offer(conv.id))
    got = await ag.until(lambda f: f["type"] == "signal")
    assert got == {
        "type": "signal",
        "conversation_id": conv.id,
        "from_user_id": customer.user_id,
        "signal": "description",
        "pc": "pcA",
        "to": "pcB",
        "description": {"type": "offer", "sdp": SDP},
    }
    assert signals(await quiet(ag_tab2)) == [got]  # every connection of the other party

    answer = {
        "type": "signal",
        "conversation_id": conv.id,
        "signal": "description",
        "pc": "pcB",
        "to": "pcA",
        "description": {"type": "answer", "sdp": SDP},
    }
    await ag.send(answer)
    back = await cust.until(lambda f: f["type"] == "signal")
    assert back["from_user_id"] == agent.user_id and back["description"]["type"] == "answer"
    await ag.send(candidate(conv.id, 1))
    cand = await cust.until(lambda f: f["type"] == "signal")
    assert cand["candidate"]["sdp_mline_index"] == 0

    # The sender's other tab hears the other party (it is the customer's, too), never the
    # customer's own offer; nobody else heard any of it.
    heard = signals(await quiet(cust_tab2))
    assert [f["from_user_id"] for f in heard] == [agent.user_id, agent.user_id]
    for client in (boss, other):
        frames = await quiet(client)
        assert signals(frames) == [], frames
        assert SDP not in json.dumps(frames)
    async with httpx.AsyncClient(base_url=call_server.url) as http:
        history = await http.get(
            f"/api/v1/conversations/{conv.id}/messages",
            headers={"Authorization": f"Bearer {token_for(runtime, customer)}"},
        )
    # Nothing was stored: no message carries any of it.
    assert "v=0" not in history.text
    assert all(m["kind"] == "system" for m in history.json()["messages"])
    for client in (cust, cust_tab2, ag, ag_tab2, boss, other):
        await client.close()


async def test_everyone_else_is_refused_as_for_a_missing_conversation(
    runtime: Runtime, call_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    conv = await make_video_conversation(runtime, customer, agent=agent)
    other_customer = await make_user(runtime, "customer")
    await make_video_conversation(runtime, other_customer, agent=agent)
    admin = await make_user(runtime, "admin")
    bystander = await make_user(runtime, "agent")
    await make_tenant(runtime, "calls-elsewhere")
    foreign_admin = await make_user(runtime, "admin", tenant="calls-elsewhere")
    foreign_customer = await make_user(runtime, "customer", tenant="calls-elsewhere")

    cust = await connect(call_server, runtime, customer)
    ag = await connect(call_server, runtime, agent)
    # The missing conversation's answer, which every refusal must equal.
    await cust.send(offer("doesnotexist", ref="missing"))
    missing = without_ref(await answer_to(cust, "missing"))
    assert missing["code"] == "conversation_not_found"

    admin_ws = await connect(call_server, runtime, admin)
    await admin_ws.subscribe(conv.id)  # reads it: recorded as an observer
    key = await make_api_key(runtime)
    key_ws = await RealtimeClient.connect(call_server.ws_url)
    await key_ws.send({"type": "auth", "token": key})
    assert (await key_ws.next())["type"] == "ready"
    refused = {
        "an observing admin": admin_ws,
        "an agent not taking part": await connect(call_server, runtime, bystander),
        "a customer of another conversation": await connect(call_server, runtime, other_customer),
        "another tenant's admin": await connect(call_server, runtime, foreign_admin),
        "another tenant's customer": await connect(call_server, runtime, foreign_customer),
        "an API key": key_ws,
    }
    for who, client in refused.items():
        for n, frame in enumerate(
            [
                offer(conv.id, ref="x"),
                candidate(conv.id, 2, ref="x"),
                {"type": "signal", "conversation_id": conv.id, "signal": "hello", "pc": "p"},
                {"type": "signal", "conversation_id": conv.id, "signal": "hangup", "pc": "p"},
            ]
        ):
            frame["ref"] = f"x{n}"
            await client.send(frame)
            error = await answer_to(client, f"x{n}")
            assert without_ref(error) == missing, (who, error)
    # Nothing reached either party.
    assert signals(await quiet(cust)) == [] and signals(await quiet(ag)) == []
    for client in (cust, ag, *refused.values()):
        await client.close()


async def test_a_revoked_token_cannot_signal(runtime: Runtime, call_server: LiveServer) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    conv = await make_video_conversation(runtime, customer, agent=agent)
    token = token_for(runtime, customer)
    cust = await RealtimeClient.connect(call_server.ws_url, token)
    ag = await connect(call_server, runtime, agent)
    async with httpx.AsyncClient(base_url=call_server.url) as http:
        out = await http.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
        assert out.status_code == 204
    # The open socket is closed (4001) before it can send; a new one is refused at once.
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(5):
            while True:
                await cust.ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    again = await RealtimeClient.connect(call_server.ws_url)
    await again.send({"type": "auth", "token": token})
    with contextlib.suppress(websockets.ConnectionClosed):  # it may be closed already
        await again.send(offer(conv.id))
    with pytest.raises(websockets.ConnectionClosed) as refused:
        async with asyncio.timeout(5):
            while True:
                frame = json.loads(await again.ws.recv())
                assert frame["type"] == "error" and frame["code"] == "closed", frame
    assert refused.value.rcvd is not None and refused.value.rcvd.code == 4001
    assert signals(await quiet(ag)) == []
    await ag.close()


async def test_oversized_signals_are_refused(runtime: Runtime, call_server: LiveServer) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    conv = await make_video_conversation(runtime, customer, agent=agent)
    cust = await connect(call_server, runtime, customer)
    ag = await connect(call_server, runtime, agent)
    big = offer(conv.id, ref="big")
    big["description"]["sdp"] = SDP + "a=x-padding:" + "y" * MAX_SDP + "\r\n"
    await cust.send(big)
    error = await answer_to(cust, "big")
    assert error["type"] == "error" and error["code"] == "too_large"
    # Malformed: a candidate where a description belongs, an unknown field, a bad pc id.
    wrong = offer(conv.id, ref="w1")
    wrong["signal"] = "candidate"
    extra = offer(conv.id, ref="w2")
    extra["description"]["extra"] = 1
    bad_pc = offer(conv.id, pc="../../etc", ref="w3")
    for frame in (wrong, extra, bad_pc):
        await cust.send(frame)
        assert (await answer_to(cust, frame["ref"]))["code"] == "invalid_frame"
    assert signals(await quiet(ag)) == []
    # Beyond the gateway's frame limit the connection is closed (1009), as for any frame.
    huge = offer(conv.id)
    huge["description"]["sdp"] = "v" * (call_server.settings.ws_max_frame_bytes + 1)
    await cust.send(huge)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(5):
            while True:
                await cust.ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert signals(await quiet(ag)) == []
    await ag.close()


async def test_a_flood_is_cut_off_at_the_rate_limit(
    runtime: Runtime, call_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    conv = await make_video_conversation(runtime, customer, agent=agent)
    cust = await connect(call_server, runtime, customer)
    ag = await connect(call_server, runtime, agent)
    for n in range(RATE + 10):
        await cust.send(candidate(conv.id, n, ref=f"c{n}"))
    await cust.send({"type": "ping", "ref": "done"})
    await cust.until(lambda f: f.get("ref") == "done", timeout=15)
    limited = [f for f in cust.seen if f["type"] == "error"]
    relayed = signals(await quiet(ag, 1.0))
    # A minute's budget may straddle a window boundary: at most two windows' worth pass.
    assert RATE <= len(relayed) < RATE + 10, len(relayed)
    assert len(limited) == RATE + 10 - len(relayed)
    assert {f["code"] for f in limited} == {"rate_limited"}
    await cust.close()
    await ag.close()


async def test_an_ended_conversation_refuses_signaling(
    runtime: Runtime, call_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    conv = await make_video_conversation(runtime, customer, agent=agent)
    cust = await connect(call_server, runtime, customer)
    ag = await connect(call_server, runtime, agent)
    await end(runtime, customer, conv.id)
    await cust.send(offer(conv.id, ref="late"))
    assert (await answer_to(cust, "late"))["code"] == "conversation_ended"
    assert signals(await quiet(ag)) == []
    await cust.close()
    await ag.close()


async def test_calls_only_in_the_tenants_call_kinds_and_nobody_to_relay_to_while_waiting(
    runtime: Runtime, call_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    support = await make_video_conversation(runtime, customer, agent=agent, kind="support")
    waiting = await make_video_conversation(runtime, customer)
    cust = await connect(call_server, runtime, customer)
    ag = await connect(call_server, runtime, agent)
    await cust.send(offer(support.id, ref="s"))
    assert (await answer_to(cust, "s"))["code"] == "conversation_not_found"
    # Waiting for an agent: the customer's hello goes nowhere and is no error.
    hello = {"type": "signal", "conversation_id": waiting.id, "signal": "hello", "pc": "p"}
    await cust.send({**hello, "ref": "h"})
    await cust.send({"type": "ping", "ref": "p"})
    assert (await cust.until(lambda f: f.get("ref") in ("h", "p")))["type"] == "pong"
    assert signals(await quiet(ag)) == []
    # A tenant that lets support conversations hold calls.
    await set_tenant_settings(runtime, None, call_kinds=["video", "support"])
    try:
        await cust.send(offer(support.id))
        got = await ag.until(lambda f: f["type"] == "signal")
        assert got["conversation_id"] == support.id
    finally:
        await set_tenant_settings(runtime, None, call_kinds=["video"])
    await cust.close()
    await ag.close()


def test_the_module_server_logs_no_sdp(call_server: LiveServer) -> None:
    """Signals are relayed, never logged: the server's log holds no SDP."""
    assert "v=0" not in call_server.log() and "candidate:" not in call_server.log()
