"""The local provider end to end, on SQLite and PostgreSQL: customers' messages are analysed by
jobs after commit, summaries are refreshed on handover, on the end and on demand, personal data
is masked in stored messages for everyone but the sender, and staff hear about it live."""

from __future__ import annotations

import json
from typing import Any

import httpx

from parlour.core.events import Audience, Event
from parlour.models.ai import AiStatus
from parlour.runtime import Runtime
from tests.ai.conversations import MECHANIC
from tests.ai.support import (
    CARD,
    EMAIL,
    PHONE,
    analysis_row,
    jobs_of,
    message_row,
    send,
    settled,
    summary_row,
    wait_for,
)
from tests.api.support import make_world, set_tenant_settings
from tests.factories import make_conversation


async def test_inbound_messages_are_analysed_after_commit(
    rt: Runtime, http: httpx.AsyncClient
) -> None:
    world = await make_world(rt)
    cid = (await make_conversation(rt, world.customer, agent=world.agent)).id
    customer, agent = world.headers["customer"], world.headers["agent"]
    sent = await send(
        http, customer, cid, f"My card {CARD} was charged twice, I want a refund. Mail {EMAIL}."
    )
    # The send answered before any analysis: the status is pending in the row.
    assert "analysis_status" in sent and sent["analysis_status"] is None
    reply = await send(http, agent, cid, "Sorry about that, I will check.")

    async def processed() -> object:
        row = await analysis_row(rt, sent["id"])
        return row if row is not None and row.status == AiStatus.processed else None

    row = await wait_for(processed)
    assert row.language == "en"
    assert row.intent == "refund"
    assert row.pii_kinds == ["card", "email"]
    body = sent["body"]
    spans = {(s["kind"], body[s["start"] : s["end"]]) for s in row.pii_spans}
    assert spans == {("card", CARD), ("email", EMAIL)}
    assert row.provider == "local"
    assert (await message_row(rt, sent["id"])).ai_status == AiStatus.processed
    # Staff's messages are not inbound: no status, no analysis.
    assert (await message_row(rt, reply["id"])).ai_status is None
    assert await analysis_row(rt, reply["id"]) is None

    listed = await http.get(f"/api/v1/conversations/{cid}/analysis", headers=agent)
    assert listed.status_code == 200
    [only] = listed.json()["analyses"]
    assert only["message_id"] == sent["id"] and only["intent"] == "refund"
    assert {s["kind"] for s in only["pii_spans"]} == {"card", "email"}
    # Staff see the status in history; the customer does not.
    history = await http.get(f"/api/v1/conversations/{cid}/messages", headers=agent)
    statuses = {m["id"]: m["analysis_status"] for m in history.json()["messages"]}
    assert statuses[sent["id"]] == "processed" and statuses[reply["id"]] is None
    mine = await http.get(f"/api/v1/conversations/{cid}/messages", headers=customer)
    assert all(m["analysis_status"] is None for m in mine.json()["messages"])


async def test_a_message_without_text_or_a_tenant_without_ai_is_skipped(
    rt: Runtime, http: httpx.AsyncClient
) -> None:
    world = await make_world(rt)
    cid = (await make_conversation(rt, world.customer, agent=world.agent)).id
    await set_tenant_settings(rt, None, ai_enabled=False)
    sent = await send(http, world.headers["customer"], cid, "Hello, is anyone there?")
    # Off: nothing is queued and the message has no status.
    assert (await message_row(rt, sent["id"])).ai_status is None
    await set_tenant_settings(rt, None, ai_enabled=True)
    sent = await send(http, world.headers["customer"], cid, "   ok   ")

    async def done() -> object:
        return (await message_row(rt, sent["id"])).ai_status == AiStatus.processed

    await wait_for(done)
    row = await analysis_row(rt, sent["id"])
    assert row is not None and row.language is None and row.pii_kinds == []


