"""The reminder through the real job worker on a frozen clock (both databases): nothing runs
before starts_at - 15 minutes; then the chat gets the reminder and an email job per person,
which the logging `email.send` handler completes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from parlour.appointments import service
from parlour.config import Settings
from parlour.core.clock import FrozenClock
from parlour.messages.service import list_messages
from parlour.runtime import Runtime, build_runtime
from tests.appointments.support import at, jobs_of, make_cast, record
from tests.jobs.conftest import eventually, load, settled


@pytest.fixture
async def working(settings: Settings, clock: FrozenClock) -> AsyncIterator[Runtime]:
    """A node with its job worker (polling every 50 ms, real time) and no sweep."""
    settings.sweep_interval_seconds = 0
    settings.job_poll_seconds = 0.05
    rt = build_runtime(settings, clock=clock)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


async def test_the_worker_reminds_at_the_right_time(working: Runtime, clock: FrozenClock) -> None:
    cast = await make_cast(working)
    appointment = await record(working, cast, at(hours=2))
    [job] = await jobs_of(working, service.REMIND_JOB)
    clock.advance(seconds=(job.run_at - clock.now()).total_seconds() - 1)
    working.job_worker.wake()
    assert (await load(working, job.id)).status == "queued"
    clock.advance(seconds=1)
    working.job_worker.wake()
    assert (await settled(working, job.id, "done", "failed")).status == "done"

    async def emailed() -> bool:
        emails = await jobs_of(working, service.EMAIL_JOB)
        return len(emails) == 2 and all(e.status == "done" for e in emails)

    await eventually(emailed, what="both reminder emails handled")
    async with working.uow(write=False) as tx:
        page = await list_messages(tx, cast.customer, conversation_id=appointment.conversation_id)
    reminders = [m for m in page.messages if (m.meta or {}).get("event") == "appointment_reminder"]
    assert len(reminders) == 1
    assert reminders[0].created_at == appointment.starts_at - timedelta(minutes=15)
