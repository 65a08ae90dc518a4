"""Group commit, generically: one task takes what is waiting and handles it in one transaction.

A `Batcher` owns a bounded queue and one supervised task. Callers `submit` a request and wait
(at most `send_timeout` seconds) for its answer; the task takes whatever is queued (up to
`batch_max`), hands the batch to `_commit` (one unit of work, one commit) and answers each
caller with its own result or error. The message writer and the read-pointer writer are both
batchers.

What can go wrong, and what each caller hears:

- the queue is full: `Unavailable` at once, nothing queued (backpressure, not memory growth);
- the deadline passes: `Unavailable`; the request may still commit later, so a client retries
  with the same idempotency key and gets the original;
- an error one item can cause (IntegrityError, DataError): the batch is retried item by item,
  so one bad request cannot fail its neighbours;
- an operational error (the database unreachable, a lock timeout, a connection invalidated,
  TimeoutError): the whole batch is answered `Unavailable` and the task backs off before the
  next one; retrying item by item would only hold every sender for one more timeout each;
- anything else is a bug: the task fails, `supervise` logs it and restarts it, and the batch in
  flight is answered `Unavailable` (`_on_failure`), so nobody waits on a dead task;
- `stop`: new requests are refused, the batch in flight and the queue are given
  `drain_timeout` seconds to finish, then every caller still waiting is answered `Unavailable`.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError

from parlour.core.errors import AppError, Conflict, Unavailable
from parlour.core.supervise import Supervised, supervise

Req = TypeVar("Req")
Res = TypeVar("Res")

# Backoff after an operational error: doubles from MIN up to MAX, reset by a good batch.
MIN_BACKOFF_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 2.0


def is_item_error(exc: BaseException) -> bool:
    """An error one request of a batch can cause (a constraint, a value the column refuses)."""
    return isinstance(exc, IntegrityError | DataError)


def is_operational(exc: BaseException) -> bool:
    """An error of the database or the connection, which no request caused and which retrying
    the requests one by one would only repeat."""
    if isinstance(exc, OperationalError | InterfaceError | TimeoutError | OSError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@dataclass(slots=True)
class Pending(Generic[Req, Res]):
    request: Req
    future: asyncio.Future[Res]


class Batcher(abc.ABC, Generic[Req, Res]):
    """A bounded queue served by one supervised task, one transaction per batch."""

    name = "batcher"

    def __init__(
        self,
        *,
        batch_max: int = 256,
        queue_max: int = 10_000,
        send_timeout: float = 10.0,
        drain_timeout: float = 5.0,
    ) -> None:
        self._batch_max = batch_max
        self._send_timeout = send_timeout
        self._drain_timeout = drain_timeout
        self._queue: asyncio.Queue[Pending[Req, Res]] = asyncio.Queue(maxsize=queue_max)
        self._task: asyncio.Task[None] | None = None
        self._accepting = False
        # The batch being handled: answered by `_on_failure` if the task dies under it.
        self._in_flight: list[Pending[Req, Res]] = []
        self._backoff = 0.0
        # Set whenever a batch is done with (for `stop`, which waits for the queue to empty).
        self._progress = asyncio.Event()
        self.stats = Supervised(self.name)
        # Each kind of batcher logs under its own module's name (the benchmark reads the
        # message writer's "committed N" lines).
        self._log = logging.getLogger(type(self).__module__)
        # Committed batches and the requests they carried (metrics, tests, the benchmark).
        self.batches = 0
        self.items = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._accepting = True
            self._task = supervise(
                f"parlour-{self.name}", self._run, on_failure=self._on_failure, stats=self.stats
            )

    async def stop(self) -> None:
        """Refuse new requests, let what is queued finish (bounded), answer everyone else."""
        self._accepting = False
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(self._idle(), self._drain_timeout)
            except TimeoutError:
                self._log.warning(
                    "%s: %d requests still waiting after %.1fs; answering them unavailable",
                    self.name,
                    len(self._in_flight) + self._queue.qsize(),
                    self._drain_timeout,
                )
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        shutting_down = "The server is shutting down; try again shortly."
        self._answer_in_flight(shutting_down)
        while not self._queue.empty():
            _settle(self._queue.get_nowait().future, Unavailable(shutting_down))

    async def _idle(self) -> None:
        while self._in_flight or not self._queue.empty():
            self._progress.clear()
            await self._progress.wait()

    # -- callers ---------------------------------------------------------------------------

    def _enqueue(self, request: Req) -> asyncio.Future[Res]:
        if not self._accepting or self._task is None or self._task.done():
            raise Unavailable("The server is not accepting writes now; try again shortly.")
        future: asyncio.Future[Res] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(Pending(request, future))
        except asyncio.QueueFull:
            raise Unavailable("The server is busy; try again shortly.") from None
        return future

    async def submit(self, request: Req) -> Res:
        """Queue `request` and wait until its batch has committed (or refused it)."""
        future = self._enqueue(request)
        try:
            return await asyncio.wait_for(future, self._send_timeout)
        except TimeoutError:
            # wait_for cancelled the future: the task skips the request if it has not yet
            # taken it; if it has, the request may still commit (an idempotent retry finds it).
            raise Unavailable(
                "The write did not complete in time; retry it (with the same id) shortly."
            ) from None

    def submit_nowait(self, request: Req, on_error: Callable[[AppError], None]) -> None:
        """Queue `request` without waiting; `on_error` hears of a refusal (fire and forget)."""
        future = self._enqueue(request)

        def done(f: asyncio.Future[Res]) -> None:
            if f.cancelled():
                return
            exc = f.exception()
            if exc is None:
                return
            on_error(exc if isinstance(exc, AppError) else AppError(code="internal"))

        future.add_done_callback(done)

    # -- the task --------------------------------------------------------------------------

    @abc.abstractmethod
    async def _commit(self, requests: list[Req]) -> list[Res | AppError]:
        """Handle `requests` in one transaction; one result or refusal per request."""

    async def _run(self) -> None:
        while True:
            await self._take()
            await self._handle(self._in_flight)
            self._in_flight = []
            self._progress.set()

    async def _take(self) -> None:
        # Each request joins `_in_flight` the moment it leaves the queue, so a failure of the
        # task at any point still finds it and answers it.
        self._in_flight = [await self._queue.get()]
        while len(self._in_flight) < self._batch_max and not self._queue.empty():
            self._in_flight.append(self._queue.get_nowait())

    async def _handle(self, batch: list[Pending[Req, Res]]) -> None:
        # Callers that gave up (deadline passed, client gone) are not written for.
        live = [p for p in batch if not p.future.done()]
        if not live:
            return
        try:
            results = await self._commit([p.request for p in live])
        except Exception as exc:
            if is_operational(exc):
                await self._unavailable(live, exc)
                return
            if not is_item_error(exc):
                raise  # a bug: supervise restarts the task, `_on_failure` answers the batch
            self._log.warning(
                "%s: batch of %d failed (%s); retrying one by one", self.name, len(live), exc
            )
            await self._one_by_one(live)
            return
        self._committed(live, results)

    async def _one_by_one(self, batch: list[Pending[Req, Res]]) -> None:
        for i, pending in enumerate(batch):
            if pending.future.done():
                continue
            try:
                results = await self._commit([pending.request])
            except Exception as exc:
                if is_operational(exc):
                    await self._unavailable(batch[i:], exc)
                    return
                if not is_item_error(exc):
                    raise
                self._log.warning("%s: request refused by the database: %s", self.name, exc)
                _settle(pending.future, Conflict("The request conflicts with stored data."))
            else:
                self._committed([pending], results)

    def _committed(self, batch: list[Pending[Req, Res]], results: list[Res | AppError]) -> None:
        self._backoff = 0.0
        self.batches += 1
        self.items += len(batch)
        # One line per commit when debugging (the benchmark counts batch sizes with it).
        self._log.debug("committed %d", len(batch))
        for pending, result in zip(batch, results, strict=True):
            _settle(pending.future, result)

    async def _unavailable(self, batch: list[Pending[Req, Res]], exc: BaseException) -> None:
        """The database failed the batch as a whole: answer it, then back off."""
        self._backoff = min(max(self._backoff * 2, MIN_BACKOFF_SECONDS), MAX_BACKOFF_SECONDS)
        self._log.warning(
            "%s: batch of %d failed: %r; backing off %.2fs",
            self.name,
            len(batch),
            exc,
            self._backoff,
        )
        for pending in batch:
            _settle(pending.future, Unavailable("The database is unavailable; try again shortly."))
        await asyncio.sleep(self._backoff)

    def _on_failure(self, exc: BaseException) -> None:
        self._answer_in_flight("The write failed on our side; try again shortly.")

    def _answer_in_flight(self, message: str) -> None:
        batch, self._in_flight = self._in_flight, []
        for pending in batch:
            _settle(pending.future, Unavailable(message))
        self._progress.set()


def _settle(future: asyncio.Future[Res], result: Res | BaseException) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
