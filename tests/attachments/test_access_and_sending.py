"""Who may upload and read attachments, and the rules for a message's `attachment_ids`
(REST and WebSocket): same conversation and tenant, the sender's own upload, used once."""

from __future__ import annotations

import httpx
import pytest

from parlour.auth.tokens import COOKIE_NAME
from parlour.runtime import Runtime
from tests.api.support import World, assert_error, deactivate, make_world
from tests.attachments.support import URL, png, upload
from tests.factories import make_conversation, token_for
from tests.realtime.fakesocket import FakeSocket

BASE = "/api/v1/conversations"


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


@pytest.fixture
async def cid(runtime: Runtime, world: World) -> str:
    return (await make_conversation(runtime, world.customer, agent=world.agent)).id


async def _uploaded(client: httpx.AsyncClient, world: World, who: str, cid: str) -> str:
    r = await upload(client, world.headers[who], cid, png(), filename="photo.png")
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _send(
    client: httpx.AsyncClient, world: World, who: str, cid: str, ids: list[str], body: str = ""
) -> httpx.Response:
    return await client.post(
        f"{BASE}/{cid}/messages",
        json={"body": body, "attachment_ids": ids},
        headers=world.headers[who],
    )


@pytest.mark.parametrize(
    "who,status",
    [
        ("anonymous", 401),
        ("other_customer", 404),
        ("other_agent", 404),
        ("foreign_admin", 404),
        ("foreign_customer", 404),
        ("foreign_api_key", 404),
        ("api_key", 403),
        ("admin", 403),  # admins read from outside; they do not post
    ],
)
async def test_who_may_not_upload(
    client: httpx.AsyncClient, world: World, cid: str, who: str, status: int
) -> None:
    r = await upload(client, world.headers[who], cid, png())
    assert_error(r, status)


async def test_nobody_uploads_into_an_ended_conversation(
    client: httpx.AsyncClient, world: World, cid: str
) -> None:
    ended = await client.post(f"{BASE}/{cid}/end", json={}, headers=world.headers["agent"])
    assert ended.status_code == 200, ended.text
    assert_error(await upload(client, world.headers["customer"], cid, png()), 409)