async def test_summaries_on_handover_end_and_demand_with_live_events(
    rt: Runtime, http: httpx.AsyncClient
) -> None:
    world = await make_world(rt)
    cid = (await make_conversation(rt, world.customer)).id
    customer, agent, admin = (world.headers[w] for w in ("customer", "agent", "admin"))
    for turn in MECHANIC.turns[:1]:
        await send(http, customer, cid, turn.text)
    assert (await http.get(f"/api/v1/conversations/{cid}/summary", headers=admin)).json()[
        "status"
    ] == "none"
    heard: list[dict[str, Any]] = []
    told_customer: list[str] = []

    def agent_hears(event: Event) -> None:
        if event.payload:
            heard.append(json.loads(event.payload))

    def customer_hears(event: Event) -> None:
        told_customer.append(event.type)

    await rt.broker.subscribe(Audience.user(world.agent.user_id or "").channel, agent_hears)
    await rt.broker.subscribe(Audience.user(world.customer.user_id or "").channel, customer_hears)
    await rt.broker.subscribe(Audience.conversation(cid).channel, customer_hears)

    # The handover: an agent takes the conversation.
    joined = await http.post(f"/api/v1/conversations/{cid}/join", headers=agent)
    assert joined.status_code == 200, joined.text

    async def ready() -> object:
        row = await summary_row(rt, cid)
        return row if row is not None and row.status == "ready" else None

    first = await wait_for(ready)
    assert first.reason == "handover" and first.provider == "local"
    assert "grinding noise" in (first.body or "")
    assert first.covers_seq > 0

    for turn in MECHANIC.turns[1:]:
        await send(http, agent if turn.author == "staff" else customer, cid, turn.text)
    ended = await http.post(f"/api/v1/conversations/{cid}/end", headers=agent, json={})
    assert ended.status_code == 200, ended.text

    async def refreshed() -> object:
        row = await summary_row(rt, cid)
        return row if row is not None and row.reason == "ended" and row.status == "ready" else None

    last = await wait_for(refreshed)
    assert "brake pads" in (last.body or "").lower() and "thursday" in (last.body or "").lower()
    assert last.covers_seq > first.covers_seq

    got = await http.get(f"/api/v1/conversations/{cid}/summary", headers=agent)
    assert got.status_code == 200
    assert got.json()["body"] == last.body and got.json()["status"] == "ready"
    # On demand (also after the end): 202 pending, then ready again.
    asked = await http.post(f"/api/v1/conversations/{cid}/summary", headers=admin)
    assert asked.status_code == 202 and asked.json()["status"] == "pending"
    assert asked.json()["body"] == last.body  # the last good one stays readable meanwhile

    async def on_demand() -> object:
        row = await summary_row(rt, cid)
        return (
            row if row is not None and row.reason == "on_demand" and row.status == "ready" else None
        )

    await wait_for(on_demand)
    summaries = [h for h in heard if h.get("type") == "ai_summary"]
    assert summaries and all(h["conversation_id"] == cid for h in summaries)
    assert any(h["summary"]["status"] == "ready" for h in summaries)
    assert "ai_summary" not in told_customer and "ai_analysis" not in told_customer


async def test_a_pending_refresh_is_queued_once(rt: Runtime, http: httpx.AsyncClient) -> None:
    world = await make_world(rt)
    cid = (await make_conversation(rt, world.customer, agent=world.agent)).id
    await settled(rt, cid)  # the handover's
    await rt.job_worker.stop()  # nothing runs: the first request stays pending
    answers = [
        await http.post(f"/api/v1/conversations/{cid}/summary", headers=world.headers["agent"])
        for _ in range(5)
    ]
    assert {a.status_code for a in answers} == {202}
    assert {a.json()["status"] for a in answers} == {"pending"}
    assert len(await jobs_of(rt, "ai.summarise")) == 2  # the handover's and this one


