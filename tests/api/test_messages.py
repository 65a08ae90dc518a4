"""Messages over REST: sending, idempotent retries, history pages, and what is refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_world, row_counts
from tests.factories import make_conversation

BASE = "/api/v1/conversations"


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


@pytest.fixture
async def cid(runtime: Runtime, world: World) -> str:
    """An active conversation between the world's customer and agent."""
    return (await make_conversation(runtime, world.customer, agent=world.agent)).id


async def _post(
    client: httpx.AsyncClient, world: World, who: str, cid: str, **body: Any
) -> httpx.Response:
    return await client.post(f"{BASE}/{cid}/messages", json=body, headers=world.headers[who])


async def _history(
    client: httpx.AsyncClient, world: World, cid: str, **params: int
) -> tuple[list[int], bool]:
    response = await client.get(
        f"{BASE}/{cid}/messages", params=params, headers=world.headers["customer"]
    )
    assert response.status_code == 200, response.text
    page = response.json()
    return [m["seq"] for m in page["messages"]], page["has_more"]


async def test_send_returns_201_and_the_message(
    client: httpx.AsyncClient, world: World, cid: str
) -> None:
    before = (await client.get(f"{BASE}/{cid}", headers=world.headers["agent"])).json()
    response = await _post(client, world, "customer", cid, body="Hello there", client_msg_id="c-1")
    assert response.status_code == 201, response.text
    message = response.json()
    assert message["conversation_id"] == cid
    assert message["seq"] == before["last_seq"] + 1
    assert message["kind"] == "text"
    assert message["body"] == "Hello there"
    assert message["sender_id"] == world.customer.user_id
    assert message["client_msg_id"] == "c-1"
    seqs, _ = await _history(client, world, cid)
    assert seqs[-1] == message["seq"]


async def test_a_retried_client_msg_id_returns_the_original_and_stores_no_duplicate(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    first = await _post(client, world, "customer", cid, body="pay me", client_msg_id="retry-1")
    assert first.status_code == 201
    counts = await row_counts(runtime)
    again = await _post(client, world, "customer", cid, body="pay me", client_msg_id="retry-1")
    assert again.status_code in (200, 201), again.text
    assert again.json() == first.json()
    # Even with another body the original stands.
    changed = await _post(client, world, "customer", cid, body="other", client_msg_id="retry-1")
    assert changed.json() == first.json()
    assert await row_counts(runtime) == counts

    page = await client.get(f"{BASE}/{cid}/messages", headers=world.headers["agent"])
    bodies = [m["body"] for m in page.json()["messages"] if m["kind"] == "text"]
    assert bodies == ["pay me"]

    # The id is the sender's own: another participant may use the same one.
    theirs = await _post(client, world, "agent", cid, body="mine", client_msg_id="retry-1")
    assert theirs.status_code == 201
    assert theirs.json()["id"] != first.json()["id"]


async def test_history_pages_forward_and_back(
    client: httpx.AsyncClient, world: World, cid: str
) -> None:
    for n in range(8):
        assert (await _post(client, world, "customer", cid, body=f"m{n}")).status_code == 201
    everything, more = await _history(client, world, cid)
    assert not more
    last = everything[-1]
    assert everything == list(range(1, last + 1))  # no gaps, in order

    assert await _history(client, world, cid, limit=3) == ([last - 2, last - 1, last], True)
    assert await _history(client, world, cid, after_seq=0, limit=4) == ([1, 2, 3, 4], True)
    assert await _history(client, world, cid, after_seq=4, limit=100) == (
        list(range(5, last + 1)),
        False,
    )
    assert await _history(client, world, cid, after_seq=last) == ([], False)
    assert await _history(client, world, cid, before_seq=4) == ([1, 2, 3], False)
    assert await _history(client, world, cid, before_seq=6, limit=2) == ([4, 5], True)
    assert await _history(client, world, cid, before_seq=1) == ([], False)

    # Walking back page by page meets every message exactly once.
    seen: list[int] = []
    before = last + 1
    while True:
        seqs, more = await _history(client, world, cid, before_seq=before, limit=3)
        seen = seqs + seen
        if not more:
            break
        before = seqs[0]
    assert seen == everything


BAD_PAGING: list[dict[str, Any]] = [
    {"limit": 0},
    {"limit": 201},
    {"after_seq": -1},
    {"before_seq": 0},
    {"limit": "many"},
]


async def test_history_refuses_bad_paging(
    client: httpx.AsyncClient, world: World, cid: str
) -> None:
    for params in BAD_PAGING:
        response = await client.get(
            f"{BASE}/{cid}/messages", params=params, headers=world.headers["customer"]
        )
        assert response.status_code == 422, params
        assert_error(response, 422)


async def test_an_ended_conversation_refuses_messages(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    ended = await client.post(f"{BASE}/{cid}/end", headers=world.headers["customer"])
    assert ended.status_code == 200
    before = await row_counts(runtime)
    for who in ("customer", "agent"):
        response = await _post(client, world, who, cid, body="anyone there?")
        assert_error(response, 409, "conversation_ended")
    assert await row_counts(runtime) == before
    # History stays readable.
    assert (await _history(client, world, cid))[0]


async def test_an_observing_admin_may_not_post(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    observe = await client.post(f"{BASE}/{cid}/observe", headers=world.headers["admin"])
    assert observe.status_code == 200, observe.text
    roles = {p["user_id"]: p["role"] for p in observe.json()["participants"]}
    assert roles[world.admin.user_id] == "observer"
    before = await row_counts(runtime)
    assert_error(await _post(client, world, "admin", cid, body="psst"), 403)
    assert await row_counts(runtime) == before
    # It reads the history.
    page = await client.get(f"{BASE}/{cid}/messages", headers=world.headers["admin"])
    assert page.status_code == 200


async def test_body_over_the_default_limit_is_413_and_nothing_is_stored(
    client: httpx.AsyncClient, runtime: Runtime, world: World, cid: str
) -> None:
    assert runtime.settings.max_message_chars == 4000
    before = await row_counts(runtime)
    response = await _post(client, world, "customer", cid, body="x" * 4001, client_msg_id="big")
    assert_error(response, 413, "message_too_long")
    assert await row_counts(runtime) == before
    exact = await _post(client, world, "customer", cid, body="é" * 4000)
    assert exact.status_code == 201, exact.text
    assert len(exact.json()["body"]) == 4000
