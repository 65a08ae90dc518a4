"""redis: the broker between nodes, over Redis pub/sub (chosen by PARLOUR_REDIS_URL).

Every audience channel is a Redis channel `parlour:ev:<channel>` (`conversation:<id>`,
`user:<id>`, `tenant:<t>:admins|staff|keys`). A node holds one pub/sub connection that
multiplexes the channels its connections listen on (SUBSCRIBE when the first listener of a
channel arrives, UNSUBSCRIBE when the last leaves); one task publishes through the shared
client, pipelining whatever is queued, so a send's ack never waits for Redis.
An event travels as JSON (its audience, type, encoded frame, conversation and seq), never a
pickle; a node delivers its own events to its own listeners at once and ignores their echo.

Pub/sub forgets: what is published while a node is not listening is gone. Correctness never
rested on the broker (docs/architecture/realtime.md, step 5): every message is in the database
under its seq. So whenever this node may have missed events it tells its listeners so with an
internal `missed` event per channel (core/events.py `events_missed`), and each connection
re-reads its conversations after the last seq it delivered:

- the reader loop (supervised: restarted with a growing, jittered backoff) lost Redis and
  connected again: `missed` on every channel once it is subscribed again;
- while it is away: `missed` on every conversation channel every PARLOUR_REDIS_CATCH_UP_SECONDS,
  so clients keep receiving other nodes' messages, late, from the database;
- a publish failed (or was not tried, the link being down, or the publish queue was full):
  delivered on this node, and the channel remembered; once the link is back (or the next
  publish goes through) a `resync` marker is published on it, and every other node's
  subscribers of it catch up.

Typing and presence are ephemeral: lost while Redis is away, never caught up.
Architecture: docs/architecture/scale-out.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from parlour.core.events import Audience, AudienceKind, Event, audience_of, events_missed
from parlour.core.supervise import Supervised, supervise
from parlour.realtime.broker import InProcessBroker, Listener, Subscription

log = logging.getLogger(__name__)

PREFIX = "parlour:ev:"
# How long subscribe waits for Redis to confirm before it returns anyway (the channel then
# catches up from the database once the confirmation comes).
SUBSCRIBE_WAIT_SECONDS = 2.0
# The reader pings Redis after this much silence and gives the link up after three times it.
HEALTH_SECONDS = 5.0
# Channels remembered for a resync marker while publishing fails (bounded: past it the other
# nodes rely on their own reconnect catch-up, which a Redis outage also triggers).
MAX_RESYNC_CHANNELS = 10_000
# Events nobody needs after the moment: not worth a catch-up.
EPHEMERAL_TYPES = frozenset({"typing", "presence", "signal"})
# Events waiting for the publisher task, and the most it sends in one pipeline. A full queue
# (Redis too slow) remembers the channel for a resync instead of growing memory.
PUBLISH_QUEUE_MAX = 50_000
PUBLISH_BATCH_MAX = 500
# On stop, how long the events still queued may take to leave.
STOP_FLUSH_SECONDS = 2.0


def encode_event(node: str, event: Event) -> bytes:
    return json.dumps(
        {
            "n": node,
            "k": event.audience.kind.value,
            "a": event.audience.id,
            "t": event.type,
            "p": event.payload,
            "c": event.conversation_id,
            "s": event.seq,
            "i": event.internal,
        },
        separators=(",", ":"),
    ).encode()


def decode_event(raw: dict[str, Any], channel: str) -> Event:
    """The event in a message from Redis; ValueError when it is malformed or its audience is
    not the channel it arrived on (delivery follows the address, never the payload)."""
    audience = Audience(AudienceKind(raw["k"]), str(raw["a"]))
    if audience.channel != channel:
        raise ValueError(f"an event for {audience.channel} arrived on {channel}")
    seq = raw.get("s")
    conversation_id = raw.get("c")
    return Event(
        audience=audience,
        type=str(raw["t"]),
        payload=str(raw["p"]),
        conversation_id=None if conversation_id is None else str(conversation_id),
        seq=None if seq is None else int(seq),
        internal=bool(raw.get("i", False)),
    )


class _RedisSubscription:
    def __init__(self, broker: RedisBroker, channel: str, listener: Listener) -> None:
        self._broker = broker
        self._channel = channel
        self._listener = listener

    async def close(self) -> None:
        await self._broker.remove(self._channel, self._listener)


class RedisBroker:
    """Fan-out across nodes through Redis pub/sub, with catch-up from the database."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = PREFIX,
        catch_up_seconds: float = 2.0,
        health_seconds: float = HEALTH_SECONDS,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._catch_up_seconds = catch_up_seconds
        self._health_seconds = health_seconds
        self._local = InProcessBroker()
        self.node = uuid.uuid4().hex
        # The node's own channel: always subscribed, so its confirmation says "subscribed to
        # everything asked before it".
        self._node_channel = f"node:{self.node}"
        self._pubsub: PubSub | None = None
        # Channels subscribed on the current pub/sub connection, and those awaiting Redis's
        # confirmation; `_late`: confirmed after subscribe stopped waiting (catch up then).
        self._remote: set[str] = set()
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._late: set[str] = set()
        self._resync: set[str] = set()
        # SUBSCRIBE and UNSUBSCRIBE leave in the order the local listeners changed.
        self._lock = asyncio.Lock()
        self.connected = False
        # How many times the reader got (re)connected and subscribed (operators, tests).
        self.connects = 0
        self.stats = Supervised("redis-broker-reader")
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        # Publishing is off the sender's path: one task pipelines what is queued, in order.
        self._outgoing: asyncio.Queue[Event] = asyncio.Queue(maxsize=PUBLISH_QUEUE_MAX)

    def _key(self, channel: str) -> str:
        return self._prefix + channel

    async def start(self) -> None:
        self._tasks = [
            supervise("redis-broker-reader", self._read_forever, stats=self.stats),
            supervise("redis-broker-catch-up", self._catch_up_forever),
            supervise("redis-broker-publisher", self._publish_forever),
        ]

    async def stop(self) -> None:
        if self._tasks and self.connected:
            with contextlib.suppress(TimeoutError):  # what is still queued, while Redis is up
                await asyncio.wait_for(self._outgoing.join(), STOP_FLUSH_SECONDS)
        for task in [*self._tasks, *self._background]:
            task.cancel()
        for task in [*self._tasks, *self._background]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._local.stop()

    # Publishing

    async def publish(self, event: Event) -> None:
        """Deliver on this node at once and queue for the others (the committed change never
        waits for Redis, nor fails because of it)."""
        self._local.deliver(event)  # the echo from Redis is ignored
        if not self._tasks:
            # A broker never started (a one-shot CLI command: `parlour close-expired`).
            try:
                await self._client.publish(self._key(event.channel), encode_event(self.node, event))
            except (RedisError, OSError) as exc:
                log.warning("publishing %s to Redis failed: %r", event.type, exc)
            return
        if not self.connected:
            # Not even tried: the link is down (a publish would wait for a timeout per event).
            self._remember(event)
            return
        try:
            self._outgoing.put_nowait(event)
        except asyncio.QueueFull:
            self._remember(event)

    async def _publish_forever(self) -> None:
        """Send queued events in order, as many as are waiting in one pipeline."""
        while True:
            batch = [await self._outgoing.get()]
            while len(batch) < PUBLISH_BATCH_MAX and not self._outgoing.empty():
                batch.append(self._outgoing.get_nowait())
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for event in batch:
                        pipe.publish(self._key(event.channel), encode_event(self.node, event))
                    await pipe.execute()
                if self._resync and self.connected:
                    await self._send_resync()  # Redis answers again: tell what it missed
            except (RedisError, OSError) as exc:
                log.warning("publishing %d events to Redis failed: %r", len(batch), exc)
                for event in batch:
                    self._remember(event)
            finally:
                for _ in batch:
                    self._outgoing.task_done()

    def _remember(self, event: Event) -> None:
        if event.type in EPHEMERAL_TYPES or events_missed(event.audience) is None:
            return
        if len(self._resync) < MAX_RESYNC_CHANNELS:
            self._resync.add(event.channel)

    async def _send_resync(self) -> None:
        """Tell the other nodes' subscribers of each channel whose events did not leave."""
        channels, self._resync = self._resync, set()
        marker = json.dumps({"n": self.node, "resync": True}).encode()
        for index, channel in enumerate(channels):
            try:
                await self._client.publish(self._key(channel), marker)
            except (RedisError, OSError):
                self._resync.update(list(channels)[index:])  # the next reconnect tries again
                raise

    # Subscribing

    async def subscribe(self, channel: str, listener: Listener) -> Subscription:
        await self._local.subscribe(channel, listener)
        waiter: asyncio.Future[None] | None = None
        async with self._lock:
            pubsub = self._pubsub
            if pubsub is not None and channel not in self._remote:
                waiter = self._pending.setdefault(
                    channel, asyncio.get_running_loop().create_future()
                )
                try:
                    await pubsub.subscribe(self._key(channel))
                    self._remote.add(channel)
                except (RedisError, OSError):
                    # The reader is losing the link too; it subscribes and catches up anew.
                    waiter = None
            elif channel in self._pending:
                waiter = self._pending[channel]
        if waiter is not None:
            try:
                await asyncio.wait_for(asyncio.shield(waiter), SUBSCRIBE_WAIT_SECONDS)
            except TimeoutError:
                self._late.add(channel)
        return _RedisSubscription(self, channel, listener)

    async def remove(self, channel: str, listener: Listener) -> None:
        self._local.remove(channel, listener)
        async with self._lock:
            if self._local.has(channel) or channel not in self._remote:
                return
            self._remote.discard(channel)
            pubsub = self._pubsub
            if pubsub is not None:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.unsubscribe(self._key(channel))

    def channel_count(self) -> int:
        return self._local.channel_count()

    # Reading

    async def _read_forever(self) -> None:
        """Connect, subscribe to every channel listened on here, deliver until the link fails
        (then raise: the supervisor logs it and starts this again after a backoff)."""
        pubsub = self._client.pubsub()
        loop = asyncio.get_running_loop()
        stopping = False
        try:
            async with self._lock:
                self._pubsub = pubsub
                channels = [*self._local.channels(), self._node_channel]
                self._remote = set(channels)
                await pubsub.subscribe(*(self._key(c) for c in channels))
            heard = loop.time()
            while True:
                message = await pubsub.get_message(timeout=self._health_seconds)
                now = loop.time()
                if message is None:
                    if now - heard > 3 * self._health_seconds:
                        raise ConnectionError("Redis stopped answering")
                    if now - heard >= self._health_seconds:
                        await pubsub.ping()
                    continue
                heard = now
                self._handle(message)
        except asyncio.CancelledError:
            stopping = True  # the node stops: nothing to report
            raise
        finally:
            was_connected = self.connected
            self.connected = False
            self._pubsub = None
            self._remote = set()
            if was_connected and not stopping:
                log.warning("lost the link to Redis; catching up from the database meanwhile")
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind not in ("subscribe", "message"):
            return
        raw_channel = message["channel"]
        key = raw_channel.decode() if isinstance(raw_channel, bytes) else str(raw_channel)
        if not key.startswith(self._prefix):
            return
        channel = key[len(self._prefix) :]
        if kind == "subscribe":
            self._confirmed(channel)
            return
        try:
            raw = json.loads(message["data"])
            if not isinstance(raw, dict):
                raise ValueError("not an object")
            if raw.get("n") == self.node:
                return  # our own event: delivered when published
            if raw.get("resync"):
                self._missed(channel)
                return
            event = decode_event(raw, channel)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignored a malformed event on %s: %r", channel, exc)
            return
        self._local.deliver(event)

    def _confirmed(self, channel: str) -> None:
        waiter = self._pending.pop(channel, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if channel in self._late:
            self._late.discard(channel)
            self._missed(channel)
        if channel == self._node_channel:
            self._connected_again()

    def _connected_again(self) -> None:
        """Subscribed to everything again: whatever was published meanwhile was missed."""
        self.connected = True
        self.connects += 1
        if self.connects > 1:
            log.warning("reconnected to Redis; subscribers catch up from the database")
        for channel in self._local.channels():
            self._missed(channel)
        if self._resync:
            task = asyncio.create_task(self._send_resync())
            self._background.add(task)
            task.add_done_callback(self._resync_done)

    def _resync_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("sending resync markers failed: %r", task.exception())

    def _missed(self, channel: str) -> None:
        audience = audience_of(channel)
        event = None if audience is None else events_missed(audience)
        if event is not None:
            self._local.deliver(event)

    async def _catch_up_forever(self) -> None:
        """While the link is down, conversations catch up from the database now and then."""
        while True:
            await asyncio.sleep(self._catch_up_seconds * random.uniform(0.8, 1.2))
            if self.connected:
                continue
            for channel in self._local.channels():
                if channel.startswith("conversation:"):
                    self._missed(channel)
