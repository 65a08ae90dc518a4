"""Argon2 runs off the event loop: a burst of logins leaves the loop free for everyone else."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from parlour.auth import passwords
from parlour.config import Settings
from parlour.runtime import Runtime
from tests.factories import PASSWORD, make_user

LOGINS = 12
PROBE_SECONDS = 0.01


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Every login here comes from one address; the limits are not what is tested.
    return settings.model_copy(update={"login_rate_per_minute": 1000})


async def worst_loop_lag(during: Callable[[], Awaitable[Any]]) -> float:
    """The longest the event loop kept a 10 ms sleeper waiting beyond its 10 ms while `during`
    ran: what every WebSocket on the node would feel."""
    worst = 0.0
    done = asyncio.Event()

    async def probe() -> None:
        nonlocal worst
        while not done.is_set():
            start = time.monotonic()
            await asyncio.sleep(PROBE_SECONDS)
            worst = max(worst, time.monotonic() - start - PROBE_SECONDS)

    task = asyncio.create_task(probe())
    await asyncio.sleep(0)
    try:
        await during()
    finally:
        done.set()
        await task
    return worst


async def burst_of_logins(client: httpx.AsyncClient, emails: list[str]) -> None:
    responses = await asyncio.gather(
        *(
            client.post(
                "/api/v1/auth/login",
                json={"email": emails[i % len(emails)], "password": PASSWORD},
                headers={"Origin": "http://testserver"},  # as a browser: the cookie comes back
            )
            for i in range(LOGINS)
        )
    )
    assert [r.status_code for r in responses] == [200] * LOGINS


async def test_a_burst_of_logins_does_not_stall_the_event_loop(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = [await make_user(runtime, "agent") for _ in range(3)]
    async with runtime.uow(write=False) as tx:
        from parlour.auth.service import get_user

        emails = [str((await get_user(tx.session, u, u.user_id or "")).email) for u in users]

    # How long each verification takes on this machine now (a loaded CI box is many times
    # slower than an idle laptop), measured around the real function.
    durations: list[float] = []
    real = passwords.verify_password_sync

    def timed(password_hash: str | None, password: str) -> bool:
        start = time.monotonic()
        try:
            return real(password_hash, password)
        finally:
            durations.append(time.monotonic() - start)

    monkeypatch.setattr(passwords, "verify_password_sync", timed)
    lag = await worst_loop_lag(lambda: burst_of_logins(client, emails))
    verify = statistics.median(durations)

    # The old way, Argon2 on the loop, for contrast: the probe sees the stall.
    async def inline(work: Callable[[], Any]) -> Any:
        return work()

    monkeypatch.setattr(passwords, "_off_loop", inline)
    durations.clear()
    blocking_lag = await worst_loop_lag(lambda: burst_of_logins(client, emails))
    blocking_verify = statistics.median(durations)
    print(
        f"verify {verify * 1000:.0f} ms; worst lag {lag * 1000:.0f} ms off the loop, "
        f"{blocking_lag * 1000:.0f} ms on it (verify {blocking_verify * 1000:.0f} ms)"
    )
    # On the loop, the probe waits at least one whole verification: the probe works.
    assert blocking_lag >= blocking_verify * 0.8
    # Off the loop it never does: under 200 ms on a quiet machine; on one so loaded (the
    # suite runs on every core) that a verification takes far longer than usual, still
    # under half of one, or half of what the same burst stalled the loop on it in this run.
    bound = max(0.2, verify / 2, blocking_lag / 2)
    assert lag < bound, f"the loop stalled {lag * 1000:.0f} ms during {LOGINS} logins"


async def test_at_most_the_configured_number_of_hashes_run_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running = peak = 0
    lock = __import__("threading").Lock()
    real = passwords.verify_password_sync

    def counting(password_hash: str | None, password: str) -> bool:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            return real(password_hash, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(passwords, "verify_password_sync", counting)
    passwords.configure(concurrency=2)
    results = await asyncio.gather(*(passwords.verify_password(None, "x") for _ in range(8)))
    assert results == [False] * 8
    assert peak == 2
