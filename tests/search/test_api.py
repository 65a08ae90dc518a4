"""GET /api/v1/search over HTTP: hostile input gets a clear error or a safe answer (never a
500), the limiter stops floods, and the date filters parse strictly. SQLite and PostgreSQL."""

from __future__ import annotations

import random

import httpx
import pytest

from parlour.core.errors import BadRequest
from parlour.runtime import Runtime
from tests.api.support import assert_error, make_world
from tests.search.support import find, open_chat, say

STABLE_CODES = {"empty_query", "prefix_too_short", "query_too_long", "query_too_complex"}

HOSTILE = [
    'refund OR "',
    "refund NOT broken",
    "NEAR(refund broken, 2)",
    "refund AND",
    "AND OR NOT",
    "-refund",
    "+refund ^broken",
    "body:refund",
    "messages_fts:refund",
    "{body} : refund",
    "refund*broken*",
    "*refund",
    '"refund',
    '""refund""',
    "'refund'",
    "refund' OR '1'='1",
    "refund & broken | !x",
    "refund <-> broken",
    "refund:*",
    "refund:A",
    "(refund",
    "refund)",
    "\\refund\\",
    "refund\x00broken",
    "%_%",
    "ẞ Ǆ ﬁ İ ⅷ ½ ٣",
    "e\u0301 a\u0308",
    "😀 refund 😀",
    "\u202erefund",
    "x" * 200,
    "ab* " * 12,
]


async def test_hostile_queries_get_a_stable_error_or_a_safe_answer(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    world = await make_world(runtime)
    chat = await open_chat(runtime, world.customer, agent=world.agent)
    await say(runtime, world.customer, chat, "the refund for the broken zip")
    headers = world.headers["api_key"]  # tenant-wide, and no observation to record
    for q in HOSTILE:
        response = await client.get("/api/v1/search", params={"q": q}, headers=headers)
        if response.status_code == 400:
            assert assert_error(response, 400)["code"] in STABLE_CODES, q
        else:
            assert response.status_code == 200, (q, response.status_code, response.text)
    # Operators are words here: `refund OR "` finds the message that has the word "refund"
    # and ... there is no word OR in it, so nothing; `-refund` is the word refund.
    found = await client.get("/api/v1/search", params={"q": "-refund"}, headers=headers)
    assert len(found.json()["messages"]) == 1
    nothing = await client.get("/api/v1/search", params={"q": "refund OR zip"}, headers=headers)
    assert nothing.json()["messages"] == []


async def test_random_input_never_reaches_the_database_as_syntax(runtime: Runtime) -> None:
    """Hundreds of strings from the characters FTS5, tsquery, SQL and HTML give meaning to,
    mixed with letters: each is refused with a stable code or answered."""
    world = await make_world(runtime)
    chat = await open_chat(runtime, world.customer, agent=world.agent)
    await say(runtime, world.customer, chat, "a b c refund ab abc")
    alphabet = [*"\"*()-+^:{}&|!<>'\\%_;., \t\nab\x00", "OR", "AND", "NOT", "NEAR", "é"]
    rng = random.Random(11)
    answered = 0
    for _ in range(300):
        q = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))
        try:
            await find(runtime, world.admin, q)
            answered += 1
        except BadRequest as exc:
            assert exc.code in STABLE_CODES, (q, exc.code)
    assert answered > 50  # most strings have a word in them


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 422),  # no q
        ({"q": "x" * 10_000}, 422),
        ({"q": "x" * 300}, 400),
        ({"q": "refund", "limit": "0"}, 422),
        ({"q": "refund", "limit": "51"}, 422),
        ({"q": "refund", "offset": "-1"}, 422),
        ({"q": "refund", "offset": "1001"}, 422),
        ({"q": "refund", "status": "closed"}, 422),
        ({"q": "refund", "channel": "SMS!"}, 422),
        ({"q": "refund", "channel": "x\x00"}, 422),
        ({"q": "refund", "agent": "'; DROP TABLE messages; --"}, 422),
        ({"q": "refund", "from": "2026-01-01T00:00:00"}, 422),  # no offset: ambiguous
        ({"q": "refund", "from": "yesterday"}, 422),
        ({"q": "refund", "from": "0001-01-01T00:00:00+05:00"}, 422),
        ({"q": "refund", "from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, 400),
        ({"q": "refund", "from": "2026-01-01T00:00:00+01:00", "to": "2026-02-01T00:00Z"}, 200),
        ({"q": "refund", "agent": "0" * 32, "status": "ended", "channel": "sms"}, 200),
    ],
)
async def test_parameters_are_checked(
    client: httpx.AsyncClient, runtime: Runtime, params: dict[str, str], status: int
) -> None:
    world = await make_world(runtime)
    response = await client.get("/api/v1/search", params=params, headers=world.headers["agent"])
    if status == 200:
        assert response.status_code == 200, response.text
        assert response.json()["messages"] == []
    else:
        assert_error(response, status)


async def test_searching_is_rate_limited(client: httpx.AsyncClient, runtime: Runtime) -> None:
    runtime.settings.search_rate_per_minute = 3
    world = await make_world(runtime)
    for _ in range(3):
        ok = await client.get("/api/v1/search?q=refund", headers=world.headers["customer"])
        assert ok.status_code == 200
    assert_error(
        await client.get("/api/v1/search?q=refund", headers=world.headers["customer"]),
        429,
        "rate_limited",
    )
    # Per caller: someone else still searches.
    other = await client.get("/api/v1/search?q=refund", headers=world.headers["agent"])
    assert other.status_code == 200


async def test_guests_may_not_search(client: httpx.AsyncClient, runtime: Runtime) -> None:
    """A guest's one conversation is on screen already; guests come by the dozen per address,
    so their searches would only cost the server: refused, with a code of its own."""
    await make_world(runtime)
    guest = await client.post("/api/v1/auth/guest", json={})
    assert guest.status_code == 201
    refused = await client.get("/api/v1/search", params={"q": "refund"})
    assert_error(refused, 403, "search_not_for_guests")


async def test_searching_is_rate_limited_per_address(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Many callers from one address (guests are made 30 a minute there) share its budget."""
    runtime.settings.search_address_rate_per_minute = 3
    world = await make_world(runtime)
    for caller in ("customer", "agent", "admin"):
        ok = await client.get("/api/v1/search?q=refund", headers=world.headers[caller])
        assert ok.status_code == 200
    assert_error(
        await client.get("/api/v1/search?q=refund", headers=world.headers["other_customer"]),
        429,
        "rate_limited",
    )
