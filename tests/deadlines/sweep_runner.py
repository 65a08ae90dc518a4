"""A sweep in its own process, for the multi-process race test on PostgreSQL.

    python -m tests.deadlines.sweep_runner <database_url> <now-iso> <start-at-epoch>

Waits until `start-at` (so the processes start together), runs one sweep with a frozen clock at
`now`, and prints what it closed as JSON lines `{"conversation_id", "tenant_id", "outcome"}`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from parlour.config import Settings
from parlour.core.clock import FrozenClock
from parlour.deadlines.sweep import sweep
from parlour.runtime import build_runtime


async def main(url: str, now: str, start_at: float) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        data_dir=Path(tempfile.mkdtemp()),
        secret_key="sweep-runner-secret-key-long-enough-for-hs256",
    )
    rt = build_runtime(settings, clock=FrozenClock(datetime.fromisoformat(now)))
    try:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        acted = await sweep(rt.uow, rt.deadlines, batch_size=1000)
    finally:
        await rt.engine.dispose()
    for a in acted:
        print(
            json.dumps(
                {
                    "conversation_id": a.conversation_id,
                    "tenant_id": a.tenant_id,
                    "outcome": a.outcome,
                }
            )
        )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
