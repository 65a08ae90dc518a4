"""Files for the upload tests, made on the spot."""

from __future__ import annotations

import io
import math
import random
import struct
import wave
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


# inbox: small real media files for the audio and video messages.
def wav(seconds: float = 0.5, *, rate: int = 8000) -> bytes:
    """A mono 16-bit PCM WAV of a 440 Hz tone, written by the standard `wave` module."""
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(seconds * rate))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return out.getvalue()


def iso_media(major_brand: bytes, compatible: tuple[bytes, ...] = (b"isom",)) -> bytes:
    """The start of an ISO media file (MP4, M4A, 3GP): its `ftyp` box and an empty `mdat`."""
    body = major_brand + struct.pack(">I", 0) + b"".join(compatible)
    ftyp = struct.pack(">I", 8 + len(body)) + b"ftyp" + body
    return ftyp + struct.pack(">I", 16) + b"mdat" + bytes(8)


def ogg_page() -> bytes:
    """An Ogg page header carrying an Opus head (how a WhatsApp voice note begins)."""
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 48000, 0, 0)
    return (
        b"OggS"
        + bytes([0, 2])
        + bytes(8)
        + bytes(4)
        + bytes(4)
        + bytes(4)
        + bytes([1, len(head)])
        + head
    )


def webm_header() -> bytes:
    """An EBML header whose DocType is webm."""
    doctype = b"\x42\x82" + bytes([0x84]) + b"webm"
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(doctype)]) + doctype + bytes(32)
