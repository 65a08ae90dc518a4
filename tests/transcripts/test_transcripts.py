"""`GET /conversations/{id}/transcript?format=txt|json|csv`: every reader, every format, CSV
cells neutralised, non-readers told nothing."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from sqlalchemy import update

from parlour.messages.service import do_send_message
from parlour.models.message import Message
from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_world
from tests.factories import make_conversation

BASE = "/api/v1/conversations"
HOSTILE = ['=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx", "fine"]


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


async def chat(runtime: Runtime, world: World, bodies: list[str]) -> str:
    cid = (await make_conversation(runtime, world.customer, agent=world.agent)).id
    async with runtime.uow() as tx:
        for i, body in enumerate(bodies):
            sender = world.customer if i % 2 == 0 else world.agent
            await do_send_message(
                tx, sender, conversation_id=cid, body=body, client_msg_id=None, max_chars=4000
            )
    return cid


async def test_every_format_carries_every_message(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    cid = await chat(runtime, world, ["Hello", "Hi, how can I help?\nTwo lines.", "Thanks"])
    async with runtime.uow() as tx:  # an attachment, as the attachments domain stores them
        await tx.session.execute(
            update(Message)
            .where(Message.conversation_id == cid, Message.body == "Thanks")
            .values(attachments=[{"name": "photo.jpg", "size": 3}, {"filename": "notes.pdf"}])
        )
    headers = world.headers["customer"]

    as_json = await client.get(f"{BASE}/{cid}/transcript?format=json", headers=headers)
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    assert 'filename="conversation-' in as_json.headers["content-disposition"]
    data = as_json.json()
    assert data["conversation"]["id"] == cid
    lines = data["messages"]
    assert [m["seq"] for m in lines] == list(range(1, len(lines) + 1))
    texts = [(m["sender"], m["kind"], m["body"]) for m in lines]
    assert ("Cara", "text", "Hello") in texts
    assert ("Abe", "text", "Hi, how can I help?\nTwo lines.") in texts
    assert texts[0] == ("Parlour", "system", "Cara started the conversation.")
    assert lines[-1]["attachments"] == ["photo.jpg", "notes.pdf"]
    assert all(m["time"].endswith("Z") for m in lines)

    as_csv = await client.get(f"{BASE}/{cid}/transcript?format=csv", headers=headers)
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0] == ["seq", "time", "sender", "kind", "body", "attachments"]
    assert len(rows) == len(lines) + 1
    assert rows[-1][2:] == ["Cara", "text", "Thanks", "photo.jpg; notes.pdf"]

    as_text = await client.get(f"{BASE}/{cid}/transcript", headers=headers)
    assert as_text.headers["content-type"].startswith("text/plain")
    assert "Cara: Hello" in as_text.text
    assert "Abe: Hi, how can I help?\n    Two lines." in as_text.text
    assert "[attachments: photo.jpg, notes.pdf]" in as_text.text

    for caller in ("agent", "admin", "api_key"):
        response = await client.get(f"{BASE}/{cid}/transcript", headers=world.headers[caller])
        assert response.status_code == 200, (caller, response.text)


async def test_csv_cells_that_would_run_as_formulas_are_neutralised(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    cid = await chat(runtime, world, HOSTILE)
    response = await client.get(
        f"{BASE}/{cid}/transcript?format=csv", headers=world.headers["customer"]
    )
    rows = list(csv.reader(io.StringIO(response.text)))
    bodies = [row[4] for row in rows[1:] if row[3] == "text"]
    assert bodies == ["'" + b for b in HOSTILE[:-1]] + ["fine"]
    for row in rows[1:]:
        assert not row[0].startswith(("=", "+", "-", "@", "\t", "\r"))
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    # The JSON keeps the words exactly as written.
    data = (
        await client.get(f"{BASE}/{cid}/transcript?format=json", headers=world.headers["customer"])
    ).json()
    assert [m["body"] for m in data["messages"] if m["kind"] == "text"] == HOSTILE


async def test_non_readers_learn_nothing(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    cid = await chat(runtime, world, ["secret words"])
    for caller in ("other_customer", "other_agent", "foreign_admin", "foreign_api_key"):
        for fmt in ("txt", "json", "csv"):
            response = await client.get(
                f"{BASE}/{cid}/transcript?format={fmt}", headers=world.headers[caller]
            )
            error = assert_error(response, 404, "conversation_not_found")
            assert "secret" not in str(error)
    assert_error(await client.get(f"{BASE}/{cid}/transcript"), 401)
    assert_error(
        await client.get(f"{BASE}/{cid}/transcript?format=xml", headers=world.headers["customer"]),
        422,
    )
