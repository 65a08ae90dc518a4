"""REST for attachments: upload (multipart, streamed under a size limit) and serving.

The upload is parsed here from the raw body stream, not by FastAPI's form handling, so the
size limit holds while the bytes arrive: a body that grows past the limit is cut off at once,
and a file one byte over it is refused with 413 `attachment_too_large` before anything is
stored. Then, in order: may the caller post here (a read transaction), what the bytes are and
the stored form (Pillow, in a thread, outside any transaction), the files written (atomic),
and the row recorded in a short write transaction (the files are deleted if that fails).

Serving follows docs/attachments.md: only to the conversation's readers, with `nosniff`, a
sandboxing CSP, and `Content-Disposition: attachment` for anything but the safe image types.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from parlour.attachments import service
from parlour.attachments.inspection import (
    INLINE_IMAGES,
    MEDIA,
    TEXT,
    Prepared,
    clean_filename,
    prepare,
)
from parlour.attachments.ranges import ByteRange, Unsatisfiable, requested_range  # inbox
from parlour.attachments.schemas import AttachmentRead
from parlour.attachments.storage import Storage, StorageError, storage_for  # twilio: shared
from parlour.config import Settings
from parlour.core.errors import BadRequest, NotFound, PayloadTooLarge, conversation_not_found
from parlour.core.http import error_response, error_responses
from parlour.core.schemas import ErrorResponse
from parlour.deps import PrincipalDep, RuntimeDep

log = logging.getLogger(__name__)
router = APIRouter(prefix="/attachments", tags=["attachments"])

# Room for the multipart framing and the small fields around the file.
MULTIPART_OVERHEAD = 16 * 1024
# Decoding an image takes up to 4 bytes per pixel (160 MB at the 40-megapixel default) and a
# core: a small pool of its own bounds both however many uploads arrive at once.
_IMAGE_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="attachments")
_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
AttachmentIdPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "conversation_id"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "conversation_id": {"type": "string", "maxLength": 64},
                    },
                }
            }
        },
    }
}

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, max-age=3600",
    "Cross-Origin-Resource-Policy": "same-site",
}


def upload_limit(settings: Settings) -> int:
    """The most bytes an upload request may carry in all (the app's body limit for this path)."""
    return settings.attachment_max_bytes + MULTIPART_OVERHEAD


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Attachments are limited to {max_bytes} bytes.", code="attachment_too_large"
    )


class _Cut(Exception):
    pass


