"""Login and guest creation are rate limited per client (limits lowered through Settings)."""

from __future__ import annotations

import httpx
import pytest

from parlour.config import Settings
from parlour.core.clock import FrozenClock
from parlour.core.ratelimit import RateLimiter
from parlour.runtime import Runtime
from tests.api.support import assert_error
from tests.factories import PASSWORD, make_tenant, make_user


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"login_rate_per_minute": 3, "guest_rate_per_minute": 2})


@pytest.fixture(autouse=True)
def frozen_window(runtime: Runtime) -> None:
    """Windows are per clock minute: a frozen clock keeps a minute boundary from resetting the
    count half way through a test."""
    runtime.limiter = RateLimiter(FrozenClock())


async def test_login_is_limited_then_429_rate_limited(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_user(runtime, "agent")
    for _ in range(3):
        response = await client.post(
            "/api/v1/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
        )
        assert_error(response, 401, "invalid_credentials")
    limited = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    assert_error(limited, 429, "rate_limited")


async def test_guest_creation_is_limited(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_tenant(runtime)
    for _ in range(2):
        assert (await client.post("/api/v1/auth/guest", json={})).status_code == 201
        client.cookies.clear()
    assert_error(await client.post("/api/v1/auth/guest", json={}), 429, "rate_limited")
