"""Group commit: concurrent sends share one transaction and one commit.

Every send (REST or WebSocket) is queued here. One writer task per process takes whatever is
waiting (up to `batch_max`), runs the send rule for all of it in one unit of work, commits once,
publishes the events and then answers each sender. Under load a commit carries many messages;
alone, a message waits for nobody. If a batch fails unexpectedly, its requests are retried one
by one so that one bad request cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from parlour.core.errors import AppError
from parlour.core.uow import UnitOfWork
from parlour.messages.schemas import MessageRead
from parlour.messages.service import SendRequest, do_send_messages

log = logging.getLogger(__name__)

UowFactory = Callable[[], UnitOfWork]
Pending = tuple[SendRequest, "asyncio.Future[MessageRead]"]


class MessageWriter:
    def __init__(self, uow: UowFactory, *, max_chars: int, batch_max: int = 256) -> None:
        self._uow = uow
        self._max_chars = max_chars
        self._batch_max = batch_max
        self._queue: asyncio.Queue[Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        # Batch sizes seen, for the metrics and the benchmark.
        self.batches = 0
        self.messages = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="parlour-message-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        while not self._queue.empty():
            _, future = self._queue.get_nowait()
            if not future.done():
                future.set_exception(AppError("The server is shutting down.", code="unavailable"))

    async def send(self, request: SendRequest) -> MessageRead:
        """Queue a send and wait until it is committed (or refused)."""
        if self._task is None:
            raise AppError("The server is not accepting messages.", code="unavailable")
        future: asyncio.Future[MessageRead] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((request, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit(batch)
            except Exception:
                log.exception("message batch of %d failed; retrying one by one", len(batch))
                for pending in batch:
                    try:
                        await self._commit([pending])
                    except Exception as exc:
                        log.exception("message send failed")
                        _settle(pending[1], exc)

    async def _commit(self, batch: list[Pending]) -> None:
        async with self._uow() as tx:
            results = await do_send_messages(
                tx, [request for request, _ in batch], max_chars=self._max_chars
            )
        # The unit of work has committed and published: now the senders may be told.
        self.batches += 1
        self.messages += len(batch)
        # One line per commit when debugging (the benchmark counts batch sizes with it).
        log.debug("committed %d", len(batch))
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result)


def _settle(future: asyncio.Future[MessageRead], result: MessageRead | BaseException) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
