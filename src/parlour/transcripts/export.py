"""The tenant export as a stream of JSON Lines, shared by the HTTP endpoint and the CLI.

Each batch is read in its own short read-only unit of work, so a long export holds no
transaction (nor, on SQLite, any lock) while the client reads; memory stays one batch.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Protocol

from parlour.auth.principal import Principal
from parlour.core.uow import UnitOfWork
from parlour.transcripts import service


class UnitsOfWork(Protocol):
    """`Runtime.uow`."""

    def __call__(self, *, write: bool = True) -> UnitOfWork: ...


async def export_lines(
    uow: UnitsOfWork,
    principal: Principal,
    start: datetime,
    end: datetime,
    *,
    batch_size: int = service.EXPORT_BATCH,
) -> AsyncIterator[str]:
    """One JSON line per conversation created in [start, end), oldest first."""
    cursor: service.Cursor | None = None
    while True:
        async with uow(write=False) as tx:
            records, cursor = await service.export_batch(
                tx, principal, start, end, after=cursor, limit=batch_size
            )
        for record in records:
            yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        if cursor is None:
            return
