"""Bad input never reaches the database and never breaks the server.

Every endpoint that takes a body is fed wrong types, nulls, arrays, unknown and missing fields,
malformed JSON, the wrong content type and strings PostgreSQL cannot store; the answer must be
400 or 422 with `{"error": {"code", "message"}}`, and no table may gain a row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_world, row_counts
from tests.factories import make_conversation

BASE = "/api/v1/conversations"


@dataclass(frozen=True)
class Endpoint:
    path: str
    caller: str
    valid: Callable[[World], dict[str, Any]]
    required: tuple[str, ...] = ()
    ints: tuple[str, ...] = ()
    # The whole body may be left out (JSON `null` then means the same).
    optional_body: bool = False


ENDPOINTS = {
    "login": Endpoint(
        "/api/v1/auth/login",
        "anonymous",
        lambda w: {"email": "someone@example.com", "password": "secret-enough"},
        required=("email", "password"),
    ),
    "guest": Endpoint("/api/v1/auth/guest", "anonymous", lambda w: {"display_name": "Gus"}),
    "create": Endpoint(
        BASE,
        "agent",
        lambda w: {"kind": "support", "customer_id": w.customer.user_id, "subject": "Hi"},
    ),
    "participants": Endpoint(
        BASE + "/{cid}/participants",
        "admin",
        lambda w: {"user_id": w.other_agent.user_id, "role": "agent"},
        required=("user_id",),
    ),
    "end": Endpoint(
        BASE + "/{cid}/end", "customer", lambda w: {"reason": "customer"}, optional_body=True
    ),
    "read": Endpoint(
        BASE + "/{cid}/read", "customer", lambda w: {"seq": 1}, required=("seq",), ints=("seq",)
    ),
    "messages": Endpoint(
        BASE + "/{cid}/messages",
        "customer",
        lambda w: {"body": "hello", "client_msg_id": "m-1", "kind": "text"},
        required=("body",),
    ),
}

JSON = {"Content-Type": "application/json"}


def bad_requests(endpoint: Endpoint, valid: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Label -> httpx request arguments, each a request the endpoint must refuse."""
    raw = json.dumps(valid)
    cases: dict[str, dict[str, Any]] = {
        "empty array": {"content": b"[]", "headers": JSON},
        "array of the valid body": {"json": [valid]},
        "a string": {"json": "hello"},
        "a number": {"json": 5},
        "malformed json": {"content": raw[:-3].encode(), "headers": JSON},
        "trailing garbage": {"content": (raw + "}").encode(), "headers": JSON},
        "not utf-8": {"content": b'{"x": "\xff\xfe"}', "headers": JSON},
        "deeply nested": {"content": b"[" * 50_000 + b"]" * 50_000, "headers": JSON},
        "text/plain": {"content": raw.encode(), "headers": {"Content-Type": "text/plain"}},
        "form encoded": {
            "content": "&".join(f"{k}={v}" for k, v in valid.items()).encode(),
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
        "unknown field": {"json": {**valid, "is_admin": True}},
    }
    if not endpoint.optional_body:
        cases["null body"] = {"content": b"null", "headers": JSON}
    for field in endpoint.required:
        cases[f"missing {field}"] = {"json": {k: v for k, v in valid.items() if k != field}}
    if endpoint.required:
        cases["no content"] = {"headers": JSON}
        cases["empty object"] = {"json": {}}
    for field in valid:
        if field in endpoint.ints:
            wrong: list[Any] = ["3", 1.5, True, None, [1], {"n": 1}]
        else:
            wrong = [5, 1.5, True, [valid[field]], {"v": valid[field]}]
            if field in endpoint.required:
                wrong.append(None)
            cases[f"{field} with NUL"] = {"json": {**valid, field: f"a\x00{valid[field]}"}}
            cases[f"{field} far too long"] = {"json": {**valid, field: "x" * 100_000}}
        for value in wrong:
            cases[f"{field}={value!r}"] = {"json": {**valid, field: value}}
    return cases


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


@pytest.mark.parametrize("name", list(ENDPOINTS))
async def test_bad_bodies_are_refused_and_store_nothing(
    client: httpx.AsyncClient, runtime: Runtime, world: World, name: str
) -> None:
    endpoint = ENDPOINTS[name]
    conversation = await make_conversation(runtime, world.customer, agent=world.agent)
    url = endpoint.path.replace("{cid}", conversation.id)
    valid = endpoint.valid(world)
    before = await row_counts(runtime)
    wrong = []
    for label, request in bad_requests(endpoint, valid).items():
        headers = {**world.headers[endpoint.caller], **request.pop("headers", {})}
        response = await client.post(url, headers=headers, **request)
        client.cookies.clear()
        # A field far over its size may also be refused as too large.
        allowed = (400, 413, 422) if "too long" in label else (400, 422)
        if response.status_code not in allowed:
            wrong.append(f"{label}: {response.status_code} {response.text[:200]}")
            continue
        assert_error(response, response.status_code)
    assert not wrong, "\n".join(wrong)
    assert await row_counts(runtime) == before


BAD_QUERIES = {
    "/api/v1/conversations": [
        {"limit": "many"},
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": str(10**30)},
        {"limit": "1.5"},
        {"limit": ""},
        {"status": "open"},
        {"status": "a\x00"},
        {"scope": "everything"},
    ],
    "/api/v1/conversations/{cid}/messages": [
        {"after_seq": "x"},
        {"after_seq": "-1"},
        {"after_seq": str(10**30)},
        {"before_seq": str(10**30)},
        {"before_seq": "0"},
        {"before_seq": "1e3"},
        {"limit": "1000"},
        {"limit": ""},
    ],
}


@pytest.mark.parametrize("path", list(BAD_QUERIES))
async def test_bad_query_parameters_are_refused(
    client: httpx.AsyncClient, runtime: Runtime, world: World, path: str
) -> None:
    conversation = await make_conversation(runtime, world.customer, agent=world.agent)
    url = path.replace("{cid}", conversation.id)
    wrong = []
    for params in BAD_QUERIES[path]:
        response = await client.get(url, params=params, headers=world.headers["customer"])
        if response.status_code not in (400, 422):
            wrong.append(f"{params}: {response.status_code} {response.text[:200]}")
            continue
        assert_error(response, response.status_code)
    assert not wrong, "\n".join(wrong)


STRANGE_IDS = ["%00", "a%00b", "x" * 2000, "%C3%A9t%C3%A9", "..%2F..%2Fme", "%FF"]


async def test_strange_conversation_ids_are_not_found_or_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    wrong = []
    for conversation_id in STRANGE_IDS:
        for method, suffix, body in (
            ("GET", "", None),
            ("GET", "/messages", None),
            ("POST", "/messages", {"body": "hi"}),
            ("POST", "/read", {"seq": 0}),
            ("POST", "/join", None),
            ("POST", "/end", None),
        ):
            response = await client.request(
                method,
                f"{BASE}/{conversation_id}{suffix}",
                json=body,
                headers=world.headers["agent"],
            )
            if response.status_code not in (404, 422):
                wrong.append(f"{method} {conversation_id[:20]}{suffix}: {response.status_code}")
                continue
            assert_error(response, response.status_code)
    assert not wrong, "\n".join(wrong)
