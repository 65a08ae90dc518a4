"""Call wire schemas."""

from __future__ import annotations

from typing import Literal

from parlour.core.ice import IceServer
from parlour.core.schemas import OutputModel


class CallPeer(OutputModel):
    user_id: str
    display_name: str


class CallRead(OutputModel):
    """What a call page needs to start: the caller's side, the other party (None while no agent
    takes part) and the STUN/TURN servers (with TURN credentials: parties only)."""

    conversation_id: str
    role: Literal["customer", "agent"]
    # Perfect negotiation: the polite side (the customer) yields when both offer at once.
    polite: bool
    peer: CallPeer | None
    ice_servers: list[IceServer]
