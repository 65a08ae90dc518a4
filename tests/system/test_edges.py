"""The edges as a real `parlour serve` process sees them: uvicorn's own proxy handling would
believe `X-Forwarded-For` from any loopback caller; the server must not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
import websockets

from parlour.runtime import Runtime
from tests.factories import make_tenant, make_user, token_for
from tests.system.conftest import LiveServer


@pytest.fixture(scope="module")
def system_db(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> str:
    """SQLite only: nothing here depends on the database."""
    path = tmp_path_factory.mktemp("edges") / "parlour.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


async def test_x_forwarded_for_from_loopback_is_not_believed(
    runtime: Runtime, shared_server: LiveServer
) -> None:
    await make_tenant(runtime)
    limit = shared_server.settings.login_rate_per_minute
    async with httpx.AsyncClient(base_url=shared_server.url, timeout=30) as http:
        statuses = []
        for i in range(limit + 1):
            response = await http.post(
                "/api/v1/auth/login",
                json={"email": f"nobody{i}@example.com", "password": "wrong-password"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            )
            statuses.append(response.status_code)
    assert statuses == [401] * limit + [429]


async def test_websocket_cookie_origin_compares_the_scheme(
    runtime: Runtime, shared_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    cookie = {"Cookie": f"parlour_token={token_for(runtime, customer)}"}
    url = f"{shared_server.ws_url}/api/v1/realtime"
    host = shared_server.url.removeprefix("http://")
    async with websockets.connect(url, additional_headers=cookie, origin=f"http://{host}") as ws:  # type: ignore[arg-type]
        assert json.loads(await ws.recv())["type"] == "ready"
    # We are http://host: https://host is another origin.
    async with websockets.connect(url, additional_headers=cookie, origin=f"https://{host}") as ws:  # type: ignore[arg-type]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003
