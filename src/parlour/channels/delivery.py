"""Replies that go out through Twilio: what the send job needs, and what it records.

The job (`channels/jobs.py`) reads a `Delivery` in a short read transaction, calls Twilio
outside any transaction, and records the outcome in another. Staff see the delivery status on
the message (`delivery_status`, live `delivery` events) and may send a failed one again
(`do_retry`), which queues a fresh job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from parlour.auth.principal import Principal
from parlour.channels import repository
from parlour.channels import service as channels
from parlour.channels.schemas import TemplateRead
from parlour.channels.service import TwilioAccount
from parlour.conversations.access import access_conversation, check_can_post
from parlour.core.errors import AppError, BadRequest, Forbidden, NotFound
from parlour.core.uow import UnitOfWork
from parlour.messages import outbound
from parlour.messages import service as messages
from parlour.messages.schemas import MessageRead
from parlour.models.channel import TWILIO_KINDS

SEND_JOB = "twilio.send"


@dataclass(frozen=True, slots=True)
class Delivery:
    tenant_id: str
    message_id: str
    conversation_id: str
    channel: str
    body: str
    status: str | None
    external_id: str | None
    # Calls to Twilio begun for it before this one (their outcome may be unknown).
    attempts: int
    first_attempt_at: datetime | None
    to: str | None
    account: TwilioAccount | None
    # A WhatsApp template: {"content_sid", "content_variables" (JSON)}; None for free text.
    template: dict[str, str] | None


async def delivery_of(
    tx: UnitOfWork, tenant_id: str, message_id: str, *, server_secret: str
) -> Delivery | None:
    """What sending this message needs; None when it no longer exists."""
    message = await outbound.get_message(tx, tenant_id, message_id)
    if message is None:
        return None
    thread = await repository.thread_of(tx.session, message.conversation_id)
    account = None
    if thread is not None and thread.channel_id is not None:
        account = await channels.twilio_account(
            tx.session, thread.channel_id, server_secret=server_secret
        )
    meta = (message.meta or {}).get("delivery", {})
    first = meta.get("first_attempt_at")
    return Delivery(
        tenant_id=tenant_id,
        message_id=message.id,
        conversation_id=message.conversation_id,
        channel=message.channel,
        body=message.body,
        status=message.delivery_status,
        external_id=message.external_id,
        attempts=int(meta.get("attempts", 0)),
        first_attempt_at=datetime.fromisoformat(first) if first else None,
        to=thread.address if thread is not None else None,
        account=account,
        template=meta.get("template") if isinstance(meta.get("template"), dict) else None,
    )


async def claimed_sids(tx: UnitOfWork, tenant_id: str, channel: str, sids: list[str]) -> set[str]:
    """Which of these Twilio message SIDs are already some message's of ours."""
    claimed = set()
    for sid in sids:
        if await outbound.find_by_external_id(tx, tenant_id, channel, sid) is not None:
            claimed.add(sid)
    return claimed


def status_callback_url(public_url: str, channel_id: str, message_id: str) -> str | None:
    """Where Twilio reports this message's statuses; None without PARLOUR_PUBLIC_URL (a job
    has no request to learn our address from)."""
    if not public_url:
        return None
    return f"{public_url.rstrip('/')}{channels.status_path(channel_id)}?message_id={message_id}"


# --- staff: the channel of a conversation, templates, retries ---------------------------------


@dataclass(frozen=True, slots=True)
class ConversationChannel:
    channel_id: str | None
    kind: str
    name: str | None
    from_number: str | None
    contact_address: str
    window_open: bool
    window_closes_at: datetime | None
    templates: list[TemplateRead]


async def _staff_access(tx: UnitOfWork, principal: Principal, conversation_id: str) -> Any:
    access = await access_conversation(tx.session, principal, conversation_id)
    if not principal.is_staff or principal.is_system:
        raise Forbidden("This is for staff.", code="staff_only")
    if access.conversation.channel not in TWILIO_KINDS:
        raise NotFound(
            "This conversation did not come in over WhatsApp or SMS.", code="not_a_channel"
        )
    return access


