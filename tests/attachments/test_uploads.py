"""Uploads: the type comes from the bytes, images are verified and cleaned, limits hold, and
nothing executable is ever served inline."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from parlour.attachments.inspection import clean_filename
from parlour.models.attachment import Attachment
from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_world
from tests.attachments.support import URL, noisy_jpeg, png, png_header_only, upload
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


async def test_a_png_named_exe_is_stored_as_png_with_a_thumbnail(
    client: httpx.AsyncClient, world: World, cid: str
) -> None:
    r = await upload(
        client,
        world.headers["customer"],
        cid,
        png(),
        filename="setup.exe",
        declared="application/x-msdownload",
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["content_type"] == "image/png"
    assert body["filename"] == "setup.exe"
    assert (body["width"], body["height"]) == (40, 30)
    assert body["url"] == f"{URL}/{body['id']}"
    assert body["thumbnail_url"] == f"{URL}/{body['id']}/thumbnail"
    served = await client.get(body["url"], headers=world.headers["customer"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["content-disposition"].startswith("inline")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert Image.open(io.BytesIO(served.content)).size == (40, 30)
    thumb = await client.get(body["thumbnail_url"], headers=world.headers["customer"])
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] in ("image/png", "image/jpeg")
    assert thumb.headers["x-content-type-options"] == "nosniff"


async def test_html_declared_as_png_is_a_plain_text_download(
    client: httpx.AsyncClient, world: World, cid: str
) -> None:
    html = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
    r = await upload(
        client, world.headers["customer"], cid, html, filename="cat.png", declared="image/png"
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["content_type"] == "text/plain"
    assert body["thumbnail_url"] is None and body["width"] is None
    served = await client.get(body["url"], headers=world.headers["customer"])
    assert served.headers["content-type"] == "text/plain; charset=utf-8"
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]
    assert served.content == html
    assert (
        await client.get(f"{body['url']}/thumbnail", headers=world.headers["customer"])
    ).status_code == 404


async def test_an_svg_with_script_is_never_an_image(
    client: httpx.AsyncClient, world: World, cid: str
) -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(1)</script><rect width='10' height='10'/></svg>"
    )
    r = await upload(
        client, world.headers["customer"], cid, svg, filename="logo.svg", declared="image/svg+xml"
    )
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "text/plain"
    served = await client.get(r.json()["url"], headers=world.headers["customer"])
    assert not served.headers["content-type"].startswith("image/")
    assert served.headers["content-disposition"].startswith("attachment;")


async def test_a_truncated_jpeg_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    whole = noisy_jpeg()
    r = await upload(client, world.headers["customer"], cid, whole[: len(whole) // 2])
    assert_error(r, 400, "invalid_image")
    assert await _count(runtime) == 0 and _stored_files(runtime) == []


async def test_a_png_header_on_other_bytes_is_refused(
    client: httpx.AsyncClient, world: World, cid: str
) -> None:
    fake = b"\x89PNG\r\n\x1a\n" + b"<html><script>alert(1)</script></html>" * 10
    assert_error(await upload(client, world.headers["customer"], cid, fake), 400, "invalid_image")


async def test_one_byte_over_the_limit_is_413_and_stores_nothing(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    runtime.settings.attachment_max_bytes = 2000
    exact = await upload(client, world.headers["customer"], cid, b"a" * 2000, filename="a.txt")
    assert exact.status_code == 201, exact.text
    assert exact.json()["size"] == 2000
    before = _stored_files(runtime)
    over = await upload(client, world.headers["customer"], cid, b"a" * 2001, filename="b.txt")
    assert_error(over, 413, "attachment_too_large")
    # Far over: the stream is cut off while it arrives.
    far = await upload(client, world.headers["customer"], cid, b"a" * 200_000, filename="c.txt")
    assert_error(far, 413, "attachment_too_large")
    assert await _count(runtime) == 1 and _stored_files(runtime) == before


async def test_the_default_limit_is_ten_mebibytes(runtime: Runtime) -> None:
    assert runtime.settings.attachment_max_bytes == 10 * 1024 * 1024


@pytest.mark.parametrize("size", [(100_000, 100_000), (8000, 8000)])
async def test_an_image_of_huge_dimensions_is_refused_as_a_bomb(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str, size: tuple[int, int]
) -> None:
    r = await upload(client, world.headers["customer"], cid, png_header_only(*size))
    assert_error(r, 400, "image_too_large")
    assert await _count(runtime) == 0 and _stored_files(runtime) == []


async def test_exif_is_removed_and_orientation_applied(
    client: httpx.AsyncClient, world: World, cid: str
) -> None:
    original = noisy_jpeg(exif={0x010F: "SpyCam", 0x0110: "Model X", 0x0112: 6})
    assert Image.open(io.BytesIO(original)).getexif()  # the test file does carry EXIF
    r = await upload(client, world.headers["customer"], cid, original, filename="me.jpg")
    assert r.status_code == 201, r.text
    # Orientation 6 (rotate 90°) was applied to the pixels: width and height swap.
    assert (r.json()["width"], r.json()["height"]) == (150, 200)
    served = await client.get(r.json()["url"], headers=world.headers["customer"])
    assert served.headers["content-type"] == "image/jpeg"
    cleaned = Image.open(io.BytesIO(served.content))
    assert not cleaned.getexif()
    assert "exif" not in cleaned.info
    assert cleaned.size == (150, 200)
    assert b"SpyCam" not in served.content


async def test_unknown_binary_is_refused_with_415(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
    assert_error(
        await upload(client, world.headers["customer"], cid, elf), 415, "unsupported_file_type"
    )
    noise = bytes(range(256)) * 4
    assert_error(
        await upload(client, world.headers["customer"], cid, noise), 415, "unsupported_file_type"
    )
    assert_error(await upload(client, world.headers["customer"], cid, b""), 400, "empty_file")
    assert await _count(runtime) == 0


async def test_a_pdf_is_a_download(client: httpx.AsyncClient, world: World, cid: str) -> None:
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = await upload(client, world.headers["customer"], cid, pdf, filename="../../etc/bill.pdf")
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "application/pdf"
    assert r.json()["filename"] == "bill.pdf"
    served = await client.get(r.json()["url"], headers=world.headers["customer"])
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith('attachment; filename="bill.pdf"')


@pytest.mark.parametrize(
    "body,content_type",
    [
        (b"garbage", "multipart/form-data; boundary=xyz"),
        (
            b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
            "multipart/form-data; boundary=xyz",
        ),
        (b"--xyz--\r\n", "multipart/form-data; boundary=xyz"),
        (b"--xyz--\r\n", "multipart/form-data"),
        (b"{}", "application/json"),
        (b"", "multipart/form-data; boundary="),
    ],
)
async def test_garbage_multipart_is_a_400_never_a_500(
    client: httpx.AsyncClient, world: World, body: bytes, content_type: str
) -> None:
    headers = {**world.headers["customer"], "Content-Type": content_type}
    r = await client.post(URL, content=body, headers=headers)
    assert r.status_code in (400, 413), r.text
    assert "error" in r.json()


async def test_missing_fields_are_400(client: httpx.AsyncClient, world: World, cid: str) -> None:
    no_file = await client.post(
        URL,
        data={"conversation_id": cid},
        files={"other": ("a", b"a")},
        headers=world.headers["customer"],
    )
    assert_error(no_file, 400, "file_required")
    no_conv = await client.post(
        URL, files={"file": ("a.txt", b"hello")}, headers=world.headers["customer"]
    )
    assert_error(no_conv, 400, "conversation_required")
    for odd in ("a\x00b", "x" * 65, "../x", "é"):
        r = await client.post(
            URL,
            data={"conversation_id": odd},
            files={"file": ("a.txt", b"hello")},
            headers=world.headers["customer"],
        )
        assert_error(r, 404, "conversation_not_found")


def test_filenames_are_cleaned() -> None:
    assert clean_filename("..\\..\\windows\\evil.exe", "image/png") == "evil.exe"
    assert clean_filename("a\x00b\nc.txt", "text/plain") == "a_b_c.txt"
    assert clean_filename("", "image/png") == "attachment.png"
    assert clean_filename("...", "application/pdf") == "attachment.pdf"
    long = clean_filename("x" * 500 + ".pdf", "application/pdf")
    assert long.endswith(".pdf") and len(long) <= 120
