"""The waiting queue as staff who may not read a conversation see it.

A conversation *enters* the queue when it is created waiting and *leaves* it when it becomes
active or ends. Staff who are not its participants learn only that, through a redacted
`QueueEntry` (no subject, no last message, no message text) on the tenant's staff feed and in
`GET /conversations?scope=queue`.

To tell a queue change from any other change, each loaded conversation remembers whether it
was waiting when it was read from the database (or last announced): the services change
`status` in place and announce afterwards, so the difference is the queue change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from parlour.conversations.schemas import ConversationRead, QueueEntry
from parlour.models.conversation import Conversation, Status

_MARK = "_parlour_was_queued"


def _remember(target: Conversation, *_: Any) -> None:
    setattr(target, _MARK, target.__dict__.get("status") == Status.waiting)


# Loaded, or reloaded under a lock (populate_existing): the database's state is the "before".
event.listen(Conversation, "load", _remember)
event.listen(Conversation, "refresh", _remember)


def was_queued(conversation: Conversation) -> bool:
    """Whether the conversation was in the queue as last loaded or announced (new: not yet)."""
    return bool(getattr(conversation, _MARK, False))


def mark_announced(conversation: Conversation) -> None:
    setattr(conversation, _MARK, conversation.status == Status.waiting)


def queue_entry(view: ConversationRead) -> QueueEntry:
    customer = next((p for p in view.participants if p.user_id == view.customer_id), None)
    return QueueEntry(
        id=view.id,
        kind=view.kind,
        channel=view.channel,
        status=view.status,
        created_at=view.created_at,
        customer_display_name=customer.display_name if customer else "Customer",
    )
