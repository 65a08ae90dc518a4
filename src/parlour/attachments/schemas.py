"""Attachment wire schemas."""

from __future__ import annotations

from datetime import datetime

from parlour.core.schemas import OutputModel

MAX_PER_MESSAGE = 10


class AttachmentRead(OutputModel):
    """An uploaded file as the API and messages describe it. `url` serves the file (to the
    conversation's readers); `thumbnail_url` a small preview of an image."""

    id: str
    conversation_id: str
    filename: str
    content_type: str
    size: int
    width: int | None = None
    height: int | None = None
    url: str
    thumbnail_url: str | None = None
    created_at: datetime


def url_for(attachment_id: str) -> str:
    return f"/api/v1/attachments/{attachment_id}"


def thumbnail_url_for(attachment_id: str) -> str:
    return f"/api/v1/attachments/{attachment_id}/thumbnail"
