"""The unit of work: one transaction per request, frame, job or command, owned by the edge.

Services receive the unit of work, use its session and clock, and `emit` events; they never
commit. The events leave (through the publisher) only after the transaction commits, in the
order they were emitted; a rollback drops them, so nobody is ever told about a row that does
not exist. Jobs (`enqueue`) are rows in the same transaction: a rollback leaves none.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from parlour.core import rls
from parlour.core.clock import Clock
from parlour.core.db import WRITE_OPTION
from parlour.core.domain_events import DomainEvent, DomainHooks
from parlour.core.events import Event, Publisher
from parlour.core.outbox import EnqueuedJob, JobSink

log = logging.getLogger(__name__)


class UnitOfWork:
    """A session, the time it started, and the events that wait for its commit."""

    session: AsyncSession

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        publisher: Publisher,
        clock: Clock,
        write: bool = True,
        jobs: JobSink | None = None,
        hooks: DomainHooks | None = None,
        scope: rls.DbScope | None = None,
    ) -> None:
        self._sessions = sessions
        self._given_scope = scope
        self.scope: rls.DbScope | None = scope
        self._hooks = hooks
        self._publisher = publisher
        self._clock = clock
        self._write = write
        self.events: list[Event] = []
        self._jobs = jobs
        self._enqueued = False
        self.domain_events: list[DomainEvent] = []
        # One timestamp for everything the unit of work does.
        self.now: datetime = clock.now()

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self.now = self._clock.now()
        self.scope = self._given_scope if self._given_scope is not None else rls.current.get()
        if self._write:
            await self.session.connection(execution_options={WRITE_OPTION: True})
        bind = self._sessions.kw.get("bind")
        if bind is not None and rls.dialect_uses_rls(bind.dialect.name):
            # One round trip; the settings end with the transaction.
            await self.session.execute(text(rls.SET_SCOPE_SQL), rls.scope_params(self.scope))
            self.session.info[rls.SESSION_SCOPE_KEY] = self.scope
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None and self._write:
                await self.session.commit()
            elif exc_type is not None:
                await self.session.rollback()
            # A read-only unit of work just closes: what it loaded stays usable afterwards.
        except BaseException:
            self.events.clear()
            self.domain_events.clear()
            raise
        finally:
            await self.session.close()
        if exc_type is None:
            await self.publish_events()
            if self._enqueued and self._jobs is not None:
                self._jobs.committed()
            await self.run_domain_hooks()
        else:
            self.events.clear()
            self.domain_events.clear()

    @property
    def writes(self) -> bool:
        """Whether this unit of work commits what it changes (a read-only one just closes)."""
        return self._write

    def emit(self, event: Event) -> None:
        """Publish `event` once this unit of work has committed; never if it rolls back."""
        self.events.append(event)

    async def enqueue(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        key: str,
        run_at: datetime | None = None,
        tenant_id: str | None = None,
    ) -> EnqueuedJob:
        """Write a job in this transaction (run after commit, at least once; never if it rolls
        back). `key` is its idempotency key: the same (tenant, kind, key) again returns the job
        already there and writes nothing. `tenant_id` None is a node-wide job."""
        if self._jobs is None or not self._write:
            raise RuntimeError("this unit of work cannot enqueue jobs (read-only or no job sink)")
        job = await self._jobs.enqueue(
            self.session, kind, payload, key=key, tenant_id=tenant_id, run_at=run_at, now=self.now
        )
        self._enqueued = True
        return job

    def emit_domain(self, event: DomainEvent) -> None:
        """Run the node's hooks for `event` once this unit of work has committed; never if it
        rolls back."""
        self.domain_events.append(event)

    async def run_domain_hooks(self) -> None:
        events, self.domain_events = self.domain_events, []
        if self._hooks is not None and events:
            # Reactions act for the business (the tenant's system actor), not for the caller
            # whose change set them off: each event's handlers run in its tenant's service scope.
            for event in events:
                with rls.acting_as(rls.DbScope.service(event.tenant_id or None)):
                    await self._hooks.run([event])

    async def publish_events(self) -> None:
        events, self.events = self.events, []
        for event in events:
            try:
                await self._publisher.publish(event)
            except (
                Exception
            ):  # a lost event must not undo a committed change; resume-by-seq heals it
                log.exception("publishing %s on %s failed", event.type, event.channel)
