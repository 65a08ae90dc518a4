"""One client's realtime connection: its subscriptions and its bounded outgoing queue.

Everything sent to the client passes through one queue and one pump task, so frames never
interleave and a slow client can hold at most `queue_size` frames of the server's memory
before it is disconnected with a reason.

Per conversation the pump guarantees every message exactly once, in seq order, with no gaps:
on subscribe it registers with the broker *first*, then reads the backlog after `after_seq`
from the database; live messages that arrive before the backlog is read are dropped (the
backlog contains them), later ones at or below the last seq sent are dropped as duplicates, and
a live message that skips ahead makes the pump fetch the missing ones from the database.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from parlour.core.events import Event
from parlour.messages.schemas import MessageRead
from parlour.realtime.broker import Subscription
from parlour.realtime.envelopes import encode

log = logging.getLogger(__name__)

# The most messages one backlog read returns.
BACKLOG_PAGE = 500
# Reads up to BACKLOG_PAGE messages of a conversation with seq in (after, upto], in order.
BacklogReader = Callable[[str, int, int | None], Awaitable[list[MessageRead]]]
SendText = Callable[[str], Awaitable[None]]


class TooSlow(Exception):
    """The client did not read its frames fast enough."""


@dataclass
class ConversationSub:
    subscription: Subscription | None = None
    # The last seq delivered; None until the backlog has been sent.
    last_sent: int | None = None


@dataclass
class _Backlog:
    conversation_id: str
    after_seq: int
    ref: str | None


@dataclass
class Outbox:
    """The connection's state and its bounded queue of things to send."""

    send_text: SendText
    read_backlog: BacklogReader
    queue_size: int
    subs: dict[str, ConversationSub] = field(default_factory=dict)
    too_slow: bool = False
    _queue: asyncio.Queue[Event | str | _Backlog] = field(init=False)
    # Payloads recently sent that also arrive on other channels (conversation events go to the
    # conversation, the staff feed and each participant): sent once.
    _recent: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=16))
    on_overflow: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        self._queue = asyncio.Queue(maxsize=self.queue_size)

    def _put(self, item: Event | str | _Backlog) -> None:
        if self.too_slow:
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.too_slow = True
            if self.on_overflow:
                self.on_overflow()

    def listener(self, event: Event) -> None:
        """The broker listener: never blocks, only enqueues."""
        self._put(event)

    def frame(self, frame: dict[str, object]) -> None:
        self._put(encode(frame))

    def backlog(self, conversation_id: str, after_seq: int, ref: str | None) -> None:
        self._put(_Backlog(conversation_id, after_seq, ref))

    async def pump(self) -> None:
        """Send queued frames forever (cancelled when the connection closes)."""
        while True:
            item = await self._queue.get()
            try:
                if isinstance(item, str):
                    await self.send_text(item)
                elif isinstance(item, _Backlog):
                    await self._send_backlog(item)
                else:
                    await self._send_event(item)
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until everything queued so far has been sent."""
        await self._queue.join()

    async def _send_backlog(self, item: _Backlog) -> None:
        sub = self.subs.get(item.conversation_id)
        if sub is None:  # unsubscribed meanwhile
            return
        sent = item.after_seq
        while True:
            page = await self.read_backlog(item.conversation_id, sent, None)
            for message in page:
                await self._send_message(item.conversation_id, message)
                sent = message.seq
            if len(page) < BACKLOG_PAGE:
                break
        sub.last_sent = sent
        await self.send_text(
            encode(
                {
                    "type": "subscribed",
                    "conversation_id": item.conversation_id,
                    "last_seq": sent,
                    "ref": item.ref,
                }
            )
        )

    async def _send_event(self, event: Event) -> None:
        if event.type != "message" or event.seq is None or event.conversation_id is None:
            if event.type == "conversation":
                if event.payload in self._recent:
                    return
                self._recent.append(event.payload)
            await self.send_text(event.payload)
            return
        sub = self.subs.get(event.conversation_id)
        if sub is None or sub.last_sent is None or event.seq <= sub.last_sent:
            return  # not subscribed, backlog pending (it will hold this), or a duplicate
        if event.seq > sub.last_sent + 1:
            # Missed some (another node, a lost publish, out-of-order commits): fill from the DB.
            while sub.last_sent < event.seq - 1:
                missing = await self.read_backlog(
                    event.conversation_id, sub.last_sent, event.seq - 1
                )
                if not missing:
                    break
                for message in missing:
                    await self._send_message(event.conversation_id, message)
                    sub.last_sent = message.seq
        await self.send_text(event.payload)
        sub.last_sent = event.seq

    async def _send_message(self, conversation_id: str, message: MessageRead) -> None:
        await self.send_text(
            encode(
                {
                    "type": "message",
                    "conversation_id": conversation_id,
                    "message": message.model_dump(mode="json"),
                }
            )
        )
