"""Message wire schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from parlour.core.schemas import InputModel, OutputModel

CLIENT_MSG_ID = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
# attachments: ids from POST /attachments a message carries (checked by the service).
AttachmentId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
ATTACHMENT_IDS: Any = Field(default_factory=list, max_length=10)


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
    # email: how a staff message sent out through a channel fared: queued, sent or failed
    # (null for messages that go nowhere).
    delivery_status: str | None = None
    created_at: datetime


class MessageCreate(InputModel):
    # The length limit is configurable (PARLOUR_MAX_MESSAGE_CHARS), so it is checked by the service.
    # Empty only when the message carries attachments.
    body: str = ""
    kind: Literal["text"] = "text"
    client_msg_id: str | None = CLIENT_MSG_ID
    attachment_ids: list[AttachmentId] = ATTACHMENT_IDS


class MessagePage(OutputModel):
    messages: list[MessageRead]
    has_more: bool
