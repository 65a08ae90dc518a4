"""A full write queue, as the edges answer it: 503 `unavailable` over REST, an `error` frame
with code `unavailable` over the WebSocket. The writer is stalled for real: another transaction
holds the conversation (SQLite's write lock; a row lock on PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from parlour.config import Settings
from parlour.models.conversation import Conversation
from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_world
from tests.factories import make_conversation, token_for
from tests.realtime.inprocess import serving
from tests.system.wsclient import RealtimeClient

QUEUE_MAX = 2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.write_queue_max = QUEUE_MAX
    return settings


@contextlib.asynccontextmanager
async def stalled_writer(runtime: Runtime, cid: str) -> AsyncIterator[None]:
    """Hold the conversation in another transaction until the block ends."""
    async with runtime.uow() as tx:
        await tx.session.execute(
            select(Conversation).where(Conversation.id == cid).with_for_update()
        )
        yield


async def _until_taken(runtime: Runtime) -> None:
    """Until the writer has taken a batch (stuck behind the lock) and the queue is empty."""
    async with asyncio.timeout(5):
        while not runtime.writer._in_flight or runtime.writer._queue.qsize():
            await asyncio.sleep(0.01)


async def test_rest_answers_503_when_the_write_queue_is_full(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    world: World = await make_world(runtime)
    cid = (await make_conversation(runtime, world.customer, agent=world.agent)).id
    url = f"/api/v1/conversations/{cid}/messages"
    headers = world.headers["customer"]

    def post(n: int) -> asyncio.Task[httpx.Response]:
        body = {"body": f"m{n}", "client_msg_id": f"c{n}"}
        return asyncio.create_task(client.post(url, json=body, headers=headers))

    async with stalled_writer(runtime, cid):
        first = post(0)
        await _until_taken(runtime)
        queued = [post(n) for n in range(1, 1 + QUEUE_MAX)]
        async with asyncio.timeout(5):
            while runtime.writer._queue.qsize() < QUEUE_MAX:
                await asyncio.sleep(0.01)
        refused = await asyncio.wait_for(
            client.post(url, json={"body": "no room"}, headers=headers), 2
        )
        assert_error(refused, 503, "unavailable")
    # The lock is gone: everything that was taken or queued is stored.
    for response in await asyncio.gather(first, *queued):
        assert response.status_code == 201, response.text


async def test_the_websocket_answers_an_unavailable_error_frame(runtime: Runtime) -> None:
    world: World = await make_world(runtime)
    cid = (await make_conversation(runtime, world.customer, agent=world.agent)).id
    async with serving(runtime) as url:
        ws = await RealtimeClient.connect(url, token_for(runtime, world.customer))
        try:
            async with stalled_writer(runtime, cid):
                for n in range(2 + QUEUE_MAX):
                    frame = {"type": "send", "conversation_id": cid, "body": f"m{n}"}
                    await ws.send({**frame, "client_msg_id": f"c{n}", "ref": f"r{n}"})
                    if n == 0:
                        await _until_taken(runtime)
                error = await ws.until(lambda f: f["type"] == "error")
                assert (error["code"], error["ref"]) == ("unavailable", f"r{1 + QUEUE_MAX}")
            acks = [await ws.until(lambda f: f["type"] == "ack") for _ in range(1 + QUEUE_MAX)]
            assert sorted(a["client_msg_id"] for a in acks) == ["c0", "c1", "c2"]
        finally:
            await ws.close()
