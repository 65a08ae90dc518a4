"""Fixtures of the appointment tests: a frozen clock and a runtime on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from parlour.config import Settings
from parlour.core.clock import FrozenClock
from parlour.runtime import Runtime, build_runtime
from tests.appointments.support import START


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def frozen(settings: Settings, clock: FrozenClock) -> AsyncIterator[Runtime]:
    """A runtime on the frozen clock; no sweep or job worker of its own (tests run them)."""
    settings.sweep_interval_seconds = 0
    settings.job_worker = False
    rt = build_runtime(settings, clock=clock)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()
