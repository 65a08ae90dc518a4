"""Channel tests: a node on a frozen clock whose jobs call the Twilio stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from parlour.config import Settings
from parlour.core.clock import FrozenClock
from parlour.runtime import Runtime
from tests.api.support import World, make_world
from tests.channels.support import ACCOUNT_SID, AUTH_TOKEN, twilio_channel_id
from tests.channels.twilio_standin import TwilioStandIn
from tests.conftest import running
from tests.http_client import app_client


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    server = TwilioStandIn(ACCOUNT_SID, AUTH_TOKEN).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def twilio_rt(
    settings: Settings, clock: FrozenClock, standin: TwilioStandIn
) -> AsyncIterator[Runtime]:
    """A started node: its worker polls every 50 ms on a frozen clock and talks to the
    stand-in; a Twilio call that takes over a second is a timeout."""
    settings.job_poll_seconds = 0.05
    settings.sweep_interval_seconds = 0
    settings.twilio_api_base = standin.base_url
    settings.twilio_timeout_seconds = 1.0
    settings.public_url = "http://testserver"
    async with running(settings, clock) as rt:
        yield rt


@pytest.fixture
async def http(twilio_rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(twilio_rt) as client:
        yield client


@pytest.fixture
async def cast(twilio_rt: Runtime) -> World:
    return await make_world(twilio_rt)


@pytest.fixture
async def whatsapp(http: httpx.AsyncClient, cast: World) -> str:
    """The id of the default tenant's WhatsApp channel (+14155550100)."""
    return await twilio_channel_id(http, cast)
