"""The node's job worker: claim due jobs, run their handlers, record what happened.

One supervised loop per node (`Runtime.start`). Each turn it claims as many due jobs as it has
free slots, in one short transaction, and starts a task per job. A task runs the handler outside
any transaction — renewing its lease meanwhile — and then records the outcome in another short
transaction: done; queued again after a backoff; or failed with the last error once the kind's
attempts are spent. The loop sleeps until a commit that enqueued a job (or a finished task)
wakes it, or for the poll interval, which is what finds jobs enqueued by other nodes or
processes and jobs whose run_at or lease has come.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from parlour.core import rls
from parlour.core.ids import new_id
from parlour.core.supervise import Supervised, supervise
from parlour.jobs import repository
from parlour.jobs.context import JobContext, PermanentFailure, RetryAfter  # ai: RetryAfter
from parlour.jobs.registry import Registration
from parlour.jobs.repository import Claim

if TYPE_CHECKING:
    from parlour.runtime import Runtime

log = logging.getLogger(__name__)

# The most of an error kept in `last_error`.
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Claimed:
    claim: Claim
    context: JobContext
    registration: Registration


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:MAX_ERROR_CHARS]


class JobWorker:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime
        settings = runtime.settings
        self.concurrency = max(1, settings.job_concurrency)
        self.lease = timedelta(seconds=settings.job_lease_seconds)
        self.poll_seconds = settings.job_poll_seconds
        self.shutdown_seconds = settings.job_shutdown_seconds
        # Names this worker in `lease_owner`; unique per process and start.
        self.id = f"{socket.gethostname()[:40]}:{os.getpid()}:{new_id()[:8]}"
        self.stats = Supervised("parlour-job-worker")
        self.rng = random.Random()
        self.attempts_run = 0
        self.lost_leases = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> int:
        return len(self._running)

    def start(self) -> None:
        if self._task is None:
            self._task = supervise("parlour-job-worker", self._loop, stats=self.stats)

    def wake(self) -> None:
        """Look for due jobs now (a commit enqueued one, or a slot came free)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop claiming; give running handlers `shutdown_seconds` to finish, then cancel them
        (a cancelled job is put back in the queue, to run again on some node)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._running:
            _, pending = await asyncio.wait(set(self._running), timeout=self.shutdown_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            await self.run_once()
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that
            # arrives as the event is set, and `stop()` would wait for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()

    async def run_once(self) -> int:
        """Claim what is due (up to the free slots) and start it; how many were started."""
        # rls: claiming, leases and outcomes span every tenant (the tasks below inherit it);
        # each handler runs in its own job's tenant (`_attempt`).
        rls.enter(rls.ALL_TENANTS)
        free = self.concurrency - len(self._running)
        kinds = self._rt.jobs.kinds()
        if free <= 0 or not kinds:
            return 0
        claimed = await self._claim(kinds, free)
        for job in claimed:
            task = asyncio.create_task(self._attempt(job), name=f"parlour-job-{job.claim.job_id}")
            self._running.add(task)
            task.add_done_callback(self._finished)
        return len(claimed)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self.wake()

    async def _claim(self, kinds: list[str], limit: int) -> list[Claimed]:
        async with self._rt.uow(write=False) as tx:
            if not await repository.any_due(tx.session, kinds=kinds, now=tx.now):
                return []
        claimed = []
        async with self._rt.uow() as tx:
            for job in await repository.lock_due(tx.session, kinds=kinds, now=tx.now, limit=limit):
                registration = self._rt.jobs.get(job.kind)
                assert registration is not None  # only registered kinds are selected
                if job.status == "running" and job.attempts >= registration.max_attempts:
                    error = (
                        f"attempt {job.attempts} of {registration.max_attempts} never finished "
                        f"(its worker {job.lease_owner} stopped holding the lease)"
                    )
                    log.error("job %s (%s) failed: %s", job.id, job.kind, error)
                    await repository.mark_abandoned(tx.session, job, now=tx.now, error=error)
                    continue
                if job.status == "running":
                    log.warning(
                        "job %s (%s): the lease of %s expired; claiming it again",
                        job.id,
                        job.kind,
                        job.lease_owner,
                    )
                claim = await repository.mark_running(
                    tx.session, job, owner=self.id, now=tx.now, lease=self.lease
                )
                context = JobContext(
                    runtime=self._rt,
                    job_id=job.id,
                    kind=job.kind,
                    tenant_id=job.tenant_id,
                    payload=dict(job.payload),
                    idempotency_key=job.idempotency_key,
                    attempt=claim.attempt,
                    max_attempts=registration.max_attempts,
                )
                claimed.append(Claimed(claim, context, registration))
        return claimed

    async def _attempt(self, job: Claimed) -> None:
        self.attempts_run += 1
        heartbeat = asyncio.create_task(self._heartbeat(job.claim))
        outcome: BaseException | None = None
        try:
            try:
                async with asyncio.timeout(job.registration.timeout_seconds):
                    with rls.acting_as(rls.DbScope.service(job.context.tenant_id)):
                        await job.registration.handler(job.context)
            except asyncio.CancelledError:
                await self._release(job)
                raise
            except Exception as exc:
                outcome = exc
        finally:
            heartbeat.cancel()
        try:
            await self._record(job, outcome)
        except Exception:
            # The lease runs out and the job is claimed again: nothing is lost.
            log.exception("recording the outcome of job %s failed", job.claim.job_id)

    async def _record(self, job: Claimed, outcome: BaseException | None) -> None:
        claim, reg = job.claim, job.registration
        async with self._rt.uow() as tx:
            if outcome is None:
                held = await repository.finish_done(tx.session, claim, now=tx.now)
            elif isinstance(outcome, PermanentFailure) or claim.attempt >= reg.max_attempts:
                held = await repository.finish_failed(
                    tx.session,
                    claim,
                    error=_describe(outcome),
                    now=tx.now,
                    max_attempts=reg.max_attempts,
                )
            else:
                delay = reg.backoff.delay(claim.attempt, self.rng)
                if isinstance(outcome, RetryAfter):  # ai: the provider said when
                    delay = min(outcome.seconds, reg.backoff.max_seconds)
                held = await repository.finish_retry(
                    tx.session,
                    claim,
                    error=_describe(outcome),
                    run_at=tx.now + timedelta(seconds=delay),
                    max_attempts=reg.max_attempts,
                )
        if not held:
            self.lost_leases += 1
            log.warning(
                "job %s attempt %d: the lease was lost (taken over after it expired); "
                "its outcome is not recorded",
                claim.job_id,
                claim.attempt,
            )
        elif outcome is not None:
            log.warning(
                "job %s (%s) attempt %d of %d failed: %s",
                claim.job_id,
                reg.kind,
                claim.attempt,
                reg.max_attempts,
                _describe(outcome),
                exc_info=outcome,
            )

    async def _heartbeat(self, claim: Claim) -> None:
        """Renew the lease every third of it while the handler runs, so a long handler keeps
        its job; a worker that dies stops renewing, and the lease runs out."""
        interval = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                async with self._rt.uow() as tx:
                    held = await repository.renew_lease(
                        tx.session, claim, until=tx.now + self.lease
                    )
            except Exception:
                log.exception("renewing the lease of job %s failed", claim.job_id)
                continue
            if not held:
                log.warning("job %s: lease lost while running", claim.job_id)
                return

    async def _release(self, job: Claimed) -> None:
        """Put an interrupted job back in the queue (the node is stopping)."""
        try:
            async with self._rt.uow() as tx:
                await repository.release(
                    tx.session,
                    job.claim,
                    now=tx.now,
                    error="interrupted: the node stopped while it ran",
                )
        except Exception:
            log.exception("releasing job %s failed; its lease will run out", job.claim.job_id)
