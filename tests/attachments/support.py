"""Files for the upload tests, made on the spot."""

from __future__ import annotations

import io
import random
import struct
import zlib
from typing import Any

import httpx
from PIL import Image

URL = "/api/v1/attachments"


def png(width: int = 40, height: int = 30, *, alpha: bool = False) -> bytes:
    im = Image.new("RGBA" if alpha else "RGB", (width, height), (200, 30, 30, 128))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def noisy_jpeg(width: int = 200, height: int = 150, *, exif: dict[int, Any] | None = None) -> bytes:
    """A JPEG whose scan data is noise (a truncation cuts real pixels)."""
    rng = random.Random(7)
    im = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    out = io.BytesIO()
    if exif:
        tags = Image.Exif()
        for tag, value in exif.items():
            tags[tag] = value
        im.save(out, "JPEG", exif=tags.tobytes())
    else:
        im.save(out, "JPEG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions with almost no data: a decompression bomb's shape."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    conversation_id: str,
    data: bytes,
    *,
    filename: str = "file.bin",
    declared: str = "application/octet-stream",
) -> httpx.Response:
    return await client.post(
        URL,
        files={"file": (filename, data, declared)},
        data={"conversation_id": conversation_id},
        headers=headers,
    )
