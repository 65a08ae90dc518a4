"""The server → client frames that carry domain changes, built once per change."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from parlour.core.events import QUEUE_EVENT, Audience, Event


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
        audience=Audience.conversation(conversation_id),
        type="message",
        payload=payload,
        conversation_id=conversation_id,
        seq=seq,
    )


def conversation_events(
    conversation: BaseModel, *, conversation_id: str, tenant_id: str, user_ids: list[str]
) -> list[Event]:
    """`conversation`: status or participants changed, with the full view (subject, last
    message). Told only to those who may read it: its subscribers, each participant (their
    conversation lists) and the tenant's admins. Never to the staff feed (see `queue_event`)."""
    payload = encode({"type": "conversation", "conversation": _dump(conversation)})
    audiences = [Audience.conversation(conversation_id), Audience.tenant_admins(tenant_id)]
    audiences += [Audience.user(u) for u in dict.fromkeys(user_ids)]
    return [
        Event(audience=a, type="conversation", payload=payload, conversation_id=conversation_id)
        for a in audiences
    ]


def queue_event(entry: BaseModel, *, tenant_id: str, queued: bool) -> Event:
    """`queue`: a conversation entered (`queued`) or left (`dequeued`) the waiting queue, as a
    redacted entry (no subject, no message text) fit for every staff member of the tenant."""
    payload = encode(
        {"type": "queue", "action": "queued" if queued else "dequeued", "entry": _dump(entry)}
    )
    conversation_id = str(getattr(entry, "id", "")) or None
    return Event(
        audience=Audience.staff_queue(tenant_id),
        type=QUEUE_EVENT,
        payload=payload,
        conversation_id=conversation_id,
    )


def read_event(*, conversation_id: str, user_id: str, seq: int, private: bool = False) -> Event:
    """`read`: a participant has read up to `seq` (read receipts). A `private` read (an agent
    in a tenant with private read receipts) goes only to the reader's own connections."""
    payload = encode(
        {"type": "read", "conversation_id": conversation_id, "user_id": user_id, "seq": seq}
    )
    audience = Audience.user(user_id) if private else Audience.conversation(conversation_id)
    return Event(
        audience=audience,
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
        audience=Audience.conversation(conversation_id),
        type="typing",
        payload=payload,
        conversation_id=conversation_id,
    )


# inbox: unread counts kept live in the inbox pages.
def unread_event(
    *, user_id: str, conversation_id: str, channel: str, last_seq: int, read_seq: int
) -> Event:
    """`unread`: how far `user_id` has read a conversation they take part in, and its last
    seq, told to that user's own connections only (their inbox counts). Both numbers only
    grow, so a client that keeps the highest of each converges whatever the order of arrival;
    `unread_count` is their difference when the event was made."""
    payload = encode(
        {
            "type": "unread",
            "conversation_id": conversation_id,
            "channel": channel,
            "last_seq": last_seq,
            "read_seq": read_seq,
            "unread_count": max(0, last_seq - read_seq),
        }
    )
    return Event(
        audience=Audience.user(user_id),
        type="unread",
        payload=payload,
        conversation_id=conversation_id,
    )
