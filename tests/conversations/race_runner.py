"""Lifecycle steps from another process, for the two-process race test on PostgreSQL.

    python -m tests.conversations.race_runner <database_url> <start-at-epoch> <plan.json>

Waits until `start-at` (so both processes start together), runs every step of the plan at once
(each in its own unit of work and connection), and prints each outcome as a JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from parlour.config import Settings
from parlour.runtime import build_runtime
from tests.conversations.race_support import Step, run_step


async def main(url: str, start_at: float, steps: list[Step]) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        data_dir=Path(tempfile.mkdtemp()),
        secret_key="race-runner-secret-key-long-enough-for-hs256",
    )
    rt = build_runtime(settings)
    try:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        outcomes = await asyncio.gather(*(run_step(rt, step, None) for step in steps))
    finally:
        await rt.engine.dispose()
    for step, outcome in zip(steps, outcomes, strict=True):
        print(json.dumps({"step": step.to_json(), "outcome": outcome}))


if __name__ == "__main__":
    plan = json.loads(Path(sys.argv[3]).read_text())
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), [Step.from_json(raw) for raw in plan]))
