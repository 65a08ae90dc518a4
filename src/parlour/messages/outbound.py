"""Messages that leave through a channel (WhatsApp, SMS ...), and what happens to them after.

- **Routing out.** A staff member's own send (an agent, a bot posting as itself) in a
  conversation whose channel is not `web` is stored with that channel, `delivery_status`
  `queued`, and a job of the channel's kind (`OUTBOUND_JOB_KINDS`) in the same transaction: the
  provider is called after commit, never inside the request. System-actor sends that name a
  channel (an inbound message, a template reply) are the caller's to deliver.
- **WhatsApp's customer-service window.** A free-form reply may only be sent within 24 hours
  of the customer's last message in the conversation; outside it the send is refused with
  409 `whatsapp_window_closed` (templates, sent through the channels service, are the way).
- **Delivery statuses** only move forward (`STATUS_RANK`): a provider's callbacks arrive out
  of order, and a late `sent` must not hide a `delivered`. Each change is a `delivery` event
  to the conversation's subscribers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from parlour.core.errors import Conflict, NotFound
from parlour.core.events import Audience, Event
from parlour.core.uow import UnitOfWork
from parlour.models.conversation import Conversation
from parlour.models.message import Message
from parlour.realtime.envelopes import encode

# The job that delivers a message of each outbound channel (parlour.channels for Twilio,
# parlour.mail for email; each registers the handler of its kind).
OUTBOUND_JOB_KINDS: dict[str, str] = {
    "whatsapp": "twilio.send",
    "sms": "twilio.send",
    "email": "email.reply",
}
WHATSAPP_WINDOW = timedelta(hours=24)

QUEUED = "queued"
FAILED = "failed"
# The order statuses move in; a status never gives way to one of a lower rank. `failed` and
# `undelivered` rank above `sent` (the provider gave up after sending to the carrier) and
# below `delivered` (a carrier that did deliver after all wins).
STATUS_RANK: dict[str, int] = {
    QUEUED: 1,
    "sent": 2,
    "undelivered": 3,
    FAILED: 3,
    "delivered": 4,
    "read": 5,
}
DELIVERY_EVENT = "delivery"


class WindowClosed(Conflict):
    code = "whatsapp_window_closed"
    message = (
        "WhatsApp allows free-form replies only within 24 hours of the customer's last "
        "message; send one of the channel's approved templates instead."
    )


def routes_out(conversation: Conversation, sender_id: str | None, *, system: bool) -> str | None:
    """The channel a send leaves through, or None when it stays on the web."""
    if system or conversation.channel not in OUTBOUND_JOB_KINDS:
        return None
    if sender_id is None or sender_id == conversation.customer_id:
        return None
    return conversation.channel


async def last_inbound_at(tx: UnitOfWork, conversation: Conversation) -> datetime | None:
    """When the conversation's customer last wrote in it."""
    return await tx.session.scalar(
        select(Message.created_at)
        .where(
            Message.conversation_id == conversation.id,
            Message.sender_id == conversation.customer_id,
        )
        .order_by(Message.seq.desc())
        .limit(1)
    )


async def window_closes_at(tx: UnitOfWork, conversation: Conversation) -> datetime | None:
    """When WhatsApp's customer-service window closes (None: it never opened)."""
    last = await last_inbound_at(tx, conversation)
    return last + WHATSAPP_WINDOW if last is not None else None


async def check_window(tx: UnitOfWork, conversation: Conversation) -> None:
    """Raise `WindowClosed` when a free-form WhatsApp reply may not be sent now."""
    if conversation.channel != "whatsapp":
        return
    closes = await window_closes_at(tx, conversation)
    if closes is None or closes <= tx.now:
        raise WindowClosed()


async def do_enqueue_delivery(
    tx: UnitOfWork,
    tenant_id: str,
    message_id: str,
    channel: str,
    extra: dict[str, Any] | None = None,
) -> None:
    """The job that sends a message out (one per message: its key is the message id)."""
    await tx.enqueue(
        OUTBOUND_JOB_KINDS[channel],
        {"message_id": message_id, **(extra or {})},
        key=message_id,
        tenant_id=tenant_id,
    )


