"""redis: the shared rate limiter against a real redis-server: every node counts against the
same window; with Redis away each node falls back to its own in-memory window."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

from parlour.core.clock import FrozenClock
from parlour.core.errors import RateLimited
from parlour.core.ratelimit import RateLimiter, RedisRateLimiter
from parlour.core.redisconn import redis_client
from tests.redis_server import redis_server, redis_url  # noqa: F401


async def test_two_nodes_share_one_limit(redis_url: str) -> None:  # noqa: F811
    clock = FrozenClock()
    prefix = f"test:{uuid.uuid4().hex}:"
    one, two = redis_client(redis_url), redis_client(redis_url)
    node1 = RedisRateLimiter(one, clock, prefix=prefix)
    node2 = RedisRateLimiter(two, clock, prefix=prefix)
    try:
        await node1.hit("login:1.2.3.4", limit=3)
        await node2.hit("login:1.2.3.4", limit=3)
        await node1.check("login:1.2.3.4", limit=3)  # checking counts nothing
        await node2.hit("login:1.2.3.4", limit=3)
        for node in (node1, node2):
            with pytest.raises(RateLimited):
                await node.hit("login:1.2.3.4", limit=3)
            with pytest.raises(RateLimited):
                await node.check("login:1.2.3.4", limit=3)
        await node2.hit("login:5.6.7.8", limit=3)  # another key has its own window
        # Refused hits were not counted, and the window expires in Redis by itself.
        key = node1._key("login:1.2.3.4")
        assert int(await one.get(key)) == 3
        assert 0 < await one.ttl(key) <= 120
        clock.advance(seconds=60)  # the next minute: a new window
        await node1.hit("login:1.2.3.4", limit=3)
    finally:
        await one.aclose()
        await two.aclose()


async def test_with_redis_away_each_node_limits_on_its_own(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = redis_server(tmp_path)
    clock = FrozenClock()
    client = redis_client(server.url)
    limiter = RedisRateLimiter(client, clock, prefix=f"test:{uuid.uuid4().hex}:")
    try:
        await limiter.hit("send:u1", limit=2)
        server.kill()
        with caplog.at_level(logging.WARNING, logger="parlour.core.ratelimit"):
            await limiter.hit("send:u1", limit=2)  # fails open to this node's window...
            await limiter.hit("send:u1", limit=2)
            with pytest.raises(RateLimited):  # ...which still limits
                await limiter.hit("send:u1", limit=2)
            with pytest.raises(RateLimited):
                await limiter.check("send:u1", limit=2)
        downs = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
        assert len(downs) == 1  # said once, not once per request
        server.start()  # back: counting in Redis again (its window was lost with it)
        await limiter.hit("send:u1", limit=2)
        await limiter.hit("send:u1", limit=2)
        with pytest.raises(RateLimited):
            await limiter.hit("send:u1", limit=2)
    finally:
        await client.aclose()
        server.kill()


async def test_the_in_memory_limiter_keeps_its_contract() -> None:
    limiter = RateLimiter(FrozenClock())
    await limiter.hit("k", limit=1)
    with pytest.raises(RateLimited):
        await limiter.check("k", limit=1)
    with pytest.raises(RateLimited):
        await limiter.hit("k", limit=1)
