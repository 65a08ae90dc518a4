"""WhatsApp, SMS and email conversations between customers and distributors (guide 004):
`customers`, `distributors` (the guide's foreign keys name them), `conversations` (customer_id,
distributor_id, channel, status, ai_context_summary) and `messages` (type Text/Media/Audio/File,
the Twilio message id in external_message_id).

A distributor becomes an agent, each conversation a `support` conversation on its channel
with its ticket; the Twilio id stays the message's `external_id`, so a provider retry of an
imported message after the switch is recognised rather than stored twice."""

from __future__ import annotations

from collections.abc import AsyncIterator

from parlour.importer import values
from parlour.importer.plans import ConversationPlan, Key, MessagePlan, Person, Skip, TicketPlan
from parlour.importer.sources import Source
from parlour.importer.systems import System

CHANNELS = {"whatsapp": "whatsapp", "sms": "sms", "email": "email"}
STATUSES = {
    "active": "active",
    "open": "active",
    "pending": "waiting",
    "closed": "ended",
    "archived": "ended",
    "resolved": "ended",
}
KINDS = {"text": "text", "media": "image", "image": "image", "audio": "audio", "file": "file"}
CUSTOMER_SENDERS = {"customer", "inbound", "user"}
AGENT_SENDERS = {"distributor", "outbound", "agent"}
BOT_SENDERS = {"ai", "bot", "assistant"}


async def people(source: Source) -> AsyncIterator[Person | Skip]:
    for table, role in (("distributors", "agent"), ("customers", "customer")):
        async for row in source.rows(table, ("created_at", "id")):
            try:
                row_id = values.ident(row, "id")
            except values.BadValue as exc:
                yield Skip(table, "", str(exc))
                continue
            email = values.text(row, "email")
            yield Person(
                key=(table, row_id),
                role=role,
                name=values.text(row, "name", "company_name", "business_name", "full_name")
                or email
                or f"{role.capitalize()} {row_id[:8]}",
                email=email,
                phone=values.text(row, "phone", "phone_number", "whatsapp_number"),
            )


async def conversations(source: Source) -> AsyncIterator[ConversationPlan | Skip]:
    async for row in source.rows("conversations", ("created_at", "id")):
        conversation_id = str(row.get("id") or "")
        try:
            conversation_id = values.ident(row, "id")
            customer = values.ident(row, "customer_id")
            distributor = values.text(row, "distributor_id")
            channel = values.choice(
                values.text(row, "channel") or "whatsapp", CHANNELS, column="channel"
            )
            status = values.choice(
                values.text(row, "status") or "active", STATUSES, column="status"
            )
            created_at = values.moment(row, "created_at", required=True)
            assert created_at is not None
            ended_at = (
                values.moment(row, "closed_at", "updated_at", "last_message_at") or created_at
                if status == "ended"
                else None
            )
        except values.BadValue as exc:
            yield Skip("conversations", conversation_id, str(exc))
            continue
        subject = values.text(row, "subject") or f"{channel.capitalize()} conversation"
        yield ConversationPlan(
            key=("conversations", conversation_id),
            kind="support",
            channel=channel,
            status=status,
            customer=("customers", customer),
            agents=[("distributors", distributor)] if distributor else [],
            subject=subject,
            created_at=created_at,
            ended_at=ended_at,
            end_reason="agent" if status == "ended" else None,
            summary=values.text(row, "ai_context_summary", "context_summary"),
            ticket=TicketPlan(
                status="resolved" if status == "ended" else "open",
                priority="normal",
                subject=subject,
                created_at=created_at,
                updated_at=values.moment(row, "updated_at") or created_at,
            ),
        )


async def _channels(source: Source) -> dict[str, tuple[str, str, str | None]]:
    """conversation id -> (channel, customer id, distributor id)."""
    found: dict[str, tuple[str, str, str | None]] = {}
    async for row in source.rows("conversations"):
        channel = CHANNELS.get((values.text(row, "channel") or "whatsapp").lower(), "whatsapp")
        found[str(row.get("id"))] = (
            channel,
            str(row.get("customer_id")),
            values.text(row, "distributor_id"),
        )
    return found


async def messages(source: Source) -> AsyncIterator[MessagePlan | Skip]:
    conversations_by_id = await _channels(source)
    external_seen: set[tuple[str, str]] = set()
    async for row in source.rows("messages", ("created_at", "id")):
        message_id = str(row.get("id") or "")
        try:
            message_id = values.ident(row, "id")
            conversation_id = values.ident(row, "conversation_id")
            created_at = values.moment(row, "created_at", required=True)
            assert created_at is not None
            kind = values.choice(
                values.text(row, "message_type", "type") or "text", KINDS, column="message_type"
            )
            body = values.text(row, "content", "body")
            media = values.text(row, "media_url")
            if media:
                # The file stays where it is (Twilio or Supabase Storage): the link is kept.
                body = f"{body}\n[{kind}] {media}" if body else f"[{kind}] {media}"
            if not body:
                raise values.BadValue("the message is empty")
            sender_type = (values.text(row, "sender_type", "direction") or "").lower()
        except values.BadValue as exc:
            yield Skip("messages", message_id, str(exc))
            continue
        found = conversations_by_id.get(conversation_id)
        if found is None:
            yield Skip("messages", message_id, f"no conversations row {conversation_id}")
            continue
        channel, customer, distributor = found
        sender: Key | None
        if sender_type in CUSTOMER_SENDERS:
            sender = ("customers", customer)
        elif sender_type in AGENT_SENDERS and distributor:
            sender = ("distributors", distributor)
        elif sender_type in BOT_SENDERS:
            sender, kind = None, "bot"
        else:
            yield Skip("messages", message_id, f"unknown sender_type {sender_type!r}")
            continue
        external = values.text(row, "external_message_id", "twilio_sid")
        if external and (channel, external) in external_seen:
            yield Skip("messages", message_id, f"external_message_id {external} appears twice")
            continue
        if external:
            external_seen.add((channel, external))
        yield MessagePlan(
            key=("messages", message_id),
            conversation=("conversations", conversation_id),
            sender=sender,
            kind=kind,
            body=body,
            created_at=created_at,
            channel=channel,
            external_id=external[:128] if external else None,
        )


SYSTEM = System(
    name="whatsapp",
    tables=("customers", "distributors", "conversations", "messages"),
    marks=(("messages", "conversation_id"), ("conversations", "distributor_id")),
    people=people,
    conversations=conversations,
    messages=messages,
    message_table="messages",
    describe="customers, distributors, conversations, messages (guide 004)",
)
