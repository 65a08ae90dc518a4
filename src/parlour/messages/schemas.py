"""Message wire schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from parlour.core.schemas import InputModel, OutputModel

CLIENT_MSG_ID = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")


class MessageRead(OutputModel):
    id: str
    conversation_id: str
    seq: int
    kind: str
    body: str
    sender_id: str | None
    client_msg_id: str | None
    # Where it came from: `web` (the API and the WebSocket) or a channel such as `sms`.
    channel: str = "web"
    meta: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime


class MessageCreate(InputModel):
    # The length limit is configurable (PARLOUR_MAX_MESSAGE_CHARS), so it is checked by the service.
    body: str = Field(min_length=1)
    kind: Literal["text"] = "text"
    client_msg_id: str | None = CLIENT_MSG_ID


class MessagePage(OutputModel):
    messages: list[MessageRead]
    has_more: bool
