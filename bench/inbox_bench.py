"""Inbox benchmark: what the unread totals per channel cost, in-process, next to the inbox listing.

For each backend: a fresh migrated database and one runtime (no HTTP). One agent takes part in
`--conversations` conversations spread over the four channels, each with a few unread messages,
among other agents' conversations (so the tenant is not only theirs). Then, each N times one
after another, in a read-only unit of work:

- `list` (the baseline): `list_conversations(scope=mine, limit=50)`, what the agent inbox page
  and `GET /conversations` already do for every load.
- `unread`: `unread_totals`, the grouped query behind `GET /conversations/unread`.
- `list channel`: the same listing filtered to one channel (`?channel=whatsapp`).

Each is reported as operations per second and latency percentiles, with its ratio to `list`
measured in the same run on the same database. A measurement, not a test: no pass mark.

    python -m bench.inbox_bench --help
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.database import DEFAULT_PG_ADMIN_URL, BackendUnavailable, fresh_database
from parlour.auth.principal import Principal
from parlour.auth.service import do_create_user, do_ensure_default_tenant, principal_for
from parlour.conversations import service as conversations
from parlour.conversations.unread import unread_totals
from parlour.messages.service import SendRequest, do_send_messages
from parlour.models.conversation import Channel
from parlour.models.user import Role
from parlour.runtime import Runtime, build_runtime

Op = Callable[[], Awaitable[object]]
CHANNELS = list(Channel)


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        total = sum(self.latencies_ms) / 1000
        return len(self.latencies_ms) / total if total else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _timed(name: str, n: int, op: Op) -> Result:
    await op()  # warm: statement caches, the connection
    latencies = []
    for _ in range(n):
        start = time.perf_counter()
        await op()
        latencies.append((time.perf_counter() - start) * 1000)
    return Result(name, latencies)


async def _user(rt: Runtime, role: Role, i: int) -> Principal:
    async with rt.uow() as tx:
        tenant = await do_ensure_default_tenant(tx.session, now=tx.now)
        made = await do_create_user(
            tx.session,
            tenant_id=tenant.id,
            role=role,
            display_name=f"Bench {role.value} {i}",
            email=f"bench-{role.value}-{i}@example.com",
            password=None,
            now=tx.now,
        )
        return principal_for(made)


async def _populate(rt: Runtime, agent: Principal, other: Principal, count: int) -> None:
    """`count` conversations for `agent` and as many for `other`, each with 3 inbound messages."""
    customers = [await _user(rt, Role.customer, i) for i in range(20)]
    for i in range(count * 2):
        customer = customers[i % len(customers)]
        staff = agent if i % 2 == 0 else other
        channel = CHANNELS[(i // 2) % len(CHANNELS)]  # each agent gets every channel
        async with rt.uow() as tx:
            view = await conversations.do_create_conversation(
                tx, customer, kind="support", customer_id=None, subject=None, channel=channel
            )
            await conversations.do_join(tx, staff, view.id)
            system = Principal.system_actor(customer.tenant_id)
            requests = [
                SendRequest(
                    system,
                    view.id,
                    f"m{j}",
                    channel=channel.value,
                    external_id=f"{view.id}-{j}",
                    sender_id=customer.user_id,
                )
                for j in range(3)
            ]
            await do_send_messages(tx, requests, max_chars=4000)


async def run_backend(backend: str, n: int, count: int, pg_admin_url: str) -> list[Result]:
    async with fresh_database(backend, pg_admin_url=pg_admin_url) as db:
        settings = db.settings().model_copy(update={"sweep_interval_seconds": 0})
        rt = build_runtime(settings)
        await rt.start()
        try:
            agent = await _user(rt, Role.agent, 0)
            other = await _user(rt, Role.agent, 1)
            await _populate(rt, agent, other, count)

            async def listing() -> object:
                async with rt.uow(write=False) as tx:
                    return await conversations.list_conversations(tx, agent, limit=50)

            async def unread() -> object:
                async with rt.uow(write=False) as tx:
                    totals = await unread_totals(tx, agent)
                assert totals.total == 3 * count, totals
                return totals

            async def listing_channel() -> object:
                async with rt.uow(write=False) as tx:
                    return await conversations.list_conversations(
                        tx, agent, limit=50, channel=Channel.whatsapp
                    )

            return [
                await _timed("list", n, listing),
                await _timed("unread", n, unread),
                await _timed("list channel", n, listing_channel),
            ]
        finally:
            await rt.stop()


def report(backend: str, count: int, results: list[Result]) -> None:
    base = results[0]
    print(f"\n### {backend} ({count} conversations of the agent, as many of another)\n")
    print("| operation | ops/s | p50 ms | p99 ms | ops/s vs `list` | p50 vs `list` |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r.name} | {r.per_second:.0f} | {r.pct(0.5):.2f} | {r.pct(0.99):.2f} "
            f"| {r.per_second / base.per_second:.2f} | {r.pct(0.5) / base.pct(0.5):.2f} |"
        )
    print(f"\n(median latency of the baseline: {statistics.median(base.latencies_ms):.2f} ms)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.inbox_bench")
    parser.add_argument("--backend", action="append", choices=["sqlite-full", "postgresql"])
    parser.add_argument("-n", type=int, default=200, help="operations per measurement")
    parser.add_argument("--conversations", type=int, default=400, help="the agent's")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    args = parser.parse_args(argv)
    for backend in args.backend or ["sqlite-full", "postgresql"]:
        try:
            results = asyncio.run(
                run_backend(backend, args.n, args.conversations, args.pg_admin_url)
            )
        except BackendUnavailable as exc:
            print(f"{backend}: skipped ({exc})")
            continue
        report(backend, args.conversations, results)


if __name__ == "__main__":
    main()
