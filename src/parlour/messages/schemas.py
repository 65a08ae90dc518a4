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
    # twilio: an outbound channel message's delivery (queued, sent, delivered, read, failed,
    # undelivered; docs/channels.md); None for the rest.
    delivery_status: str | None = None
    meta: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime
    # ai: the AI status of a customer's message (pending, processed, failed, skipped), shown to
    # staff in history reads only (docs/ai.md); null otherwise and in live frames. Named unlike
    # the column so that no view built from a row fills it by accident.
    analysis_status: str | None = None


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
