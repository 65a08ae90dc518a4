"""redis: the Redis broker against a real redis-server (tests/redis_server.py): events cross
nodes as they were published, each node's listeners hear an event once, and when the link is
lost subscribers are told they may have missed events (so they catch up from the database).

Each test uses its own channel prefix on the shared server; the outage test has its own server,
which it kills and starts again on the same port.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from parlour.core.events import (
    CREDENTIALS_EVENT,
    MISSED_EVENT,
    Audience,
    Event,
    audience_of,
    credentials_changed,
)
from parlour.core.redisconn import redis_client
from parlour.realtime.redis_broker import RedisBroker, encode_event
from tests.redis_server import redis_server, redis_url  # noqa: F401

CONV = Audience.conversation("c1")


def _message(seq: int, cid: str = "c1") -> Event:
    return Event(
        audience=Audience.conversation(cid),
        type="message",
        payload=f'{{"type":"message","seq":{seq}}}',
        conversation_id=cid,
        seq=seq,
    )


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


class Node:
    def __init__(self, url: str, prefix: str, **kwargs: float) -> None:
        self.client: Redis = redis_client(url)
        self.broker = RedisBroker(self.client, prefix=prefix, **kwargs)
        self.heard: list[Event] = []

    async def start(self) -> None:
        await self.broker.start()
        await _until(lambda: self.broker.connected)

    async def stop(self) -> None:
        await self.broker.stop()
        await self.client.aclose()


@pytest.fixture
async def nodes(redis_url: str) -> AsyncIterator[tuple[Node, Node]]:  # noqa: F811
    prefix = f"test:{uuid.uuid4().hex}:"
    pair = (Node(redis_url, prefix), Node(redis_url, prefix))
    for node in pair:
        await node.start()
    try:
        yield pair
    finally:
        for node in pair:
            await node.stop()


def test_every_audience_channel_maps_back() -> None:
    for audience in (
        Audience.conversation("c:1"),
        Audience.user("u1"),
        Audience.tenant_admins("t1"),
        Audience.staff_queue("t1"),
        Audience.tenant_keys("t1"),
    ):
        assert audience_of(audience.channel) == audience
    assert audience_of("nonsense") is None
    assert audience_of("tenant:t1:other") is None


async def test_an_event_crosses_nodes_unchanged_and_is_heard_once(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    await a.broker.subscribe(CONV.channel, a.heard.append)
    await b.broker.subscribe(CONV.channel, b.heard.append)
    revoked = credentials_changed(Audience.user("u1"))
    await b.broker.subscribe(revoked.channel, b.heard.append)
    await a.broker.publish(_message(1))
    await a.broker.publish(revoked)
    await _until(lambda: len(b.heard) == 2)
    assert b.heard == [_message(1), revoked]
    await asyncio.sleep(0.2)  # the echo of a's own event comes back from Redis: ignored
    assert a.heard == [_message(1)]
    assert len(b.heard) == 2


async def test_a_closed_subscription_stops_delivery_on_every_node(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    first = await b.broker.subscribe(CONV.channel, b.heard.append)
    second: list[Event] = []
    await b.broker.subscribe(CONV.channel, second.append)
    await first.close()  # the other listener still holds the Redis subscription
    await a.broker.publish(_message(1))
    await _until(lambda: len(second) == 1)
    assert b.heard == []
    assert b.broker.channel_count() == 1


async def test_malformed_or_misaddressed_messages_are_dropped(
    nodes: tuple[Node, Node],
    redis_url: str,  # noqa: F811
) -> None:
    a, b = nodes
    await b.broker.subscribe(CONV.channel, b.heard.append)
    key = b.broker._key(CONV.channel)
    # An event addressed to another conversation, sent on this one's channel: not delivered.
    await a.client.publish(key, encode_event("elsewhere", _message(1, cid="c2")))
    await a.client.publish(key, b"not json")
    await a.client.publish(key, b"[1, 2]")
    await a.client.publish(key, b'{"n": "x", "k": "nope", "a": "c1", "t": "message", "p": ""}')
    await a.broker.publish(_message(2))
    await _until(lambda: len(b.heard) == 1)
    assert b.heard == [_message(2)]


async def test_redis_restart_tells_subscribers_to_catch_up_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    """Redis killed with subscribers on two nodes: a publish fails without raising (this node
    still hears it), both nodes tell their conversation subscribers to catch up while it is
    away, and once Redis is back on the same port they reconnect, tell every subscriber (a
    user's feed re-checks its credential), and the node whose publish failed sends a resync
    marker so the other catches up once more."""
    server = redis_server(tmp_path)
    prefix = f"test:{uuid.uuid4().hex}:"
    a = Node(server.url, prefix, catch_up_seconds=0.2)
    b = Node(server.url, prefix, catch_up_seconds=0.2)
    try:
        for node in (a, b):
            await node.start()
            await node.broker.subscribe(CONV.channel, node.heard.append)
        await b.broker.subscribe(Audience.user("u1").channel, b.heard.append)
        server.kill()
        await _until(lambda: not a.broker.connected and not b.broker.connected)
        await a.broker.publish(_message(7))  # committed; Redis is away
        assert _message(7) in a.heard
        await _until(lambda: any(e.type == MISSED_EVENT for e in b.heard))
        missed = next(e for e in b.heard if e.type == MISSED_EVENT)
        assert missed.internal and missed.conversation_id == "c1"
        assert missed.payload == ""  # nothing of it is ever sent to a client

        server.start()
        await _until(lambda: a.broker.connected and b.broker.connected, timeout=20)
        assert a.broker.connects == 2 and b.broker.connects == 2
        assert a.broker.stats.failures >= 1  # the reader's failure was logged and restarted
        # Reconnected: the user's feed re-checks its credential (a logout may have been lost).
        await _until(lambda: any(e.type == CREDENTIALS_EVENT for e in b.heard))
        b.heard.clear()
        await a.broker.publish(_message(8))
        await _until(lambda: _message(8) in b.heard)
        assert _message(7) not in b.heard  # lost in Redis: the database has it
    finally:
        await a.stop()
        await b.stop()
        server.kill()


async def test_a_failed_publish_is_followed_by_a_resync_marker(nodes: tuple[Node, Node]) -> None:
    """Only the publishing node lost Redis for a moment: the others never noticed, so after
    the link is back it tells them which channels to catch up on."""
    a, b = nodes
    await b.broker.subscribe(CONV.channel, b.heard.append)
    a.broker.connected = False  # as if its link had just dropped: the publish is not sent
    await a.broker.publish(_message(3))
    assert b.heard == []
    a.broker._connected_again()
    await _until(lambda: [e.type for e in b.heard] == [MISSED_EVENT])
    assert b.heard[0].conversation_id == "c1"


async def test_a_broker_never_started_publishes_straight_to_redis(
    nodes: tuple[Node, Node],
    redis_url: str,  # noqa: F811
) -> None:
    """A one-shot command (`parlour close-expired`) builds the runtime without starting it:
    its events still reach every node's clients."""
    _, b = nodes
    await b.broker.subscribe(CONV.channel, b.heard.append)
    cli = Node(redis_url, b.broker._prefix)
    try:
        await cli.broker.publish(_message(9))
        await _until(lambda: b.heard == [_message(9)])
    finally:
        await cli.stop()
