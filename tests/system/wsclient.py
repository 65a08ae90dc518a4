"""A realtime test client over a real WebSocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

Frame = dict[str, Any]


class RealtimeClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[Frame] = []

    @classmethod
    async def connect(cls, ws_url: str, token: str | None = None, **kwargs: Any) -> RealtimeClient:
        url = f"{ws_url}/api/v1/realtime" + (f"?token={token}" if token else "")
        client = cls(await websockets.connect(url, **kwargs))
        if token:
            # redis: an event on the user's feed (inbox: `unread`) may be queued before `ready`
            # (the feeds are subscribed first, so none is missed); it stays in `seen`.
            ready = await client.until(lambda f: f["type"] in ("ready", "error"))
            assert ready["type"] == "ready", ready
        return client

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def next(self, timeout: float = 5) -> Frame:
        frame: Frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.seen.append(frame)
        return frame

    async def until(self, match: Callable[[Frame], bool], timeout: float = 5) -> Frame:
        """Read frames until one matches (the others stay in `seen`)."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.next(timeout)
                if match(frame):
                    return frame

    async def subscribe(self, conversation_id: str, after_seq: int | None = None) -> list[Frame]:
        """Subscribe and return the backlog (messages sent before `subscribed`)."""
        frame: Frame = {"type": "subscribe", "conversation_id": conversation_id, "ref": "sub"}
        if after_seq is not None:
            frame["after_seq"] = after_seq
        start = len(self.seen)
        await self.send(frame)
        reply = await self.until(
            lambda f: f["type"] in ("subscribed", "error") and f.get("ref") == "sub"
        )
        if reply["type"] == "error":
            raise AssertionError(reply)
        return [f["message"] for f in self.seen[start:] if f["type"] == "message"]

    def messages(self, conversation_id: str) -> list[Frame]:
        return [
            f["message"]
            for f in self.seen
            if f["type"] == "message" and f["conversation_id"] == conversation_id
        ]

    async def close(self) -> None:
        await self.ws.close()

    def drop(self) -> None:
        """Lose the connection the way a network drop does: no close handshake."""
        self.ws.transport.abort()