async def test_stored_messages_are_masked_for_everyone_but_the_sender(
    rt: Runtime, http: httpx.AsyncClient
) -> None:
    world = await make_world(rt)
    await set_tenant_settings(rt, None, ai_mask_stored_pii=True, ai_phone_region="GB")
    cid = (await make_conversation(rt, world.customer, agent=world.agent)).id
    customer, agent, admin = (world.headers[w] for w in ("customer", "agent", "admin"))
    text = f"Card {CARD}, phone {PHONE}, mail {EMAIL}. Please call me."
    sent = await send(http, customer, cid, text)
    assert sent["body"] == text  # the sender's ack: their own words
    masked = "Card [card], phone [phone], mail [email]. Please call me."
    stored = await message_row(rt, sent["id"])
    assert stored.body == masked and stored.body_original == text

    def body_in(page: httpx.Response) -> str:
        return next(m["body"] for m in page.json()["messages"] if m["id"] == sent["id"])

    url = f"/api/v1/conversations/{cid}/messages"
    assert body_in(await http.get(url, headers=customer)) == text
    assert body_in(await http.get(url, headers=agent)) == masked
    assert body_in(await http.get(url, headers=admin)) == masked
    assert body_in(await http.get(url, headers=world.headers["api_key"])) == masked
    # Transcripts follow the reading rule: the sender's holds their words, staff's the mask.
    for who in (agent, admin, world.headers["api_key"], customer):
        for fmt in ("txt", "json", "csv"):
            transcript = await http.get(
                f"/api/v1/conversations/{cid}/transcript", params={"format": fmt}, headers=who
            )
            assert transcript.status_code == 200
            for secret in (CARD, PHONE, EMAIL):
                assert (secret in transcript.text) == (who is customer), (fmt, secret)
    view = await http.get(f"/api/v1/conversations/{cid}", headers=agent)
    assert CARD not in view.text and EMAIL not in view.text
    # The admin export carries the masked text too (the frozen clock says 2026-01-01).
    export = await http.get(
        "/api/v1/admin/export", params={"from": "2025-12-31", "to": "2026-01-02"}, headers=admin
    )
    assert export.status_code == 200 and "[card]" in export.text
    for secret in (CARD, PHONE, EMAIL):
        assert secret not in export.text
    # A retry of the same client_msg_id gets the sender's words back too.
    first = await http.post(url, json={"body": text, "client_msg_id": "m-1"}, headers=customer)
    again = await http.post(url, json={"body": text, "client_msg_id": "m-1"}, headers=customer)
    assert first.json()["id"] == again.json()["id"] and again.json()["body"] == text
    # Staff's messages are not masked (only customers' inbound text is).
    reply = await send(http, agent, cid, f"Our line is {PHONE}.")
    assert (await message_row(rt, reply["id"])).body == f"Our line is {PHONE}."

    async def analysed() -> object:
        row = await analysis_row(rt, sent["id"])
        return row if row is not None and row.status == "processed" else None

    row = await analysed() or await wait_for(analysed)
    # Personal data is found in the sender's words (the spans point into them).
    assert sorted(row.pii_kinds) == ["card", "email", "phone"]
    assert {text[s["start"] : s["end"]] for s in row.pii_spans} == {CARD, PHONE, EMAIL}


async def test_retrying_failed_analyses(rt: Runtime, http: httpx.AsyncClient) -> None:
    world = await make_world(rt)
    cid = (await make_conversation(rt, world.customer, agent=world.agent)).id
    sent = await send(http, world.headers["customer"], cid, "It does not work at all")

    async def done() -> object:
        return (await message_row(rt, sent["id"])).ai_status == AiStatus.processed

    await wait_for(done)
    url = f"/api/v1/conversations/{cid}/analysis/retry"
    nothing = await http.post(url, headers=world.headers["agent"])
    assert nothing.status_code == 200 and nothing.json() == {"queued": 0}
    # Mark it failed (as a provider outage would), then retry it.
    from sqlalchemy import update

    from parlour.models.ai import MessageAnalysis
    from parlour.models.message import Message

    async with rt.uow() as tx:
        await tx.session.execute(
            update(MessageAnalysis).values(status="failed", error="the AI provider timed out")
        )
        await tx.session.execute(
            update(Message).where(Message.id == sent["id"]).values(ai_status="failed")
        )
    history = await http.get(
        f"/api/v1/conversations/{cid}/messages", headers=world.headers["agent"]
    )
    assert {m["id"]: m["analysis_status"] for m in history.json()["messages"]}[
        sent["id"]
    ] == "failed"
    retried = await http.post(url, headers=world.headers["agent"])
    assert retried.status_code == 200 and retried.json() == {"queued": 1}
    await wait_for(done)
    row = await analysis_row(rt, sent["id"])
    assert row is not None and row.status == "processed" and row.error is None
