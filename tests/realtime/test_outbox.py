"""The connection outbox: exactly once, in order, no gaps; bounded memory."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from parlour.core.events import Audience, Event
from parlour.messages.schemas import MessageRead
from parlour.realtime.connection import ConversationSub, Outbox
from parlour.realtime.envelopes import message_event


def _message(seq: int, cid: str = "c1") -> MessageRead:
    return MessageRead(
        id=f"m{seq}",
        conversation_id=cid,
        seq=seq,
        kind="text",
        body=f"body {seq}",
        sender_id="u",
        client_msg_id=None,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def _event(seq: int, cid: str = "c1") -> Event:
    return message_event(_message(seq, cid), conversation_id=cid, seq=seq)


class Store:
    """Messages 'in the database' and a record of what the client received."""

    def __init__(self, last: int) -> None:
        self.messages = [_message(s) for s in range(1, last + 1)]
        self.sent: list[dict[str, object]] = []
        self.reads = 0

    async def read(self, cid: str, after: int, upto: int | None) -> list[MessageRead]:
        self.reads += 1
        return [m for m in self.messages if m.seq > after and (upto is None or m.seq <= upto)]

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))

    def seqs(self) -> list[int]:
        return [f["message"]["seq"] for f in self.sent if f["type"] == "message"]  # type: ignore[index]


async def _run(outbox: Outbox, until: int, store: Store) -> None:
    pump = asyncio.create_task(outbox.pump())
    try:
        async with asyncio.timeout(5):
            while not store.seqs() or store.seqs()[-1] < until:
                await asyncio.sleep(0)
            await outbox.drain()
    finally:
        pump.cancel()


async def test_live_before_backlog_is_dropped_and_backlog_covers_it() -> None:
    store = Store(last=5)
    outbox = Outbox(send_text=store.send, read_backlog=store.read, queue_size=100)
    outbox.subs["c1"] = ConversationSub()
    outbox.listener(_event(5))  # arrived between broker subscribe and backlog read
    outbox.backlog("c1", 2, None)
    outbox.listener(_event(5))  # duplicate after the backlog
    store.messages.append(_message(6))
    outbox.listener(_event(6))
    await _run(outbox, 6, store)
    assert store.seqs() == [3, 4, 5, 6]


async def test_gap_is_filled_from_the_database() -> None:
    store = Store(last=2)
    outbox = Outbox(send_text=store.send, read_backlog=store.read, queue_size=100)
    outbox.subs["c1"] = ConversationSub()
    outbox.backlog("c1", 2, None)
    store.messages += [_message(3), _message(4), _message(5)]
    outbox.listener(_event(5))  # 3 and 4 were published late (or lost)
    outbox.listener(_event(3))
    outbox.listener(_event(4))
    await _run(outbox, 5, store)
    assert store.seqs() == [3, 4, 5]


async def test_conversation_event_from_several_channels_is_sent_once() -> None:
    store = Store(last=0)
    outbox = Outbox(send_text=store.send, read_backlog=store.read, queue_size=100)
    payload = json.dumps({"type": "conversation", "conversation": {"id": "c1"}})
    for audience in (
        Audience.conversation("c1"),
        Audience.tenant_admins("t"),
        Audience.user("u"),
    ):
        outbox.listener(
            Event(audience=audience, type="conversation", payload=payload, conversation_id="c1")
        )
    pump = asyncio.create_task(outbox.pump())
    await asyncio.wait_for(outbox.drain(), 5)
    pump.cancel()
    assert [f["type"] for f in store.sent] == ["conversation"]


async def test_a_client_that_does_not_read_overflows_and_is_flagged() -> None:
    blocked = asyncio.Event()

    async def never_sends(_: str) -> None:
        await blocked.wait()

    overflowed: list[bool] = []
    store = Store(last=0)
    outbox = Outbox(send_text=never_sends, read_backlog=store.read, queue_size=10)
    outbox.on_overflow = lambda: overflowed.append(True)
    outbox.subs["c1"] = ConversationSub(last_sent=0)
    pump = asyncio.create_task(outbox.pump())
    for seq in range(1, 50):
        outbox.listener(_event(seq))
        await asyncio.sleep(0)
    pump.cancel()
    assert outbox.too_slow
    assert overflowed == [True]  # told once, and the queue stayed bounded
    assert outbox._queue.qsize() <= 10


async def test_a_gap_the_database_cannot_fill_is_reported_not_skipped() -> None:
    store = Store(last=2)
    outbox = Outbox(send_text=store.send, read_backlog=store.read, queue_size=100)
    outbox.subs["c1"] = ConversationSub(last_sent=2)
    # 3 and 4 are nowhere to be found (lost, or not visible to this reader).
    store.messages.append(_message(5))
    outbox.listener(_event(5))
    await _run(outbox, 5, store)
    gap = [f for f in store.sent if f["type"] == "error"]
    assert gap == [
        {
            "type": "error",
            "code": "gap",
            "message": gap[0]["message"],
            "conversation_id": "c1",
            "from_seq": 3,
            "to_seq": 4,
            "ref": None,
        }
    ]
    assert [f["type"] for f in store.sent] == ["error", "message"]  # told before moving on


async def test_a_backlog_queued_for_an_earlier_subscription_is_dropped() -> None:
    store = Store(last=5)
    gate = asyncio.Event()

    async def send(text: str) -> None:
        await gate.wait()
        await store.send(text)

    outbox = Outbox(send_text=send, read_backlog=store.read, queue_size=100)
    outbox.frame({"type": "ready"})  # the pump is stuck sending this while both arrive
    first = outbox.subscribe("c1")
    outbox.backlog("c1", 0, "first", generation=first.generation)
    second = outbox.subscribe("c1")  # resubscribed before the first backlog went out
    outbox.backlog("c1", 3, "second", generation=second.generation)
    gate.set()
    await _run(outbox, 5, store)
    assert store.seqs() == [4, 5]  # once, in order, from the second subscription only
    subscribed = [f for f in store.sent if f["type"] == "subscribed"]
    assert [f["ref"] for f in subscribed] == ["second"]


async def test_a_reader_without_access_ends_the_subscription() -> None:
    from parlour.core.errors import conversation_not_found

    store = Store(last=3)

    async def refused(cid: str, after: int, upto: int | None) -> list[MessageRead]:
        raise conversation_not_found()

    outbox = Outbox(send_text=store.send, read_backlog=refused, queue_size=100)
    outbox.subs["c1"] = ConversationSub(last_sent=1)
    outbox.listener(_event(3))
    pump = asyncio.create_task(outbox.pump())
    await asyncio.wait_for(outbox.drain(), 5)
    pump.cancel()
    assert store.seqs() == []
    assert [(f["type"], f["code"]) for f in store.sent] == [("error", "conversation_not_found")]
    assert "c1" not in outbox.subs


async def test_catch_up_sends_what_the_broker_lost_once_and_in_order() -> None:
    """redis: a `missed` notice (the link to Redis was down) re-reads after the last seq sent;
    live copies arriving late are dropped, and notices in a row read once."""
    store = Store(last=2)
    outbox = Outbox(send_text=store.send, read_backlog=store.read, queue_size=100)
    outbox.subs["c1"] = ConversationSub(last_sent=2)
    store.messages += [_message(3), _message(4)]  # committed on another node; events lost
    reads = store.reads
    outbox.catch_up("c1")
    outbox.catch_up("c1")  # a second notice before the first was served: one read
    outbox.catch_up("not-subscribed")  # nothing to catch up
    outbox.listener(_event(4))  # the late live copy
    store.messages.append(_message(5))
    outbox.listener(_event(5))
    await _run(outbox, 5, store)
    assert store.seqs() == [3, 4, 5]
    assert store.reads - reads == 1
    assert not outbox._catching_up


async def test_catch_up_before_the_backlog_waits_for_it() -> None:
    """redis: a conversation whose backlog is still queued is caught up by that backlog."""
    store = Store(last=3)
    outbox = Outbox(send_text=store.send, read_backlog=store.read, queue_size=100)
    outbox.subs["c1"] = ConversationSub()
    outbox.catch_up("c1")
    outbox.backlog("c1", 0, None)
    await _run(outbox, 3, store)
    assert store.seqs() == [1, 2, 3]
