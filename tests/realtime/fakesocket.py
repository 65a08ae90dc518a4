"""Drive the realtime endpoint in-process over a fake ASGI WebSocket whose sending the test
controls: it can stall (a client that stopped reading) or fail (a broken sender)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from starlette.websockets import WebSocket

from parlour.realtime.gateway import realtime
from parlour.runtime import Runtime

Frame = dict[str, Any]


class FakeSocket:
    def __init__(
        self,
        runtime: Runtime,
        token: str,
        *,
        origin: str | None = None,
        by_cookie: bool = False,
        query: str | None = None,
    ) -> None:
        """`origin`: the browser's Origin header; `by_cookie`: the token as the session cookie
        instead of `?token=`; `query`: the query string instead."""
        self._incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._incoming.put_nowait({"type": "websocket.connect"})
        self.frames: list[Frame] = []
        self._arrived = asyncio.Condition()
        self.closed: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        # When set, data frames wait here (a full pipe); closes too if `stuck` is set.
        self.gate: asyncio.Event | None = None
        self.stuck = False
        # Raise on the n-th data frame (1-based): a broken sender.
        self.fail_at: int | None = None
        self._sent = 0
        scope = {
            "type": "websocket",
            "path": "/api/v1/realtime",
            "raw_path": b"/api/v1/realtime",
            "query_string": (
                query.encode()
                if query is not None
                else b""
                if by_cookie
                else f"token={token}".encode()
            ),
            "headers": [
                (b"host", b"testserver"),
                *([(b"origin", origin.encode())] if origin else []),
                *([(b"cookie", f"parlour_token={token}".encode())] if by_cookie else []),
            ],
            "scheme": "ws",
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 1234),
            "subprotocols": [],
            "app": SimpleNamespace(state=SimpleNamespace(runtime=runtime)),
        }
        self.task = asyncio.create_task(realtime(WebSocket(scope, self._receive, self._send)))

    async def _receive(self) -> dict[str, Any]:
        return await self._incoming.get()

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            self._sent += 1
            if self.fail_at is not None and self._sent >= self.fail_at:
                raise RuntimeError("the sender broke")
            if self.gate is not None:
                await self.gate.wait()
            async with self._arrived:
                self.frames.append(json.loads(message["text"]))
                self._arrived.notify_all()
        elif message["type"] == "websocket.close":
            if self.stuck:
                await asyncio.Event().wait()
            if not self.closed.done():
                self.closed.set_result((message.get("code", 1000), message.get("reason", "")))

    def send(self, frame: Frame) -> None:
        self._incoming.put_nowait({"type": "websocket.receive", "text": json.dumps(frame)})

    async def until(self, match: Any, timeout: float = 5) -> Frame:
        async with asyncio.timeout(timeout), self._arrived:
            while True:
                for frame in self.frames:
                    if match(frame):
                        return frame
                await self._arrived.wait()

    async def close_code(self, timeout: float = 5) -> tuple[int, str]:
        return await asyncio.wait_for(asyncio.shield(self.closed), timeout)

    async def leave(self) -> None:
        self._incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
        try:
            await asyncio.wait_for(self.task, 5)
        except Exception:
            self.task.cancel()
