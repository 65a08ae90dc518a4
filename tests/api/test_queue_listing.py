"""`GET /conversations?scope=queue`: agents who are not participants see redacted entries."""

from __future__ import annotations

import httpx

from parlour.messages.service import do_send_message
from parlour.runtime import Runtime
from tests.factories import auth, make_conversation, make_user


async def test_the_queue_is_redacted_for_agents_and_full_for_admins(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    customer = await make_user(runtime, "customer", name="Queued Customer")
    agent = await make_user(runtime, "agent")
    admin = await make_user(runtime, "admin")
    conv = await make_conversation(runtime, customer)  # subject "Help", waiting
    async with runtime.uow() as tx:
        await do_send_message(
            tx,
            customer,
            conversation_id=conv.id,
            body="my card number is 1234",
            client_msg_id=None,
            max_chars=4000,
        )

    response = await client.get("/api/v1/conversations?scope=queue", headers=auth(runtime, agent))
    assert response.status_code == 200
    [entry] = [c for c in response.json()["conversations"] if c["id"] == conv.id]
    assert entry == {
        "id": conv.id,
        "kind": "support",
        "channel": "web",
        "status": "waiting",
        "created_at": entry["created_at"],
        "customer_display_name": "Queued Customer",
    }
    assert "1234" not in response.text and "Help" not in response.text

    response = await client.get("/api/v1/conversations?scope=queue", headers=auth(runtime, admin))
    [full] = [c for c in response.json()["conversations"] if c["id"] == conv.id]
    assert full["subject"] == "Help"
    assert full["last_message"]["body"] == "my card number is 1234"
