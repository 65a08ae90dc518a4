"""The `import_keys` bookkeeping: which source rows are already in Parlour, and as what."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.importer.plans import Key
from parlour.models.import_key import ImportKey
from parlour.models.tenant import Tenant
from parlour.models.user import User

# Ids per IN list: well under SQLite's and asyncpg's bound-parameter limits.
CHUNK = 500


async def lookup(
    session: AsyncSession, tenant_id: str, source: str, keys: Iterable[Key]
) -> dict[Key, str]:
    """The Parlour id of each key already imported (absent keys are not)."""
    by_table: dict[str, set[str]] = defaultdict(set)
    for table, source_id in keys:
        by_table[table].add(source_id)
    found: dict[Key, str] = {}
    for table, ids in by_table.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), CHUNK):
            rows = await session.execute(
                select(ImportKey.source_id, ImportKey.target_id).where(
                    ImportKey.tenant_id == tenant_id,
                    ImportKey.source == source,
                    ImportKey.source_table == table,
                    ImportKey.source_id.in_(ordered[start : start + CHUNK]),
                )
            )
            found.update({(table, source_id): target for source_id, target in rows})
    return found


async def record(
    session: AsyncSession,
    tenant_id: str,
    source: str,
    pairs: list[tuple[Key, str]],
    *,
    now: datetime,
) -> None:
    """Remember that each key became its Parlour id (in the transaction that made it)."""
    if pairs:
        await session.execute(
            insert(ImportKey),
            [
                {
                    "tenant_id": tenant_id,
                    "source": source,
                    "source_table": table,
                    "source_id": source_id,
                    "target_id": target,
                    "imported_at": now,
                }
                for (table, source_id), target in pairs
            ],
        )


async def lock_tenant(session: AsyncSession, tenant_id: str) -> None:
    """Take the tenant's row lock until the batch commits: two imports into one tenant take
    turns batch by batch, so neither records a key the other is recording (PostgreSQL; a
    SQLite writer holds the whole database already)."""
    await session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())


async def user_by_email(session: AsyncSession, tenant_id: str, email: str) -> User | None:
    """The tenant's user with this (lower-cased) email, if there is one."""
    return await session.scalar(
        select(User).where(User.tenant_id == tenant_id, User.email == email.strip().lower())
    )
