"""The message writer when things go wrong: shutdown, overload, deadlines, a database that is
away, a bug in the loop. No sender may ever wait forever, and nothing is stored twice."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from parlour.core.errors import AppError, Unavailable
from parlour.core.uow import UnitOfWork
from parlour.messages.schemas import MessageRead
from parlour.messages.service import SendRequest
from parlour.messages.writer import MessageWriter
from parlour.models.message import Message
from parlour.runtime import Runtime
from tests.factories import make_conversation, make_user

# However wrong things go, a sender hears back within this (the old writer hung forever).
ANSWER_SECONDS = 8.0


class HookedUow:
    """A unit of work that first runs `before` (to stall or fail it), then the real one."""

    def __init__(self, inner: UnitOfWork, before: Callable[[], Awaitable[None]]) -> None:
        self.inner = inner
        self.before = before

    async def __aenter__(self) -> UnitOfWork:
        await self.before()
        return await self.inner.__aenter__()

    async def __aexit__(self, *exc: Any) -> None:
        await self.inner.__aexit__(*exc)


class Gate:
    """Holds the first `held` units of work until opened; counts every attempt."""

    def __init__(self, held: int = 1) -> None:
        self.held = held
        self.attempts = 0
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()

    async def __call__(self) -> None:
        self.attempts += 1
        if self.attempts <= self.held:
            self.entered.set()
            await self.opened.wait()


def writer_for(rt: Runtime, before: Callable[[], Awaitable[None]], **options: Any) -> MessageWriter:
    writer = MessageWriter(
        lambda: HookedUow(rt.uow(), before),  # type: ignore[arg-type,return-value]
        max_chars=rt.settings.max_message_chars,
        **options,
    )
    writer.start()
    return writer


async def answers(*sends: Awaitable[MessageRead]) -> list[MessageRead | BaseException]:
    """Every send's answer; fails the test if any sender is left waiting."""
    return await asyncio.wait_for(
        asyncio.gather(*sends, return_exceptions=True), timeout=ANSWER_SECONDS
    )


async def count_messages(rt: Runtime) -> int:
    async with rt.uow(write=False) as tx:
        query = select(func.count()).select_from(Message).where(Message.kind == "text")
        return int(await tx.session.scalar(query) or 0)


async def chat(rt: Runtime) -> tuple[Any, str]:
    customer = await make_user(rt)
    conversation = await make_conversation(rt, customer, agent=await make_user(rt, "agent"))
    return customer, conversation.id


async def test_stop_finishes_the_batch_in_flight_and_the_queue(runtime: Runtime) -> None:
    customer, cid = await chat(runtime)
    gate = Gate()
    writer = writer_for(runtime, gate)  # the default drain time (5 s) is plenty
    first = [
        asyncio.create_task(writer.send(SendRequest(customer, cid, f"a{n}"))) for n in range(5)
    ]
    await asyncio.wait_for(gate.entered.wait(), 5)  # a batch is in flight, stalled
    queued = [
        asyncio.create_task(writer.send(SendRequest(customer, cid, f"b{n}"))) for n in range(3)
    ]
    await asyncio.sleep(0)
    stopping = asyncio.create_task(writer.stop())
    await asyncio.sleep(0.05)
    gate.opened.set()
    results = await answers(*first, *queued)
    await asyncio.wait_for(stopping, 5)
    with pytest.raises(Unavailable):
        await writer.send(SendRequest(customer, cid, "too late"))
    assert all(isinstance(r, MessageRead) for r in results), results
    seqs = [r.seq for r in results if isinstance(r, MessageRead)]
    assert seqs == list(range(seqs[0], seqs[0] + 8))
    assert await count_messages(runtime) == 8


async def test_stop_answers_everyone_when_the_drain_times_out(runtime: Runtime) -> None:
    customer, cid = await chat(runtime)
    gate = Gate(held=100)  # the database never answers
    writer = writer_for(runtime, gate, drain_timeout=0.3)
    sends = [
        asyncio.create_task(writer.send(SendRequest(customer, cid, f"m{n}"))) for n in range(6)
    ]
    await asyncio.wait_for(gate.entered.wait(), 5)
    stopping = asyncio.create_task(writer.stop())
    await asyncio.sleep(0.05)
    with pytest.raises(Unavailable):  # while draining nothing new is taken
        await writer.send(SendRequest(customer, cid, "too late"))
    await asyncio.wait_for(stopping, 5)
    results = await answers(*sends)
    assert all(isinstance(r, Unavailable) for r in results), results


async def test_a_full_queue_refuses_at_once(runtime: Runtime) -> None:
    customer, cid = await chat(runtime)
    gate = Gate()
    writer = writer_for(runtime, gate, queue_max=2)
    try:
        in_flight = asyncio.create_task(writer.send(SendRequest(customer, cid, "first")))
        await asyncio.wait_for(gate.entered.wait(), 5)
        queued = [
            asyncio.create_task(writer.send(SendRequest(customer, cid, f"q{n}"))) for n in range(2)
        ]
        await asyncio.sleep(0)
        started = time.monotonic()
        with pytest.raises(Unavailable) as refused:
            await writer.send(SendRequest(customer, cid, "one too many"))
        assert time.monotonic() - started < 0.5
        assert refused.value.code == "unavailable" and refused.value.status == 503
        gate.opened.set()
        results = await answers(in_flight, *queued)
        assert all(isinstance(r, MessageRead) for r in results), results
    finally:
        await writer.stop()
    assert await count_messages(runtime) == 3


