"""redis: the node's Redis client (PARLOUR_REDIS_URL), shared by the broker and the rate limiter.

Retries are off: a command to a Redis that is away fails at once, and the caller decides (the
broker falls back to this node and catches up later; the limiter falls back to its in-memory
window). redis-py's own retry would reconnect a pub/sub connection behind the broker's back and
hide exactly the moment it must know about: when events may have been missed.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

# Connecting to, or one command on, a Redis that does not answer: fail after this long rather
# than hold a send (the broker publishes after commit, before the ack) for a socket timeout.
CONNECT_TIMEOUT_SECONDS = 1.0
COMMAND_TIMEOUT_SECONDS = 2.0


def redis_client(url: str) -> Redis:
    return Redis.from_url(
        url,
        retry=Retry(NoBackoff(), 0),
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=COMMAND_TIMEOUT_SECONDS,
        decode_responses=False,
    )
