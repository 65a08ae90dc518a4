"""The load generator: a client process holding a customer and an agent WebSocket per conversation.

The parent process talks to it over a pipe: it connects and subscribes everything once, then
runs steps on command (a total rate for its share of the conversations, for some seconds) and
answers each with what it measured. Each customer sends open-loop on a fixed schedule (the
next send does not wait for the previous ack), each send with a fresh client_msg_id; the
customer's ack and the agent's `message` frame are matched to the send by that id in this
process, so one monotonic clock measures both latencies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench.database import Pair

BODY_FILLER = "The quick brown fox jumps over the lazy dog. "


@dataclass(frozen=True, slots=True)
class StepCommand:
    """Run one step: `rate` messages/s in total over all conversations, for `seconds`."""

    step: int
    rate: float
    seconds: float
    start_at: float  # time.monotonic() at which every process starts sending
    total_conversations: int
    drain_seconds: float


@dataclass
class StepResult:
    """What one client process saw during a step (latencies in milliseconds)."""

    sent: int = 0
    acked: int = 0
    delivered: int = 0
    duplicates: int = 0
    duplicate_acks: int = 0
    out_of_order: int = 0
    # Frames for sends of an earlier step (they arrived after its drain deadline).
    strays: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    ack_ms: list[float] = field(default_factory=list)
    delivery_ms: list[float] = field(default_factory=list)
    send_lag_ms: list[float] = field(default_factory=list)
    first_send: float = 0.0
    last_send: float = 0.0
    last_delivery: float = 0.0
    cpu_seconds: float = 0.0


class _Pair:
    """The two live connections of one conversation and what they have seen."""

    def __init__(self, index: int, pair: Pair) -> None:
        self.index = index
        self.pair = pair
        self.customer: ClientConnection | None = None
        self.agent: ClientConnection | None = None
        self.agent_last_seq = 0


class Client:
    def __init__(
        self,
        ws_url: str,
        pairs: list[tuple[int, Pair]],
        *,
        body_chars: int,
        compression: bool,
        agent_ws_url: str | None = None,
    ) -> None:
        self.ws_url = ws_url
        # redis: two nodes: the agents on another server than the customers, so every
        # message crosses from one node to the other through Redis.
        self.agent_ws_url = agent_ws_url or ws_url
        self.pairs = [_Pair(i, p) for i, p in pairs]
        self.body = (BODY_FILLER * (body_chars // len(BODY_FILLER) + 1))[:body_chars]
        self.compression = compression
        self.sent_at: dict[str, float] = {}
        self.acked: set[str] = set()
        self.delivered: set[str] = set()
        self.result = StepResult()
        self.outstanding = 0
        self.settled = asyncio.Event()
        self.readers: list[asyncio.Task[None]] = []

    async def _open(
        self, token: str, conversation_id: str, url: str
    ) -> tuple[ClientConnection, int]:
        ws = await connect(
            f"{url}?token={token}",
            compression="deflate" if self.compression else None,
            max_size=2**20,
            ping_interval=None,
            open_timeout=30,
        )
        ready = json.loads(await ws.recv())
        if ready.get("type") != "ready":
            raise RuntimeError(f"expected ready, got {ready}")
        await ws.send(json.dumps({"type": "subscribe", "conversation_id": conversation_id}))
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("type") == "subscribed":
                return ws, int(frame["last_seq"])
            if frame.get("type") == "error":
                raise RuntimeError(f"subscribe failed: {frame}")

    async def connect_all(self) -> None:
        gate = asyncio.Semaphore(16)

        async def one(p: _Pair) -> None:
            async with gate:
                p.customer, _ = await self._open(
                    p.pair.customer_token, p.pair.conversation_id, self.ws_url
                )
                p.agent, p.agent_last_seq = await self._open(
                    p.pair.agent_token, p.pair.conversation_id, self.agent_ws_url
                )

        await asyncio.gather(*(one(p) for p in self.pairs))
        for p in self.pairs:
            self.readers.append(asyncio.create_task(self._read_customer(p)))
            self.readers.append(asyncio.create_task(self._read_agent(p)))

    async def close_all(self) -> None:
        for task in self.readers:
            task.cancel()
        for p in self.pairs:
            for ws in (p.customer, p.agent):
                if ws is not None:
                    with contextlib.suppress(Exception):
                        await ws.close()

    def _settle_one(self) -> None:
        self.outstanding -= 1
        if self.outstanding <= 0:
            self.settled.set()

    async def _read_customer(self, p: _Pair) -> None:
        assert p.customer is not None
        async for text in p.customer:
            # The customer also receives its own messages; only acks and errors matter here.
            if isinstance(text, bytes) or text.startswith('{"type":"message"'):
                continue
            now = time.monotonic()
            frame = json.loads(text)
            kind = frame.get("type")
            if kind == "ack":
                client_msg_id = frame["client_msg_id"]
                sent = self.sent_at.get(client_msg_id)
                if sent is None:
                    self.result.strays += 1
                elif client_msg_id in self.acked:
                    self.result.duplicate_acks += 1
                else:
                    self.acked.add(client_msg_id)
                    self.result.acked += 1
                    self.result.ack_ms.append((now - sent) * 1000)
                    self._settle_one()
            elif kind == "error":
                self.result.errors[str(frame.get("code"))] += 1
                if frame.get("ref") in self.sent_at:
                    # Refused: neither an ack nor a delivery will come for it.
                    self._settle_one()
                    self._settle_one()

    async def _read_agent(self, p: _Pair) -> None:
        assert p.agent is not None
        async for text in p.agent:
            now = time.monotonic()
            frame: dict[str, Any] = json.loads(text)
            if frame.get("type") != "message":
                if frame.get("type") == "error":
                    self.result.errors[f"agent:{frame.get('code')}"] += 1
                continue
            message = frame["message"]
            seq = int(message["seq"])
            if seq != p.agent_last_seq + 1:
                self.result.out_of_order += 1
            p.agent_last_seq = max(p.agent_last_seq, seq)
            client_msg_id = message.get("client_msg_id") or ""
            sent = self.sent_at.get(client_msg_id)
            if sent is None:
                self.result.strays += 1  # not sent in this step (a late one from the last)
                continue
            if client_msg_id in self.delivered:
                self.result.duplicates += 1
                continue
            self.delivered.add(client_msg_id)
            self.result.delivered += 1
            self.result.delivery_ms.append((now - sent) * 1000)
            self.result.last_delivery = now
            self._settle_one()

    async def _customer_loop(self, p: _Pair, command: StepCommand, count: int) -> None:
        assert p.customer is not None
        interval = command.total_conversations / command.rate
        # Spread the conversations' schedules evenly over one interval.
        due = command.start_at + interval * p.index / command.total_conversations
        for k in range(count):
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            client_msg_id = f"s{command.step}-c{p.index}-{k}"
            frame = json.dumps(
                {
                    "type": "send",
                    "conversation_id": p.pair.conversation_id,
                    "client_msg_id": client_msg_id,
                    "body": self.body,
                    "ref": client_msg_id,
                }
            )
            now = time.monotonic()
            self.sent_at[client_msg_id] = now
            self.result.send_lag_ms.append((now - due) * 1000)
            self.result.sent += 1
            await p.customer.send(frame)
            due += interval

    async def run_step(self, command: StepCommand) -> StepResult:
        self.result = StepResult()
        self.sent_at.clear()
        self.acked.clear()
        self.delivered.clear()
        per_conversation = round(command.rate * command.seconds / command.total_conversations)
        # Each send expects one ack and one delivery.
        self.outstanding = 2 * per_conversation * len(self.pairs)
        self.settled = asyncio.Event()
        if self.outstanding == 0:
            self.settled.set()
        cpu_before = time.process_time()
        await asyncio.gather(
            *(self._customer_loop(p, command, per_conversation) for p in self.pairs)
        )
        if self.result.sent:
            self.result.first_send = command.start_at
            self.result.last_send = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.settled.wait(), command.drain_seconds)
        self.result.cpu_seconds = time.process_time() - cpu_before
        return self.result


def worker_main(
    conn: Connection,
    ws_url: str,
    pairs: list[tuple[int, Pair]],
    body_chars: int,
    compression: bool,
    agent_ws_url: str | None = None,
) -> None:
    """Entry point of a client process (spawned by the benchmark)."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    client = Client(
        ws_url, pairs, body_chars=body_chars, compression=compression, agent_ws_url=agent_ws_url
    )
    asyncio.run(_serve(conn, client))


async def _serve(conn: Connection, client: Client) -> None:
    loop = asyncio.get_running_loop()
    try:
        await client.connect_all()
        conn.send(("ready", None))
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command is None:
                break
            conn.send(("result", await client.run_step(command)))
    except Exception as exc:
        conn.send(("failed", repr(exc)))
    finally:
        await client.close_all()
