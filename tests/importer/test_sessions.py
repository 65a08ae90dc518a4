"""Guide 001's sessions, participants and chat messages, imported from a PostgreSQL source
built from the guide's columns and checked through the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from parlour.models.user import User
from parlour.runtime import Runtime
from tests.factories import auth, make_user
from tests.importer.support import reasons, run

ALICE = "a1000000-0000-4000-8000-000000000001"


async def _conversations(client: Any, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = await client.get("/api/v1/conversations?scope=all&limit=100", headers=headers)
    assert response.status_code == 200, response.text
    return {c["subject"]: c for c in response.json()["conversations"]}


async def _messages(
    client: Any, headers: dict[str, str], conversation_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/conversations/{conversation_id}/messages", headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()["messages"]


async def test_sessions_become_conversations_with_their_people_and_ordered_messages(
    runtime: Runtime, client: Any, sources: dict[str, str]
) -> None:
    report = await run(runtime, sources["sessions"], tenant="garage")

    assert (report.people.imported, report.people.skipped) == (4, 0)
    assert (report.conversations.imported, report.conversations.skipped) == (3, 2)
    assert (report.messages.imported, report.messages.skipped) == (7, 2)
    skipped = reasons(report)
    assert (
        "unknown status 'on_hold'" in skipped[("sessions", "5e000000-0000-4000-8000-000000000004")]
    )
    assert skipped[("sessions", "5e000000-0000-4000-8000-000000000005")] == (
        "no customer in session_participants"
    )
    assert "empty" in skipped[("chat_messages", "c0000000-0000-4000-8000-000000000008")]
    assert "was not imported" in skipped[("chat_messages", "c0000000-0000-4000-8000-000000000009")]

    admin = await make_user(runtime, "admin", tenant="garage")
    headers = auth(runtime, admin)
    found = await _conversations(client, headers)
    assert set(found) == {"chat10", "video15", "diagnostic"}

    chat = found["chat10"]
    assert (chat["kind"], chat["status"], chat["end_reason"]) == ("consultation", "ended", "agent")
    assert chat["created_at"].startswith("2025-10-19T10:00:00")
    assert chat["ended_at"].startswith("2025-10-19T10:12:00")
    roles = sorted((p["role"], p["display_name"]) for p in chat["participants"])
    assert roles == [("agent", "Marco Mechanic"), ("customer", "Alice Driver")]
    messages = await _messages(client, headers, chat["id"])
    assert [m["seq"] for m in messages] == [1, 2, 3, 4, 5]
    assert [m["body"] for m in messages] == [
        "Hi, my car makes a grinding noise when braking.",
        "Hello Alice, front or rear wheels?",
        "It only happens when the engine is cold.",
        "Sounds like worn pads; have them replaced this week.",
        "Thanks, booking it in!",
    ]
    times = [datetime.fromisoformat(m["created_at"]) for m in messages]
    assert times == sorted(times) and times[0] == datetime(2025, 10, 19, 10, 1, tzinfo=UTC)
    assert chat["last_seq"] == 5

    assert (found["video15"]["kind"], found["video15"]["status"]) == ("video", "waiting")
    assert (found["diagnostic"]["kind"], found["diagnostic"]["status"]) == ("diagnostic", "active")

    # People come without passwords (never Supabase's hashes) and with their source emails.
    async with runtime.uow(write=False) as tx:
        users = {
            u.email: u
            for u in await tx.session.scalars(select(User).where(User.tenant_id == admin.tenant_id))
        }
    alice = users["alice.driver@example.com"]
    assert alice.password_hash is None and alice.role == "customer"
    assert users["marco@garage.example"].role == "agent"
    assert users["priya@garage.example"].display_name == "Priya"
    assert all(u.password_hash is None for u in users.values() if u.id != admin.user_id)
