"""Credentials that stop being valid close the sockets using them (4001), against a real
server with real WebSocket clients; and a `?token=` never reaches a log line."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from parlour.auth.tokens import issue_token
from parlour.config import Settings
from parlour.runtime import Runtime
from tests.api.support import make_api_key
from tests.factories import PASSWORD, make_user, token_for
from tests.system.conftest import LiveServer, start_server, stop_server
from tests.system.wsclient import RealtimeClient

pytestmark = pytest.mark.system


async def _closed_with(client: RealtimeClient, timeout: float = 5) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(timeout):
            while True:
                await client.ws.recv()
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_logout_revokes_the_token_for_rest_and_open_sockets(
    runtime: Runtime, shared_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    token = token_for(runtime, customer)
    other = token_for(runtime, customer)  # another device: unaffected by this logout
    ws = await RealtimeClient.connect(shared_server.ws_url, token)
    ws_other = await RealtimeClient.connect(shared_server.ws_url, other)
    async with httpx.AsyncClient(base_url=shared_server.url) as http:
        assert (await http.get("/api/v1/me", headers=_bearer(token))).status_code == 200
        out = await http.post("/api/v1/auth/logout", headers=_bearer(token))
        assert out.status_code == 204
        assert await _closed_with(ws) == 4001
        assert (await http.get("/api/v1/me", headers=_bearer(token))).status_code == 401
        assert (await http.get("/api/v1/me", headers=_bearer(other))).status_code == 200
    again = await RealtimeClient.connect(shared_server.ws_url)
    await again.send({"type": "auth", "token": token})
    assert await _closed_with(again) == 4001
    await ws_other.send({"type": "ping", "ref": "p"})
    assert (await ws_other.until(lambda f: f["type"] == "pong"))["ref"] == "p"
    await ws_other.close()


async def test_a_password_change_revokes_every_earlier_token(
    runtime: Runtime, shared_server: LiveServer
) -> None:
    agent = await make_user(runtime, "agent")
    token = token_for(runtime, agent)
    ws = await RealtimeClient.connect(shared_server.ws_url, token)
    async with httpx.AsyncClient(base_url=shared_server.url) as http:
        wrong = await http.post(
            "/api/v1/me/password",
            headers=_bearer(token),
            json={"current_password": "not it", "new_password": "another password"},
        )
        assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "wrong_password"
        changed = await http.post(
            "/api/v1/me/password",
            headers=_bearer(token),
            json={"current_password": PASSWORD, "new_password": "another password"},
        )
        assert changed.status_code == 200, changed.text
        fresh = changed.json()["access_token"]
        assert await _closed_with(ws) == 4001
        assert (await http.get("/api/v1/me", headers=_bearer(token))).status_code == 401
        assert (await http.get("/api/v1/me", headers=_bearer(fresh))).status_code == 200
        # The change set a fresh cookie; a script's login sends no Origin, so it must not send
        # that cookie either (the CSRF guard would refuse a cookie write without an Origin).
        http.cookies.clear()
        login = await http.post(
            "/api/v1/auth/login",
            json={"email": changed.json()["user"]["email"], "password": "another password"},
        )
        assert login.status_code == 200


async def test_deactivation_closes_the_users_sockets(
    runtime: Runtime, shared_server: LiveServer
) -> None:
    admin = await make_user(runtime, "admin")
    agent = await make_user(runtime, "agent")
    ws = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, agent))
    async with httpx.AsyncClient(base_url=shared_server.url) as http:
        response = await http.patch(
            f"/api/v1/users/{agent.user_id}",
            headers=_bearer(token_for(runtime, admin)),
            json={"is_active": False},
        )
        assert response.status_code == 200 and response.json()["is_active"] is False
        assert await _closed_with(ws) == 4001
        me = await http.get("/api/v1/me", headers=_bearer(token_for(runtime, agent)))
        assert me.status_code == 401


async def test_api_key_revocation_closes_the_keys_sockets(
    runtime: Runtime, shared_server: LiveServer
) -> None:
    admin = await make_user(runtime, "admin")
    raw = await make_api_key(runtime)
    kept = await make_api_key(runtime)
    ws = await RealtimeClient.connect(shared_server.ws_url, raw)
    ws_kept = await RealtimeClient.connect(shared_server.ws_url, kept)
    async with httpx.AsyncClient(base_url=shared_server.url) as http:
        me = await http.get("/api/v1/me", headers={"X-API-Key": raw})
        assert me.status_code == 200
        from tests.api.test_authorization_matrix import _key_id

        key_id = await _key_id(runtime, raw)
        revoked = await http.post(
            f"/api/v1/api-keys/{key_id}/revoke", headers=_bearer(token_for(runtime, admin))
        )
        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
        assert await _closed_with(ws) == 4001
        assert (await http.get("/api/v1/me", headers={"X-API-Key": raw})).status_code == 401
    await ws_kept.send({"type": "ping", "ref": "k"})
    await ws_kept.until(lambda f: f["type"] == "pong")
    await ws_kept.close()


async def test_a_socket_closes_when_its_token_expires(
    runtime: Runtime, shared_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    assert customer.user_id
    short = issue_token(
        secret=runtime.secret_key,
        user_id=customer.user_id,
        tenant_id=customer.tenant_id,
        now=runtime.clock.now(),
        ttl_seconds=2,
    )
    ws = await RealtimeClient.connect(shared_server.ws_url, short)
    started = asyncio.get_running_loop().time()
    assert await _closed_with(ws, timeout=6) == 4001
    assert asyncio.get_running_loop().time() - started < 4


@pytest.fixture
def logging_server(settings: Settings, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(settings, tmp_path / "server.log", PARLOUR_LOG_LEVEL="info")
    try:
        yield server
    finally:
        stop_server(server)


async def test_a_query_token_never_reaches_the_log(
    runtime: Runtime, logging_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    token = token_for(runtime, customer)
    ws = await RealtimeClient.connect(logging_server.ws_url, token)
    await ws.close()
    async with httpx.AsyncClient(base_url=logging_server.url) as http:
        await http.get(f"/api/v1/me?token={token}&x=1")
    await asyncio.sleep(0.5)
    log = logging_server.log()
    assert "/api/v1/realtime" in log and "/api/v1/me" in log  # access logging is on
    assert token not in log
    assert token.split(".")[1] not in log
    assert "token=[redacted]" in log
