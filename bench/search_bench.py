"""Search benchmark: full-text search over 100,000 messages, through the search service.

For each backend: a fresh migrated database filled in bulk (Core INSERTs of a few thousand rows
each, through the migrations' index triggers on SQLite and the generated column on PostgreSQL)
with realistic support conversations: customers, agents, an opening and a joining system
message, then customer and agent lines about orders, refunds and broken things, spread over 90
days, channels and statuses. Then a few hundred searches of varied terms (common and rare words,
several words, phrases, prefixes, with and without filters) as an admin (the whole tenant), an
agent (their conversations) and a customer (their own), each through `search.service.search` in
its own read transaction, as the endpoint runs it. Reported per backend: p50/p95/p99, and two
baselines measured in the same run on the same data:

- `history`: the first page of a conversation's history (`messages.service.list_messages`),
  the read every conversation view makes: the search's cost as a multiple of the cheapest read.
- `LIKE scan`: the same words found with `LIKE '%word%'` over every message, no index: what the
  index saves (a few queries only, it is slow).

Then a second tenant is filled with `--other-messages` (by default four times the first
tenant's) of the same kind, and the first tenant's customers run the same searches again: one
index serves every tenant, so this shows whether another tenant's messages make a small
tenant's searches slower (printed as p50/p99 before and after, and their ratio).

    python -m bench.search_bench --help
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from bench.database import (
    DEFAULT_PG_ADMIN_URL,
    BackendUnavailable,
    BenchDatabase,
    fresh_database,
)
from bench.stats import Latency
from parlour.auth.principal import Principal
from parlour.auth.service import do_ensure_default_tenant
from parlour.core.ids import new_id
from parlour.messages import service as messages
from parlour.models.conversation import Conversation, Participant
from parlour.models.message import Message
from parlour.models.tenant import Tenant
from parlour.models.user import Role, User
from parlour.runtime import Runtime, build_runtime
from parlour.search import service as search
from parlour.search.query import Filters

TARGET_P99_MS = 50.0
BATCH = 5_000
START = datetime(2026, 9, 1, tzinfo=UTC)

ITEMS = [
    "jacket",
    "shirt",
    "boots",
    "scarf",
    "kettle",
    "toaster",
    "blender",
    "headphones",
    "charger",
    "laptop",
    "phone",
    "case",
    "backpack",
    "tent",
    "lamp",
    "sofa",
    "mattress",
    "bicycle",
    "helmet",
    "watch",
    "camera",
    "printer",
    "router",
    "monitor",
    "keyboard",
    "mouse",
    "speaker",
    "drill",
    "ladder",
    "heater",
    "fan",
    "vacuum",
    "mixer",
    "oven",
    "fridge",
    "dishwasher",
    "gearbox",
    "clutch",
    "battery",
    "tyre",
    "brake",
    "radiator",
]
PROBLEMS = [
    "broke",
    "stopped working",
    "arrived damaged",
    "is missing a part",
    "makes a loud noise",
    "will not turn on",
    "overheats",
    "leaks",
    "is the wrong size",
    "is the wrong colour",
    "keeps restarting",
    "smells of burning",
    "has a crack",
    "rattles",
    "drains the battery",
]
COLOURS = ["blue", "red", "green", "black", "white", "grey", "yellow", "navy", "silver", "orange"]
DAYS = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "yesterday",
    "today",
]
FIXES = [
    "a factory reset",
    "another cable",
    "the other socket",
    "updating the firmware",
    "cleaning the filter",
    "tightening the screws",
    "charging it overnight",
    "a different outlet",
]
FIRST = [
    "Cara",
    "Otto",
    "Nia",
    "Abe",
    "Ada",
    "Fin",
    "Lena",
    "Marco",
    "Priya",
    "Sven",
    "Yuki",
    "Omar",
    "Ines",
    "Tariq",
    "Zoe",
    "Hugo",
    "Mei",
    "Kofi",
    "Anya",
    "Luis",
    "Greta",
    "Ravi",
    "Elif",
    "Jonas",
    "Amara",
    "Bruno",
    "Chiara",
    "Dmitri",
    "Esme",
    "Farid",
]
FILLER = [
    "really",
    "just",
    "also",
    "quite",
    "still",
    "again",
    "please",
    "thanks",
    "maybe",
    "soon",
    "now",
    "very",
    "honestly",
    "actually",
    "basically",
    "today",
    "kindly",
    "urgently",
]

CUSTOMER_LINES = (
    "Hi, my {item} {problem}. Order {order}.",
    "I ordered a {colour} {item} on {day} and it {problem}.",
    "Can I get a refund for the {colour} {item}? It {problem}.",
    "The {item} arrived {day} but it {problem}, what can I do?",
    "Still waiting for the {item}, tracking number {order} has not moved since {day}.",
    "Thanks, I tried {fix} but the {item} still {problem}.",
    "Could you send the replacement {item} to my new address?",
    "Is there a warranty on the {item}? Mine {problem} after two weeks.",
)
AGENT_LINES = (
    "Sorry to hear about the {item}. Could you send a photo of it?",
    "I have issued a refund for order {order}; it shows in 3 to 5 days.",
    "A replacement {colour} {item} ships {day}, tracking {order}.",
    "Please try {fix} and tell me if the {item} still {problem}.",
    "Thanks {name}, I have updated your address for order {order}.",
    "The warranty covers the {item} for two years, so the repair is free.",
    "I am escalating this to our {item} specialist, who will reply by {day}.",
)


@dataclass(frozen=True, slots=True)
class Cast:
    admin: Principal
    agents: list[Principal]
    customers: list[Principal]
    conversations: list[str]
    orders: list[str]


def _line(rng: random.Random, templates: Sequence[str], order: str, name: str) -> str:
    body = rng.choice(templates).format(
        item=rng.choice(ITEMS),
        problem=rng.choice(PROBLEMS),
        colour=rng.choice(COLOURS),
        day=rng.choice(DAYS),
        fix=rng.choice(FIXES),
        order=order,
        name=name,
    )
    extra = " ".join(rng.choice(FILLER) for _ in range(rng.randint(0, 12)))
    return f"{body} {extra}".strip()


async def _insert(rt: Runtime, model: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), BATCH):
        async with rt.uow() as tx:
            await tx.session.execute(insert(model), rows[i : i + BATCH])


async def fill(
    rt: Runtime,
    *,
    messages_total: int,
    per_conversation: int,
    seed: int,
    tenant_slug: str | None = None,
) -> Cast:
    """Bulk-load a tenant (the default one, or a new one named `tenant_slug`): 20 agents,
    customers, conversations of `per_conversation` messages (2 system, the rest customer and
    agent lines) until `messages_total` messages."""
    rng = random.Random(seed)
    async with rt.uow() as tx:
        if tenant_slug is None:
            tenant = (await do_ensure_default_tenant(tx.session, now=tx.now)).id
        else:
            tenant = new_id()
            tx.session.add(
                Tenant(
                    id=tenant, slug=tenant_slug, name=tenant_slug, settings={}, created_at=tx.now
                )
            )
    conversations_total = messages_total // per_conversation
    users: list[dict[str, Any]] = []

    def user(role: Role, name: str) -> Principal:
        uid = new_id()
        users.append(
            {
                "id": uid,
                "tenant_id": tenant,
                "role": role,
                "display_name": name,
                "email": f"{name.lower().replace(' ', '.')}.{uid[:6]}@example.com",
                "is_guest": False,
                "is_active": True,
                "created_at": START,
            }
        )
        return Principal(tenant_id=tenant, role=role, user_id=uid, display_name=name)

    admin = user(Role.admin, "Bench Admin")
    agents = [user(Role.agent, f"{FIRST[i % len(FIRST)]} Agent{i}") for i in range(20)]
    customers = [
        user(Role.customer, f"{rng.choice(FIRST)} Customer{i}")
        for i in range(max(1, conversations_total // 5))
    ]
    conv_rows: list[dict[str, Any]] = []
    part_rows: list[dict[str, Any]] = []
    msg_rows: list[dict[str, Any]] = []
    orders: list[str] = []
    for _ in range(conversations_total):
        cid = new_id()
        customer = rng.choice(customers)
        agent = rng.choice(agents)
        opened = START + timedelta(minutes=rng.randint(0, 90 * 24 * 60))
        order = str(rng.randint(100_000, 999_999))
        orders.append(order)
        status = rng.choices(("ended", "active", "waiting"), weights=(7, 2, 1))[0]
        channel = rng.choices(("web", "whatsapp", "sms", "email"), weights=(6, 2, 1, 1))[0]
        at = opened
        first_name = customer.display_name.split()[0]
        for seq in range(1, per_conversation + 1):
            at += timedelta(seconds=rng.randint(5, 600))
            if seq <= 2:
                kind, sender, body = (
                    "system",
                    None,
                    (
                        f"{customer.display_name} opened the conversation."
                        if seq == 1
                        else f"{agent.display_name} joined the conversation."
                    ),
                )
            elif seq % 2:
                kind, sender = "text", customer.user_id
                body = _line(rng, CUSTOMER_LINES, order, first_name)
            else:
                kind, sender = "text", agent.user_id
                body = _line(rng, AGENT_LINES, order, first_name)
            msg_rows.append(
                {
                    "id": new_id(),
                    "tenant_id": tenant,
                    "conversation_id": cid,
                    "seq": seq,
                    "kind": kind,
                    "body": body,
                    "sender_id": sender,
                    "channel": channel if sender == customer.user_id else "web",
                    "attachments": [],
                    "created_at": at,
                }
            )
        conv_rows.append(
            {
                "id": cid,
                "tenant_id": tenant,
                "kind": "support",
                "channel": channel,
                "status": status,
                "subject": f"{rng.choice(ITEMS).title()} {rng.choice(PROBLEMS)}",
                "customer_id": customer.user_id,
                "created_at": opened,
                "last_activity_at": at,
                "last_seq": per_conversation,
            }
        )
        for who, role in ((customer, "customer"), (agent, "agent")):
            part_rows.append(
                {
                    "id": new_id(),
                    "tenant_id": tenant,
                    "conversation_id": cid,
                    "user_id": who.user_id,
                    "role": role,
                    "joined_at": opened,
                    "last_read_seq": per_conversation,
                }
            )
    await _insert(rt, User, users)
    await _insert(rt, Conversation, conv_rows)
    await _insert(rt, Participant, part_rows)
    await _insert(rt, Message, msg_rows)
    return Cast(admin, agents, customers, [c["id"] for c in conv_rows], orders)


def queries(rng: random.Random, cast: Cast, count: int) -> list[tuple[str, Filters]]:
    """`count` searches of varied shape: common and rare words, several words, phrases,
    prefixes, names, order numbers; a quarter with a filter."""
    shapes: list[Callable[[], str]] = [
        lambda: rng.choice(ITEMS),
        lambda: "refund",
        lambda: rng.choice(ITEMS) + " " + rng.choice(PROBLEMS).split()[0],
        lambda: f'"{rng.choice(COLOURS)} {rng.choice(ITEMS)}"',
        lambda: rng.choice(ITEMS)[:3] + "*",
        lambda: rng.choice(cast.orders),
        lambda: rng.choice(FIRST),
        lambda: f"{rng.choice(ITEMS)} {rng.choice(DAYS)} {rng.choice(COLOURS)}",
        lambda: '"' + rng.choice(PROBLEMS) + '"',
        lambda: "warranty repair",
    ]
    filters = [
        Filters(),
        Filters(),
        Filters(),
        Filters(status="ended"),
        Filters(channel="whatsapp"),
        Filters(since=START + timedelta(days=60)),
    ]
    return [(rng.choice(shapes)(), rng.choice(filters)) for _ in range(count)]


async def timed(fn: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await fn()
    return (time.perf_counter() - start) * 1000


async def run_backend(db: BenchDatabase, args: argparse.Namespace) -> dict[str, Any]:
    rt = build_runtime(db.settings())
    await rt.start()
    try:
        started = time.perf_counter()
        cast = await fill(
            rt, messages_total=args.messages, per_conversation=args.per_conversation, seed=7
        )
        fill_s = time.perf_counter() - started
        async with rt.uow() as tx:
            await tx.session.execute(text("ANALYZE"))
            total = await tx.session.scalar(select(func.count()).select_from(Message))
        rng = random.Random(42)
        workload = queries(rng, cast, args.searches)
        callers = [
            ("admin", lambda: cast.admin),
            ("agent", lambda: rng.choice(cast.agents)),
            ("customer", lambda: rng.choice(cast.customers)),
        ]

        async def one(who: Principal, q: str, filters: Filters) -> int:
            async with rt.uow(write=False) as tx:
                page = await search.search(tx, who, text=q, filters=filters, limit=20)
            return len(page.messages)

        for q, f in workload[:20]:  # warm the caches and the statement cache
            await one(cast.admin, q, f)
        samples: dict[str, list[float]] = {name: [] for name, _ in callers}
        hits = 0
        slowest: list[tuple[float, str, str]] = []
        for i, (q, f) in enumerate(workload):
            name, pick = callers[i % 3]
            who = pick()
            start = time.perf_counter()
            hits += await one(who, q, f)
            took = (time.perf_counter() - start) * 1000
            samples[name].append(took)
            slowest.append((took, name, q))
        every = [s for values in samples.values() for s in values]

        async def history() -> None:
            async with rt.uow(write=False) as tx:
                await messages.list_messages(
                    tx, cast.admin, conversation_id=rng.choice(cast.conversations), limit=50
                )

        baseline = [await timed(history) for _ in range(args.searches)]

        async def like_scan() -> None:
            word = rng.choice(ITEMS)
            async with rt.uow(write=False) as tx:
                await tx.session.execute(
                    select(Message.id)
                    .where(Message.body.ilike(f"%{word}%"), Message.kind != "system")
                    .order_by(Message.created_at.desc())
                    .limit(20)
                    .offset(1000)
                )

        likes = [await timed(like_scan) for _ in range(args.like_scans)]

        # The same customers' searches again, after another tenant filled the shared index.
        async def as_customers() -> list[float]:
            replay = random.Random(43)
            took = []
            for q, f in workload:
                who = replay.choice(cast.customers)
                start = time.perf_counter()
                await one(who, q, f)
                took.append((time.perf_counter() - start) * 1000)
            return took

        alone = await as_customers()
        other_total = args.other_messages if args.other_messages >= 0 else 4 * args.messages
        if other_total:
            await fill(
                rt,
                messages_total=other_total,
                per_conversation=args.per_conversation,
                seed=8,
                tenant_slug="big",
            )
            async with rt.uow() as tx:
                await tx.session.execute(text("ANALYZE"))
        crowded = await as_customers()
        return {
            "other_messages": other_total,
            "customer_alone": Latency.of(alone),
            "customer_crowded": Latency.of(crowded),
            "backend": db.backend,
            "messages": total,
            "fill_s": fill_s,
            "hits": hits,
            "slowest": sorted(slowest, reverse=True)[:5],
            "search": Latency.of(every),
            "by_caller": {name: Latency.of(values) for name, values in samples.items()},
            "history": Latency.of(baseline),
            "like": Latency.of(likes),
        }
    finally:
        await rt.stop()


def print_report(r: dict[str, Any]) -> None:
    s: Latency = r["search"]
    h: Latency = r["history"]
    like: Latency = r["like"]
    verdict = "within" if s.p99 <= TARGET_P99_MS else "OVER"
    print(
        f"\n== {r['backend']}: {r['messages']:,} messages (filled in {r['fill_s']:.1f} s, "
        f"{r['messages'] / r['fill_s']:,.0f} rows/s with the index) =="
    )
    print(
        f"search  {s.count} queries  {s.text()}  ({verdict} the {TARGET_P99_MS:.0f} ms p99 "
        f"target; {r['hits']} hits shown)"
    )
    for name, lat in r["by_caller"].items():
        print(f"  as {name:<8} {lat.text()}")
    print("  slowest: " + "; ".join(f"{q!r} as {who} {ms:.0f} ms" for ms, who, q in r["slowest"]))
    print(
        f"history {h.count} pages    {h.text()}   search/history: p50 x{s.p50 / h.p50:.1f}, "
        f"p99 x{s.p99 / h.p99:.1f}"
    )
    print(
        f"LIKE scan {like.count} words   {like.text()}   LIKE/search: p50 x{like.p50 / s.p50:.1f}"
    )
    alone: Latency = r["customer_alone"]
    crowded: Latency = r["customer_crowded"]
    print(
        f"customer of this tenant, alone        {alone.text()}\n"
        f"  with {r['other_messages']:,} messages in another tenant  {crowded.text()}   "
        f"crowded/alone: p50 x{crowded.p50 / alone.p50:.2f}, p99 x{crowded.p99 / alone.p99:.2f}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.search_bench", description=__doc__)
    parser.add_argument(
        "--backend",
        choices=["all", "sqlite", "postgresql"],
        default="all",
        help="which databases to measure (default: SQLite and PostgreSQL)",
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--per-conversation", type=int, default=20)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--like-scans", type=int, default=10)
    parser.add_argument(
        "--other-messages",
        type=int,
        default=-1,
        help="messages of a second tenant (default: four times --messages; 0: none)",
    )
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    backends = {"all": ["sqlite-full", "postgresql"], "sqlite": ["sqlite-full"]}.get(
        args.backend, [args.backend]
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"search bench: {args.messages:,} messages, {args.searches} searches per backend "
        f"({os.cpu_count()} cores, load average {load} at the start)"
    )
    for backend in backends:
        try:
            async with fresh_database(backend, pg_admin_url=args.pg_admin_url) as db:
                print_report(await run_backend(db, args))
        except BackendUnavailable as exc:
            print(f"\n== {backend}: skipped ({exc}) ==")


if __name__ == "__main__":
    asyncio.run(main())
