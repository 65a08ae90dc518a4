"""A fixed-window rate limiter kept in memory (per node; a Redis one joins with scale-out)."""

from __future__ import annotations

from parlour.core.clock import Clock
from parlour.core.errors import RateLimited


class RateLimiter:
    """Allows `limit` hits per key per minute."""

    def __init__(self, clock: Clock, *, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[int, int]] = {}
        self._max_keys = max_keys

    def check(self, key: str, *, limit: int) -> None:
        """Raise RateLimited when `key` is already at its limit; count nothing."""
        window = int(self._clock.now().timestamp() // 60)
        start, count = self._windows.get(key, (window, 0))
        if start == window and count >= limit:
            raise RateLimited()

    def hit(self, key: str, *, limit: int) -> None:
        """Count one hit; raise RateLimited when over the limit."""
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