async def conversation_channel(
    tx: UnitOfWork, principal: Principal, conversation_id: str
) -> ConversationChannel:
    """The channel a conversation came in over, whether a free-form WhatsApp reply may be
    sent now, and the templates to send instead (staff who may read it)."""
    access = await _staff_access(tx, principal, conversation_id)
    conversation = access.conversation
    thread = await repository.thread_of(tx.session, conversation.id)
    channel = None
    if thread is not None and thread.channel_id is not None:
        channel = await repository.get(tx.session, thread.channel_id)
    closes = None
    window_open = True
    if conversation.channel == "whatsapp":
        closes = await outbound.window_closes_at(tx, conversation)
        window_open = closes is not None and closes > tx.now
    return ConversationChannel(
        channel_id=channel.id if channel else None,
        kind=conversation.channel,
        name=channel.name if channel else None,
        from_number=channel.from_number if channel else None,
        contact_address=thread.address if thread else "",
        window_open=window_open,
        window_closes_at=closes,
        templates=channels.templates_of(channel) if channel else [],
    )


async def do_send_template(
    tx: UnitOfWork,
    principal: Principal,
    conversation_id: str,
    *,
    content_sid: str,
    variables: dict[str, str],
    max_chars: int,
) -> MessageRead:
    """Send one of the channel's approved templates (an agent taking part, inside or outside
    the 24-hour window): stored as the agent's message, sent with ContentSid/ContentVariables."""
    access = await _staff_access(tx, principal, conversation_id)
    check_can_post(principal, access)
    if principal.user_id is None:
        raise Forbidden("Only people taking part send templates.", code="not_a_poster")
    info = await conversation_channel(tx, principal, conversation_id)
    template = next((t for t in info.templates if t.content_sid == content_sid), None)
    if template is None:
        raise BadRequest(
            "That template is not one of this channel's approved templates.",
            code="unknown_template",
        )
    wrong = [k for k, v in variables.items() if k not in template.variables or len(v) > 1024]
    if wrong:
        raise BadRequest(
            f"The template has no variable {wrong[0]!r}, or its value is too long.",
            code="template_variables",
        )
    missing = [v for v in template.variables if not variables.get(v)]
    if missing:
        raise BadRequest(
            f"The template needs values for {', '.join(missing)}.", code="template_variables"
        )
    preview = template.body or template.name
    for name, value in variables.items():
        preview = preview.replace("{{" + name + "}}", value)
    system = Principal.system_actor(principal.tenant_id)
    request = messages.SendRequest(
        system,
        conversation_id,
        preview[:max_chars],
        channel=access.conversation.channel,
        sender_id=principal.user_id,
    )
    [sent] = await messages.do_send_messages(tx, [request], max_chars=max_chars)
    if isinstance(sent, AppError):
        raise sent
    await outbound.do_advance_status(tx, principal.tenant_id, sent.id, outbound.QUEUED)
    row = await outbound.lock_message(tx, principal.tenant_id, sent.id)
    content = {k: variables[k] for k in template.variables}
    # On the message, not only in the job: a retry sends the same template again.
    outbound.set_delivery_meta(
        row, template={"content_sid": content_sid, "content_variables": json.dumps(content)}
    )
    await outbound.do_enqueue_delivery(
        tx, principal.tenant_id, sent.id, access.conversation.channel
    )
    return MessageRead.model_validate(row)


async def do_retry(
    tx: UnitOfWork, principal: Principal, conversation_id: str, message_id: str
) -> None:
    """Send a failed message again (staff who may read the conversation): back to `queued`
    and a fresh job (whose first step asks Twilio whether an earlier attempt got through)."""
    access = await _staff_access(tx, principal, conversation_id)
    message = await outbound.get_message(tx, principal.tenant_id, message_id)
    if message is None or message.conversation_id != access.conversation.id:
        raise NotFound("Message not found.", code="message_not_found")
    requeued = await outbound.do_requeue(tx, principal.tenant_id, message_id)
    retries = int((requeued.meta or {}).get("delivery", {}).get("retries", 0)) + 1
    outbound.set_delivery_meta(requeued, retries=retries)
    await tx.enqueue(
        SEND_JOB,
        {"message_id": message_id},
        key=f"{message_id}:retry{retries}",
        tenant_id=principal.tenant_id,
    )
