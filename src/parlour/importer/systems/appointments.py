"""Appointment chats on Stream (guide 003): `appointments` (individual_id, volunteer_id,
start_time, end_time, status; the guide names these columns, its app defines the table),
`appointment_chats` (one Stream channel per appointment, active/closed) and `chat_logs`
(the messages, text/system/bot), people in `auth.users`.

An appointment becomes a Parlour appointment (the individual its customer, the volunteer its
expert) with its `appointment` conversation; the chat closes the tenant's grace hours after
the end, as the guide's own rule (6 hours after the end time) did."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from parlour.importer import values
from parlour.importer.plans import AppointmentPlan, ConversationPlan, MessagePlan, Person, Skip
from parlour.importer.sources import Source
from parlour.importer.systems import System, auth_users

USER = "auth.users"
STATUSES = {
    "scheduled": "scheduled",
    "confirmed": "scheduled",
    "booked": "scheduled",
    "pending": "scheduled",
    "completed": "completed",
    "done": "completed",
    "canceled": "cancelled",
    "cancelled": "cancelled",
}
KINDS = {"text": "text", "system": "system", "bot": "bot"}


async def _chats(source: Source) -> dict[str, dict[str, Any]]:
    """appointment id -> its appointment_chats row."""
    found: dict[str, dict[str, Any]] = {}
    if await source.has_table("appointment_chats"):
        async for row in source.rows("appointment_chats", ("created_at", "id")):
            found.setdefault(str(row.get("appointment_id")), row)
    return found


async def people(source: Source) -> AsyncIterator[Person | Skip]:
    known = await auth_users.load(source)
    roles: dict[str, str] = {}
    async for row in source.rows("appointments", ("id",)):
        volunteer, individual = values.text(row, "volunteer_id"), values.text(row, "individual_id")
        if volunteer:
            roles[volunteer] = "agent"
        if individual and roles.get(individual) != "agent":
            roles[individual] = "customer"
    for user_id, role in roles.items():
        auth = known.get(user_id)
        yield Person(
            key=(USER, user_id),
            role=role,
            name=(auth and (auth.name or auth.email)) or auth_users.fallback_name(role, user_id),
            email=auth.email if auth else None,
        )


def _conversation_state(
    appointment_status: str, chat: dict[str, Any] | None, ends_at: datetime
) -> tuple[str, datetime | None, str | None]:
    """(status, ended_at, end_reason) of the appointment's chat."""
    if appointment_status == "cancelled":
        ended = (chat and values.moment(chat, "closed_at")) or ends_at
        return "ended", ended, "cancelled"
    closed = chat is not None and (values.text(chat, "status") or "active").lower() == "closed"
    if closed or appointment_status == "completed":
        return "ended", (chat and values.moment(chat, "closed_at")) or ends_at, "appointment_over"
    return "active", None, None


async def conversations(source: Source) -> AsyncIterator[ConversationPlan | Skip]:
    chats = await _chats(source)
    async for row in source.rows("appointments", ("start_time", "id")):
        appointment_id = str(row.get("id") or "")
        try:
            appointment_id = values.ident(row, "id")
            customer = values.text(row, "individual_id", required=True)
            expert = values.text(row, "volunteer_id", required=True)
            starts_at = values.moment(row, "start_time", required=True)
            ends_at = values.moment(row, "end_time", required=True)
            assert customer and expert and starts_at and ends_at
            if ends_at <= starts_at:
                raise values.BadValue("end_time is not after start_time")
            status = values.choice(
                values.text(row, "status") or "scheduled", STATUSES, column="status"
            )
            chat = chats.get(appointment_id)
            created_at = (
                values.moment(row, "created_at")
                or (chat and values.moment(chat, "created_at"))
                or starts_at
            )
            state, ended_at, end_reason = _conversation_state(status, chat, ends_at)
        except values.BadValue as exc:
            yield Skip("appointments", appointment_id, str(exc))
            continue
        if status == "scheduled" and state == "ended":
            status = "completed"  # its chat was closed after the appointment
        yield ConversationPlan(
            key=("appointments", appointment_id),
            kind="appointment",
            status=state,
            customer=(USER, customer),
            agents=[(USER, expert)],
            subject="Appointment",
            created_at=created_at,
            ended_at=ended_at,
            end_reason=end_reason,
            appointment=AppointmentPlan(
                expert=(USER, expert),
                starts_at=starts_at,
                ends_at=ends_at,
                status=status,
                created_at=created_at,
                cancelled_at=ended_at if status == "cancelled" else None,
            ),
        )


async def messages(source: Source) -> AsyncIterator[MessagePlan | Skip]:
    async for row in source.rows("chat_logs", ("created_at", "id")):
        log_id = str(row.get("id") or "")
        try:
            log_id = values.ident(row, "id")
            appointment_id = values.ident(row, "appointment_id")
            body = values.text(row, "content", required=True)
            created_at = values.moment(row, "created_at", required=True)
            assert body is not None and created_at is not None
            kind = values.choice(
                values.text(row, "message_type") or "text", KINDS, column="message_type"
            )
            if values.flag(row, "is_system_message"):
                kind = "system"
            sender = values.text(row, "sender_id") if kind == "text" else None
            if kind == "text" and not sender:
                raise values.BadValue("sender_id is empty")
        except values.BadValue as exc:
            yield Skip("chat_logs", log_id, str(exc))
            continue
        yield MessagePlan(
            key=("chat_logs", log_id),
            conversation=("appointments", appointment_id),
            sender=(USER, sender) if sender else None,
            kind=kind,
            body=body,
            created_at=created_at,
        )


SYSTEM = System(
    name="appointments",
    tables=("appointments", "appointment_chats", "chat_logs"),
    marks=(("chat_logs", "stream_message_id"),),
    people=people,
    conversations=conversations,
    messages=messages,
    message_table="chat_logs",
    describe="appointments, appointment_chats, chat_logs (guide 003)",
)
