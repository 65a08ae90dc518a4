"""What a search costs does not grow with another tenant's messages (structural, not timed:
PostgreSQL's per-transaction count of the `messages` rows it fetched, SQLite's count of
virtual-machine steps), on both databases.

Before: the index covered every tenant and the queries walked a word's matches newest first,
filtering tenant and access after, so a caller who may read little (a customer of a small
tenant) made every search walk the word's matches in every tenant."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import event, text

from parlour.auth.principal import Principal
from parlour.models.user import Role
from parlour.runtime import Runtime
from parlour.search import repository
from parlour.search import service as search
from parlour.search.query import Filters
from tests.factories import make_tenant, make_user
from tests.search.support import open_chat, say

FOREIGN_MATCHES = 150


def _rows_on_messages(node: dict[str, Any]) -> int:
    """The `messages` rows (and index entries) a plan node and its children went through."""
    rows = 0
    if node.get("Relation Name") == "messages" or "messages" in node.get("Index Name", ""):
        loops = int(node.get("Actual Loops", 1))
        rows += int(node.get("Actual Rows", 0)) * loops
        rows += int(node.get("Rows Removed by Filter", 0)) * loops
        rows += int(node.get("Rows Removed by Index Recheck", 0)) * loops
    return rows + sum(_rows_on_messages(child) for child in node.get("Plans", []))


async def _cost(rt: Runtime, who: Principal, word: str) -> tuple[int, int]:
    """(the work one search for `word` took, how many messages it found): on PostgreSQL the
    `messages` rows its full-text statement went through (EXPLAIN ANALYZE of the statement
    the search ran, with its parameters), on SQLite every virtual-machine step of the search."""
    async with rt.uow(write=False) as tx:
        connection = await tx.session.connection()
        if connection.dialect.name != "postgresql":
            raw = (await connection.get_raw_connection()).driver_connection
            steps = [0]

            def step() -> int:
                steps[0] += 1
                return 0  # go on

            await raw.set_progress_handler(step, 1)
            page = await search.search(tx, who, text=word, filters=Filters())
            await raw.set_progress_handler(None, 1)
            return steps[0], len(page.messages)
        # With a few hundred rows the planner would read whole tables; a real table's size
        # makes it use the indexes, which is what is measured here.
        await connection.execute(text("SET LOCAL enable_seqscan = off"))
        ran: list[tuple[str, Any]] = []

        def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
            if "to_tsquery" in statement:
                ran.append((statement, params))

        engine = connection.engine.sync_engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            page = await search.search(tx, who, text=word, filters=Filters())
        finally:
            event.remove(engine, "before_cursor_execute", record)
        rows = 0
        for statement, params in ran:
            plan = await connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params
            )
            document = plan.scalar_one()
            document = json.loads(document) if isinstance(document, str) else document
            rows += _rows_on_messages(document[0]["Plan"])
        return rows, len(page.messages)


async def test_search_cost_does_not_grow_with_another_tenants_matches(runtime: Runtime) -> None:
    await make_tenant(runtime)
    customer = await make_user(runtime, Role.customer, name="Cara")
    loner = await make_user(runtime, Role.customer, name="Lou")  # no conversation at all
    agent = await make_user(runtime, Role.agent, name="Abe")
    admin = await make_user(runtime, Role.admin, name="Ada")
    service = Principal(tenant_id=admin.tenant_id, role="admin", api_key_id="key")
    chat = await open_chat(runtime, customer, agent=agent)
    await say(runtime, customer, chat, "where is my parcel")
    await say(runtime, agent, chat, "your parcel left today")
    await make_tenant(runtime, "big")
    big_customer = await make_user(runtime, Role.customer, tenant="big", name="Bo")
    big_chat = await open_chat(runtime, big_customer)
    await say(runtime, big_customer, big_chat, "warming up the indexes")
    callers = {"customer": customer, "loner": loner, "agent": agent, "service": service}
    callers["admin"] = admin

    async def analyse() -> None:
        async with runtime.uow() as tx:
            if tx.session.get_bind().dialect.name == "postgresql":
                await tx.session.execute(text("ANALYZE messages"))
            else:
                # One segment, as FTS5's own merging keeps a large index: each little
                # transaction here left one, and looking a word up visits each segment.
                await tx.session.execute(
                    text("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
                )

    await analyse()
    baseline = {name: await _cost(runtime, who, "parcel") for name, who in callers.items()}
    for n in range(FOREIGN_MATCHES):
        await say(runtime, big_customer, big_chat, f"parcel number {n}")
    await analyse()
    for name, who in callers.items():
        cost, found = await _cost(runtime, who, "parcel")
        assert found == baseline[name][1], name
        # Not even one more step (row) per match in the other tenant: none of them is walked.
        assert cost - baseline[name][0] < FOREIGN_MATCHES, (name, baseline[name][0], cost)


@pytest.mark.parametrize("word", ["parcel", "parc*"])
async def test_a_caller_who_reads_nothing_costs_nothing(runtime: Runtime, word: str) -> None:
    """No readable conversation: the answer comes before any full-text lookup."""
    await make_tenant(runtime)
    loner = await make_user(runtime, Role.customer, name="Lou")
    other = await make_user(runtime, Role.customer, name="Oz")
    chat = await open_chat(runtime, other)
    for n in range(20):
        await say(runtime, other, chat, f"parcel number {n}")
    cost, found = await _cost(runtime, loner, word)
    assert found == 0
    cost_of_other, found_by_other = await _cost(runtime, other, word)
    assert found_by_other == 20
    assert cost < cost_of_other


async def test_a_caller_with_many_messages_finds_the_same(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond OWN_LOOKUPS messages of their own, SQLite walks the tenant's matches instead of
    looking each message up: the same answer, access still applied to every match."""
    await make_tenant(runtime)
    customer = await make_user(runtime, Role.customer, name="Cara")
    other = await make_user(runtime, Role.customer, name="Oz")
    mine = await open_chat(runtime, customer)
    theirs = await open_chat(runtime, other)
    found = [await say(runtime, customer, mine, f"parcel {n}") for n in range(3)]
    await say(runtime, other, theirs, "parcel of someone else")
    few = await _cost(runtime, customer, "parcel")
    monkeypatch.setattr(repository, "OWN_LOOKUPS", 1)
    many = await _cost(runtime, customer, "parcel")
    assert few[1] == many[1] == len(found)
