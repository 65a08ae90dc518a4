"""Which handler runs a job of each kind, how often it is tried and how long it waits between.

Domains register their kinds in the process-wide `handlers` (through `parlour.jobs.register`),
typically in a `jobs.py` of their own that the runtime imports. Each node's Runtime reads a
child registry of it (`runtime.jobs`): a test registers kinds there without leaking them into
other tests. A worker claims only the kinds its registry knows, so during a rolling upgrade a
node never claims a kind that only newer nodes can run.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parlour.models.job import MAX_KIND_CHARS

if TYPE_CHECKING:
    from parlour.jobs.context import JobContext

Handler = Callable[["JobContext"], Awaitable[None]]

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: after attempt n fails, the next waits
    `min(base * 2**(n-1), cap)` seconds, less a random share of up to `jitter` of it, so jobs
    that failed together (a provider outage) do not all come back in the same second."""

    base_seconds: float = 10.0
    max_seconds: float = 3600.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.base_seconds < 0 or self.max_seconds < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("backoff needs base and max >= 0 and 0 <= jitter <= 1")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 for the first)."""
        exponent = min(max(attempt - 1, 0), 62)  # 2**62 seconds is past any cap already
        raw = min(self.base_seconds * 2.0**exponent, self.max_seconds)
        return raw * (rng or random).uniform(1.0 - self.jitter, 1.0)


DEFAULT_BACKOFF = Backoff()


@dataclass(frozen=True, slots=True)
class Registration:
    kind: str
    handler: Handler
    max_attempts: int
    backoff: Backoff
    timeout_seconds: float


class JobRegistry:
    """Kinds and their handlers; a child sees its parent's kinds unless it registers its own."""

    def __init__(self, parent: JobRegistry | None = None) -> None:
        self._parent = parent
        self._kinds: dict[str, Registration] = {}

    def register(
        self,
        kind: str,
        handler: Handler,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: Backoff = DEFAULT_BACKOFF,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        """Run `handler` for jobs of `kind`: up to `max_attempts` times, waiting `backoff`
        between attempts; an attempt that takes over `timeout_seconds` is a failed one."""
        if not kind or len(kind) > MAX_KIND_CHARS:
            raise ValueError(f"a job kind has 1 to {MAX_KIND_CHARS} characters: {kind!r}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        if kind in self._kinds:
            raise ValueError(f"job kind {kind!r} is already registered")
        self._kinds[kind] = Registration(kind, handler, max_attempts, backoff, timeout_seconds)

    def get(self, kind: str) -> Registration | None:
        found = self._kinds.get(kind)
        if found is None and self._parent is not None:
            return self._parent.get(kind)
        return found

    def kinds(self) -> list[str]:
        inherited = self._parent.kinds() if self._parent is not None else []
        return sorted(set(inherited) | set(self._kinds))


# The process-wide registry every domain registers into.
handlers = JobRegistry()


def register(
    kind: str,
    handler: Handler,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff: Backoff = DEFAULT_BACKOFF,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> None:
    """Register a handler for `kind` in the process-wide registry (see `JobRegistry.register`)."""
    handlers.register(
        kind, handler, max_attempts=max_attempts, backoff=backoff, timeout_seconds=timeout_seconds
    )
