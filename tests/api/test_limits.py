"""Configured limits: a smaller message limit and a request-size limit (set through Settings)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from parlour.config import Settings
from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_world, row_counts
from tests.factories import make_conversation

BASE = "/api/v1/conversations"
MAX_CHARS = 10
MAX_BYTES = 2048


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"max_message_chars": MAX_CHARS, "max_request_bytes": MAX_BYTES}
    )


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


@pytest.fixture
async def url(runtime: Runtime, world: World) -> str:
    conversation = await make_conversation(runtime, world.customer, agent=world.agent)
    return f"{BASE}/{conversation.id}/messages"


async def test_a_configured_message_limit_applies(
    client: httpx.AsyncClient, runtime: Runtime, world: World, url: str
) -> None:
    before = await row_counts(runtime)
    too_long = await client.post(
        url, json={"body": "x" * (MAX_CHARS + 1)}, headers=world.headers["customer"]
    )
    error = assert_error(too_long, 413, "message_too_long")
    assert str(MAX_CHARS) in error["message"]
    assert await row_counts(runtime) == before

    fits = await client.post(url, json={"body": "x" * MAX_CHARS}, headers=world.headers["customer"])
    assert fits.status_code == 201, fits.text


async def test_a_request_over_max_request_bytes_is_413(
    client: httpx.AsyncClient, runtime: Runtime, world: World, url: str
) -> None:
    before = await row_counts(runtime)
    payload = json.dumps({"body": "x" * MAX_BYTES}).encode()
    headers = {**world.headers["customer"], "Content-Type": "application/json"}

    declared = await client.post(url, content=payload, headers=headers)
    assert_error(declared, 413, "too_large")

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the limit must hold while the body streams in.
        for start in range(0, len(payload), 512):
            yield payload[start : start + 512]

    streamed = await client.post(url, content=chunks(), headers=headers)
    assert "content-length" not in {k.lower() for k in streamed.request.headers}
    assert_error(streamed, 413, "too_large")
    assert await row_counts(runtime) == before
