"""AI tests: an OpenAI-compatible stand-in server, and a runtime on a frozen clock whose
worker polls quickly, pointed at it (the tests choose the provider per tenant)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from parlour.config import Settings
from parlour.core.clock import FrozenClock
from parlour.runtime import Runtime, build_runtime
from tests.ai.stand_in import Server, StandIn


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = Server()
    try:
        yield server.stand_in
    finally:
        server.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def rt(settings: Settings, clock: FrozenClock, stand_in: StandIn) -> AsyncIterator[Runtime]:
    """A started node: frozen clock, quick job polls, in-process sweep off, and the server's
    OpenAI-compatible endpoint the stand-in (the default provider stays `local`)."""
    settings.job_poll_seconds = 0.05
    settings.sweep_interval_seconds = 0
    settings.ai_base_url = stand_in.url
    settings.ai_model = "stand-in-model"
    settings.ai_api_key = "sk-test-server-key"
    settings.ai_timeout_seconds = 0.5
    runtime = build_runtime(settings, clock=clock)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest.fixture
async def http(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    from tests.http_client import app_client

    async with app_client(rt) as client:
        yield client
