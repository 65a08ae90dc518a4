"""Uploads never sent cannot fill the disk: an upload rate of its own per user, and a cap on
one user's unsent uploads (files and bytes), checked before anything is stored and again under
a lock on the uploader's row (concurrent uploads, on both databases)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from parlour.models.attachment import Attachment
from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_world
from tests.attachments.support import upload
from tests.factories import make_conversation


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


@pytest.fixture
async def cid(runtime: Runtime, world: World) -> str:
    return (await make_conversation(runtime, world.customer, agent=world.agent)).id


def _stored_files(runtime: Runtime) -> list[str]:
    root = runtime.settings.data_dir / "attachments"
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def _count(runtime: Runtime) -> int:
    async with runtime.uow(write=False) as tx:
        return int(await tx.session.scalar(select(func.count()).select_from(Attachment)) or 0)


async def _text(client: httpx.AsyncClient, world: World, who: str, cid: str, n: int) -> str:
    r = await upload(client, world.headers[who], cid, b"a" * n, filename=f"{n}.txt")
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_the_defaults(runtime: Runtime) -> None:
    assert runtime.settings.upload_rate_per_minute == 30
    assert runtime.settings.attachment_max_unsent_files == 20
    assert runtime.settings.attachment_max_unsent_bytes == 100 * 1024 * 1024


async def test_uploads_have_their_own_rate(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    runtime.settings.upload_rate_per_minute = 3
    for n in range(3):
        await _text(client, world, "customer", cid, 10 + n)
    refused = await upload(client, world.headers["customer"], cid, b"x" * 9, filename="x.txt")
    assert_error(refused, 429, "rate_limited")
    # Another user has a rate of its own.
    await _text(client, world, "agent", cid, 20)
    assert await _count(runtime) == 4


async def test_unsent_uploads_are_capped_in_files(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    runtime.settings.attachment_max_unsent_files = 2
    first = await _text(client, world, "customer", cid, 10)
    await _text(client, world, "customer", cid, 11)
    before = _stored_files(runtime)
    refused = await upload(client, world.headers["customer"], cid, b"b" * 12, filename="b.txt")
    assert_error(refused, 409, "too_many_unsent_uploads")
    assert await _count(runtime) == 2 and _stored_files(runtime) == before
    # The agent's quota is its own.
    await _text(client, world, "agent", cid, 13)
    # Sending one frees its place.
    sent = await client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"body": "here", "attachment_ids": [first]},
        headers=world.headers["customer"],
    )
    assert sent.status_code == 201, sent.text
    await _text(client, world, "customer", cid, 14)


async def test_unsent_uploads_are_capped_in_bytes(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    runtime.settings.attachment_max_unsent_bytes = 3000
    await _text(client, world, "customer", cid, 2000)
    before = _stored_files(runtime)
    refused = await upload(client, world.headers["customer"], cid, b"c" * 1001, filename="c.txt")
    assert_error(refused, 409, "too_many_unsent_uploads")
    assert _stored_files(runtime) == before
    await _text(client, world, "customer", cid, 1000)  # exactly at the cap
    assert await _count(runtime) == 2


async def test_concurrent_uploads_stay_within_the_cap(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    """Eight uploads at once by one user with room for three: three are recorded, the others
    refused, and none of the refused leaves a file behind."""
    runtime.settings.attachment_max_unsent_files = 3
    responses = await asyncio.wait_for(
        asyncio.gather(
            *(
                upload(client, world.headers["customer"], cid, b"d" * (50 + n), filename="d.txt")
                for n in range(8)
            )
        ),
        60,
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 3 + [409] * 5, [r.text for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert_error(r, 409, "too_many_unsent_uploads")
    assert await _count(runtime) == 3
    assert len(_stored_files(runtime)) == 3
