"""Audio and video messages: their types come from the bytes (never the name), they are served
inline with their own Content-Type and `nosniff`, and the download answers Range requests (a
media element seeks with them)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from parlour.attachments.inspection import sniff
from parlour.attachments.ranges import ByteRange, Unsatisfiable, requested_range
from parlour.attachments.storage import LocalStorage
from parlour.core.errors import AppError
from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_world
from tests.attachments.support import iso_media, ogg_page, upload, wav, webm_header
from tests.factories import make_conversation


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


@pytest.fixture
async def cid(runtime: Runtime, world: World) -> str:
    return (await make_conversation(runtime, world.customer, agent=world.agent)).id


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (wav(), "audio/wav"),
        (ogg_page(), "audio/ogg"),  # a WhatsApp voice note (Opus in Ogg)
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(64), "audio/mpeg"),
        (iso_media(b"M4A ", (b"M4A ", b"mp42", b"isom")), "audio/mp4"),
        (b"#!AMR\n" + bytes(32), "audio/amr"),
        (iso_media(b"isom", (b"isom", b"mp41")), "video/mp4"),
        (iso_media(b"3gp4", (b"isom", b"3gp4")), "video/3gpp"),
        (webm_header(), "video/webm"),
    ],
)
def test_media_types_come_from_the_bytes(data: bytes, expected: str) -> None:
    assert sniff(data) == expected


def test_other_video_containers_are_refused() -> None:
    """Matroska (the same EBML header as WebM with another DocType) is not one we serve."""
    with pytest.raises(AppError) as refused:
        sniff(b"\x1a\x45\xdf\xa3\x8b\x42\x82\x88matroska" + bytes(32))
    assert refused.value.status == 415


async def test_a_voice_note_is_served_inline_with_ranges(
    client: httpx.AsyncClient, world: World, cid: str
) -> None:
    data = wav(1.0)
    made = await upload(
        client,
        world.headers["customer"],
        cid,
        data,
        filename="voice.mp4",  # the name and the declared type are not believed
        declared="video/mp4",
    )
    assert made.status_code == 201, made.text
    attachment = made.json()
    assert attachment["content_type"] == "audio/wav"
    assert attachment["size"] == len(data)
    url = attachment["url"]
    agent = world.headers["agent"]

    # The uploader reads it before it is sent; the agent only once a message carries it.
    sent = await client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"body": "", "attachment_ids": [attachment["id"]]},
        headers=world.headers["customer"],
    )
    assert sent.status_code == 201, sent.text

    whole = await client.get(url, headers=agent)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["content-type"] == "audio/wav"
    assert whole.headers["x-content-type-options"] == "nosniff"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-disposition"].startswith("inline;")
    assert "sandbox" in whole.headers["content-security-policy"]

    first = await client.get(url, headers={**agent, "Range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.content == data[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{len(data)}"
    assert first.headers["content-length"] == "100"
    assert first.headers["content-type"] == "audio/wav"
    assert first.headers["x-content-type-options"] == "nosniff"

    rest = await client.get(url, headers={**agent, "Range": "bytes=1000-"})
    assert rest.status_code == 206 and rest.content == data[1000:]
    tail = await client.get(url, headers={**agent, "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    beyond_end = await client.get(url, headers={**agent, "Range": f"bytes=100-{len(data) * 2}"})
    assert beyond_end.status_code == 206 and beyond_end.content == data[100:]

    outside = await client.get(url, headers={**agent, "Range": f"bytes={len(data)}-"})
    assert_error(outside, 416, "range_not_satisfiable")
    assert outside.headers["content-range"] == f"bytes */{len(data)}"
    # Several ranges, a malformed one, or one under If-Range: the whole file.
    for headers in (
        {"Range": "bytes=0-1,5-9"},
        {"Range": "bytes=9-2"},
        {"Range": "items=0-5"},
        {"Range": "bytes=0-5", "If-Range": '"some-etag"'},
    ):
        full = await client.get(url, headers={**agent, **headers})
        assert full.status_code == 200 and full.content == data, headers

    # A range asks for no more access than the whole file.
    for who in ("other_customer", "other_agent", "foreign_admin"):
        response = await client.get(url, headers={**world.headers[who], "Range": "bytes=0-9"})
        assert response.status_code == 404, who


def test_range_parsing() -> None:
    assert requested_range(None, size=10, if_range=None) is None
    assert requested_range("bytes=2-4", size=10, if_range=None) == ByteRange(2, 4, 10)
    assert requested_range("bytes=-3", size=10, if_range=None) == ByteRange(7, 9, 10)
    assert requested_range("bytes=-30", size=10, if_range=None) == ByteRange(0, 9, 10)
    assert requested_range("bytes=-", size=10, if_range=None) is None
    assert requested_range("bytes=99999999999999999999-", size=10, if_range=None) is None
    with pytest.raises(Unsatisfiable):
        requested_range("bytes=10-", size=10, if_range=None)
    with pytest.raises(Unsatisfiable):
        requested_range("bytes=-0", size=10, if_range=None)


async def test_local_storage_reads_a_range(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    data = bytes(range(256)) * 600  # more than one read chunk
    key = await storage.put(data)

    async def read(**part: int) -> bytes:
        return b"".join([chunk async for chunk in storage.open(key, **part)])

    assert await read() == data
    assert await read(start=70_000, length=5) == data[70_000:70_005]
    assert await read(start=100) == data[100:]
    assert await read(start=len(data) - 3, length=100) == data[-3:]
