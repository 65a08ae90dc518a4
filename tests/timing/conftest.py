"""The timing tests run on a frozen clock (the sweep is run by hand, never by sleeping)."""

from __future__ import annotations

import pytest

from parlour.core.clock import FrozenClock
from tests.timing.support import START


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)
