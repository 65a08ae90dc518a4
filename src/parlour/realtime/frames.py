"""Client → server frames of the realtime protocol, validated strictly."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from parlour.core.schemas import InputModel
from parlour.messages.schemas import ATTACHMENT_IDS, CLIENT_MSG_ID, AttachmentId

Ref = Annotated[str | None, Field(default=None, max_length=64)]
ConversationId = Annotated[str, Field(min_length=1, max_length=64)]


class _Frame(InputModel):
    """Frames follow the REST input rules: unknown fields, wrong types and NUL are refused."""

    # Echoed in the `error` frame this frame causes, so the client can match them.
    ref: Ref = None


class AuthFrame(_Frame):
    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=4096)


class SubscribeFrame(_Frame):
    type: Literal["subscribe"]
    conversation_id: ConversationId
    # Resume after this seq; omitted means "from now on".
    after_seq: int | None = Field(default=None, ge=0)


class UnsubscribeFrame(_Frame):
    type: Literal["unsubscribe"]
    conversation_id: ConversationId


class SendFrame(_Frame):
    type: Literal["send"]
    conversation_id: ConversationId
    client_msg_id: str | None = CLIENT_MSG_ID
    kind: Literal["text"] = "text"
    body: str = ""
    attachment_ids: list[AttachmentId] = ATTACHMENT_IDS


class TypingFrame(_Frame):
    type: Literal["typing"]
    conversation_id: ConversationId
    active: bool = True


class ReadFrame(_Frame):
    type: Literal["read"]
    conversation_id: ConversationId
    seq: int = Field(ge=0)


class PingFrame(_Frame):
    type: Literal["ping"]


ClientFrame = Annotated[
    AuthFrame | SubscribeFrame | UnsubscribeFrame | SendFrame | TypingFrame | ReadFrame | PingFrame,
    Field(discriminator="type"),
]
client_frame: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
