"""Paid chat, video and diagnostic sessions (guide 001): `sessions` (type chat/video/
diagnostic, plan, status), `session_participants` (customer or mechanic) and `chat_messages`
(session_id, sender_id, content), people in `auth.users`.

A mechanic becomes an agent, the session a conversation of kind consultation (chat), video or
diagnostic; who took part comes from session_participants."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator

from parlour.importer import values
from parlour.importer.plans import ConversationPlan, MessagePlan, Person, Skip
from parlour.importer.sources import Source
from parlour.importer.systems import System, auth_users

KINDS = {"chat": "consultation", "video": "video", "diagnostic": "diagnostic"}
# Source status -> (Parlour status, end reason).
STATUSES: dict[str, tuple[str, str | None]] = {
    "pending": ("waiting", None),
    "waiting": ("waiting", None),
    "scheduled": ("waiting", None),
    "live": ("active", None),
    "active": ("active", None),
    "in_progress": ("active", None),
    "completed": ("ended", "agent"),
    "ended": ("ended", "agent"),
    "closed": ("ended", "agent"),
    "expired": ("ended", "expired"),
    "cancelled": ("ended", "cancelled"),
    "canceled": ("ended", "cancelled"),
    "refunded": ("ended", "refunded"),
}
STAFF_ROLES = {"mechanic", "agent", "expert"}
CUSTOMER_ROLES = {"customer", "user", "client"}
BODY_COLUMNS = ("content", "message", "body", "text")
USER = "auth.users"


async def _participants(source: Source) -> dict[str, list[tuple[str, str]]]:
    """session id -> [(user id, role)] in the order they joined."""
    by_session: dict[str, list[tuple[str, str]]] = defaultdict(list)
    async for row in source.rows("session_participants", ("created_at", "id")):
        session_id, user_id = row.get("session_id"), row.get("user_id")
        if session_id and user_id:
            role = (values.text(row, "role") or "customer").lower()
            by_session[str(session_id)].append((str(user_id), role))
    return by_session


async def people(source: Source) -> AsyncIterator[Person | Skip]:
    known = await auth_users.load(source)
    roles: dict[str, str] = {}
    for members in (await _participants(source)).values():
        for user_id, role in members:
            # Someone who ever worked as a mechanic is staff (an agent) in Parlour.
            if role in STAFF_ROLES or user_id not in roles:
                roles[user_id] = "agent" if role in STAFF_ROLES else "customer"
    for user_id, role in roles.items():
        auth = known.get(user_id)
        yield Person(
            key=(USER, user_id),
            role=role,
            name=(auth and auth.name)
            or (auth and auth.email)
            or auth_users.fallback_name(role, user_id),
            email=auth.email if auth else None,
            phone=auth.phone if auth else None,
        )


async def conversations(source: Source) -> AsyncIterator[ConversationPlan | Skip]:
    members = await _participants(source)
    async for row in source.rows("sessions", ("created_at", "id")):
        session_id = str(row.get("id") or "")
        try:
            session_id = values.ident(row, "id")
            kind = values.choice(values.text(row, "type"), KINDS, column="type")
            status, end_reason = STATUSES.get(
                (values.text(row, "status") or "").lower(), (None, None)
            )
            if status is None:
                raise values.BadValue(f"unknown status {values.text(row, 'status')!r}")
            created_at = values.moment(row, "created_at", required=True)
            assert created_at is not None
            ended_at = (
                values.moment(row, "ended_at", "updated_at") or created_at
                if status == "ended"
                else None
            )
        except values.BadValue as exc:
            yield Skip("sessions", session_id, str(exc))
            continue
        who = members.get(session_id, [])
        customers = [u for u, role in who if role in CUSTOMER_ROLES]
        agents = [u for u, role in who if role in STAFF_ROLES]
        if not customers:
            yield Skip("sessions", session_id, "no customer in session_participants")
            continue
        if status == "waiting" and agents:
            status = "active"  # a mechanic had joined
        yield ConversationPlan(
            key=("sessions", session_id),
            kind=kind,
            status=status,
            customer=(USER, customers[0]),
            agents=[(USER, a) for a in agents],
            subject=values.text(row, "plan"),
            created_at=created_at,
            ended_at=ended_at,
            end_reason=end_reason,
        )


async def messages(source: Source) -> AsyncIterator[MessagePlan | Skip]:
    async for row in source.rows("chat_messages", ("created_at", "id")):
        message_id = str(row.get("id") or "")
        try:
            message_id = values.ident(row, "id")
            session_id = values.ident(row, "session_id")
            body = values.text(row, *BODY_COLUMNS, required=True)
            created_at = values.moment(row, "created_at", required=True)
            assert body is not None and created_at is not None
            sender = values.text(row, "sender_id")
        except values.BadValue as exc:
            yield Skip("chat_messages", message_id, str(exc))
            continue
        yield MessagePlan(
            key=("chat_messages", message_id),
            conversation=("sessions", session_id),
            sender=(USER, sender) if sender else None,
            kind="text" if sender else "system",
            body=body,
            created_at=created_at,
        )


SYSTEM = System(
    name="sessions",
    tables=("sessions", "session_participants", "chat_messages"),
    marks=(("chat_messages", "session_id"), ("sessions", "type")),
    people=people,
    conversations=conversations,
    messages=messages,
    message_table="chat_messages",
    describe="sessions, session_participants, chat_messages (guide 001)",
)
