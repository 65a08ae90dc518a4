"""The server → client frames that carry domain changes, built once per change."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from parlour.core.events import Event, conversation_channel, staff_channel, user_channel


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), default=str)


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def message_event(message: BaseModel, *, conversation_id: str, seq: int) -> Event:
    """`message`: a committed message, to everyone subscribed to its conversation."""
    payload = encode(
        {"type": "message", "conversation_id": conversation_id, "message": _dump(message)}
    )
    return Event(
        channel=conversation_channel(conversation_id),
        type="message",
        payload=payload,
        conversation_id=conversation_id,
        seq=seq,
    )


def conversation_events(
    conversation: BaseModel, *, conversation_id: str, tenant_id: str, user_ids: list[str]
) -> list[Event]:
    """`conversation`: status or participants changed. Told to its subscribers, to the tenant's
    staff (their queues and inboxes) and to each participant (their conversation lists)."""
    payload = encode({"type": "conversation", "conversation": _dump(conversation)})
    channels = [conversation_channel(conversation_id), staff_channel(tenant_id)]
    channels += [user_channel(u) for u in user_ids]
    return [
        Event(channel=c, type="conversation", payload=payload, conversation_id=conversation_id)
        for c in channels
    ]


def read_event(*, conversation_id: str, user_id: str, seq: int) -> Event:
    """`read`: a participant has read up to `seq` (read receipts)."""
    payload = encode(
        {"type": "read", "conversation_id": conversation_id, "user_id": user_id, "seq": seq}
    )
    return Event(
        channel=conversation_channel(conversation_id),
        type="read",
        payload=payload,
        conversation_id=conversation_id,
    )


def typing_event(*, conversation_id: str, user_id: str, display_name: str, active: bool) -> Event:
    """`typing`: ephemeral, never stored."""
    payload = encode(
        {
            "type": "typing",
            "conversation_id": conversation_id,
            "user_id": user_id,
            "display_name": display_name,
            "active": active,
        }
    )
    return Event(
        channel=conversation_channel(conversation_id),
        type="typing",
        payload=payload,
        conversation_id=conversation_id,
    )
