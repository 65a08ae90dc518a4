"""A client that stops reading is disconnected with a reason; the server's memory stays bounded."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from parlour.config import Settings
from parlour.runtime import Runtime
from tests.factories import make_conversation, make_user, token_for
from tests.system.conftest import LiveServer, start_server, stop_server

pytestmark = pytest.mark.system


@pytest.fixture
def small_queue_server(settings: Settings, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(
        settings,
        tmp_path / "server.log",
        PARLOUR_WS_QUEUE_SIZE="20",
        # This client reads again only after all its posts: wait for it (the bounded close
        # of a client that never reads again is tests/realtime/test_gateway.py's).
        PARLOUR_WS_CLOSE_TIMEOUT_SECONDS="300",
        PARLOUR_SEND_RATE_PER_MINUTE="100000",
        PARLOUR_LOG_LEVEL="info",
    )
    try:
        yield server
    finally:
        stop_server(server)


async def test_a_client_that_stops_reading_is_closed_with_4008(
    runtime: Runtime, small_queue_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    conv = await make_conversation(runtime, customer, agent=agent)

    # The slow client: a tiny receive buffer, a client library that buffers one frame, and
    # no compression (which would shrink these repetitive frames to almost nothing).
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = small_queue_server.url.removeprefix("http://").split(":")
    sock.connect((host, int(port)))
    url = f"{small_queue_server.ws_url}/api/v1/realtime?token={token_for(runtime, customer)}"
    slow = await websockets.connect(url, sock=sock, max_queue=1, compression=None)
    await slow.send(json.dumps({"type": "subscribe", "conversation_id": conv.id}))

    body = "é" * 4000  # about 24 kB on the wire once JSON-escaped
    headers = {"Authorization": f"Bearer {token_for(runtime, agent)}"}
    async with httpx.AsyncClient(base_url=small_queue_server.url, headers=headers) as http:
        # Far more than the socket buffers and the 20-frame queue hold.
        for i in range(300):
            response = await http.post(
                f"/api/v1/conversations/{conv.id}/messages",
                json={"body": body, "client_msg_id": f"b{i}"},
            )
            assert response.status_code == 201
        # Now read what reached the slow client: it ends in a close that says why.
        received = 0
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(20):
                while True:
                    await slow.recv()
                    received += 1
        # The server is fine for everyone else.
        assert (await http.get(f"/api/v1/conversations/{conv.id}")).status_code == 200
    assert closed.value.rcvd is not None, "closed without a close frame"
    assert closed.value.rcvd.code == 4008
    assert "too slow" in closed.value.rcvd.reason
    assert received < 300  # it was cut off, not served everything
