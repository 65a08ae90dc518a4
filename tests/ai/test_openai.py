"""The `openai` provider against a stand-in for an OpenAI-compatible endpoint (a small local
HTTP server speaking the chat-completions wire format, tests/ai/stand_in.py: the real service
is unreachable from here), through the real jobs, on SQLite and PostgreSQL: success, 429 then
success (Retry-After honoured), timeouts, garbage answers, incremental summaries, suggested
replies. The conversation never blocks, the status tells the truth, and the stand-in only
ever sees masked text."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from parlour.core.clock import FrozenClock
from parlour.models.ai import AiStatus
from parlour.models.job import Job
from parlour.runtime import Runtime
from parlour.tenants.schemas import SecretName
from parlour.tenants.service import do_put_secret
from tests.ai import stand_in as si
from tests.ai.conversations import SUPPORT
from tests.ai.support import (
    CARD,
    EMAIL,
    PHONE,
    SECRETS,
    analysis_row,
    jobs_of,
    message_row,
    send,
    settled,
    summary_row,
    wait_for,
)
from tests.api.support import World, assert_error, make_world, set_tenant_settings
from tests.factories import make_conversation


async def _openai_world(rt: Runtime, **settings: object) -> tuple[World, str]:
    world = await make_world(rt)
    await set_tenant_settings(rt, None, ai_provider="openai", ai_phone_region="GB", **settings)
    cid = (await make_conversation(rt, world.customer, agent=world.agent)).id
    await settled(rt, cid)  # the handover's summary (nothing said yet) is out of the way
    return world, cid


async def _chat(http: httpx.AsyncClient, world: World, cid: str) -> None:
    """The support conversation, with a card number, an email and a phone number in it."""
    for turn in SUPPORT.turns:
        who = world.headers["customer" if turn.author == "customer" else "agent"]
        await send(http, who, cid, turn.text)
    await send(
        http,
        world.headers["customer"],
        cid,
        f"The card was {CARD}; reach me at {EMAIL} or {PHONE}.",
    )


def _assert_masked(stand_in: si.StandIn) -> None:
    assert stand_in.received, "the stand-in received nothing"
    for request in stand_in.received:
        for secret in SECRETS:
            assert secret not in request.text, (secret, request.kind)


async def _summary_status(rt: Runtime, cid: str, status: str) -> object:
    row = await summary_row(rt, cid)
    return row if row is not None and row.status == status else None


async def test_success_summary_analysis_and_only_masked_text_leaves(
    rt: Runtime, http: httpx.AsyncClient, stand_in: si.StandIn
) -> None:
    world, cid = await _openai_world(rt)
    await _chat(http, world, cid)
    asked = await http.post(f"/api/v1/conversations/{cid}/summary", headers=world.headers["agent"])
    assert asked.status_code == 202
    row = await wait_for(lambda: _summary_status(rt, cid, "ready"))
    assert row.body == si.SUMMARY_ANSWER  # type: ignore[attr-defined]
    assert (row.provider, row.model) == ("openai", "stand-in-model")  # type: ignore[attr-defined]

    async def all_processed() -> object:
        return (
            len(stand_in.of("intent")) >= 6
            and all(
                a.status == AiStatus.processed
                for a in [await analysis_row(rt, m) for m in await _customer_message_ids(rt, cid)]
                if a is not None
            )
            and len(await _customer_message_ids(rt, cid))
            == len(
                [
                    a
                    for a in [
                        await analysis_row(rt, m) for m in await _customer_message_ids(rt, cid)
                    ]
                    if a
                ]
            )
        )

    await wait_for(all_processed)
    last = (await _customer_message_ids(rt, cid))[-1]
    analysis = await analysis_row(rt, last)
    assert (
        analysis is not None and analysis.intent == "refund" and analysis.model == "stand-in-model"
    )
    assert sorted(analysis.pii_kinds) == ["card", "email", "phone"]
    # The wire format: the model, a system and a user message, the server's key.
    [summary_request] = stand_in.of("summary")
    assert summary_request.body["model"] == "stand-in-model"
    assert [m["role"] for m in summary_request.body["messages"]] == ["system", "user"]
    assert summary_request.headers["Authorization"] == "Bearer sk-test-server-key"
    assert "[card]" in summary_request.text and "[email]" in summary_request.text
    assert "[phone]" in summary_request.text
    _assert_masked(stand_in)


async def _customer_message_ids(rt: Runtime, cid: str) -> list[str]:
    from sqlalchemy import select

    from parlour.models.message import Message

    async with rt.uow(write=False) as tx:
        rows = await tx.session.scalars(
            select(Message.id)
            .where(Message.conversation_id == cid, Message.ai_status.is_not(None))
            .order_by(Message.seq)
        )
        return list(rows)


async def test_the_tenant_key_and_model_are_used(
    rt: Runtime, http: httpx.AsyncClient, stand_in: si.StandIn
) -> None:
    world, cid = await _openai_world(rt, ai_model="tenant-model")
    async with rt.uow() as tx:
        await do_put_secret(
            tx, world.admin, SecretName.ai_api_key, "sk-tenant", server_secret=rt.secret_key
        )
    await send(http, world.headers["customer"], cid, "My order never arrived, please help.")
    await wait_for(lambda: _async(len(stand_in.of("intent")) == 1))
    [request] = stand_in.of("intent")
    assert request.body["model"] == "tenant-model"
    assert request.headers["Authorization"] == "Bearer sk-tenant"


async def _queued_again(rt: Runtime) -> list[object] | None:
    """The summary job waiting after its first failed attempt (the handover's is done)."""
    jobs = [
        j for j in await jobs_of(rt, "ai.summarise") if j.status == "queued" and j.attempts == 1
    ]
    return jobs or None  # type: ignore[return-value]


async def _all_jobs(rt: Runtime) -> list[Job]:
    return await jobs_of(rt, "ai.summarise") + await jobs_of(rt, "ai.analyse")


async def _async(value: object) -> object:
    return value


async def test_429_then_success_honours_retry_after(
    rt: Runtime, http: httpx.AsyncClient, stand_in: si.StandIn, clock: FrozenClock
) -> None:
    world, cid = await _openai_world(rt)
    stand_in.defaults["intent"] = si.GARBAGE  # keep the analyses out of the way
    await _chat(http, world, cid)
    stand_in.script("summary", si.too_many("120"))
    await http.post(f"/api/v1/conversations/{cid}/summary", headers=world.headers["agent"])

    async def retried_later() -> object:
        return await _queued_again(rt)

    [job] = await wait_for(retried_later)  # type: ignore[misc]
    # Retry-After: 120 seconds from the failed attempt, not the backoff's 15 s.
    assert (job.run_at - clock.now()).total_seconds() == pytest.approx(120, abs=1)
    assert "429" in (job.last_error or "")
    row = await summary_row(rt, cid)
    assert row is not None and row.status == "pending" and "429" in (row.error or "")
    await asyncio.sleep(0.3)
    assert len(stand_in.of("summary")) == 1  # nothing runs before its time
    clock.advance(seconds=121)
    done = await wait_for(lambda: _summary_status(rt, cid, "ready"))
    assert done.body == si.SUMMARY_ANSWER and done.error is None  # type: ignore[attr-defined]
    assert len(stand_in.of("summary")) == 2
    _assert_masked(stand_in)


@pytest.mark.parametrize("retry_after", ["100000", "-5", "soon"])
async def test_an_insane_retry_after_falls_back_to_the_backoff(
    rt: Runtime,
    http: httpx.AsyncClient,
    stand_in: si.StandIn,
    clock: FrozenClock,
    retry_after: str,
) -> None:
    world, cid = await _openai_world(rt)
    await send(http, world.headers["customer"], cid, "Hello, my heater is broken")
    stand_in.script("summary", si.too_many(retry_after))
    await http.post(f"/api/v1/conversations/{cid}/summary", headers=world.headers["agent"])

    async def retried() -> object:
        return await _queued_again(rt)

    [job] = await wait_for(retried)  # type: ignore[misc]
    assert 7 <= (job.run_at - clock.now()).total_seconds() <= 15  # 15 s less up to half jitter


async def test_timeouts_keep_it_pending_then_failed_and_sending_never_waits(
    rt: Runtime, http: httpx.AsyncClient, stand_in: si.StandIn, clock: FrozenClock
) -> None:
    world, cid = await _openai_world(rt)
    stand_in.defaults["summary"] = si.HANG
    stand_in.defaults["intent"] = si.HANG
    first = await send(http, world.headers["customer"], cid, "My car will not start today")
    await wait_for(lambda: _async(stand_in.hanging >= 1))
    # The provider hangs on the first message's analysis; sending goes on at once.
    for n in range(3):
        again = await send(http, world.headers["customer"], cid, f"Still waiting, message {n}")
        assert stand_in.hanging >= 1 and not stand_in.release.is_set()
        assert (await message_row(rt, again["id"])).ai_status == AiStatus.pending
    await send(http, world.headers["agent"], cid, "I am here, let me look.")
    await http.post(f"/api/v1/conversations/{cid}/summary", headers=world.headers["agent"])

    async def timed_out() -> object:
        row = await summary_row(rt, cid)
        return row if row is not None and row.error and "timed out" in row.error else None

    row = await wait_for(timed_out)
    assert row.status == "pending"  # type: ignore[attr-defined]  # the job retries
    first_analysis = await wait_for(lambda: analysis_row(rt, first["id"]))
    assert first_analysis.status == AiStatus.pending and "timed out" in (first_analysis.error or "")
    # Every retry times out too; after the last attempt the status says failed.
    for _ in range(200):
        summary = await summary_row(rt, cid)
        message = await message_row(rt, first["id"])
        if summary is not None and summary.status == "failed" and message.ai_status == "failed":
            break
        # Time moves only between attempts (a jump during one would expire its lease).
        if not any(j.status == "running" for j in await _all_jobs(rt)):
            clock.advance(seconds=601)
        await asyncio.sleep(0.3)
    assert summary is not None and summary.status == "failed" and summary.attempts == 4
    assert summary.body is None  # nothing made up
    assert message.ai_status == AiStatus.failed
    [job] = [j for j in await jobs_of(rt, "ai.summarise") if j.status != "done"]
    assert job.status == "failed" and job.attempts == 4
    history = await http.get(
        f"/api/v1/conversations/{cid}/messages", headers=world.headers["agent"]
    )
    shown = {m["id"]: m["analysis_status"] for m in history.json()["messages"]}
    assert shown[first["id"]] == "failed"
    # Retrying works once the provider answers again.
    stand_in.defaults["intent"] = si.OK
    retried = await http.post(
        f"/api/v1/conversations/{cid}/analysis/retry", headers=world.headers["agent"]
    )
    assert retried.status_code == 200 and retried.json()["queued"] >= 1

    async def recovered() -> object:
        return (await message_row(rt, first["id"])).ai_status == AiStatus.processed

    await wait_for(recovered)


@pytest.mark.parametrize("garbage", [si.GARBAGE, si.NOT_JSON, "{}", "Okay."])
async def test_a_garbage_answer_is_a_failure_never_a_summary(
    rt: Runtime, http: httpx.AsyncClient, stand_in: si.StandIn, garbage: str
) -> None:
    world, cid = await _openai_world(rt)
    await send(http, world.headers["customer"], cid, "The app crashes when I log in")
    stand_in.script("summary", garbage)
    stand_in.script("intent", garbage)
    await http.post(f"/api/v1/conversations/{cid}/summary", headers=world.headers["agent"])
    row = await wait_for(lambda: _summary_status(rt, cid, "failed"))
    assert row.body is None and "unusable answer" in (row.error or "")  # type: ignore[attr-defined]
    got = await http.get(f"/api/v1/conversations/{cid}/summary", headers=world.headers["agent"])
    assert got.json()["status"] == "failed" and got.json()["body"] is None
    [job] = [j for j in await jobs_of(rt, "ai.summarise") if j.status != "done"]
    assert job.status == "failed" and job.attempts == 1  # retrying cannot help

    async def analysis_failed() -> object:
        return (
            await message_row(rt, (await _customer_message_ids(rt, cid))[0])
        ).ai_status == "failed"

    await wait_for(analysis_failed)


async def test_long_conversations_are_summarised_incrementally(
    rt: Runtime, http: httpx.AsyncClient, stand_in: si.StandIn
) -> None:
    rt.settings.ai_max_input_tokens = 200  # about 800 characters a request
    world, cid = await _openai_world(rt)
    stand_in.defaults["intent"] = si.GARBAGE
    for n in range(12):
        await send(http, world.headers["customer"], cid, f"Message {n}: " + "the pump leaks " * 6)
    await http.post(f"/api/v1/conversations/{cid}/summary", headers=world.headers["agent"])
    first = await wait_for(lambda: _summary_status(rt, cid, "ready"))
    folded = stand_in.of("summary")
    assert len(folded) >= 2  # the budget cut the conversation into parts
    assert all(len(r.body["messages"][1]["content"]) <= 1200 for r in folded)
    assert "Summary so far" in folded[1].body["messages"][1]["content"]
    # A later refresh sends the previous summary and only the messages after it.
    await send(http, world.headers["customer"], cid, "One more thing: the pressure is low.")
    await http.post(f"/api/v1/conversations/{cid}/summary", headers=world.headers["agent"])

    async def second() -> object:
        return len(stand_in.of("summary")) > len(folded) and await _summary_status(rt, cid, "ready")

    await wait_for(second)
    [last] = stand_in.of("summary")[len(folded) :]
    content = last.body["messages"][1]["content"]
    assert si.SUMMARY_ANSWER in content and "pressure is low" in content
    assert "Message 0" not in content
    row = await summary_row(rt, cid)
    assert row is not None and row.covers_seq > first.covers_seq  # type: ignore[attr-defined]


async def test_masking_can_be_turned_off_by_the_tenant(
    rt: Runtime, http: httpx.AsyncClient, stand_in: si.StandIn
) -> None:
    world, cid = await _openai_world(rt, ai_mask_outbound_pii=False)
    await send(http, world.headers["customer"], cid, f"My card is {CARD}")
    await wait_for(lambda: _async(stand_in.of("intent")))
    assert CARD in stand_in.of("intent")[0].text


async def test_suggested_replies(
    rt: Runtime, http: httpx.AsyncClient, stand_in: si.StandIn
) -> None:
    world, cid = await _openai_world(rt)
    canned = await http.post(
        "/api/v1/canned-responses",
        json={"shortcut": "refund", "title": "Refund", "body": "Refunds take 5 business days."},
        headers=world.headers["admin"],
    )
    assert canned.status_code == 201
    await _chat(http, world, cid)
    before = await _message_count(rt, cid)
    url = f"/api/v1/conversations/{cid}/suggestions"
    answer = await http.post(url, headers=world.headers["agent"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["suggestions"] == json.loads(si.SUGGESTIONS_ANSWER)
    assert answer.json()["provider"] == "openai"
    [request] = stand_in.of("suggest")
    assert "Refunds take 5 business days." in request.text
    assert await _message_count(rt, cid) == before  # nothing is sent without the agent
    _assert_masked(stand_in)
    # The provider failing is a clear 503; garbage too.
    stand_in.script("suggest", si.GARBAGE)
    assert_error(await http.post(url, headers=world.headers["agent"]), 503, "ai_provider_failed")
    # Who may not: the customer, another tenant.
    assert_error(await http.post(url, headers=world.headers["customer"]), 403, "staff_only")
    assert_error(await http.post(url, headers=world.headers["foreign_admin"]), 404)
    # The local provider does not suggest.
    await set_tenant_settings(rt, None, ai_provider="local")
    assert_error(
        await http.post(url, headers=world.headers["agent"]), 409, "ai_suggestions_unavailable"
    )


async def _message_count(rt: Runtime, cid: str) -> int:
    from sqlalchemy import func, select

    from parlour.models.message import Message

    async with rt.uow(write=False) as tx:
        return int(
            await tx.session.scalar(
                select(func.count()).select_from(Message).where(Message.conversation_id == cid)
            )
            or 0
        )
