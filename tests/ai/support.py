"""Helpers the AI tests share: wait for a job's outcome, send as someone, read the records."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from sqlalchemy import select

from parlour.models.ai import ConversationSummary, MessageAnalysis
from parlour.models.job import Job
from parlour.models.message import Message
from parlour.runtime import Runtime

T = TypeVar("T")

CARD = "4111 1111 1111 1111"
EMAIL = "cara.customer@example.com"
PHONE = "+44 20 7946 0958"
SECRETS = (CARD, CARD.replace(" ", ""), EMAIL, PHONE, PHONE.replace(" ", ""), "7946 0958")


async def wait_for(check: Callable[[], Awaitable[T]], *, timeout: float = 15.0) -> T:
    """Poll `check` until it returns something truthy (the worker runs jobs in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting; last value {found!r}")
        await asyncio.sleep(0.05)


async def send(
    http: httpx.AsyncClient, headers: dict[str, str], conversation_id: str, body: str
) -> dict[str, Any]:
    response = await http.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"body": body}, headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def message_row(rt: Runtime, message_id: str) -> Message:
    async with rt.uow(write=False) as tx:
        found = await tx.session.get(Message, message_id)
    assert found is not None
    return found


async def analysis_row(rt: Runtime, message_id: str) -> MessageAnalysis | None:
    async with rt.uow(write=False) as tx:
        return await tx.session.get(MessageAnalysis, message_id)


async def summary_row(rt: Runtime, conversation_id: str) -> ConversationSummary | None:
    async with rt.uow(write=False) as tx:
        return await tx.session.get(ConversationSummary, conversation_id)


async def jobs_of(rt: Runtime, kind: str) -> list[Job]:
    async with rt.uow(write=False) as tx:
        return list(await tx.session.scalars(select(Job).where(Job.kind == kind)))


async def settled(rt: Runtime, conversation_id: str) -> ConversationSummary:
    """The conversation's summary once no refresh is pending (the handover's, queued when the
    agent joined, runs in the background)."""

    async def done() -> ConversationSummary | None:
        row = await summary_row(rt, conversation_id)
        return row if row is not None and row.status != "pending" else None

    return await wait_for(done)
