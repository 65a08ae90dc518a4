"""`parlour jobs list|show|retry` as real subprocesses on a SQLite file (as tests/test_cli.py)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from parlour.config import Settings
from parlour.runtime import build_runtime
from tests.factories import make_tenant
from tests.jobs.conftest import load
from tests.jobs.support import make_job
from tests.test_cli import SECRET, Place


@pytest.fixture
def place(tmp_path: Path, sqlite_template: Path) -> Place:
    folder = tmp_path / "node"
    folder.mkdir()
    shutil.copy(sqlite_template, folder / "parlour.db")
    return Place(folder)


# Eight processes at once, on a machine that may be busy: generous limits.
SLOW = 240


@pytest.mark.timeout(600)
async def test_list_show_and_retry(place: Place) -> None:
    rt = build_runtime(
        Settings(_env_file=None, database_url=place.url, data_dir=place.folder, secret_key=SECRET)  # type: ignore[call-arg]
    )
    try:
        home = await make_tenant(rt)
        other = await make_tenant(rt, "other")
        failed = await make_job(rt, home, kind="sms.send", key="m-1")
        foreign_failed = await make_job(rt, other, kind="email.send", key="m-1")
        done = await make_job(rt, home, kind="sms.send", key="m-2", status="done", error=None)
        queued = await make_job(rt, None, kind="nightly.report", key="2026-01-01", status="queued")

        # Independent commands at once: each process pays Python's start-up.
        results = await asyncio.gather(
            place.run("jobs", "list", timeout=SLOW),
            place.run("jobs", "list", "--status", "failed", timeout=SLOW),
            place.run("jobs", "list", "--kind", "sms.send", timeout=SLOW),
            place.run("jobs", "show", failed, timeout=SLOW),
            place.run("jobs", "show", "0" * 32, timeout=SLOW),
            place.run("jobs", "list", "--status", "exploded", timeout=SLOW),
            place.run("jobs", "retry", done, timeout=SLOW),
            place.run("jobs", "list", "--kind", "nothing.here", timeout=SLOW),
        )
        everything, only_failed, sms, show, unknown, bad_status, again, empty = results
        assert everything.code == 0, everything.text
        for job_id in (failed, foreign_failed, done, queued):  # the operator sees every tenant
            assert job_id in everything.out
        assert only_failed.code == 0, only_failed.text
        assert {failed, foreign_failed} == {
            line.split()[0] for line in only_failed.out.splitlines()[1:]
        }
        assert "RuntimeError: the provider said no" in only_failed.out
        assert {line.split()[0] for line in sms.out.splitlines()[1:]} == {failed, done}

        assert show.code == 0, show.text
        assert "status:          failed" in show.out
        assert "attempts:        5 of 5" in show.out
        assert f"idempotency key: {home}:sms.send:m-1" in show.out
        assert '"to": "+15550001"' in show.out
        assert "last error:      RuntimeError: the provider said no" in show.out
        assert unknown.code == 1 and "Job not found" in unknown.err, unknown.text
        assert bad_status.code != 0 and "exploded" in bad_status.err, bad_status.text

        retry = await place.run("jobs", "retry", failed, timeout=SLOW)
        assert retry.code == 0, retry.text
        assert f"job {failed} queued again" in retry.out
        job = await load(rt, failed)
        assert (job.status, job.attempts, job.finished_at) == ("queued", 0, None)
        assert job.last_error == "RuntimeError: the provider said no"  # kept for the record

        assert again.code == 1 and "Only failed or queued jobs" in again.err, again.text
        assert (await load(rt, done)).status == "done"

        assert empty.code == 0 and "no jobs" in empty.out
    finally:
        await rt.engine.dispose()