async def test_a_sent_attachment_reaches_readers_and_nobody_else(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    aid = await _uploaded(client, world, "customer", cid)
    # Before it is sent only the uploader reads it.
    assert (await client.get(f"{URL}/{aid}", headers=world.headers["customer"])).status_code == 200
    assert_error(await client.get(f"{URL}/{aid}", headers=world.headers["agent"]), 404)

    sent = await _send(client, world, "customer", cid, [aid], body="see this")
    assert sent.status_code == 201, sent.text
    [meta] = sent.json()["attachments"]
    assert meta["id"] == aid and meta["content_type"] == "image/png"
    assert meta["url"] == f"{URL}/{aid}" and meta["thumbnail_url"] == f"{URL}/{aid}/thumbnail"

    page = await client.get(f"{BASE}/{cid}/messages", headers=world.headers["agent"])
    assert page.json()["messages"][-1]["attachments"] == [meta]

    for who in ("customer", "agent", "admin", "api_key"):
        for suffix in ("", "/thumbnail"):
            r = await client.get(f"{URL}/{aid}{suffix}", headers=world.headers[who])
            assert r.status_code == 200, (who, suffix, r.text)
    for who in (
        "other_customer",
        "other_agent",
        "foreign_admin",
        "foreign_customer",
        "foreign_api_key",
    ):
        for suffix in ("", "/thumbnail"):
            r = await client.get(f"{URL}/{aid}{suffix}", headers=world.headers[who])
            assert_error(r, 404, "attachment_not_found")
    assert_error(await client.get(f"{URL}/{aid}"), 401)
    assert_error(await client.get(f"{URL}/nope"), 401)
    assert_error(await client.get(f"{URL}/nope", headers=world.headers["customer"]), 404)

    # A deactivated account's token stops working at once.
    await deactivate(runtime, str(world.customer.user_id))
    assert_error(await client.get(f"{URL}/{aid}", headers=world.headers["customer"]), 401)


async def test_cookie_auth_serves_the_file(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    aid = await _uploaded(client, world, "customer", cid)
    client.cookies.set(COOKIE_NAME, token_for(runtime, world.customer))
    try:
        assert (await client.get(f"{URL}/{aid}")).status_code == 200
        # A cookie-authenticated upload is a write: it needs our Origin (CSRF).
        files = {"file": ("a.png", png(), "image/png")}
        refused = await client.post(URL, files=files, data={"conversation_id": cid})
        assert_error(refused, 403, "csrf_rejected")
        ok = await client.post(
            URL,
            files=files,
            data={"conversation_id": cid},
            headers={"Origin": "http://testserver"},
        )
        assert ok.status_code == 201, ok.text
    finally:
        client.cookies.clear()


async def test_attaching_what_is_not_yours_here_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    elsewhere = (await make_conversation(runtime, world.customer, agent=world.agent)).id
    other_conv_file = await _uploaded(client, world, "customer", elsewhere)
    agents_file = await _uploaded(client, world, "agent", cid)

    assert_error(
        await _send(client, world, "customer", cid, [other_conv_file]), 400, "invalid_attachment"
    )
    assert_error(
        await _send(client, world, "customer", cid, [agents_file]), 400, "invalid_attachment"
    )
    assert_error(await _send(client, world, "customer", cid, ["0" * 32]), 400, "invalid_attachment")
    assert_error(await _send(client, world, "customer", cid, []), 400, "empty_message")
    assert_error(await _send(client, world, "customer", cid, ["a"] * 11), 422)

    mine = await _uploaded(client, world, "customer", cid)
    assert_error(
        await _send(client, world, "customer", cid, [mine, mine]), 400, "invalid_attachment"
    )
    first = await _send(client, world, "customer", cid, [mine])
    assert first.status_code == 201, first.text
    assert first.json()["body"] == ""
    assert_error(
        await _send(client, world, "customer", cid, [mine], body="again"),
        409,
        "attachment_already_attached",
    )
    # The agent's own upload is fine for the agent.
    assert (await _send(client, world, "agent", cid, [agents_file])).status_code == 201


async def test_a_retry_with_the_same_client_msg_id_returns_the_original(
    client: httpx.AsyncClient, world: World, cid: str
) -> None:
    aid = await _uploaded(client, world, "customer", cid)
    body = {"body": "x", "attachment_ids": [aid], "client_msg_id": "c-att-1"}
    first = await client.post(
        f"{BASE}/{cid}/messages", json=body, headers=world.headers["customer"]
    )
    again = await client.post(
        f"{BASE}/{cid}/messages", json=body, headers=world.headers["customer"]
    )
    assert first.status_code == 201 and again.status_code in (200, 201)
    assert again.json() == first.json()


async def test_the_websocket_sends_attachments_and_the_live_event_carries_them(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    aid = await _uploaded(client, world, "customer", cid)
    agent_ws = FakeSocket(runtime, token_for(runtime, world.agent))
    customer_ws = FakeSocket(runtime, token_for(runtime, world.customer))
    for ws in (agent_ws, customer_ws):
        await ws.until(lambda f: f["type"] == "ready")
    agent_ws.send({"type": "subscribe", "conversation_id": cid, "ref": "s"})
    await agent_ws.until(lambda f: f["type"] == "subscribed")
    customer_ws.send(
        {
            "type": "send",
            "ref": "m1",
            "conversation_id": cid,
            "client_msg_id": "ws-1",
            "body": "",
            "attachment_ids": [aid],
        }
    )
    await customer_ws.until(lambda f: f["type"] == "ack")
    live = await agent_ws.until(
        lambda f: f["type"] == "message" and f["message"]["client_msg_id"] == "ws-1"
    )
    assert [a["id"] for a in live["message"]["attachments"]] == [aid]
    # Someone else's id over the WebSocket: an error frame, no message.
    agent_ws.send(
        {"type": "send", "ref": "m2", "conversation_id": cid, "body": "", "attachment_ids": [aid]}
    )
    error = await agent_ws.until(lambda f: f["type"] == "error" and f.get("ref") == "m2")
    assert error["code"] == "invalid_attachment"
    for ws in (agent_ws, customer_ws):
        await ws.leave()


async def test_a_file_missing_from_storage_is_a_404_not_a_500(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    aid = await _uploaded(client, world, "customer", cid)
    for path in (runtime.settings.data_dir / "attachments").rglob("*"):
        if path.is_file():
            path.unlink()
    assert_error(
        await client.get(f"{URL}/{aid}", headers=world.headers["customer"]),
        404,
        "attachment_missing",
    )