async def test_a_send_past_its_deadline_is_unavailable_and_a_retry_finds_it(
    runtime: Runtime,
) -> None:
    customer, cid = await chat(runtime)
    gate = Gate()
    writer = writer_for(runtime, gate, send_timeout=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(Unavailable):
            await asyncio.wait_for(
                writer.send(SendRequest(customer, cid, "slow", client_msg_id="late-1")),
                ANSWER_SECONDS,
            )
        assert time.monotonic() - started < 2
        # The batch was already in flight: it commits once the database answers...
        gate.opened.set()
        await asyncio.sleep(0.2)
        # ...and the client's retry with the same client_msg_id gets that message.
        retry = await writer.send(SendRequest(customer, cid, "slow", client_msg_id="late-1"))
        assert retry.client_msg_id == "late-1" and retry.body == "slow"
    finally:
        await writer.stop()
    assert await count_messages(runtime) == 1


def _database_down() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))


async def test_a_database_error_fails_the_batch_without_retrying_each_item(
    runtime: Runtime,
) -> None:
    customer, cid = await chat(runtime)
    down = True
    attempts = 0
    gate = Gate()

    async def before() -> None:
        nonlocal attempts
        await gate()  # the first batch waits until all sends are queued behind it
        attempts += 1
        if down:
            raise _database_down()

    writer = writer_for(runtime, before)
    try:
        first = asyncio.create_task(writer.send(SendRequest(customer, cid, "first")))
        await asyncio.wait_for(gate.entered.wait(), 5)
        rest = [
            asyncio.create_task(writer.send(SendRequest(customer, cid, f"m{n}"))) for n in range(9)
        ]
        await asyncio.sleep(0)
        gate.opened.set()
        results = await answers(first, *rest)
        assert all(isinstance(r, Unavailable) for r in results), results
        # Two batches (the first, then the nine queued behind it); never one try per message.
        assert attempts == 2, f"{attempts} transactions for 10 sends while the database was down"
        down = False
        # After a backoff the writer takes sends again.
        message = await asyncio.wait_for(writer.send(SendRequest(customer, cid, "back")), 5)
        assert message.body == "back"
    finally:
        await writer.stop()
    assert await count_messages(runtime) == 1


async def test_an_error_one_item_can_cause_is_retried_item_by_item(runtime: Runtime) -> None:
    customer, cid = await chat(runtime)
    attempts = 0
    gate = Gate()

    async def before() -> None:
        nonlocal attempts
        await gate()
        attempts += 1
        if attempts == 1:
            raise IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))

    writer = writer_for(runtime, before)
    try:
        first = asyncio.create_task(writer.send(SendRequest(customer, cid, "first")))
        await asyncio.wait_for(gate.entered.wait(), 5)
        gate.opened.set()
        results = await answers(first)
        assert all(isinstance(r, MessageRead) for r in results), results
        assert attempts == 2  # the batch, then its one item alone
    finally:
        await writer.stop()


async def test_a_crash_in_the_writer_loop_restarts_it(runtime: Runtime) -> None:
    customer, cid = await chat(runtime)
    writer = MessageWriter(runtime.uow, max_chars=runtime.settings.max_message_chars)
    queue: Any = writer._queue
    take = queue.get_nowait
    crashes = 0

    def crash_once() -> Any:
        nonlocal crashes
        if crashes == 0:
            crashes += 1
            raise RuntimeError("injected crash in the writer loop")
        return take()

    queue.get_nowait = crash_once
    writer.start()
    try:
        results = await answers(
            *(
                writer.send(SendRequest(customer, cid, f"m{n}", client_msg_id=f"c{n}"))
                for n in range(3)
            )
        )
        assert all(isinstance(r, MessageRead) for r in results), results
        assert writer.stats.failures == 1
        later = await asyncio.wait_for(writer.send(SendRequest(customer, cid, "later")), 5)
        assert later.seq == results[-1].seq + 1  # type: ignore[union-attr]
    finally:
        await writer.stop()


async def test_a_bug_while_committing_answers_the_batch_and_restarts(runtime: Runtime) -> None:
    customer, cid = await chat(runtime)
    attempts = 0

    async def before() -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("injected bug")

    writer = writer_for(runtime, before)
    try:
        [result] = await answers(writer.send(SendRequest(customer, cid, "unlucky")))
        assert isinstance(result, Unavailable), result
        later = await asyncio.wait_for(writer.send(SendRequest(customer, cid, "later")), 5)
        assert later.body == "later"
        assert writer.stats.failures == 1
    finally:
        await writer.stop()


async def test_runtime_settings_reach_the_writer(runtime: Runtime) -> None:
    # 503 on REST and an `error` frame on the WebSocket come from the same AppError.
    assert isinstance(Unavailable(), AppError) and Unavailable.status == 503
    assert runtime.writer._queue.maxsize == runtime.settings.write_queue_max
