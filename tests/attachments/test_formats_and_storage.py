"""Image formats round-trip cleaned (GIF animations kept, WebP), the storage backend writes
atomically under random names, and racing sends attach a file once."""

from __future__ import annotations

import asyncio
import io
import random
from pathlib import Path

import httpx
import pytest
from PIL import Image

from parlour.attachments.inspection import prepare
from parlour.attachments.storage import LocalStorage, StorageError
from parlour.core.errors import AppError
from parlour.runtime import Runtime
from tests.api.support import World, make_world
from tests.attachments.support import noisy_jpeg, png, upload
from tests.factories import make_conversation


def _gif(frames: int) -> bytes:
    images = [Image.new("RGB", (20, 20), (i * 40, 255 - i * 40, 0)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(
        out,
        "GIF",
        save_all=True,
        append_images=images[1:],
        duration=100,
        loop=0,
        comment=b"secret comment",
    )
    return out.getvalue()


def test_an_animated_gif_keeps_its_frames_and_loses_its_comment() -> None:
    prepared = prepare(_gif(3), max_pixels=10_000)
    assert prepared.content_type == "image/gif"
    im = Image.open(io.BytesIO(prepared.data))
    assert getattr(im, "n_frames", 1) == 3
    assert b"secret comment" not in prepared.data
    assert prepared.thumbnail is not None


def test_frames_count_against_the_pixel_budget() -> None:
    with pytest.raises(Exception) as refused:
        prepare(_gif(5), max_pixels=20 * 20 * 4)
    assert getattr(refused.value, "code", None) == "image_too_large"


def test_webp_and_transparent_png() -> None:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (1, 2, 3)).save(out, "WEBP")
    webp = prepare(out.getvalue(), max_pixels=10_000)
    assert webp.content_type == "image/webp" and (webp.width, webp.height) == (30, 20)
    clear = prepare(png(alpha=True), max_pixels=10_000)
    assert clear.thumbnail_content_type == "image/png"
    solid = prepare(png(), max_pixels=10_000)
    assert solid.thumbnail_content_type == "image/jpeg"


async def test_local_storage_round_trip(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    key = await storage.put(b"hello" * 50_000)
    assert key != await storage.put(b"hello")
    path = tmp_path / "files" / key
    assert path.stat().st_mode & 0o777 == 0o600
    assert b"".join([c async for c in storage.open(key)]) == b"hello" * 50_000
    assert not [p for p in (tmp_path / "files").rglob("*.tmp")]
    await storage.delete(key)
    await storage.delete(key)  # missing is fine
    with pytest.raises(StorageError):
        [c async for c in storage.open(key)]
    for bad in ("../etc/passwd", "ab/../../x", "/abs", ""):
        with pytest.raises(StorageError):
            [c async for c in storage.open(bad)]


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


async def test_racing_sends_attach_a_file_once(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    cid = (await make_conversation(runtime, world.customer, agent=world.agent)).id
    r = await upload(client, world.headers["customer"], cid, png())
    aid = r.json()["id"]

    async def send(n: int) -> httpx.Response:
        return await client.post(
            f"/api/v1/conversations/{cid}/messages",
            json={"body": f"try {n}", "attachment_ids": [aid], "client_msg_id": f"race-{n}"},
            headers=world.headers["customer"],
        )

    results = await asyncio.gather(*(send(n) for n in range(8)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * 7, statuses
    page = await client.get(f"/api/v1/conversations/{cid}/messages", headers=world.headers["agent"])
    carrying = [m for m in page.json()["messages"] if m["attachments"]]
    assert len(carrying) == 1


def test_damaged_images_are_refused_cleanly() -> None:
    """Random damage to real images: each is stored cleaned or refused with a code, never an
    unexpected exception (which would be a 500)."""
    rng = random.Random(11)
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (1, 2, 3)).save(out, "WEBP")
    samples = [png(), noisy_jpeg(60, 40), _gif(2), out.getvalue()]
    for sample in samples:
        for _ in range(40):
            damaged = bytearray(sample)
            for _ in range(rng.randint(1, 8)):
                damaged[rng.randrange(8, len(damaged))] = rng.randrange(256)
            cut = damaged[: rng.randint(16, len(damaged))]
            try:
                result = prepare(bytes(cut), max_pixels=1_000_000)
            except AppError as refused:
                assert refused.code in {"invalid_image", "image_too_large", "unsupported_file_type"}
            else:
                assert result.data
