"""Fixed-window rate limiters: per minute, per key.

`RateLimiter` keeps its windows in memory (one node). `RedisRateLimiter` (redis: chosen when
PARLOUR_REDIS_URL is set) keeps them in Redis, so every node counts against the same limit.
Both are async, with the same two methods.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from parlour.core.clock import Clock
from parlour.core.errors import RateLimited

log = logging.getLogger(__name__)


class Limiter(Protocol):
    async def check(self, key: str, *, limit: int) -> None:
        """Raise RateLimited when `key` is already at its limit; count nothing."""

    async def hit(self, key: str, *, limit: int) -> None:
        """Count one hit; raise RateLimited when over the limit."""


class RateLimiter:
    """Allows `limit` hits per key per minute, counted in this process."""

    def __init__(self, clock: Clock, *, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[int, int]] = {}
        self._max_keys = max_keys

    async def check(self, key: str, *, limit: int) -> None:
        self.check_now(key, limit=limit)

    async def hit(self, key: str, *, limit: int) -> None:
        self.hit_now(key, limit=limit)

    def check_now(self, key: str, *, limit: int) -> None:
        window = int(self._clock.now().timestamp() // 60)
        start, count = self._windows.get(key, (window, 0))
        if start == window and count >= limit:
            raise RateLimited()

    def hit_now(self, key: str, *, limit: int) -> None:
        window = int(self._clock.now().timestamp() // 60)
        start, count = self._windows.get(key, (window, 0))
        if start != window:
            start, count = window, 0
        if count >= limit:
            raise RateLimited()
        if len(self._windows) >= self._max_keys:
            # Bound memory: old windows are worthless, so drop them all at once.
            self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
        self._windows[key] = (start, count + 1)


# redis: count a hit and give the window its lifetime in one atomic step; a refused hit is not
# counted (as in memory), so a flood does not push the count past what `check` compares.
_HIT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  return -1
end
count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return count
"""
# A window's key outlives its minute a little (clock skew between nodes), then Redis drops it.
WINDOW_TTL_SECONDS = 120
# While Redis is away, say so in the log at most this often (every request would hit it).
DOWN_LOG_SECONDS = 30.0


class RedisRateLimiter:
    """Allows `limit` hits per key per minute across every node, counted in Redis.

    If Redis is away the limiter fails open to this node's in-memory windows: each node still
    limits on its own (N nodes allow up to N times the limit) and logs that it does, rather
    than refusing every login and message (fail closed) or limiting nothing (fully open).
    """

    def __init__(self, client: Redis, clock: Clock, *, prefix: str = "parlour:rl:") -> None:
        self._client = client
        self._clock = clock
        self._prefix = prefix
        self._script = client.register_script(_HIT)
        self.fallback = RateLimiter(clock)
        self._down_logged = 0.0

    def _key(self, key: str) -> str:
        window = int(self._clock.now().timestamp() // 60)
        return f"{self._prefix}{window}:{key}"

    async def check(self, key: str, *, limit: int) -> None:
        try:
            count = await self._client.get(self._key(key))
        except (RedisError, OSError) as exc:
            self._redis_down(exc)
            self.fallback.check_now(key, limit=limit)
            return
        if count is not None and int(count) >= limit:
            raise RateLimited()

    async def hit(self, key: str, *, limit: int) -> None:
        try:
            count = await self._script(keys=[self._key(key)], args=[limit, WINDOW_TTL_SECONDS])
        except (RedisError, OSError) as exc:
            self._redis_down(exc)
            self.fallback.hit_now(key, limit=limit)
            return
        if int(count) < 0:
            raise RateLimited()

    def _redis_down(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._down_logged >= DOWN_LOG_SECONDS:
            self._down_logged = now
            log.warning("rate limits: Redis unavailable (%r); limiting per node meanwhile", exc)
