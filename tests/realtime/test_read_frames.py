"""`read` and `typing` frames: read pointers are group-committed, both frames are rate-limited.

A real WebSocket client against the app served by uvicorn in this process, so the test can
count the read writer's transactions."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from parlour.messages.service import SendRequest
from parlour.models.conversation import Participant
from parlour.runtime import Runtime
from tests.factories import auth, make_conversation, make_user, token_for
from tests.realtime.inprocess import serving
from tests.system.wsclient import RealtimeClient

BURST = 200


async def _pointer(rt: Runtime, cid: str, user_id: str | None) -> int:
    async with rt.uow(write=False) as tx:
        row = await tx.session.scalar(
            select(Participant.last_read_seq).where(
                Participant.conversation_id == cid, Participant.user_id == user_id
            )
        )
        return int(row or 0)


@pytest.fixture
async def chat(runtime: Runtime) -> tuple[object, object, str, int]:
    customer = await make_user(runtime)
    agent = await make_user(runtime, "agent")
    conversation = await make_conversation(runtime, customer, agent=agent)
    last = 0
    for n in range(10):
        last = (await runtime.writer.send(SendRequest(agent, conversation.id, f"m{n}"))).seq
    return customer, agent, conversation.id, last


async def test_a_burst_of_read_frames_is_coalesced_and_the_highest_seq_wins(
    runtime: Runtime, chat: tuple[object, object, str, int]
) -> None:
    customer, agent, cid, last = chat
    async with serving(runtime) as url:
        reader = await RealtimeClient.connect(url, token_for(runtime, customer))  # type: ignore[arg-type]
        watcher = await RealtimeClient.connect(url, token_for(runtime, agent))  # type: ignore[arg-type]
        await watcher.subscribe(cid)
        before = runtime.read_writer.batches
        # Out of order, the highest in the middle: the pointer ends at the highest.
        seqs = [1 + (n * 7) % last for n in range(BURST)]
        seqs[BURST // 2] = last
        for n, seq in enumerate(seqs):
            await reader.send({"type": "read", "conversation_id": cid, "seq": seq, "ref": f"r{n}"})
        await reader.send({"type": "ping", "ref": "after"})
        pong = await reader.until(lambda f: f["type"] in ("pong", "error"))
        assert pong["type"] == "pong", pong
        async with asyncio.timeout(5):
            while await _pointer(runtime, cid, customer.user_id) != last:  # type: ignore[attr-defined]
                await asyncio.sleep(0.02)
        # The agent hears of the final pointer; never of one that went back.
        read = await watcher.until(lambda f: f["type"] == "read" and f["seq"] == last)
        assert read["user_id"] == customer.user_id  # type: ignore[attr-defined]
        transactions = runtime.read_writer.batches - before
        assert transactions <= BURST / 10, f"{BURST} read frames cost {transactions} transactions"
        heard = [f["seq"] for f in watcher.seen if f["type"] == "read"]
        assert heard == sorted(heard), heard
        await reader.close()
        await watcher.close()


async def test_read_and_typing_frames_are_rate_limited(
    runtime: Runtime, chat: tuple[object, object, str, int]
) -> None:
    customer, agent, cid, _ = chat
    runtime.settings.read_rate_per_minute = 5
    runtime.settings.typing_rate_per_minute = 3
    async with serving(runtime) as url:
        reader = await RealtimeClient.connect(url, token_for(runtime, customer))  # type: ignore[arg-type]
        watcher = await RealtimeClient.connect(url, token_for(runtime, agent))  # type: ignore[arg-type]
        await watcher.subscribe(cid)
        for n in range(8):
            await reader.send({"type": "read", "conversation_id": cid, "seq": 1, "ref": f"r{n}"})
        errors = [await reader.until(lambda f: f["type"] == "error") for _ in range(3)]
        assert [(e["code"], e["ref"]) for e in errors] == [
            ("rate_limited", "r5"),
            ("rate_limited", "r6"),
            ("rate_limited", "r7"),
        ]
        # Typing over the limit is dropped without an answer; the others reach the watcher.
        for n in range(6):
            await reader.send({"type": "typing", "conversation_id": cid, "ref": f"t{n}"})
        await reader.send({"type": "ping", "ref": "after"})
        assert (await reader.until(lambda f: f["type"] in ("pong", "error")))["type"] == "pong"
        await watcher.send({"type": "ping", "ref": "w"})
        await watcher.until(lambda f: f["type"] == "pong")
        await asyncio.sleep(0.2)
        typing = [f for f in watcher.seen if f["type"] == "typing"]
        assert len(typing) == 3, typing
        await reader.close()
        await watcher.close()


async def test_post_read_goes_through_the_read_writer(
    client: httpx.AsyncClient, runtime: Runtime, chat: tuple[object, object, str, int]
) -> None:
    customer, _, cid, last = chat
    headers = auth(runtime, customer)  # type: ignore[arg-type]
    before = runtime.read_writer.batches
    responses = await asyncio.gather(
        *(
            client.post(f"/api/v1/conversations/{cid}/read", json={"seq": s}, headers=headers)
            for s in range(1, last + 1)
        )
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    assert responses[-1].json()["last_read_seq"] == last
    assert runtime.read_writer.batches - before < last
    assert await _pointer(runtime, cid, customer.user_id) == last  # type: ignore[attr-defined]
    beyond = await client.post(
        f"/api/v1/conversations/{cid}/read", json={"seq": last + 1}, headers=headers
    )
    assert beyond.status_code == 400 and beyond.json()["error"]["code"] == "invalid_seq"
