"""Long-lived background tasks that never die quietly.

Every task a node keeps running (the message writer, the job worker, the deadline sweep, a
connection's sender) is started through `supervise`: when its body raises, the failure is
logged with its traceback, `on_failure` is told (to answer whoever waits on the task), and the
body is started again after a backoff that grows with consecutive failures and resets after a
healthy run. Cancelling the returned task stops it; a body that returns normally ends it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

# Backoff between restarts: doubles from MIN up to MAX; a run longer than HEALTHY resets it.
MIN_RESTART_SECONDS = 0.05
MAX_RESTART_SECONDS = 5.0
HEALTHY_SECONDS = 30.0


class Supervised:
    """Counters an operator (and a test) can read: how often the body failed and restarted."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failures = 0
        self.last_error: BaseException | None = None


def supervise(
    name: str,
    body: Callable[[], Awaitable[None]],
    *,
    on_failure: Callable[[BaseException], None] | None = None,
    stats: Supervised | None = None,
) -> asyncio.Task[None]:
    """Run `body` as a task named `name`, restarting it whenever it fails."""
    stats = stats or Supervised(name)

    async def run() -> None:
        delay = MIN_RESTART_SECONDS
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await body()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stats.failures += 1
                stats.last_error = exc
                log.exception("%s failed (%d so far); restarting", name, stats.failures)
                if on_failure is not None:
                    try:
                        on_failure(exc)
                    except Exception:
                        log.exception("%s: on_failure raised", name)
            if loop.time() - started > HEALTHY_SECONDS:
                delay = MIN_RESTART_SECONDS
            # Jitter, so nodes that failed together (a database restart) do not retry together.
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, MAX_RESTART_SECONDS)

    return asyncio.create_task(run(), name=name)
