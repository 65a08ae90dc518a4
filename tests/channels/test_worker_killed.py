"""A worker process SIGKILLed while its `twilio.send` call is in flight — after the stand-in
Twilio (tests/channels/twilio_standin.py, a local HTTP server speaking Twilio's Messages API)
accepted the message, before the worker heard back — loses no job and sends no duplicate:
another worker takes the job over after the lease, asks Twilio first, finds the message there
and records it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import select

from parlour.config import Settings
from parlour.models import Job, Message
from parlour.runtime import Runtime, build_runtime
from tests.api.support import make_world
from tests.channels.support import messages_path, post_signed, twilio_channel_id, twilio_form
from tests.channels.twilio_standin import TwilioStandIn
from tests.conftest import TEST_SECRET
from tests.http_client import app_client
from tests.jobs.conftest import eventually

ROOT = Path(__file__).resolve().parents[2]
LEASE = 4.0


@asynccontextmanager
async def worker(
    db_url: str, tmp_path: Path, standin: TwilioStandIn
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A node running `tests.jobs.runner` (which runs every registered kind, twilio.send
    included) against the stand-in; stopped at the end unless the test killed it."""
    log = tmp_path / f"worker-{os.urandom(4).hex()}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLOUR_")}
    env.update(
        PARLOUR_DATABASE_URL=db_url,
        PARLOUR_DATA_DIR=str(tmp_path / "data"),
        PARLOUR_SECRET_KEY=TEST_SECRET,
        PARLOUR_LOG_LEVEL="warning",
        PARLOUR_JOB_LEASE_SECONDS=str(LEASE),
        PARLOUR_JOB_POLL_SECONDS="0.1",
        PARLOUR_SWEEP_INTERVAL_SECONDS="0",
        PARLOUR_TWILIO_API_BASE=standin.base_url,
        PARLOUR_TWILIO_TIMEOUT_SECONDS="60",
        PARLOUR_PUBLIC_URL="http://testserver",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.jobs.runner", "--log", str(log), cwd=ROOT, env=env
    )

    async def started() -> bool:
        return log.exists() and "started" in log.read_text()

    try:
        await eventually(started, timeout=30, what="the worker to start")
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def test_a_worker_killed_after_twilio_accepted_sends_no_duplicate(
    settings: Settings, db_url: str, tmp_path: Path, standin: TwilioStandIn
) -> None:
    settings.job_worker = False  # only the worker processes run jobs
    settings.sweep_interval_seconds = 0
    settings.public_url = "http://testserver"
    rt: Runtime = build_runtime(settings)
    await rt.start()
    try:
        async with app_client(rt) as http:
            await _scenario(rt, http, db_url, tmp_path, standin)
    finally:
        await rt.stop()


async def _scenario(
    rt: Runtime, http: httpx.AsyncClient, db_url: str, tmp_path: Path, standin: TwilioStandIn
) -> None:
    cast = await make_world(rt)
    channel = await twilio_channel_id(http, cast)
    assert (
        await post_signed(http, messages_path(channel), twilio_form("SM" + "5" * 32))
    ).is_success
    async with rt.uow(write=False) as tx:
        cid = await tx.session.scalar(select(Message.conversation_id))
    await http.post(f"/api/v1/conversations/{cid}/join", headers=cast.headers["agent"])
    reply = await http.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"body": "On its way", "client_msg_id": "k1"},
        headers=cast.headers["agent"],
    )
    assert reply.status_code == 201
    mid = reply.json()["id"]

    standin.hang_after_accept = 120.0  # accepted, then no answer: the worker waits
    async with worker(db_url, tmp_path, standin) as first:

        async def accepted() -> bool:
            return len(standin.messages) == 1

        await eventually(accepted, timeout=30, what="Twilio to accept the message")
        first.send_signal(signal.SIGKILL)
        await first.wait()

    async def job() -> Job:
        async with rt.uow(write=False) as tx:
            found = await tx.session.scalar(select(Job).where(Job.kind == "twilio.send"))
        assert found is not None
        return found

    claimed = await job()
    assert (claimed.status, claimed.attempts) == ("running", 1)
    async with worker(db_url, tmp_path, standin):

        async def done() -> Job | None:
            found = await job()
            return found if found.status == "done" else None

        finished = await eventually(done, timeout=30, what="the takeover")
    # Taken over (attempt 2; on a loaded machine the short test lease may pass once more).
    assert finished.attempts >= 2, finished.last_error
    async with rt.uow(write=False) as tx:
        message = await tx.session.get(Message, mid)
    assert message is not None and message.external_id == standin.messages[0].sid
    assert standin.creates == 1 and len(standin.messages) == 1
