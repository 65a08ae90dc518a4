"""The support-desk web chat (guide 002): `user_sessions` (session_id, customer_name,
customer_phone, channel, status, is_anonymous), `chat_messages` (session_id, sender_type
user/agent/system), `tickets` (session_id, assigned agent) and `agents`.

A chat session becomes a `support` conversation with its ticket; visitors become customers
(one per phone number, or email, when they gave one; else one per session), agents agents."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from parlour.importer import values
from parlour.importer.plans import ConversationPlan, Key, MessagePlan, Person, Skip, TicketPlan
from parlour.importer.sources import Source
from parlour.importer.systems import System

CHANNELS = {
    "web-chat": "web",
    "web": "web",
    "widget": "web",
    "whatsapp": "whatsapp",
    "sms": "sms",
    "email": "email",
}
OPEN_SESSION = {"active", "open", "waiting", "pending", "new"}
ENDED_SESSION = {"closed", "ended", "resolved", "inactive", "expired", "archived"}
TICKET_STATUSES = {
    "new": "open",
    "open": "open",
    "assigned": "open",
    "in_progress": "open",
    "in-progress": "open",
    "pending": "pending",
    "waiting": "pending",
    "on_hold": "pending",
    "resolved": "resolved",
    "closed": "closed",
}
PRIORITIES = {
    "low": "low",
    "normal": "normal",
    "medium": "normal",
    "high": "high",
    "urgent": "urgent",
}
CUSTOMER_SENDERS = {"user", "customer", "visitor"}
AGENT_SENDERS = {"agent", "staff", "admin"}
SYSTEM_SENDERS = {"system", "bot", "ai"}
BODY_COLUMNS = ("message", "content", "message_text", "body", "text")


@dataclass(frozen=True)
class ChatSession:
    id: str
    customer: Key
    ticket: dict[str, Any] | None


def _customer_key(row: dict[str, Any]) -> Key:
    """One customer per phone number (or email) across sessions; else one per session."""
    phone = values.text(row, "customer_phone")
    if phone:
        return (
            "user_sessions.customer_phone",
            "".join(c for c in phone if c.isdigit() or c == "+"),
        )
    email = values.text(row, "customer_email")
    if email:
        return ("user_sessions.customer_email", email.lower())
    # Not ("user_sessions", id): that key is the session's conversation.
    return ("user_sessions.visitor", values.ident(row, "id"))


async def _tickets(source: Source) -> dict[str, list[dict[str, Any]]]:
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if await source.has_table("tickets"):
        async for row in source.rows("tickets", ("created_at", "id")):
            if row.get("session_id"):
                by_session[str(row["session_id"])].append(row)
    return by_session


async def _sessions(source: Source) -> dict[str, ChatSession]:
    """The chat's `session_id` (what messages and tickets name) -> its session."""
    tickets = await _tickets(source)
    found: dict[str, ChatSession] = {}
    async for row in source.rows("user_sessions", ("created_at", "id")):
        try:
            key = values.text(row, "session_id") or values.ident(row, "id")
            found[key] = ChatSession(
                id=values.ident(row, "id"),
                customer=_customer_key(row),
                ticket=next(iter(tickets.get(key, [])), None),
            )
        except values.BadValue:
            continue  # reported by `conversations`
    return found


async def people(source: Source) -> AsyncIterator[Person | Skip]:
    async for row in source.rows("agents", ("created_at", "id")):
        try:
            agent_id = values.ident(row, "id")
        except values.BadValue as exc:
            yield Skip("agents", "", str(exc))
            continue
        email = values.text(row, "email")
        yield Person(
            key=("agents", agent_id),
            role="agent",
            name=values.text(row, "name", "full_name") or email or f"Agent {agent_id[:8]}",
            email=email,
        )
    seen: set[Key] = set()
    async for row in source.rows("user_sessions", ("created_at", "id")):
        try:
            key = _customer_key(row)
        except values.BadValue as exc:
            yield Skip("user_sessions", "", str(exc))
            continue
        if key in seen:
            continue
        seen.add(key)
        yield Person(
            key=key,
            role="customer",
            name=values.text(row, "customer_name") or "Visitor",
            email=values.text(row, "customer_email"),
            phone=values.text(row, "customer_phone"),
        )


def _ended_at(session: dict[str, Any], ticket: dict[str, Any] | None) -> datetime:
    found = (ticket and values.moment(ticket, "resolved_at", "closed_at")) or values.moment(
        session, "ended_at", "closed_at", "updated_at", "created_at", required=True
    )
    assert found is not None
    return found


