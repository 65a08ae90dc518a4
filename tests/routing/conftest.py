"""Routing tests run without the background sweep (and job worker): the safety net is
exercised by calling the sweep directly, so nothing routes behind a test's back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from parlour.config import Settings
from parlour.runtime import Runtime, build_runtime


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    quiet = settings.model_copy(update={"sweep_interval_seconds": 0, "job_worker": False})
    rt = build_runtime(quiet)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()
