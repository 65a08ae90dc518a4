"""The search tests run on a frozen clock, so message times (and the date filters) are exact."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parlour.core.clock import FrozenClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)
