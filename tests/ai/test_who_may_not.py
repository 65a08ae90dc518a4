"""Who may not use the AI endpoints: a customer (even the conversation's own), another tenant,
no credentials, a cross-site request riding on a cookie. Refusals change nothing and queue
nothing."""

from __future__ import annotations

import httpx

from parlour.auth.tokens import COOKIE_NAME
from parlour.runtime import Runtime
from tests.ai.support import jobs_of, settled, summary_row
from tests.api.support import assert_error, make_world, row_counts
from tests.factories import make_conversation, token_for

ENDPOINTS = (
    ("GET", "summary"),
    ("POST", "summary"),
    ("GET", "analysis"),
    ("POST", "analysis/retry"),
    ("POST", "suggestions"),
)


async def test_who_may_not(rt: Runtime, http: httpx.AsyncClient) -> None:
    world = await make_world(rt)
    cid = (await make_conversation(rt, world.customer, agent=world.agent)).id
    foreign = (await make_conversation(rt, world.foreign_customer)).id
    await settled(rt, cid)
    before = (await row_counts(rt), len(await jobs_of(rt, "ai.summarise")))
    row_before = await summary_row(rt, cid)
    for method, tail in ENDPOINTS:
        url = f"/api/v1/conversations/{cid}/{tail}"
        assert_error(await http.request(method, url), 401)
        assert_error(
            await http.request(method, url, headers=world.headers["customer"]), 403, "staff_only"
        )
        for who in ("other_customer", "other_agent", "foreign_admin", "foreign_api_key"):
            assert_error(
                await http.request(method, url, headers=world.headers[who]),
                404,
                "conversation_not_found",
            )
        # Another tenant's conversation looks like a missing one, even to an admin.
        assert_error(
            await http.request(
                method, f"/api/v1/conversations/{foreign}/{tail}", headers=world.headers["admin"]
            ),
            404,
            "conversation_not_found",
        )
        if method == "POST":
            cookie = {"Cookie": f"{COOKIE_NAME}={token_for(rt, world.agent)}"}
            for origin in ({"Origin": "https://evil.example"}, {}):
                assert_error(
                    await http.post(url, headers={**cookie, **origin}), 403, "csrf_rejected"
                )
    assert (await row_counts(rt), len(await jobs_of(rt, "ai.summarise"))) == before
    after = await summary_row(rt, cid)
    assert (after and after.request_id) == (row_before and row_before.request_id)


async def test_ai_switched_off_refuses_refreshes_and_suggestions(
    rt: Runtime, http: httpx.AsyncClient
) -> None:
    from tests.api.support import set_tenant_settings

    world = await make_world(rt)
    cid = (await make_conversation(rt, world.customer, agent=world.agent)).id
    await settled(rt, cid)
    await set_tenant_settings(rt, None, ai_enabled=False)
    for tail in ("summary", "analysis/retry", "suggestions"):
        assert_error(
            await http.post(f"/api/v1/conversations/{cid}/{tail}", headers=world.headers["agent"]),
            409,
            "ai_disabled",
        )
    # Reading what exists still works.
    got = await http.get(f"/api/v1/conversations/{cid}/summary", headers=world.headers["agent"])
    assert got.status_code == 200


async def test_concurrent_refreshes_queue_one_job(rt: Runtime, http: httpx.AsyncClient) -> None:
    """Real concurrency: the conversation's row lock, then the summary's, and the re-check
    under them leave one pending refresh and one job however many ask at once."""
    import asyncio

    world = await make_world(rt)
    cid = (await make_conversation(rt, world.customer, agent=world.agent)).id
    await settled(rt, cid)
    await rt.job_worker.stop()
    before = len(await jobs_of(rt, "ai.summarise"))
    url = f"/api/v1/conversations/{cid}/summary"
    answers = await asyncio.gather(
        *(http.post(url, headers=world.headers[who]) for who in ["agent", "admin", "api_key"] * 4)
    )
    assert {a.status_code for a in answers} == {202}
    assert len(await jobs_of(rt, "ai.summarise")) == before + 1
    row = await summary_row(rt, cid)
    assert row is not None and row.status == "pending"
    assert {a.json()["requested_at"] for a in answers} == {
        row.requested_at.isoformat().replace("+00:00", "Z")
    }
