"""The timing tests run on a frozen clock (the sweep is run by hand, never by sleeping)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from parlour.config import Settings
from parlour.core.clock import FrozenClock
from parlour.runtime import Runtime, build_runtime
from tests.timing.support import START


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def frozen(settings: Settings, clock: FrozenClock) -> AsyncIterator[Runtime]:
    """A runtime on the frozen clock, its in-process sweep off (the tests sweep by hand)."""
    settings.sweep_interval_seconds = 0
    rt = build_runtime(settings, clock=clock)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()
