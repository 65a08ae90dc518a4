"""`tx.enqueue`'s other half: the job sink the runtime hands every unit of work."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parlour.core.outbox import EnqueuedJob
from parlour.jobs import repository
from parlour.jobs.registry import DEFAULT_MAX_ATTEMPTS, JobRegistry
from parlour.models.job import MAX_KEY_CHARS, MAX_KIND_CHARS


class JobQueue:
    """Writes job rows in the caller's transaction; wakes the node's worker after its commit."""

    def __init__(self, registry: JobRegistry, *, on_commit: Callable[[], None]) -> None:
        self._registry = registry
        self._on_commit = on_commit

    async def enqueue(
        self,
        session: AsyncSession,
        kind: str,
        payload: Mapping[str, Any],
        *,
        key: str,
        tenant_id: str | None,
        run_at: datetime | None,
        now: datetime,
    ) -> EnqueuedJob:
        # Mistakes here are the calling code's, not the user's: plain ValueErrors.
        if not kind or len(kind) > MAX_KIND_CHARS:
            raise ValueError(f"a job kind has 1 to {MAX_KIND_CHARS} characters: {kind!r}")
        if not key or len(key) > MAX_KEY_CHARS:
            raise ValueError(f"a job key has 1 to {MAX_KEY_CHARS} characters")
        if run_at is not None and run_at.tzinfo is None:
            raise ValueError("run_at must be timezone-aware (use the Clock)")
        # Round-trip through JSON now: a payload that cannot be stored fails at the enqueue
        # (not in the worker), and the handler sees on its first attempt what it sees later.
        stored = json.loads(json.dumps(dict(payload)))
        registration = self._registry.get(kind)
        return await repository.insert_or_get(
            session,
            tenant_id=tenant_id,
            kind=kind,
            key=key,
            payload=stored,
            max_attempts=registration.max_attempts if registration else DEFAULT_MAX_ATTEMPTS,
            run_at=run_at or now,
            now=now,
        )

    def committed(self) -> None:
        self._on_commit()
