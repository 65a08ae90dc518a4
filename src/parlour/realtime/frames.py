"""Client → server frames of the realtime protocol, validated strictly."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, TypeAdapter, model_validator

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


# video: WebRTC signaling (docs/video-calls.md). The server checks the sender, then relays the
# frame to the call's other party and keeps nothing.
PeerConnectionId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# The hard ceiling (a frame is at most PARLOUR_WS_MAX_FRAME_BYTES); PARLOUR_MAX_SDP_CHARS is the
# configured limit below it.
MAX_SDP_CHARS = 60_000


class _Verbatim(InputModel):
    # SDP lines end in CRLF: relayed exactly as given, never stripped.
    model_config = ConfigDict(str_strip_whitespace=False)


class SessionDescription(_Verbatim):
    type: Literal["offer", "answer"]
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)


class IceCandidate(_Verbatim):
    # "" marks the end of the candidates.
    candidate: str = Field(max_length=2048)
    sdp_mid: str | None = Field(default=None, max_length=64)
    sdp_mline_index: int | None = Field(default=None, ge=0, le=1024)
    username_fragment: str | None = Field(default=None, max_length=256)


class SignalFrame(_Frame):
    """`hello` (a new peer connection looks for the other party; `to` set when answering
    one), `description` (an offer or answer), `candidate`, `hangup`. `pc` names the sender's
    peer connection and `to` the other party's it is meant for, so after a reload neither side
    applies what was meant for a connection that is gone."""

    type: Literal["signal"]
    conversation_id: ConversationId
    signal: Literal["hello", "description", "candidate", "hangup"]
    pc: PeerConnectionId
    to: PeerConnectionId | None = None
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None

    @model_validator(mode="after")
    def _one_payload(self) -> SignalFrame:
        if (self.description is not None) != (self.signal == "description"):
            raise ValueError("description goes with signal 'description', and only there")
        if (self.candidate is not None) != (self.signal == "candidate"):
            raise ValueError("candidate goes with signal 'candidate', and only there")
        return self

    def relayed(self) -> dict[str, object]:
        """What the other party receives of it (the server adds who sent it)."""
        return self.model_dump(
            mode="json", exclude={"type", "ref", "conversation_id"}, exclude_none=True
        )


ClientFrame = Annotated[
    AuthFrame
    | SubscribeFrame
    | UnsubscribeFrame
    | SendFrame
    | TypingFrame
    | ReadFrame
    | PingFrame
    | SignalFrame,
    Field(discriminator="type"),
]
client_frame: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
