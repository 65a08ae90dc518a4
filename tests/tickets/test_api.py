"""The support start and the tickets API on both databases: what each caller may and may not
do, resolving, the end of a conversation resolving its ticket, and a customer coming back."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from parlour.core.clock import FrozenClock
from parlour.core.ratelimit import RateLimiter
from parlour.models.ticket import Ticket
from parlour.models.user import User
from parlour.runtime import Runtime
from tests.api.support import assert_error, deactivate, make_world, row_counts
from tests.tickets.support import START, start_chat

TICKETS = "/api/v1/tickets"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _tickets(rt: Runtime) -> list[Ticket]:
    async with rt.uow(write=False) as tx:
        return list(await tx.session.scalars(select(Ticket).order_by(Ticket.number)))


async def test_a_visitor_becomes_a_guest_with_a_numbered_ticket(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await make_world(runtime)
    first = await start_chat(
        client, "Where is my parcel?\nOrder 42", display_name="Vic", email="Vic@Example.com"
    )
    conversation, ticket, credential = first["conversation"], first["ticket"], first["credential"]
    assert first["created"] is True
    assert (conversation["kind"], conversation["status"]) == ("support", "waiting")
    assert conversation["subject"] == "Where is my parcel?"
    assert conversation["last_message"]["body"] == "Where is my parcel?\nOrder 42"
    assert ticket["number"] == 1 and ticket["status"] == "open" and ticket["priority"] == "normal"
    assert ticket["conversation_id"] == conversation["id"]
    assert ticket["contact_email"] == "vic@example.com" and ticket["customer_name"] == "Vic"
    assert ticket["assignee_id"] is None and ticket["previous_ticket_id"] is None
    assert credential["user"]["is_guest"] is True and credential["user"]["display_name"] == "Vic"
    # The credential reads the conversation (the widget keeps it).
    token = credential["access_token"]
    history = await client.get(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=bearer(token)
    )
    assert [m["body"] for m in history.json()["messages"] if m["kind"] == "text"] == [
        "Where is my parcel?\nOrder 42"
    ]
    second = await start_chat(client, "Hello")
    assert second["ticket"]["number"] == 2
    assert second["credential"]["user"]["display_name"] == "Guest"
    # No cookie: the widget keeps the token itself.
    assert "set-cookie" not in (await client.post(START, json={"message": "x"})).headers


async def test_refused_starts_store_nothing(runtime: Runtime, client: httpx.AsyncClient) -> None:
    world = await make_world(runtime)
    before = await row_counts(runtime)
    cases: list[tuple[dict[str, Any], dict[str, str], dict[str, str], int, str | None]] = [
        ({"message": ""}, {}, {}, 422, None),
        ({"message": "x" * 4001}, {}, {}, 422, None),
        ({"message": "hi", "email": "not-an-email"}, {}, {}, 422, None),
        ({"message": "hi", "extra": 1}, {}, {}, 422, None),
        ({"message": "hi"}, {}, {"tenant": "nowhere"}, 404, "tenant_not_found"),
        ({"message": "hi"}, bearer("nonsense"), {}, 401, "invalid_token"),
        ({"message": "hi"}, world.headers["agent"], {}, 403, "customers_only"),
        ({"message": "hi"}, world.headers["admin"], {}, 403, "customers_only"),
        ({"message": "hi"}, world.headers["api_key"], {}, 403, "customers_only"),
        ({"message": "hi"}, world.headers["foreign_customer"], {}, 403, "wrong_tenant"),
    ]
    for body, headers, params, status, code in cases:
        response = await client.post(START, json=body, headers=headers, params=params)
        if code is None:
            assert response.status_code == status, (body, response.text)
        else:
            assert_error(response, status, code)
    assert await row_counts(runtime) == before
    assert await _tickets(runtime) == []


async def test_a_customer_uses_their_own_credential_and_an_open_chat_takes_the_message(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = await make_world(runtime)
    token = world.headers["customer"]["Authorization"].removeprefix("Bearer ")
    first = await start_chat(client, "One", token=token)
    assert first["credential"] is None
    assert first["conversation"]["customer_id"] == world.customer.user_id
    again = await start_chat(client, "Two", token=token, expect=200)
    assert again["created"] is False
    assert again["conversation"]["id"] == first["conversation"]["id"]
    assert again["ticket"]["id"] == first["ticket"]["id"]
    assert again["conversation"]["last_message"]["body"] == "Two"
    assert len(await _tickets(runtime)) == 1


async def test_guest_creation_is_limited_per_address(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    runtime.settings.guest_rate_per_minute = 2
    # A fixed window: a still clock keeps the three starts in one minute.
    runtime.limiter = RateLimiter(FrozenClock())
    await make_world(runtime)
    await start_chat(client, "a")
    await start_chat(client, "b")
    assert_error(await client.post(START, json={"message": "c"}), 429, "rate_limited")
    async with runtime.uow(write=False) as tx:
        guests = await tx.session.scalar(select(func.count()).where(User.is_guest.is_(True)))
    assert guests == 2


async def test_who_may_list_tickets_and_what_they_see(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = await make_world(runtime)
    h = world.headers
    one = await start_chat(client, "First")
    two = await start_chat(client, "Second")
    three = await start_chat(client, "Third")
    # Nobody outside the tenant's staff lists tickets.
    assert_error(await client.get(TICKETS), 401)
    assert_error(await client.get(TICKETS, headers=h["customer"]), 403, "staff_only")
    guest = bearer(one["credential"]["access_token"])
    assert_error(await client.get(TICKETS, headers=guest), 403, "staff_only")
    for foreign in ("foreign_admin", "foreign_api_key"):
        response = await client.get(TICKETS, headers=h[foreign])
        assert response.status_code == 200 and response.json()["tickets"] == []

    listed = (await client.get(TICKETS, headers=h["admin"])).json()
    assert [t["number"] for t in listed["tickets"]] == [3, 2, 1]
    assert listed["next_before"] is None
    assert [
        t["number"] for t in (await client.get(TICKETS, headers=h["api_key"])).json()["tickets"]
    ] == [3, 2, 1]

    # An agent sees nothing of their own yet; the queue shows the waiting ones, redacted.
    assert (await client.get(TICKETS, headers=h["agent"])).json()["tickets"] == []
    queue = (await client.get(TICKETS, params={"queue": "true"}, headers=h["agent"])).json()
    assert [t["number"] for t in queue["tickets"]] == [3, 2, 1]
    assert all(t["redacted"] and t["subject"] is None for t in queue["tickets"])
    assert all(t["customer_name"] is None for t in queue["tickets"])

    # The agent joins ticket 2 from the queue: it is theirs, in full.
    cid = two["conversation"]["id"]
    assert (
        await client.post(f"/api/v1/conversations/{cid}/join", headers=h["agent"])
    ).status_code == 200
    mine = (await client.get(TICKETS, headers=h["agent"])).json()["tickets"]
    assert [(t["number"], t["subject"], t["assignee_id"], t["redacted"]) for t in mine] == [
        (2, "Second", world.agent.user_id, False)
    ]
    queue = (await client.get(TICKETS, params={"queue": "true"}, headers=h["agent"])).json()
    assert [t["number"] for t in queue["tickets"]] == [3, 1]
    # Filters: assignee (me, a user id, none), status; pages with `before`.
    admin_get = lambda **p: client.get(TICKETS, params=p, headers=h["admin"])  # noqa: E731
    me = (await client.get(TICKETS, params={"assignee": "me"}, headers=h["agent"])).json()
    assert [t["number"] for t in me["tickets"]] == [2]
    by_id = (await admin_get(assignee=world.agent.user_id)).json()["tickets"]
    assert [t["number"] for t in by_id] == [2]
    assert [t["number"] for t in (await admin_get(assignee="none")).json()["tickets"]] == [3, 1]
    assert [t["number"] for t in (await admin_get(assignee="me")).json()["tickets"]] == []
    pend = await client.patch(
        f"{TICKETS}/{one['ticket']['id']}", json={"status": "pending"}, headers=h["admin"]
    )
    assert pend.status_code == 200, pend.text
    assert [t["number"] for t in (await admin_get(status="pending")).json()["tickets"]] == [1]
    assert [t["number"] for t in (await admin_get(status="open")).json()["tickets"]] == [3, 2]
    page = (await admin_get(limit=2)).json()
    assert [t["number"] for t in page["tickets"]] == [3, 2] and page["next_before"] == 2
    rest = (await admin_get(limit=2, before=page["next_before"])).json()
    assert [t["number"] for t in rest["tickets"]] == [1] and rest["next_before"] is None
    # Bad filters are 422, never 500.
    for params in ({"status": "nope"}, {"limit": 0}, {"before": 0}, {"assignee": "a b"}):
        assert (await admin_get(**params)).status_code == 422
    assert three["ticket"]["number"] == 3


async def test_who_may_change_a_ticket_and_resolving_ends_the_conversation(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = await make_world(runtime)
    h = world.headers
    started = await start_chat(client, "Broken")
    tid, cid = started["ticket"]["id"], started["conversation"]["id"]
    url = f"{TICKETS}/{tid}"
    guest = bearer(started["credential"]["access_token"])
    before = await _tickets(runtime)

    assert_error(await client.patch(url, json={"priority": "high"}), 401)
    assert_error(
        await client.patch(url, json={"priority": "high"}, headers=guest), 403, "staff_only"
    )
    assert_error(await client.patch(url, json={"priority": "high"}, headers=h["customer"]), 403)
    for outsider in ("agent", "foreign_admin", "foreign_api_key"):
        # An agent not taking part, or another tenant: as if it did not exist.
        assert_error(
            await client.patch(url, json={"priority": "high"}, headers=h[outsider]),
            404,
            "ticket_not_found",
        )
        assert_error(await client.get(url, headers=h[outsider]), 404, "ticket_not_found")
    assert_error(await client.patch(f"{TICKETS}/missing", json={}, headers=h["admin"]), 404)
    for bad in ({"status": "done"}, {"priority": "meh"}, {"subject": ""}, {"number": 3}):
        assert (await client.patch(url, json=bad, headers=h["admin"])).status_code == 422
    assert [(t.status, t.priority) for t in await _tickets(runtime)] == [
        (t.status, t.priority) for t in before
    ]

    await client.post(f"/api/v1/conversations/{cid}/join", headers=h["agent"])
    changed = await client.patch(
        url,
        json={"status": "pending", "priority": "urgent", "subject": "Broken kettle"},
        headers=h["agent"],
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["status"], changed.json()["priority"], changed.json()["subject"]) == (
        "pending",
        "urgent",
        "Broken kettle",
    )
    # Another agent of the tenant who is not in the conversation still may not.
    assert_error(await client.patch(url, json={"status": "open"}, headers=h["other_agent"]), 404)

    resolved = (await client.patch(url, json={"status": "resolved"}, headers=h["agent"])).json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    assert resolved["conversation_status"] == "ended"
    conversation = (await client.get(f"/api/v1/conversations/{cid}", headers=guest)).json()
    assert (conversation["status"], conversation["end_reason"]) == ("ended", "agent")
    assert_error(
        await client.patch(url, json={"status": "open"}, headers=h["agent"]),
        409,
        "invalid_transition",
    )
    closed = (await client.patch(url, json={"status": "closed"}, headers=h["admin"])).json()
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    for change in ({"priority": "low"}, {"status": "resolved"}, {"status": "closed"}):
        assert_error(await client.patch(url, json=change, headers=h["admin"]), 409, "ticket_closed")


async def test_closing_an_open_ticket_ends_its_conversation_too(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = await make_world(runtime)
    started = await start_chat(client, "Spam")
    closed = await client.patch(
        f"{TICKETS}/{started['ticket']['id']}",
        json={"status": "closed"},
        headers=world.headers["admin"],
    )
    assert closed.json()["status"] == "closed" and closed.json()["conversation_status"] == "ended"


async def test_the_end_of_a_conversation_resolves_its_ticket(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = await make_world(runtime)
    started = await start_chat(client, "Never mind")
    guest = bearer(started["credential"]["access_token"])
    cid = started["conversation"]["id"]
    ended = await client.post(f"/api/v1/conversations/{cid}/end", json={}, headers=guest)
    assert ended.status_code == 200
    ticket = (
        await client.get(f"{TICKETS}/{started['ticket']['id']}", headers=world.headers["admin"])
    ).json()
    assert ticket["status"] == "resolved" and ticket["resolved_at"] is not None


async def test_a_customer_who_writes_again_gets_a_linked_ticket_whose_history_staff_read(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = await make_world(runtime)
    h = world.headers
    first = await start_chat(client, "The tap drips")
    token = first["credential"]["access_token"]
    first_cid = first["conversation"]["id"]
    await client.post(f"/api/v1/conversations/{first_cid}/join", headers=h["other_agent"])
    await client.post(
        f"/api/v1/conversations/{first_cid}/messages",
        json={"body": "Turn the valve"},
        headers=h["other_agent"],
    )
    await client.patch(
        f"{TICKETS}/{first['ticket']['id']}", json={"status": "resolved"}, headers=h["other_agent"]
    )

    again = await start_chat(client, "It drips again", token=token)
    assert again["created"] is True and again["credential"] is None
    assert again["conversation"]["id"] != first_cid
    assert again["ticket"]["previous_ticket_id"] == first["ticket"]["id"]
    assert again["ticket"]["number"] == 2
    history_url = f"{TICKETS}/{again['ticket']['id']}/history"

    # The agent who takes the new one reads the earlier transcript (not a participant there).
    await client.post(
        f"/api/v1/conversations/{again['conversation']['id']}/join", headers=h["agent"]
    )
    history = await client.get(history_url, headers=h["agent"])
    assert history.status_code == 200, history.text
    [earlier] = history.json()["earlier"]
    assert earlier["ticket"]["id"] == first["ticket"]["id"]
    texts = [m["body"] for m in earlier["messages"] if m["kind"] == "text"]
    assert texts == ["The tap drips", "Turn the valve"]
    assert_error(
        await client.get(f"/api/v1/conversations/{first_cid}", headers=h["agent"]), 404
    )  # the earlier conversation itself stays its participants'
    # Who may not: the customer, the guest, anonymous, another tenant, an agent not in it.
    assert_error(await client.get(history_url, headers=bearer(token)), 403)
    assert_error(await client.get(history_url), 401)
    assert_error(await client.get(history_url, headers=h["foreign_admin"]), 404)
    assert_error(await client.get(history_url, headers=h["customer"]), 403)
    admin = await client.get(history_url, headers=h["admin"])
    assert admin.status_code == 200 and len(admin.json()["earlier"]) == 1


async def test_a_revoked_or_deactivated_guest_cannot_write_again(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await make_world(runtime)
    first = await start_chat(client, "Hello")
    token = first["credential"]["access_token"]
    assert (await client.post("/api/v1/auth/logout", headers=bearer(token))).status_code == 204
    before = await row_counts(runtime)
    assert_error(
        await client.post(START, json={"message": "again"}, headers=bearer(token)),
        401,
        "invalid_token",
    )
    second = await start_chat(client, "Hi")
    await deactivate(runtime, second["credential"]["user"]["id"])
    assert_error(
        await client.post(
            START,
            json={"message": "again"},
            headers=bearer(second["credential"]["access_token"]),
        ),
        401,
        "invalid_token",
    )
    # Only the second guest's own start was stored.
    assert len(await _tickets(runtime)) == 2
    assert (await row_counts(runtime))["conversations"] == before["conversations"] + 1


async def test_a_support_conversation_opened_another_way_gets_its_ticket(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = await make_world(runtime)
    h = world.headers
    first = await start_chat(client, "Through the widget")
    opened = await client.post(
        "/api/v1/conversations",
        json={"kind": "support", "subject": "From my page"},
        headers=h["customer"],
    )
    assert opened.status_code == 201
    staff_opened = await client.post(
        "/api/v1/conversations",
        json={"kind": "consultation", "customer_id": world.customer.user_id},
        headers=h["admin"],
    )
    assert staff_opened.status_code == 201
    tickets = await _tickets(runtime)
    assert [(t.number, t.subject, t.conversation_id) for t in tickets] == [
        (1, "Through the widget", first["conversation"]["id"]),
        (2, "From my page", opened.json()["id"]),
    ]  # one each (the widget's is not doubled), none for the consultation
    # It is a ticket like any other: the customer writing through the desk continues it.
    token = h["customer"]["Authorization"].removeprefix("Bearer ")
    again = await start_chat(client, "Still there?", token=token, expect=200)
    assert again["ticket"]["number"] == 2
