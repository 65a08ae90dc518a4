"""The sweep for external schedulers: `POST /api/v1/cron/close-expired` behind
PARLOUR_CRON_SECRET, and `parlour close-expired` run as a real process."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from parlour.config import Settings
from parlour.runtime import Runtime, build_runtime
from tests.api.support import assert_error, make_member, row_counts
from tests.deadlines.support import conversation, ended_messages, open_with_deadline, set_closes_at
from tests.factories import make_tenant
from tests.http_client import app_client

URL = "/api/v1/cron/close-expired"
SECRET = "cron-secret-for-tests-0123456789"


async def _expired_conversation(rt: Runtime) -> tuple[str, str]:
    await make_tenant(rt)
    admin = await make_member(rt, "admin", name="Ada")
    customer = await make_member(rt, "customer", name="Cara")
    cid = await open_with_deadline(rt, admin, customer, rt.clock.now() + timedelta(hours=1))
    await set_closes_at(rt, cid, rt.clock.now() - timedelta(minutes=1))
    return cid, admin.tenant_id


@asynccontextmanager
async def _serving(
    settings: Settings, secret: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    settings.cron_secret = secret
    settings.sweep_interval_seconds = 0  # only the endpoint closes anything here
    rt = build_runtime(settings)
    await rt.start()
    try:
        async with app_client(rt) as http:
            yield http, rt
    finally:
        await rt.stop()


@pytest.fixture
async def cron_client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    async with _serving(settings, SECRET) as served:
        yield served


async def test_the_cron_endpoint_closes_what_is_due_once(
    cron_client: tuple[httpx.AsyncClient, Runtime],
) -> None:
    client, rt = cron_client
    cid, tenant_id = await _expired_conversation(rt)
    headers = {"Authorization": f"Bearer {SECRET}"}
    first, second = await asyncio.gather(
        client.post(URL, headers=headers), client.post(URL, headers=headers)
    )
    assert first.status_code == second.status_code == 200, first.text
    closed = first.json()["closed"] + second.json()["closed"]
    assert closed == [
        {
            "deadline": "conversation.closes_at",
            "conversation_id": cid,
            "tenant_id": tenant_id,
            "reason": "expired",
        }
    ]
    again = await client.post(URL, headers=headers)
    assert again.json() == {"closed": []}
    assert len(await ended_messages(rt, cid)) == 1


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-secret",
        f"Bearer {SECRET}x",
        f"Basic {SECRET}",
        SECRET,
        "Bearer ",
        "Bearer sécret",  # non-ASCII: refused, not a 500
    ],
)
async def test_a_missing_or_wrong_secret_is_401_and_nothing_runs(
    cron_client: tuple[httpx.AsyncClient, Runtime], authorization: str | None
) -> None:
    client, rt = cron_client
    cid, _ = await _expired_conversation(rt)
    before = await row_counts(rt)
    headers = {"Authorization": authorization.encode()} if authorization else {}
    response = await client.post(URL, headers=headers)  # type: ignore[arg-type]
    assert_error(response, 401, "unauthorized")
    assert (await conversation(rt, cid)).status == "waiting"
    assert await row_counts(rt) == before


async def test_with_no_secret_configured_every_call_is_401(settings: Settings) -> None:
    async with _serving(settings, "") as (client, rt):
        cid, _ = await _expired_conversation(rt)
        before = await row_counts(rt)
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
            assert_error(await client.post(URL, headers=headers), 401, "unauthorized")
        assert (await conversation(rt, cid)).status == "waiting"
        assert await row_counts(rt) == before


async def _cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    script = Path(sys.executable).with_name("parlour")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "parlour.cli"]
    env = {
        **os.environ,
        "PARLOUR_DATABASE_URL": settings.resolved_database_url(),
        "PARLOUR_DATA_DIR": str(settings.data_dir),
        "PARLOUR_SECRET_KEY": settings.secret_key,
    }
    process = await asyncio.create_subprocess_exec(
        *command,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_parlour_close_expired_prints_what_it_closed(
    settings: Settings,
) -> None:
    settings.sweep_interval_seconds = 0
    rt = build_runtime(settings)
    await rt.start()
    try:
        cid, tenant_id = await _expired_conversation(rt)
        code, out, err = await _cli(settings, "close-expired")
        assert code == 0, err
        assert out.splitlines() == [f"closed {cid} (tenant {tenant_id}, expired)", "1 closed"]
        code, out, err = await _cli(settings, "close-expired")
        assert (code, out.splitlines()) == (0, ["0 closed"])
        assert (await conversation(rt, cid)).end_reason == "expired"
        assert len(await ended_messages(rt, cid)) == 1
    finally:
        await rt.stop()
