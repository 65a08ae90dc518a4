"""The sweep: run every registered deadline once, each due item in its own transaction.

One pass reads at most `batch_size` due items per deadline (so a backlog is worked off over
several passes, never in one long run), then acts on each in its own short writing unit of
work that locks the item and re-checks it (see registry.py). A failing item is logged and
skipped; the next pass finds it again. The in-process loop (`run_forever`, supervised by the
runtime), `parlour close-expired` and `POST /api/v1/cron/close-expired` all call `sweep`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from parlour.core import rls
from parlour.core.uow import UnitOfWork
from parlour.deadlines.registry import Acted, DeadlineRegistry

log = logging.getLogger(__name__)


class UnitsOfWork(Protocol):
    """`Runtime.uow`: a new unit of work."""

    def __call__(self, *, write: bool = True) -> UnitOfWork: ...


async def sweep(uow: UnitsOfWork, registry: DeadlineRegistry, *, batch_size: int) -> list[Acted]:
    """One pass over every deadline; what it acted on."""
    acted: list[Acted] = []
    for deadline in registry:
        # rls: finding what is due scans every tenant; acting on an item is its tenant's.
        with rls.acting_as(rls.ALL_TENANTS):
            async with uow(write=False) as tx:
                due = await deadline.find_due(tx, batch_size)
        for item in due:
            try:
                with rls.acting_as(rls.DbScope.service(item.tenant_id)):
                    async with uow() as tx:
                        outcome = await deadline.act(tx, item)
            except Exception:
                log.exception("deadline %s on %s failed", deadline.name, item.conversation_id)
                continue
            if outcome is not None:
                acted.append(Acted(deadline.name, item.conversation_id, item.tenant_id, outcome))
    for a in acted:
        log.info("deadline %s: %s %s", a.deadline, a.conversation_id, a.outcome)
    return acted


async def run_forever(
    uow: UnitsOfWork,
    registry: DeadlineRegistry,
    *,
    interval: float,
    batch_size: int,
    stopping: asyncio.Event,
) -> None:
    """Sweep every `interval` seconds until `stopping` is set (the runtime supervises this: a
    failed pass, say with the database away, is logged and the loop restarted with backoff).
    Stopping lets the pass in hand finish rather than cancelling it inside a transaction."""
    while not stopping.is_set():
        await sweep(uow, registry, batch_size=batch_size)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=interval)
