"""The raw baseline: the same rows straight into the same `messages` table through the driver.

Run after the server has stopped, on the very database it served (same schema, indexes and
foreign keys, same durability settings): SQLite through sqlite3 (and aiosqlite, the server's
driver) in WAL mode with the server's synchronous level (FULL or NORMAL) and BEGIN IMMEDIATE;
PostgreSQL through asyncpg with the server's defaults (synchronous_commit on). Only INSERTs:
no seq allocation, no access checks, no events, no network between client and server.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.database import BenchDatabase

# Baseline seqs start far above anything the server wrote, so the unique (conversation, seq)
# index never collides; each mode gets its own range.
SEQ_BASE = 10_000_000
_modes = itertools.count()
INSERT_COLUMNS = (
    "id, tenant_id, conversation_id, seq, kind, body, sender_id, client_msg_id, meta, "
    "attachments, created_at"
)


@dataclass(frozen=True, slots=True)
class BaselineResult:
    driver: str
    rows_per_transaction: int
    rows: int
    seconds: float
    capped: bool  # stopped at the time cap before inserting every row

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def label(self) -> str:
        per = "1 row" if self.rows_per_transaction == 1 else f"{self.rows_per_transaction} rows"
        return f"{self.driver}, {per}/transaction"


@dataclass(frozen=True, slots=True)
class _Target:
    tenant_id: str
    conversation_id: str
    sender_id: str


def _rows(targets: list[_Target], count: int, mode: int, body: str) -> Iterator[tuple[Any, ...]]:
    """Rows spread round-robin over the conversations, like the benchmark's traffic."""
    seqs = dict.fromkeys((t.conversation_id for t in targets), SEQ_BASE * (mode + 1))
    for n, target in zip(range(count), itertools.cycle(targets), strict=False):
        seqs[target.conversation_id] += 1
        yield (
            uuid.uuid4().hex,
            target.tenant_id,
            target.conversation_id,
            seqs[target.conversation_id],
            "text",
            body,
            target.sender_id,
            f"baseline-{mode}-{n}",
            None,
            "[]",
            datetime.now(UTC),
        )


def _chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


def sqlite_baseline(
    db: BenchDatabase, *, rows: int, batch_sizes: list[int], body: str, max_seconds: float
) -> list[BaselineResult]:
    """sqlite3 (the stdlib driver, no thread hop) for each batch size."""
    path = db.url.split("///", 1)[1]
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        for pragma in ("journal_mode=WAL", f"synchronous={db.synchronous}", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        targets = [_Target(*row) for row in conn.execute(_TARGETS_SQL)]
        sql = f"INSERT INTO messages ({INSERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
        results = []
        for size in batch_sizes:
            chunks = _sqlite_chunks(targets, rows, size, body)
            done, capped = 0, False
            start = time.perf_counter()
            for chunk in chunks:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(sql, chunk)
                conn.execute("COMMIT")
                done += len(chunk)
                if time.perf_counter() - start > max_seconds:
                    capped = done < rows
                    break
            results.append(
                BaselineResult("sqlite3", size, done, time.perf_counter() - start, capped)
            )
        return results
    finally:
        conn.close()


async def aiosqlite_baseline(
    db: BenchDatabase, *, rows: int, batch_sizes: list[int], body: str, max_seconds: float
) -> list[BaselineResult]:
    """aiosqlite (the server's driver: every call hops to its thread and back)."""
    import aiosqlite

    path = db.url.split("///", 1)[1]
    async with aiosqlite.connect(path, isolation_level=None, timeout=30) as conn:
        for pragma in ("journal_mode=WAL", f"synchronous={db.synchronous}", "foreign_keys=ON"):
            await conn.execute(f"PRAGMA {pragma}")
        async with conn.execute(_TARGETS_SQL) as cursor:
            targets = [_Target(*row) async for row in cursor]
        sql = f"INSERT INTO messages ({INSERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
        results = []
        for size in batch_sizes:
            chunks = _sqlite_chunks(targets, rows, size, body)
            done, capped = 0, False
            start = time.perf_counter()
            for chunk in chunks:
                await conn.execute("BEGIN IMMEDIATE")
                await conn.executemany(sql, chunk)
                await conn.execute("COMMIT")
                done += len(chunk)
                if time.perf_counter() - start > max_seconds:
                    capped = done < rows
                    break
            results.append(
                BaselineResult("aiosqlite", size, done, time.perf_counter() - start, capped)
            )
        return results


async def postgres_baseline(
    db: BenchDatabase, *, rows: int, batch_sizes: list[int], body: str, max_seconds: float
) -> list[BaselineResult]:
    """asyncpg, one connection, each batch in its own transaction."""
    import asyncpg  # type: ignore[import-untyped]

    dsn = db.url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    try:
        targets = [_Target(*row) for row in await conn.fetch(_TARGETS_SQL)]
        sql = f"INSERT INTO messages ({INSERT_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"
        results = []
        for size in batch_sizes:
            mode = next(_modes)
            chunks = list(_chunks(_rows(targets, rows, mode, body), size))
            done, capped = 0, False
            start = time.perf_counter()
            for chunk in chunks:
                async with conn.transaction():
                    if len(chunk) == 1:
                        await conn.execute(sql, *chunk[0])
                    else:
                        await conn.executemany(sql, chunk)
                done += len(chunk)
                if time.perf_counter() - start > max_seconds:
                    capped = done < rows
                    break
            results.append(
                BaselineResult("asyncpg", size, done, time.perf_counter() - start, capped)
            )
        return results
    finally:
        await conn.close()


# Each conversation with its tenant and its customer (the sender of the benchmark's messages).
_TARGETS_SQL = (
    "SELECT c.tenant_id, c.id, c.customer_id FROM conversations c ORDER BY c.created_at, c.id"
)


def _sqlite_chunks(
    targets: list[_Target], rows: int, size: int, body: str
) -> list[list[tuple[Any, ...]]]:
    """Fresh rows for one SQLite mode, in SQLite's column types, built before timing starts."""
    mode = next(_modes)
    return [
        [_sqlite_row(r) for r in chunk] for chunk in _chunks(_rows(targets, rows, mode, body), size)
    ]


def _sqlite_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # SQLAlchemy stores SQLite datetimes as naive UTC text; do the same.
    created = row[-1].replace(tzinfo=None).isoformat(sep=" ")
    return (*row[:-1], created)
