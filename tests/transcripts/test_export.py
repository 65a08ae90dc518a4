"""The tenant export: `GET /api/v1/admin/export?from=&to=` (JSON Lines, streamed, admins) and
`parlour export` (the same lines to a file, with a progress bar)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from parlour.auth.principal import Principal
from parlour.config import Settings
from parlour.conversations import service as conversations
from parlour.core.clock import FrozenClock
from parlour.core.uow import UnitOfWork
from parlour.runtime import Runtime
from parlour.transcripts.export import export_lines
from tests.api.support import World, assert_error, make_world
from tests.factories import auth
from tests.http_client import app_client

EXPORT = "/api/v1/admin/export"
DAY1 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(DAY1)


@pytest.fixture
async def world(frozen: Runtime) -> World:
    return await make_world(frozen)


@pytest.fixture
async def http(frozen: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(frozen) as client:
        yield client


async def open_many(rt: Runtime, opener: Principal, customer: Principal, n: int) -> list[str]:
    ids = []
    async with rt.uow() as tx:
        for i in range(n):
            view = await conversations.do_create_conversation(
                tx, opener, kind="support", customer_id=customer.user_id, subject=f"#{i}"
            )
            ids.append(view.id)
    return ids


async def test_admins_export_a_date_range_as_json_lines(
    http: httpx.AsyncClient, frozen: Runtime, clock: FrozenClock, world: World
) -> None:
    [first] = await open_many(frozen, world.admin, world.customer, 1)
    clock.advance(days=1)
    [second] = await open_many(frozen, world.admin, world.customer, 1)
    clock.advance(days=1)
    await open_many(frozen, world.admin, world.customer, 1)  # day 3: outside the range
    await open_many(frozen, world.foreign_admin, world.foreign_customer, 1)  # another tenant

    admin = auth(frozen, world.admin)  # signed now: the clock moved two days
    response = await http.get(
        EXPORT, params={"from": "2026-03-01", "to": "2026-03-03"}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.headers["x-export-count"] == "2"
    records = [json.loads(line) for line in response.text.splitlines()]
    assert [r["id"] for r in records] == [first, second]
    assert records[0]["participants"][0]["display_name"] == "Cara"
    assert records[0]["messages"][0]["body"] == "Cara started the conversation."
    assert records[0]["created_at"] == "2026-03-01T09:00:00.000Z"

    by_time = await http.get(
        EXPORT,
        params={"from": "2026-03-02T09:00:00+00:00", "to": "2026-03-02T09:00:01"},
        headers=admin,
    )
    assert [json.loads(line)["id"] for line in by_time.text.splitlines()] == [second]

    foreign = await http.get(
        EXPORT,
        params={"from": "2026-03-01", "to": "2026-03-03"},
        headers=auth(frozen, world.foreign_admin),
    )
    assert foreign.status_code == 200 and foreign.text == ""


async def test_who_may_not_export(http: httpx.AsyncClient, frozen: Runtime, world: World) -> None:
    await open_many(frozen, world.admin, world.customer, 1)
    params = {"from": "2026-03-01", "to": "2026-03-02"}
    assert_error(await http.get(EXPORT, params=params), 401)
    for caller in ("customer", "agent", "other_agent", "api_key", "foreign_api_key"):
        response = await http.get(EXPORT, params=params, headers=world.headers[caller])
        assert_error(response, 403)
        assert world.customer.user_id not in response.text


@pytest.mark.parametrize(
    ("start", "end", "status"),
    [
        ("2026-03-02", "2026-03-01", 400),  # backwards
        ("2026-03-01", "2026-03-01", 400),  # empty
        ("2026-13-01", "2026-03-01", 400),  # no such month
        ("yesterday!", "2026-03-01", 422),
        ("2026-03-01", "9999-12-31T23:59:59-23:59", 400),  # beyond UTC
    ],
)
async def test_bad_ranges(
    http: httpx.AsyncClient, world: World, start: str, end: str, status: int
) -> None:
    response = await http.get(
        EXPORT, params={"from": start, "to": end}, headers=world.headers["admin"]
    )
    assert_error(response, status)
    assert_error(await http.get(EXPORT, headers=world.headers["admin"]), 422)


async def test_a_large_export_streams_in_batches(
    http: httpx.AsyncClient, frozen: Runtime, world: World
) -> None:
    ids = await open_many(frozen, world.admin, world.customer, 120)
    params = {"from": "2026-03-01", "to": "2026-03-02"}
    async with http.stream(
        "GET", EXPORT, params=params, headers=world.headers["admin"]
    ) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers  # streamed, not buffered
        got = [json.loads(line)["id"] async for line in response.aiter_lines() if line]
    assert sorted(got) == sorted(ids) and len(got) == 120

    # Batch by batch, each in its own short read-only unit of work (50 + 50 + 20).
    opened: list[bool] = []

    def counting_uow(*, write: bool = True) -> UnitOfWork:
        opened.append(write)
        return frozen.uow(write=write)

    lines = export_lines(
        counting_uow,
        Principal.system_actor(world.admin.tenant_id),
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 2, tzinfo=UTC),
        batch_size=50,
    )
    first = await anext(lines)
    assert json.loads(first)["id"] in ids and opened == [False]
    rest = [line async for line in lines]
    assert len(rest) == 119 and opened == [False, False, False]


def _command() -> list[str]:
    script = Path(sys.executable).with_name("parlour")
    return [str(script)] if script.exists() else [sys.executable, "-m", "parlour.cli"]


async def test_the_cli_writes_the_same_lines(
    frozen: Runtime, settings: Settings, world: World, tmp_path: Path
) -> None:
    ids = await open_many(frozen, world.admin, world.customer, 3)
    out = tmp_path / "export.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLOUR_")}
    env.update(
        PARLOUR_DATABASE_URL=settings.resolved_database_url(),
        PARLOUR_DATA_DIR=str(tmp_path),
        PARLOUR_SECRET_KEY=frozen.secret_key,
    )
    proc = await asyncio.create_subprocess_exec(
        *_command(),
        "export",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-02",
        "--out",
        str(out),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, stderr.decode()
    assert "3 conversation(s) exported" in stderr.decode()
    # One moment (the frozen clock): ordered by id within it.
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == sorted(ids)

    bad = await asyncio.create_subprocess_exec(
        *_command(),
        "export",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-01",
        "--out",
        "-",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(bad.communicate(), 60)
    assert bad.returncode == 1 and "before" in err.decode()
