"""What Twilio tells us, after its signature was checked: a customer's message, a status.

An inbound message finds or creates its contact (a customer of the channel's tenant, keyed by
E.164 number), continues the contact's conversation on that channel that has not ended or
starts one — a `support` conversation with its ticket (the desk's `do_ensure_ticket`), routed
by the router's `conversation.created` hook like every support conversation — and stores the
text with `external_id` = MessageSid. Media are fetched after commit by the `twilio.media` job.
Everything acts as the tenant's system actor.

A retried delivery changes nothing: the MessageSid is looked up first, the media job's key is
the MessageSid, and concurrent deliveries take turns on the contact's users row (and, for a
number not seen before, on the channel's row while its contact is created), so the second finds
the first's conversation and message. Lock order: channel, contact (users row), conversation,
ticket counter.
"""

from __future__ import annotations

from dataclasses import dataclass

from parlour.auth.principal import Principal
from parlour.auth.service import do_create_user, find_customer_by_phone, lock_user
from parlour.channels import repository
from parlour.channels.service import TwilioAccount
from parlour.channels.twilio_api import TWILIO_STATUS
from parlour.conversations import service as conversations
from parlour.core.errors import AppError
from parlour.core.uow import UnitOfWork
from parlour.messages import outbound
from parlour.messages import service as messages
from parlour.models.channel import ChannelConversation
from parlour.models.conversation import Channel as ConversationChannel
from parlour.models.user import Role, User
from parlour.tickets import service as tickets

MEDIA_JOB = "twilio.media"
# Twilio sends at most 10 media per message.
MAX_MEDIA = 10
SUBJECT_CHARS = 80


@dataclass(frozen=True, slots=True)
class Media:
    url: str
    content_type: str


@dataclass(frozen=True, slots=True)
class InboundMessage:
    message_sid: str
    from_number: str  # E.164
    body: str
    profile_name: str | None
    media: tuple[Media, ...] = ()


@dataclass(frozen=True, slots=True)
class Received:
    conversation_id: str
    # The text's message (None for media only: the media job posts that one).
    message_id: str | None
    duplicate: bool


def _label(kind: str) -> str:
    return "WhatsApp" if kind == "whatsapp" else "SMS"


async def _contact(tx: UnitOfWork, account: TwilioAccount, inbound: InboundMessage) -> User:
    """The tenant's customer with this number, created on the first message from it."""
    found = await find_customer_by_phone(tx.session, account.tenant_id, inbound.from_number)
    if found is not None:
        return found
    # A number not seen before: deliveries of this channel take turns while its contact is
    # made, so two first messages at once make one contact.
    await repository.lock(tx.session, account.tenant_id, account.channel_id)
    found = await find_customer_by_phone(tx.session, account.tenant_id, inbound.from_number)
    if found is not None:
        return found
    return await do_create_user(
        tx.session,
        tenant_id=account.tenant_id,
        role=Role.customer,
        display_name=(inbound.profile_name or "").strip()[:120] or inbound.from_number,
        email=None,
        password=None,
        phone=inbound.from_number,
        now=tx.now,
    )


async def _conversation_for(
    tx: UnitOfWork, account: TwilioAccount, contact: User, inbound: InboundMessage
) -> str:
    """The contact's open conversation on this channel, or a new support conversation."""
    system = Principal.system_actor(account.tenant_id)
    found = await repository.open_conversation_of(tx.session, account.channel_id, contact.id)
    if found is not None:
        return found.id
    first_line = inbound.body.strip().splitlines()[0] if inbound.body.strip() else ""
    subject = first_line[:SUBJECT_CHARS] or f"{_label(account.kind)} from {inbound.from_number}"
    view = await conversations.do_create_conversation(
        tx,
        system,
        kind=tickets.KIND,
        customer_id=contact.id,
        subject=subject,
        channel=ConversationChannel(account.kind),
    )
    repository.add_thread(
        tx.session,
        ChannelConversation(
            conversation_id=view.id,
            tenant_id=account.tenant_id,
            channel_id=account.channel_id,
            contact_id=contact.id,
            address=inbound.from_number,
            created_at=tx.now,
        ),
    )
    # The ticket in this transaction, as the support start makes it (the created hook then
    # finds it and does nothing).
    await tickets.do_ensure_ticket(tx, view.id, account.tenant_id)
    return view.id


async def do_receive(
    tx: UnitOfWork, account: TwilioAccount, inbound: InboundMessage, *, max_chars: int
) -> Received:
    """Store an inbound message (idempotent on its MessageSid) and enqueue its media."""
    retried = await outbound.find_by_external_id(
        tx, account.tenant_id, account.kind, inbound.message_sid
    )
    if retried is not None:
        return Received(retried.conversation_id, retried.id, duplicate=True)
    contact = await _contact(tx, account, inbound)
    await lock_user(tx.session, account.tenant_id, contact.id)
    conversation_id = await _conversation_for(tx, account, contact, inbound)
    system = Principal.system_actor(account.tenant_id)
    message_id = None
    duplicate = False
    if inbound.body.strip():
        request = messages.SendRequest(
            system,
            conversation_id,
            # A provider's message is never refused for its length: longer ones are cut.
            inbound.body[:max_chars],
            channel=account.kind,
            external_id=inbound.message_sid,
            sender_id=contact.id,
        )
        [result] = await messages.do_send_messages(tx, [request], max_chars=max_chars)
        if isinstance(result, AppError):
            raise result
        message_id = result.id
    if inbound.media:
        job = await tx.enqueue(
            MEDIA_JOB,
            {
                "channel_id": account.channel_id,
                "kind": account.kind,
                "conversation_id": conversation_id,
                "contact_id": contact.id,
                # The media's own message: the MessageSid itself when there was no text.
                "external_id": f"{inbound.message_sid}:media"
                if message_id
                else inbound.message_sid,
                "media": [
                    {"url": m.url, "content_type": m.content_type}
                    for m in inbound.media[:MAX_MEDIA]
                ],
            },
            key=inbound.message_sid,
            tenant_id=account.tenant_id,
        )
        duplicate = not job.created and message_id is None
    return Received(conversation_id, message_id, duplicate=duplicate)


async def do_record_status(
    tx: UnitOfWork,
    account: TwilioAccount,
    *,
    message_sid: str,
    twilio_status: str,
    message_id: str | None,
    error_code: str | None,
) -> bool:
    """Apply a status callback to our outbound message (found by the id our StatusCallback
    URL carries, else by its MessageSid); unknown messages are ignored. Whether it changed."""
    message = None
    if message_id:
        message = await outbound.get_message(tx, account.tenant_id, message_id)
    if message is None:
        message = await outbound.find_by_external_id(
            tx, account.tenant_id, account.kind, message_sid
        )
    if message is None or message.channel != account.kind:
        return False
    status = TWILIO_STATUS.get(twilio_status)
    if status is None:
        return False
    return await outbound.do_advance_status(
        tx,
        account.tenant_id,
        message.id,
        status,
        external_id=message_sid,
        error_code=error_code,
        error_message=f"Twilio error {error_code}" if error_code else None,
    )
