"""What an upload is, from its bytes alone, and the form it is stored in.

The type comes from the first bytes (`filetype`), and for images from Pillow actually decoding
them; the declared Content-Type and the file name are never believed. Only the types in
`ALLOWED` are kept; anything else is refused (415 `unsupported_file_type`), so nothing we
cannot name is ever stored or served. Text with no magic number (UTF-8 without control
characters) is `text/plain`: an HTML or SVG file is text, served as a download, never rendered.

Images are decoded fully (a truncated one fails), refused above a pixel budget before their
pixels are decoded (decompression bombs), and re-encoded from their pixels: EXIF (camera,
GPS), XMP, comments and anything appended after the image data do not survive. A thumbnail is
made at the same time. All of this is CPU-bound: the service runs it in a thread.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from typing import cast

import filetype  # type: ignore[import-untyped]
from PIL import Image, ImageOps

from parlour.core.errors import AppError, BadRequest

# Served inline (rendered by the browser as an image); everything else is a download.
INLINE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
_PIL_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}

DOCUMENTS = {
    "application/pdf",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
# inbox: voice notes and clips (WhatsApp's are Ogg Opus), played in the pages with <audio> and
# <video> and served inline: a media element only plays them, never runs them.
AUDIO = {
    "audio/mpeg",
    "audio/mp4",
    "audio/ogg",
    "audio/aac",
    "audio/wav",
    "audio/flac",
    "audio/amr",
}
VIDEO = {"video/mp4", "video/webm", "video/3gpp"}
MEDIA = AUDIO | VIDEO
TEXT = "text/plain"
ALLOWED = INLINE_IMAGES | DOCUMENTS | MEDIA | {TEXT}
# The registered names for what `filetype` calls by older or private ones.
_STANDARD_NAMES = {
    "image/apng": "image/png",
    "audio/x-wav": "audio/wav",
    "audio/x-flac": "audio/flac",
}

THUMBNAIL_SIZE = (320, 320)
# GIF animation details worth keeping through the re-encode; everything else in `info`
# (exif, xmp, comments, icc profiles, text chunks) is dropped.
_KEEP_INFO = {"duration", "loop", "transparency", "background", "disposal"}
MAX_FILENAME = 120
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"|?*\\/]')


class UnsupportedType(AppError):
    status = 415
    code = "unsupported_file_type"
    message = "This kind of file cannot be attached."


@dataclass(frozen=True, slots=True)
class Prepared:
    """What is stored: the (re-encoded) bytes, their type and, for images, their size and a
    thumbnail."""

    data: bytes
    content_type: str
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None
    thumbnail_content_type: str | None = None


def sniff(data: bytes) -> str:
    """The type of `data` from its bytes, or raise: 400 for an empty file, 415 for a type
    that is not allowed."""
    if not data:
        raise BadRequest("The file is empty.", code="empty_file")
    kind = filetype.guess(data[:8192])
    if kind is not None:
        mime = _STANDARD_NAMES.get(kind.mime, kind.mime)
        mime = _iso_media_brand(data) or mime
        if mime in ALLOWED:
            return mime
        raise UnsupportedType(f"Files of type {mime} cannot be attached.")
    if _is_text(data):
        return TEXT
    raise UnsupportedType()


def _iso_media_brand(data: bytes) -> str | None:
    """An ISO media file's type from its major brand (`ftyp`), where `filetype`, which checks
    the compatible brands first, calls it video/mp4: M4A audio and 3GPP video (phones' clips
    and voice notes) say what they are in the major brand."""
    if len(data) < 12 or data[4:8] != b"ftyp":
        return None
    brand = data[8:12]
    if brand in (b"M4A ", b"M4B "):
        return "audio/mp4"
    if brand[:3] in (b"3gp", b"3g2"):
        return "video/3gpp"
    return None


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(c) == "Cc" and c not in "\t\n\r\f" for c in text)


def prepare(data: bytes, *, max_pixels: int) -> Prepared:
    """Sniff `data` and turn it into what is stored (images verified, cleaned, thumbnailed)."""
    mime = sniff(data)
    if mime in INLINE_IMAGES:
        return _prepare_image(data, mime, max_pixels=max_pixels)
    return Prepared(data=data, content_type=mime)


def _invalid() -> BadRequest:
    return BadRequest("The image is damaged or incomplete.", code="invalid_image")


def _too_big(max_pixels: int) -> BadRequest:
    return BadRequest(f"Images may have at most {max_pixels} pixels.", code="image_too_large")


def _prepare_image(data: bytes, mime: str, *, max_pixels: int) -> Prepared:
    try:
        # Opening reads only the header; Pillow itself refuses far oversized ones here.
        with Image.open(io.BytesIO(data)) as im:
            if _PIL_FORMATS.get(im.format or "") != mime:
                raise _invalid()
            width, height = im.size
            if width <= 0 or height <= 0 or width * height > max_pixels:
                raise _too_big(max_pixels)
            frames = getattr(im, "n_frames", 1)
            # Every frame of an animation is decoded: the budget counts them all.
            if width * height * frames > max_pixels:
                raise _too_big(max_pixels)
            im.load()  # decodes the pixels: a truncated image fails here
            stored, (width, height) = _reencode(im, mime, animated=frames > 1)
            thumbnail, thumb_type = _thumbnail(im)
    except AppError:
        raise
    except Image.DecompressionBombError:
        raise _too_big(max_pixels) from None
    except MemoryError:
        raise _too_big(max_pixels) from None
    except Exception:
        # Pillow answers damaged input with many exception types (OSError, SyntaxError,
        # struct.error, IndexError ...): all of them mean the same to the uploader.
        raise _invalid() from None
    return Prepared(
        data=stored,
        content_type=mime,
        width=width,
        height=height,
        thumbnail=thumbnail,
        thumbnail_content_type=thumb_type,
    )


def _reencode(im: Image.Image, mime: str, *, animated: bool) -> tuple[bytes, tuple[int, int]]:
    """The image saved again from its pixels, and its size as stored (upright)."""
    out = io.BytesIO()
    size = im.size
    im.info = {k: v for k, v in im.info.items() if k in _KEEP_INFO}
    if mime == "image/jpeg":
        # Apply the EXIF orientation to the pixels first: the tag itself does not survive.
        upright = ImageOps.exif_transpose(im)
        upright.info = {}
        upright.save(out, "JPEG", quality=90, exif=b"")
        size = upright.size
    elif mime == "image/png":
        im.save(out, "PNG")
    elif mime == "image/gif":
        im.save(out, "GIF", save_all=animated)
    else:
        im.save(out, "WEBP", save_all=animated, quality=90, exif=b"", xmp=b"")
    return out.getvalue(), size


def _thumbnail(im: Image.Image) -> tuple[bytes, str]:
    im.seek(0)
    thumb = ImageOps.exif_transpose(im).convert("RGBA")
    thumb.thumbnail(THUMBNAIL_SIZE)
    out = io.BytesIO()
    lowest_alpha = cast(tuple[int, int], thumb.getchannel("A").getextrema())[0]
    if lowest_alpha < 255:  # some transparency: PNG keeps it
        thumb.save(out, "PNG")
        return out.getvalue(), "image/png"
    thumb.convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue(), "image/jpeg"


def clean_filename(name: str | None, content_type: str) -> str:
    """A display name: no path parts, no control or reserved characters, bounded length,
    never empty. It is only ever shown and sent in Content-Disposition, never used on disk."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = _UNSAFE_NAME.sub("_", base).strip(" .")
    if len(base) > MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        base = (stem if keep else base)[: MAX_FILENAME - len(keep) - 1].rstrip(" .")
        base = f"{base}.{keep}" if keep else base
    return base or _default_name(content_type)


def _default_name(content_type: str) -> str:
    ext = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
    ext |= {"application/pdf": "pdf", TEXT: "txt", "application/zip": "zip"}
    return f"attachment.{ext.get(content_type, 'bin')}"
