"""Domain benchmark: what the domain issues add to opening a conversation, in-process.

For each backend: a fresh migrated database and one runtime (no HTTP), then each scenario runs
N operations one after another and reports operations per second and latency percentiles,
each as a ratio to the baseline measured in the same run on the same database:

- `open` (the baseline): a customer opens a conversation with routing switched off
  (`routed_kinds` empty): one transaction, the conversation, its participant, a system message.
- `open+route`: the same with routing on and three agents online with room: the routing hook
  assigns it after the commit (a second transaction: locks, the join, a system message).
- `book`: a customer books a free slot of an expert's published availability: the slot check,
  the appointment under the no-overlap rule, its conversation with both people, the reminder job.
- `burst`: 50 conversations opened at once (asyncio tasks, one transaction each) with 3 agents
  of capacity 3 online: the wall time until all are committed and 9 assigned; its ratio is to 50
  sequential baseline opens.

    python -m bench.domain_bench --help
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bench.database import DEFAULT_PG_ADMIN_URL, BackendUnavailable, fresh_database
from parlour.appointments import service as appointments
from parlour.appointments.schemas import AvailabilityIn, WeeklyHours
from parlour.auth.principal import Principal
from parlour.auth.service import do_create_user, do_ensure_default_tenant, principal_for
from parlour.conversations import service as conversations
from parlour.models.conversation import Conversation, Status
from parlour.models.user import Role
from parlour.routing import service as routing
from parlour.runtime import Runtime, build_runtime
from parlour.tenants import service as tenants

Op = Callable[[int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    ops: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _timed(name: str, n: int, op: Op) -> Result:
    latencies = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        await op(i)
        latencies.append((time.perf_counter() - t0) * 1000)
    return Result(name, n, time.perf_counter() - start, latencies)


@dataclass
class Cast:
    admin: Principal
    customers: list[Principal]
    agents: list[Principal]


async def _cast(rt: Runtime, customers: int) -> Cast:
    async with rt.uow() as tx:
        tenant = await do_ensure_default_tenant(tx.session, now=tx.now)

        async def user(role: Role, i: int) -> Principal:
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

        admin = await user(Role.admin, 0)
        people = [await user(Role.customer, i) for i in range(customers)]
        agents = [await user(Role.agent, i) for i in range(3)]
    return Cast(admin, people, agents)


async def _set(rt: Runtime, admin: Principal, **values: object) -> None:
    async with rt.uow() as tx:
        await tenants.do_update_settings(tx, admin, values)


async def _agents(rt: Runtime, cast: Cast, status: str, capacity: int) -> None:
    for agent in cast.agents:
        assert agent.user_id is not None
        async with rt.uow() as tx:
            await routing.do_set_capacity(tx, cast.admin, agent.user_id, capacity)
        async with rt.uow() as tx:
            await routing.do_set_availability(tx, agent, status)  # type: ignore[arg-type]


async def _open(rt: Runtime, customer: Principal) -> None:
    async with rt.uow() as tx:
        await conversations.do_create_conversation(
            tx, customer, kind="support", customer_id=None, subject="Bench"
        )


async def _end_all(rt: Runtime, cast: Cast) -> None:
    async with rt.uow(write=False) as tx:
        ids = list(
            await tx.session.scalars(
                select(Conversation.id).where(Conversation.status != Status.ended)
            )
        )
    for cid in ids:
        async with rt.uow() as tx:
            await conversations.do_end(tx, cast.admin, cid, reason=None)


async def run_backend(backend: str, n: int, pg_admin_url: str) -> list[Result]:
    async with fresh_database(backend, pg_admin_url=pg_admin_url) as db:
        settings = db.settings().model_copy(update={"sweep_interval_seconds": 0})
        rt = build_runtime(settings)
        await rt.start()
        try:
            cast = await _cast(rt, customers=n)
            results = []

            # The baseline: routing off, after a warm-up (connections, caches) that is not timed.
            await _set(rt, cast.admin, routed_kinds=[])
            for i in range(min(20, n)):
                await _open(rt, cast.customers[i])
            await _end_all(rt, cast)
            results.append(await _timed("open", n, lambda i: _open(rt, cast.customers[i])))
            await _end_all(rt, cast)

            # Routing on, three agents with room for everything.
            await _set(rt, cast.admin, routed_kinds=["support"])
            await _agents(rt, cast, "online", 100)
            results.append(await _timed("open+route", n, lambda i: _open(rt, cast.customers[i])))
            await _end_all(rt, cast)

            # Self-booking: every day open, consecutive 30-minute slots from tomorrow.
            expert = cast.agents[0]
            assert expert.user_id is not None
            async with rt.uow() as tx:
                await appointments.do_set_availability(
                    tx,
                    expert,
                    expert.user_id,
                    AvailabilityIn(
                        timezone="UTC",
                        weekly=[
                            WeeklyHours(weekday=d, start="00:00", end="24:00") for d in range(7)
                        ],
                    ),
                )
            first = (datetime.now(UTC) + timedelta(days=1)).replace(
                hour=0, minute=0, second=0, microsecond=0
            )

            async def book(i: int) -> None:
                async with rt.uow() as tx:
                    await appointments.do_book(
                        tx,
                        cast.customers[i],
                        expert_id=expert.user_id or "",
                        starts_at=first + timedelta(minutes=30 * i),
                        duration_minutes=30,
                    )

            results.append(await _timed("book", n, book))
            await _end_all(rt, cast)

            # A burst: 50 at once, 3 agents of capacity 3.
            await _agents(rt, cast, "online", 3)
            burst_n = min(50, n)
            baseline_burst = results[0].seconds * burst_n / n
            t0 = time.perf_counter()
            await asyncio.gather(*(_open(rt, cast.customers[i]) for i in range(burst_n)))
            burst_seconds = time.perf_counter() - t0
            async with rt.uow(write=False) as tx:
                active = await tx.session.scalar(
                    select(func.count())
                    .select_from(Conversation)
                    .where(Conversation.status == Status.active)
                )
            print(
                f"  burst: {burst_n} opened at once in {burst_seconds * 1000:.0f} ms "
                f"({burst_seconds / baseline_burst:.2f}x {burst_n} sequential baseline opens), "
                f"{active} assigned (expected 9)"
            )
            return results
        finally:
            await rt.stop()


def report(backend: str, results: list[Result]) -> None:
    base = results[0]
    print(f"\n### {backend}\n")
    print("| scenario | ops/s | p50 ms | p99 ms | ops/s vs `open` | p50 vs `open` |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| `{r.name}` | {r.per_second:.0f} | {r.pct(0.5):.1f} | {r.pct(0.99):.1f} | "
            f"{r.per_second / base.per_second:.2f} | {r.pct(0.5) / base.pct(0.5):.2f} |"
        )
    print(f"\n(median of all latencies: {statistics.median(base.latencies_ms):.1f} ms baseline)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.domain_bench")
    parser.add_argument("--backend", action="append", choices=["sqlite-full", "postgresql"])
    parser.add_argument("-n", type=int, default=200, help="operations per scenario")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    args = parser.parse_args(argv)
    for backend in args.backend or ["sqlite-full", "postgresql"]:
        try:
            results = asyncio.run(run_backend(backend, args.n, args.pg_admin_url))
        except BackendUnavailable as exc:
            print(f"{backend}: skipped ({exc})")
            continue
        report(backend, results)


if __name__ == "__main__":
    main()
