"""One client's realtime connection: its subscriptions and its bounded outgoing queue.

Everything sent to the client passes through one queue and one pump task, so frames never
interleave and a slow client can hold at most `queue_size` frames of the server's memory
before it is disconnected with a reason.

Per conversation the pump guarantees every message exactly once, in seq order, with no gaps:
on subscribe it registers with the broker *first*, then reads the backlog after `after_seq`
from the database; live messages that arrive before the backlog is read are dropped (the
backlog contains them), later ones at or below the last seq sent are dropped as duplicates, and
a live message that skips ahead makes the pump fetch the missing ones from the database.

Three rules keep that promise honest:
- Each backlog belongs to one subscription: a `ConversationSub` has a generation, its
  `_Backlog` carries it, and a backlog whose subscription was replaced (a resubscribe while it
  was still queued) is dropped, so nothing is sent twice or out of order.
- A gap the database cannot fill is never skipped silently: the client gets a `gap` error frame
  with the missing range (`from_seq`..`to_seq`) before the pump moves on.
- Reading the backlog checks the reader's access (the reader is the messages service): a
  subscriber who lost access gets a `conversation_not_found` error for that conversation and
  the subscription ends, instead of the history.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from parlour.core.errors import AppError
from parlour.core.events import Event
from parlour.messages.schemas import MessageRead
from parlour.realtime.broker import Subscription
from parlour.realtime.envelopes import encode

log = logging.getLogger(__name__)

# The most messages one backlog read returns (the messages service's largest page).
BACKLOG_PAGE = 200
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
    # Which subscribe this is: a backlog queued for an earlier one is stale.
    generation: int = 0


@dataclass
class _Backlog:
    conversation_id: str
    after_seq: int
    ref: str | None
    generation: int = 0


@dataclass
class _CatchUp:
    """redis: re-read a conversation after the last seq sent (the broker may have lost some)."""

    conversation_id: str


@dataclass
class Outbox:
    """The connection's state and its bounded queue of things to send."""

    send_text: SendText
    read_backlog: BacklogReader
    queue_size: int
    subs: dict[str, ConversationSub] = field(default_factory=dict)
    too_slow: bool = False
    _queue: asyncio.Queue[Event | str | _Backlog | _CatchUp] = field(init=False)
    # Payloads recently sent that also arrive on other channels (conversation events go to the
    # conversation, the staff feed and each participant): sent once.
    _recent: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=16))
    on_overflow: Callable[[], None] | None = None
    _generations: int = 0
    # redis: conversations with a catch-up queued (several `missed` in a row read once).
    _catching_up: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._queue = asyncio.Queue(maxsize=self.queue_size)

    def _put(self, item: Event | str | _Backlog | _CatchUp) -> None:
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

    def subscribe(self, conversation_id: str) -> ConversationSub:
        """A new subscription to the conversation, replacing any earlier one (the caller
        closes that one's broker subscription)."""
        self._generations += 1
        sub = ConversationSub(generation=self._generations)
        self.subs[conversation_id] = sub
        return sub

    def backlog(
        self, conversation_id: str, after_seq: int, ref: str | None, *, generation: int = 0
    ) -> None:
        """Queue the backlog of the subscription with this generation."""
        self._put(_Backlog(conversation_id, after_seq, ref, generation))

    def catch_up(self, conversation_id: str) -> None:
        """redis: queue a re-read of the conversation after the last seq sent (the broker may
        have lost events); nothing if not subscribed or one is queued already."""
        if conversation_id in self.subs and conversation_id not in self._catching_up:
            self._catching_up.add(conversation_id)
            self._put(_CatchUp(conversation_id))

    async def pump(self) -> None:
        """Send queued frames forever (cancelled when the connection closes)."""
        while True:
            item = await self._queue.get()
            try:
                if isinstance(item, str):
                    await self.send_text(item)
                elif isinstance(item, _Backlog):
                    await self._send_backlog(item)
                elif isinstance(item, _CatchUp):
                    await self._send_catch_up(item.conversation_id)
                else:
                    await self._send_event(item)
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until everything queued so far has been sent."""
        await self._queue.join()

    async def _send_backlog(self, item: _Backlog) -> None:
        sub = self.subs.get(item.conversation_id)
        if sub is None or sub.generation != item.generation:
            return  # unsubscribed meanwhile, or resubscribed: that subscription has its own
        sent = item.after_seq
        while True:
            page = await self._read(item.conversation_id, sub, sent, None)
            if page is None:
                return
            for message in page:
                sent = await self._deliver(item.conversation_id, sent, message)
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

    async def _send_catch_up(self, conversation_id: str) -> None:
        """Send what was committed after the last seq sent, the way the backlog is sent; the
        live copies that may still arrive are at or below it then, and dropped."""
        self._catching_up.discard(conversation_id)
        sub = self.subs.get(conversation_id)
        if sub is None or sub.last_sent is None:
            return  # unsubscribed, or its backlog (read later) will hold everything
        while True:
            page = await self._read(conversation_id, sub, sub.last_sent, None)
            if not page:
                return
            for message in page:
                sub.last_sent = await self._deliver(conversation_id, sub.last_sent, message)
            if len(page) < BACKLOG_PAGE:
                return

    async def _send_event(self, event: Event) -> None:
        if event.type != "message" or event.seq is None or event.conversation_id is None:
            if event.type == "conversation":
                if event.payload in self._recent:
                    return
                self._recent.append(event.payload)
            await self.send_text(event.payload)
            return
        cid = event.conversation_id
        sub = self.subs.get(cid)
        if sub is None or sub.last_sent is None or event.seq <= sub.last_sent:
            return  # not subscribed, backlog pending (it will hold this), or a duplicate
        if event.seq > sub.last_sent + 1:
            # Missed some (another node, a lost publish, out-of-order commits): fill from the DB.
            missing = await self._read(cid, sub, sub.last_sent, event.seq - 1)
            if missing is None:
                return
            for message in missing:
                sub.last_sent = await self._deliver(cid, sub.last_sent, message)
            if sub.last_sent < event.seq - 1:
                await self._send_gap(cid, sub.last_sent + 1, event.seq - 1)
        await self.send_text(event.payload)
        sub.last_sent = event.seq

    async def _read(
        self, conversation_id: str, sub: ConversationSub, after: int, upto: int | None
    ) -> list[MessageRead] | None:
        """Messages (after, upto] in pages; None (and the subscription ended, the client told)
        when the reader may no longer read the conversation."""
        found: list[MessageRead] = []
        while True:
            try:
                page = await self.read_backlog(conversation_id, after, upto)
            except AppError as exc:
                if self.subs.get(conversation_id) is sub:
                    del self.subs[conversation_id]
                    if sub.subscription is not None:
                        await sub.subscription.close()
                await self.send_text(
                    encode(
                        {
                            "type": "error",
                            "code": exc.code,
                            "message": exc.message,
                            "conversation_id": conversation_id,
                            "ref": None,
                        }
                    )
                )
                return None
            found += page
            if upto is None or len(page) < BACKLOG_PAGE or not page:
                return found
            after = page[-1].seq

    async def _deliver(self, conversation_id: str, last: int, message: MessageRead) -> int:
        """Send `message` after `last`, telling the client first about any seqs in between."""
        if message.seq <= last:
            return last
        if message.seq > last + 1:
            await self._send_gap(conversation_id, last + 1, message.seq - 1)
        await self._send_message(conversation_id, message)
        return message.seq

    async def _send_gap(self, conversation_id: str, first: int, last: int) -> None:
        log.warning("realtime gap in %s: seqs %d..%d not found", conversation_id, first, last)
        await self.send_text(
            encode(
                {
                    "type": "error",
                    "code": "gap",
                    "message": (
                        f"Messages {first} to {last} could not be delivered; resubscribe with "
                        f"after_seq {first - 1} or read them with GET .../messages."
                    ),
                    "conversation_id": conversation_id,
                    "from_seq": first,
                    "to_seq": last,
                    "ref": None,
                }
            )
        )

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