async def _counted(stream: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    total = 0
    async for chunk in stream:
        total += len(chunk)
        if total > limit:
            raise _Cut
        yield chunk


async def _read_upload(request: Request, settings: Settings) -> tuple[str, str | None, bytes]:
    """(conversation_id, the file's declared name, its bytes) from the multipart body."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise BadRequest("Send the file as multipart/form-data.", code="invalid_multipart")
    max_bytes = settings.attachment_max_bytes
    parser = MultiPartParser(
        request.headers,
        _counted(request.stream(), upload_limit(settings)),
        max_files=1,
        max_fields=4,
        max_part_size=1024,
    )
    try:
        form = await parser.parse()
    except _Cut:
        raise _too_large(max_bytes) from None
    except MultiPartException as exc:
        raise BadRequest(
            f"The upload is not valid multipart: {exc}", code="invalid_multipart"
        ) from None
    try:
        upload = form.get("file")
        conversation_id = form.get("conversation_id")
        if not isinstance(upload, UploadFile):
            raise BadRequest("The upload needs a file in the field `file`.", code="file_required")
        if not isinstance(conversation_id, str) or not conversation_id:
            raise BadRequest("The upload needs a `conversation_id`.", code="conversation_required")
        if not _ID.match(conversation_id):
            # Never a query with it (a NUL would fail PostgreSQL): it names nothing.
            raise conversation_not_found()
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise _too_large(max_bytes)
        return conversation_id, upload.filename, data
    finally:
        await form.close()


UPLOAD_RESPONSES = error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429)


@router.post(
    "",
    response_model=AttachmentRead,
    status_code=status.HTTP_201_CREATED,
    responses=UPLOAD_RESPONSES,
    openapi_extra=UPLOAD_BODY,
)
async def upload_attachment(
    request: Request, principal: PrincipalDep, runtime: RuntimeDep
) -> AttachmentRead:
    """Upload a file into a conversation you may post in (multipart: `file` and
    `conversation_id`), then send a message with its id in `attachment_ids`. The type is
    sniffed from the bytes; images are verified, re-encoded without EXIF and thumbnailed."""
    settings = runtime.settings
    await runtime.limiter.hit(
        f"upload:{principal.user_id or principal.api_key_id}",
        limit=settings.upload_rate_per_minute,
    )
    quota = service.UnsentQuota(
        files=settings.attachment_max_unsent_files, bytes=settings.attachment_max_unsent_bytes
    )
    conversation_id, declared_name, data = await _read_upload(request, settings)
    async with runtime.uow(write=False) as tx:
        await service.check_may_upload(tx, principal, conversation_id)
        # Before anything is stored (the record checks again under a lock).
        await service.check_unsent_quota(tx, principal, len(data), quota)
    prepared: Prepared = await asyncio.get_running_loop().run_in_executor(
        _IMAGE_POOL, partial(prepare, data, max_pixels=settings.attachment_max_image_pixels)
    )
    filename = clean_filename(declared_name, prepared.content_type)
    storage = storage_for(settings)
    key = await storage.put(prepared.data)
    thumbnail_key = None
    try:
        if prepared.thumbnail is not None:
            thumbnail_key = await storage.put(prepared.thumbnail)
        async with runtime.uow() as tx:
            return await service.do_record_upload(
                tx,
                principal,
                conversation_id,
                filename=filename,
                prepared=prepared,
                storage_key=key,
                thumbnail_key=thumbnail_key,
                quota=quota,
            )
    except BaseException:
        # Not recorded: nothing of it stays on disk.
        for stored in (key, thumbnail_key):
            if stored:
                with contextlib.suppress(StorageError, OSError):
                    await storage.delete(stored)
        raise


def _disposition(kind: str, filename: str) -> str:
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename
    )
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def _serve(
    storage: Storage,
    key: str,
    content_type: str,
    *,
    inline: bool,
    filename: str,
    part: ByteRange | None = None,
) -> StreamingResponse:
    if part is None:
        chunks = storage.open(key)
    else:  # inbox: one byte range of it (206)
        chunks = storage.open(key, start=part.start, length=part.length)
    try:
        first = await anext(chunks, b"")
    except StorageError:
        # The row outlived its file (storage lost or moved): logged, and a plain 404 outside.
        log.error("attachment file %s is missing from storage", key)
        raise NotFound("The file is missing from storage.", code="attachment_missing") from None

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    served_type = f"{TEXT}; charset=utf-8" if content_type == TEXT else content_type
    headers = dict(SECURITY_HEADERS)
    headers["Content-Disposition"] = _disposition("inline" if inline else "attachment", filename)
    if part is None:
        return StreamingResponse(body(), media_type=served_type, headers=headers)
    headers["Content-Range"] = part.content_range
    headers["Content-Length"] = str(part.length)
    return StreamingResponse(body(), status_code=206, media_type=served_type, headers=headers)


FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "The file."},
    **error_responses(401, 404, 422),
}
# inbox: a part of the file (Range), or a range outside it.
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    **FILE_RESPONSES,
    206: {"content": {"application/octet-stream": {}}, "description": "The requested range."},
    416: {
        "model": ErrorResponse,
        "description": "The range lies outside the file (`Content-Range: bytes */size`).",
    },
}


@router.get("/{attachment_id}", response_class=StreamingResponse, responses=DOWNLOAD_RESPONSES)
async def download_attachment(
    attachment_id: AttachmentIdPath, request: Request, principal: PrincipalDep, runtime: RuntimeDep
) -> Response:
    """The file, to the conversation's readers (before it is sent: only its uploader). Safe
    image types, audio and video are served inline (a media element plays them); everything
    else as a download. A single `Range: bytes=…` is answered with 206 (media seeking)."""
    async with runtime.uow(write=False) as tx:
        a = await service.get_readable(tx, principal, attachment_id)
    try:
        part = requested_range(
            request.headers.get("range"), size=a.size, if_range=request.headers.get("if-range")
        )
    except Unsatisfiable:
        return error_response(
            416,
            "range_not_satisfiable",
            f"The range lies outside the file ({a.size} bytes).",
            {"Content-Range": f"bytes */{a.size}", "X-Content-Type-Options": "nosniff"},
        )
    response = await _serve(
        storage_for(runtime.settings),
        a.storage_key,
        a.content_type,
        inline=a.content_type in INLINE_IMAGES or a.content_type in MEDIA,
        filename=a.filename,
        part=part,
    )
    response.headers["Accept-Ranges"] = "bytes"
    return response


@router.get(
    "/{attachment_id}/thumbnail", response_class=StreamingResponse, responses=FILE_RESPONSES
)
async def attachment_thumbnail(
    attachment_id: AttachmentIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> StreamingResponse:
    """A small preview of an image attachment (404 for other files)."""
    async with runtime.uow(write=False) as tx:
        a = await service.get_readable(tx, principal, attachment_id)
    if not a.thumbnail_key or not a.thumbnail_content_type:
        raise service.attachment_not_found()
    return await _serve(
        storage_for(runtime.settings),
        a.thumbnail_key,
        a.thumbnail_content_type,
        inline=True,
        filename=f"thumbnail-{a.filename}",
    )