async def conversations(source: Source) -> AsyncIterator[ConversationPlan | Skip]:
    tickets = await _tickets(source)
    async for row in source.rows("user_sessions", ("created_at", "id")):
        session_id = str(row.get("id") or "")
        try:
            session_id = values.ident(row, "id")
            chat_key = values.text(row, "session_id") or session_id
            created_at = values.moment(row, "created_at", required=True)
            assert created_at is not None
            status = (values.text(row, "status") or "active").lower()
            if status not in OPEN_SESSION | ENDED_SESSION:
                raise values.BadValue(f"unknown status {status!r}")
            channel = values.choice(
                values.text(row, "channel") or "web", CHANNELS, column="channel"
            )
            found = tickets.get(chat_key, [])
            ticket = found[0] if found else None
            ticket_status = (
                values.choice(
                    values.text(ticket, "status") or "open", TICKET_STATUSES, column="ticket status"
                )
                if ticket
                else None
            )
            priority = (
                values.choice(
                    values.text(ticket, "priority") or "normal", PRIORITIES, column="priority"
                )
                if ticket
                else "normal"
            )
            agent = values.text(ticket, "assigned_agent_id", "agent_id") if ticket else None
            # Ended when the chat was closed or its ticket resolved (who ended it: the agent
            # who resolved it, else the visitor who left).
            ended = status in ENDED_SESSION or ticket_status in ("resolved", "closed")
            ended_at = _ended_at(row, ticket) if ended else None
            ticket_created = (ticket and values.moment(ticket, "created_at")) or created_at
            ticket_updated = (ticket and values.moment(ticket, "updated_at")) or ticket_created
        except values.BadValue as exc:
            yield Skip("user_sessions", session_id, str(exc))
            continue
        for extra in found[1:]:
            yield Skip(
                "tickets",
                str(extra.get("id")),
                f"a second ticket for chat {chat_key}: Parlour keeps one per conversation",
            )
        name = values.text(row, "customer_name") or "Visitor"
        subject = (ticket and values.text(ticket, "subject", "title")) or f"Chat with {name}"
        yield ConversationPlan(
            key=("user_sessions", session_id),
            kind="support",
            channel=channel,
            status="ended" if ended else ("active" if agent else "waiting"),
            customer=_customer_key(row),
            agents=[("agents", agent)] if agent else [],
            subject=subject,
            created_at=created_at,
            ended_at=ended_at,
            end_reason=("agent" if ticket_status in ("resolved", "closed") else "customer")
            if ended
            else None,
            ticket=TicketPlan(
                status=ticket_status or "open",
                priority=priority,
                subject=subject,
                created_at=ticket_created,
                updated_at=ticket_updated,
                contact_email=values.text(row, "customer_email"),
            ),
        )


async def messages(source: Source) -> AsyncIterator[MessagePlan | Skip]:
    sessions = await _sessions(source)
    async for row in source.rows("chat_messages", ("created_at", "id")):
        message_id = str(row.get("id") or "")
        try:
            message_id = values.ident(row, "id")
            chat_key = values.ident(row, "session_id")
            created_at = values.moment(row, "created_at", required=True)
            assert created_at is not None
            body = values.text(row, *BODY_COLUMNS)
            image = values.text(row, "image_url", "attachment_url")
            if not body and image:
                body = f"[image] {image}"  # the file stays in Supabase Storage
            if not body:
                raise values.BadValue("the message is empty")
            sender_type = (values.text(row, "sender_type") or "user").lower()
        except values.BadValue as exc:
            yield Skip("chat_messages", message_id, str(exc))
            continue
        session = sessions.get(chat_key)
        if session is None:
            yield Skip("chat_messages", message_id, f"no user_sessions row for session {chat_key}")
            continue
        sender: Key | None
        if sender_type in CUSTOMER_SENDERS:
            sender, kind = session.customer, "text"
        elif sender_type in AGENT_SENDERS:
            agent = values.text(row, "sender_id", "agent_id") or (
                session.ticket and values.text(session.ticket, "assigned_agent_id", "agent_id")
            )
            if not agent:
                yield Skip("chat_messages", message_id, "an agent message names no agent")
                continue
            sender, kind = ("agents", agent), "text"
        elif sender_type in SYSTEM_SENDERS:
            sender, kind = None, "bot" if sender_type in ("bot", "ai") else "system"
        else:
            yield Skip("chat_messages", message_id, f"unknown sender_type {sender_type!r}")
            continue
        yield MessagePlan(
            key=("chat_messages", message_id),
            conversation=("user_sessions", session.id),
            sender=sender,
            kind=kind,
            body=body,
            created_at=created_at,
        )


SYSTEM = System(
    name="web_chat",
    tables=("user_sessions", "chat_messages", "agents"),
    marks=(("chat_messages", "sender_type"), ("user_sessions", "session_id")),
    people=people,
    conversations=conversations,
    messages=messages,
    message_table="chat_messages",
    describe="user_sessions, chat_messages, tickets, agents (guide 002)",
)
