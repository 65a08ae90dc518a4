"""What row-level security costs on the message path (PostgreSQL), measured in one run.

Two runtimes over the same scratch database, each timed on the same work:

- baseline: connected as the owner (`postgres`, a superuser: the policies are bypassed) and with
  the per-transaction `set_config` statement switched off, i.e. Parlour before row-level
  security;
- rls: connected as the app role (`parlour_app`, no BYPASSRLS), the scope set at the start of
  every transaction and every policy evaluated.

The work: sends through the group-commit writer (one sender at a time, then many at once) and a
customer reading a conversation's last 50 messages (the customer policy's sub-select). Prints
messages (or reads) per second and the rls/baseline ratio. Run:

    .venv/bin/python -m bench.rls_bench [--messages 2000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from parlour.auth.principal import Principal, db_scope
from parlour.auth.service import do_create_user, do_ensure_default_tenant, principal_for
from parlour.config import Settings
from parlour.conversations.service import do_create_conversation, do_join
from parlour.core import rls, uow
from parlour.core.db import create_engine
from parlour.core.migrations import upgrade
from parlour.messages.service import SendRequest, list_messages
from parlour.models.user import Role
from parlour.runtime import Runtime, build_runtime

SECRET_KEY = "parlour-benchmark-secret-key-not-for-production-use"
ADMIN_URL = os.environ.get(
    "PARLOUR_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
APP_ROLE = "parlour_app"


@dataclass
class People:
    conversation_id: str
    customer: Principal
    agent: Principal


@contextmanager
def without_scope_statement() -> Any:
    """Parlour before RLS: no `set_config` round trip at the start of a transaction."""
    original = uow.rls.dialect_uses_rls
    uow.rls.dialect_uses_rls = lambda name: False  # type: ignore[assignment]
    try:
        yield
    finally:
        uow.rls.dialect_uses_rls = original  # type: ignore[assignment]


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _runtime(url: str, tmp: str) -> Runtime:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        data_dir=tmp,  # type: ignore[arg-type]
        secret_key=SECRET_KEY,
        job_worker=False,
        sweep_interval_seconds=0,
    )
    return build_runtime(settings)


async def _people(rt: Runtime, count: int, label: str) -> list[People]:
    with rls.acting_as(rls.ALL_TENANTS):
        async with rt.uow() as tx:
            tenant = await do_ensure_default_tenant(tx.session, now=tx.now)
            made = []
            for i in range(count):
                customer, agent = [
                    await do_create_user(
                        tx.session,
                        tenant_id=tenant.id,
                        role=role,
                        display_name=f"{role.value} {i}",
                        email=f"{label}-{role.value}-{i}@example.com",
                        password=None,
                        now=tx.now,
                    )
                    for role in (Role.customer, Role.agent)
                ]
                made.append((principal_for(customer), principal_for(agent)))
        found = []
        for customer, agent in made:
            with rls.acting_as(db_scope(customer)):
                async with rt.uow() as tx:
                    view = await do_create_conversation(
                        tx, customer, kind="support", customer_id=None, subject=None
                    )
            with rls.acting_as(db_scope(agent)):
                async with rt.uow() as tx:
                    await do_join(tx, agent, view.id)
            found.append(People(view.id, customer, agent))
        return found


async def _timed(work: Callable[[], Awaitable[None]]) -> float:
    start = time.perf_counter()
    await work()
    return time.perf_counter() - start


async def measure(
    rt: Runtime, people: list[People], *, messages: int, concurrency: int
) -> dict[str, float]:
    """Rates (per second) of sequential sends, concurrent sends and customer history reads."""
    counter = iter(range(10**9))

    async def send(p: People) -> None:
        n = next(counter)
        await rt.writer.send(
            SendRequest(p.customer, p.conversation_id, f"message {n}", client_msg_id=f"m{n}")
        )

    async def sequential() -> None:
        for i in range(messages // 4):
            with rls.acting_as(db_scope(people[i % len(people)].customer)):
                await send(people[i % len(people)])

    async def concurrent() -> None:
        async def sender(k: int) -> None:
            p = people[k % len(people)]
            with rls.acting_as(db_scope(p.customer)):
                for _ in range(messages // concurrency):
                    await send(p)

        await asyncio.gather(*(sender(k) for k in range(concurrency)))

    async def reads() -> None:
        for i in range(messages // 4):
            p = people[i % len(people)]
            with rls.acting_as(db_scope(p.customer)):
                async with rt.uow(write=False) as tx:
                    page = await list_messages(
                        tx, p.customer, conversation_id=p.conversation_id, limit=50
                    )
                    assert page.messages, "the customer sees their conversation's messages"

    await sequential()  # warm the pool and the caches
    return {
        "sequential sends/s": (messages // 4) / await _timed(sequential),
        f"concurrent sends/s ({concurrency} senders)": (messages // concurrency * concurrency)
        / await _timed(concurrent),
        "customer history reads/s": (messages // 4) / await _timed(reads),
    }


async def main(messages: int, concurrency: int) -> None:
    import tempfile

    name = f"parlour_rls_bench_{os.getpid()}"
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{name}"')
    await _admin(
        "DO $$ BEGIN "
        f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )
    base = ADMIN_URL.rpartition("/")[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    owner = f"{base}/{name}"
    app = owner.replace("://postgres@", f"://{APP_ROLE}@")
    try:
        engine = create_engine(owner)
        await upgrade(engine, app_role=APP_ROLE)
        await engine.dispose()
        results: dict[str, dict[str, float]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for label, url in (("baseline", owner), ("rls", app)):
                rt = _runtime(url, tmp)
                await rt.start()
                try:
                    if label == "baseline":
                        with without_scope_statement():
                            people = await _people(rt, 50, label)
                            results[label] = await measure(
                                rt, people, messages=messages, concurrency=concurrency
                            )
                    else:
                        people = await _people(rt, 50, label)
                        results[label] = await measure(
                            rt, people, messages=messages, concurrency=concurrency
                        )
                finally:
                    await rt.stop()
        print(f"PostgreSQL, {messages} messages, 50 conversations")
        print(f"{'':44} {'baseline':>10} {'rls':>10} {'rls/baseline':>13}")
        for key in results["baseline"]:
            b, r = results["baseline"][key], results["rls"][key]
            print(f"{key:44} {b:10.0f} {r:10.0f} {r / b:13.2f}")
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.concurrency))
