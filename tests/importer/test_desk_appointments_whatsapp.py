"""Guides 002, 003 and 004 imported and checked through the API: the desk's chats become
support conversations with numbered tickets, Stream appointments become appointments whose
chats close the tenant's grace hours after the end, WhatsApp/SMS conversations keep their
channel, summary and Twilio ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from parlour.deadlines.sweep import sweep
from parlour.runtime import Runtime
from tests.factories import auth, make_user
from tests.importer.support import reasons, run


async def _get(client: Any, headers: dict[str, str], path: str) -> Any:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _bodies(client: Any, headers: dict[str, str], conversation_id: str) -> list[str]:
    page = await _get(client, headers, f"/api/v1/conversations/{conversation_id}/messages")
    assert [m["seq"] for m in page["messages"]] == list(range(1, len(page["messages"]) + 1))
    # An admin reading an open conversation is recorded as observing it (Parlour's own notice).
    return [
        m["body"]
        for m in page["messages"]
        if m["meta"] is None or m["meta"].get("event") != "observing"
    ]


async def test_desk_chats_become_support_conversations_with_their_tickets(
    runtime: Runtime, client: Any, sources: dict[str, str]
) -> None:
    report = await run(runtime, sources["web_chat"], tenant="desk")

    # Two agents and three customers: Dewi's two chats came from one phone number.
    assert (report.people.imported, report.conversations.imported) == (5, 4)
    skipped = reasons(report)
    assert "a second ticket" in skipped[("tickets", "7c000000-0000-4000-8000-000000000005")]
    assert skipped[("chat_messages", "3a000000-0000-4000-8000-000000000008")] == (
        "an agent message names no agent"
    )
    assert skipped[("chat_messages", "3a000000-0000-4000-8000-000000000009")] == (
        "the message is empty"
    )

    admin = await make_user(runtime, "admin", tenant="desk")
    headers = auth(runtime, admin)
    tickets = (await _get(client, headers, "/api/v1/tickets?limit=50"))["tickets"]
    by_subject = {t["subject"]: t for t in tickets}
    assert sorted(t["number"] for t in tickets) == [1, 2, 3, 4]  # the tenant's own numbering
    order = by_subject["Order not delivered"]
    assert (order["status"], order["priority"], order["conversation_status"]) == (
        "resolved",
        "high",
        "ended",
    )
    assert order["resolved_at"].startswith("2025-11-01T09:30:00")
    refund = by_subject["Refund question"]
    assert (refund["status"], refund["conversation_status"]) == ("open", "active")
    assert refund["customer_id"] == order["customer_id"]  # one Dewi
    waiting = by_subject["Chat with Visitor"]
    assert (waiting["conversation_status"], waiting["assignee_id"]) == ("waiting", None)
    assert by_subject["Wrong size"]["priority"] == "urgent"

    conversation = await _get(client, headers, f"/api/v1/conversations/{order['conversation_id']}")
    assert (conversation["kind"], conversation["end_reason"]) == ("support", "agent")
    assert sorted(p["display_name"] for p in conversation["participants"]) == [
        "Dewi",
        "Sari Agent",
    ]
    assert await _bodies(client, headers, order["conversation_id"]) == [
        "My order #5521 never arrived",
        "Sari Agent joined the chat",
        "Sorry Dewi, I am resending it today.",
        "[image] https://xyz.supabase.co/storage/v1/object/public/chat-images/receipt.png",
    ]
    rudi = await _get(
        client, headers, f"/api/v1/conversations/{by_subject['Wrong size']['conversation_id']}"
    )
    assert rudi["channel"] == "whatsapp"


async def test_stream_appointments_become_appointments_closing_after_the_grace(
    runtime: Runtime, client: Any, sources: dict[str, str]
) -> None:
    report = await run(runtime, sources["appointments"], tenant="mentoring")

    assert report.conversations.imported == 3
    skipped = reasons(report)
    assert "slot_taken" in skipped[("appointments", "4")]
    assert skipped[("appointments", "5")] == "end_time is not after start_time"
    assert "auth.users ghost-user was not imported" in skipped[("chat_logs", "6")]

    admin = await make_user(runtime, "admin", tenant="mentoring")
    headers = auth(runtime, admin)
    found = (await _get(client, headers, "/api/v1/appointments?view=all"))["appointments"]
    by_start = {a["starts_at"][:10]: a for a in found}
    assert set(by_start) == {"2025-09-01", "2030-05-06", "2025-09-10"}

    upcoming = by_start["2030-05-06"]
    assert (upcoming["status"], upcoming["expert_name"], upcoming["customer_name"]) == (
        "scheduled",
        "Vera Volunteer",
        "Omar Individual",
    )
    end = datetime.fromisoformat(upcoming["ends_at"])
    assert datetime.fromisoformat(upcoming["closes_at"]) == end + timedelta(hours=6)
    chat = await _get(client, headers, f"/api/v1/conversations/{upcoming['conversation_id']}")
    assert (chat["kind"], chat["status"]) == ("appointment", "active")
    assert datetime.fromisoformat(chat["closes_at"]) == end + timedelta(hours=6)
    assert await _bodies(client, headers, upcoming["conversation_id"]) == [
        "Can we talk about my CV?"
    ]

    past = by_start["2025-09-01"]
    assert past["status"] == "completed"
    past_chat = await _get(client, headers, f"/api/v1/conversations/{past['conversation_id']}")
    assert (past_chat["status"], past_chat["end_reason"]) == ("ended", "appointment_over")
    assert past_chat["ended_at"].startswith("2025-09-01T22:00:00")
    assert await _bodies(client, headers, past["conversation_id"]) == [
        "Chat opened for your appointment on 1 September.",
        "Looking forward to it!",
        "Hi Nina, see you at three.",
        "Reminder: your appointment starts in 1 hour.",
    ]

    cancelled = by_start["2025-09-10"]
    assert cancelled["status"] == "cancelled"
    cancelled_chat = await _get(
        client, headers, f"/api/v1/conversations/{cancelled['conversation_id']}"
    )
    assert cancelled_chat["end_reason"] == "cancelled"

    # Parlour's rules apply from now on: the sweep leaves the future one alone.
    await sweep(runtime.uow, runtime.deadlines, batch_size=100)
    again = await _get(client, headers, f"/api/v1/appointments/{upcoming['id']}")
    assert again["status"] == "scheduled"
    assert datetime.fromisoformat(again["closes_at"]) > datetime.now(UTC)


async def test_whatsapp_conversations_keep_their_channel_summary_and_provider_ids(
    runtime: Runtime, client: Any, sources: dict[str, str]
) -> None:
    report = await run(runtime, sources["whatsapp"], tenant="mitra")

    assert (report.people.imported, report.conversations.imported, report.messages.imported) == (
        3,
        2,
        5,
    )
    assert "appears twice" in reasons(report)[("messages", "f4000000-0000-4000-8000-000000000006")]

    admin = await make_user(runtime, "admin", tenant="mitra")
    headers = auth(runtime, admin)
    listed = (await _get(client, headers, "/api/v1/conversations?scope=all"))["conversations"]
    by_channel = {c["channel"]: c for c in listed}
    whatsapp, sms = by_channel["whatsapp"], by_channel["sms"]
    assert (whatsapp["status"], sms["status"], sms["end_reason"]) == ("active", "ended", "agent")
    assert sorted(p["role"] for p in whatsapp["participants"]) == ["agent", "customer"]

    page = await _get(client, headers, f"/api/v1/conversations/{whatsapp['id']}/messages")
    kinds = [(m["kind"], m["body"].split("]")[0]) for m in page["messages"]]
    assert kinds[1][0] == "bot" and kinds[2] == ("image", "[image")
    assert [m["channel"] for m in page["messages"][:3]] == [
        "whatsapp"
    ] * 3  # then the observer notice

    from sqlalchemy import select

    from parlour.models import Conversation, Message

    async with runtime.uow(write=False) as tx:
        summary = await tx.session.scalar(
            select(Conversation.summary).where(Conversation.id == whatsapp["id"])
        )
        external = set(await tx.session.scalars(select(Message.external_id)))
    assert summary == "Budi reorders rice weekly; asked about delivery days."
    assert "SM55555555555555555555555555555555" in external


async def test_old_open_desk_chats_are_closed_by_the_inactivity_rule_after_import(
    runtime: Runtime, client: Any, sources: dict[str, str]
) -> None:
    """Parlour's rules apply to imported data: a support chat still open in the old app but
    silent for longer than the tenant's support_inactivity_seconds is closed by the sweep."""
    await run(runtime, sources["web_chat"], tenant="desk")
    admin = await make_user(runtime, "admin", tenant="desk")
    headers = auth(runtime, admin)

    await sweep(runtime.uow, runtime.deadlines, batch_size=100)

    tickets = (await _get(client, headers, "/api/v1/tickets?limit=50"))["tickets"]
    by_subject = {t["subject"]: t for t in tickets}
    refund = by_subject["Refund question"]
    assert (refund["status"], refund["conversation_status"]) == ("resolved", "ended")
    chat = await _get(client, headers, f"/api/v1/conversations/{refund['conversation_id']}")
    assert chat["end_reason"] == "inactivity"
