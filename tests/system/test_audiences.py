"""Events reach only their audience: a staff member who cannot read a conversation never
receives its subject, last message or message text, only the redacted queue entry."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from parlour.runtime import Runtime
from tests.factories import make_user, token_for
from tests.system.conftest import LiveServer
from tests.system.wsclient import Frame, RealtimeClient

pytestmark = pytest.mark.system

SUBJECT = "Secret subject 7f3a"
TEXT = "secret message text 9c2e"


async def _drain(client: RealtimeClient, quiet: float = 0.5) -> None:
    """Read frames until none arrive for `quiet` seconds."""
    try:
        while True:
            await client.next(timeout=quiet)
    except TimeoutError:
        return


async def test_a_non_participant_agent_gets_only_the_redacted_queue_entry(
    runtime: Runtime, shared_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer", name="Carla Customer")
    agent = await make_user(runtime, "agent")
    outsider = await make_user(runtime, "agent")
    admin = await make_user(runtime, "admin")
    watcher = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, outsider))
    boss = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, admin))
    cust = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, customer))

    def http(who: object) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=shared_server.url,
            headers={"Authorization": f"Bearer {token_for(runtime, who)}"},  # type: ignore[arg-type]
        )

    async with http(customer) as c_http, http(agent) as a_http:
        created = await c_http.post("/api/v1/conversations", json={"subject": SUBJECT})
        assert created.status_code == 201, created.text
        cid = created.json()["id"]
        await cust.subscribe(cid, after_seq=0)
        assert (await a_http.post(f"/api/v1/conversations/{cid}/join")).status_code == 200
        sent = await c_http.post(f"/api/v1/conversations/{cid}/messages", json={"body": TEXT})
        assert sent.status_code == 201
        assert (await a_http.post(f"/api/v1/conversations/{cid}/end")).status_code == 200

    # The customer (a participant) sees everything: the message and the full view.
    await cust.until(lambda f: f["type"] == "message" and f["message"]["body"] == TEXT)
    await cust.until(
        lambda f: f["type"] == "conversation" and f["conversation"]["status"] == "ended"
    )
    # The admin reads every conversation of the tenant: full views, subject and last message.
    ended = await boss.until(
        lambda f: f["type"] == "conversation" and f["conversation"]["status"] == "ended"
    )
    assert ended["conversation"]["subject"] == SUBJECT
    assert ended["conversation"]["last_message"]["kind"] == "system"

    await _drain(watcher)
    mine: list[Frame] = [f for f in watcher.seen if cid in json.dumps(f)]
    text = json.dumps(watcher.seen)
    assert SUBJECT not in text and TEXT not in text
    assert "last_message" not in text and "subject" not in text
    assert all(f["type"] == "queue" for f in mine), mine
    assert [f["action"] for f in mine] == ["queued", "dequeued"]
    assert mine[0]["entry"] == {
        "id": cid,
        "kind": "support",
        "channel": "web",
        "status": "waiting",
        "created_at": mine[0]["entry"]["created_at"],
        "customer_display_name": "Carla Customer",
    }
    assert mine[1]["entry"]["status"] == "active"
    for client in (watcher, boss, cust):
        await client.close()


async def test_an_agent_cannot_subscribe_to_a_queued_conversation(
    runtime: Runtime, shared_server: LiveServer
) -> None:
    customer = await make_user(runtime, "customer")
    outsider = await make_user(runtime, "agent")
    headers = {"Authorization": f"Bearer {token_for(runtime, customer)}"}
    async with httpx.AsyncClient(base_url=shared_server.url, headers=headers) as http:
        cid = (await http.post("/api/v1/conversations", json={"subject": SUBJECT})).json()["id"]
    watcher = await RealtimeClient.connect(shared_server.ws_url, token_for(runtime, outsider))
    await watcher.send({"type": "subscribe", "conversation_id": cid, "after_seq": 0, "ref": "s"})
    reply = await watcher.until(lambda f: f.get("ref") == "s")
    assert reply["type"] == "error" and reply["code"] == "conversation_not_found"
    await asyncio.sleep(0)
    await watcher.close()