def delivery_event(message: Message) -> Event:
    """`delivery`: an outbound message's status changed (to the conversation's readers)."""
    meta = (message.meta or {}).get("delivery", {})
    payload = encode(
        {
            "type": DELIVERY_EVENT,
            "conversation_id": message.conversation_id,
            "message_id": message.id,
            "seq": message.seq,
            "delivery_status": message.delivery_status,
            "error_code": meta.get("error_code"),
            "error_message": meta.get("error_message"),
        }
    )
    return Event(
        audience=Audience.conversation(message.conversation_id),
        type=DELIVERY_EVENT,
        payload=payload,
        conversation_id=message.conversation_id,
    )


async def lock_message(tx: UnitOfWork, tenant_id: str, message_id: str) -> Message:
    """The tenant's message, its row locked until the transaction ends, values fresh."""
    await tx.session.flush()
    found = await tx.session.scalar(
        select(Message)
        .where(Message.id == message_id, Message.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFound("Message not found.", code="message_not_found")
    return found


async def get_message(tx: UnitOfWork, tenant_id: str, message_id: str) -> Message | None:
    found = await tx.session.get(Message, message_id)
    return found if found is not None and found.tenant_id == tenant_id else None


async def find_by_external_id(
    tx: UnitOfWork, tenant_id: str, channel: str, external_id: str
) -> Message | None:
    return await tx.session.scalar(
        select(Message).where(
            Message.tenant_id == tenant_id,
            Message.channel == channel,
            Message.external_id == external_id,
        )
    )


def set_delivery_meta(message: Message, **changes: Any) -> None:
    """Merge `changes` into the message's `meta["delivery"]` (attempts, errors, retries)."""
    meta = dict(message.meta or {})
    delivery = dict(meta.get("delivery", {}))
    delivery.update({k: v for k, v in changes.items()})
    meta["delivery"] = delivery
    message.meta = meta  # a new dict: the JSON column sees the change


async def do_advance_status(
    tx: UnitOfWork,
    tenant_id: str,
    message_id: str,
    status: str,
    *,
    external_id: str | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> bool:
    """Move an outbound message's delivery status forward (never back: see `STATUS_RANK`),
    under its row lock; record the provider's id if not known yet. Whether it changed."""
    message = await lock_message(tx, tenant_id, message_id)
    changed = False
    if external_id and message.external_id is None:
        message.external_id = external_id
        changed = True
    current = STATUS_RANK.get(message.delivery_status or "", 0)
    if status in STATUS_RANK and STATUS_RANK[status] > current:
        message.delivery_status = status
        if error_code is not None or error_message is not None:
            set_delivery_meta(message, error_code=error_code, error_message=error_message)
        tx.emit(delivery_event(message))
        changed = True
    return changed


async def do_mark_attempt(tx: UnitOfWork, tenant_id: str, message_id: str) -> Message:
    """Record that a send to the provider is about to start (before the call): a later
    attempt that finds this without the provider's id must first ask the provider whether
    the earlier call got through."""
    message = await lock_message(tx, tenant_id, message_id)
    delivery = (message.meta or {}).get("delivery", {})
    set_delivery_meta(message, attempts=int(delivery.get("attempts", 0)) + 1)
    if "first_attempt_at" not in delivery:
        set_delivery_meta(message, first_attempt_at=tx.now.isoformat())
    return message


async def do_fail(
    tx: UnitOfWork, tenant_id: str, message_id: str, *, error_code: str, error_message: str
) -> None:
    """The message could not be sent (the provider refused it, or every attempt failed)."""
    message = await lock_message(tx, tenant_id, message_id)
    if message.external_id is not None:
        return  # the provider has it: its callbacks tell what became of it
    message.delivery_status = FAILED
    set_delivery_meta(message, error_code=error_code, error_message=error_message)
    tx.emit(delivery_event(message))


async def do_requeue(tx: UnitOfWork, tenant_id: str, message_id: str) -> Message:
    """A failed message goes back to `queued` for another try (staff's retry button): the one
    move backwards, and only from `failed` with nothing at the provider."""
    message = await lock_message(tx, tenant_id, message_id)
    if message.delivery_status != FAILED or message.external_id is not None:
        raise Conflict(
            "Only a message that failed to send can be sent again.", code="not_retryable"
        )
    message.delivery_status = QUEUED
    set_delivery_meta(message, error_code=None, error_message=None)
    tx.emit(delivery_event(message))
    return message
