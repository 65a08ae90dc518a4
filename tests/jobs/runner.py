"""A worker node in a process of its own, for the process tests (`python -m tests.jobs.runner`).

It reads its database from PARLOUR_DATABASE_URL like any node, registers the test kinds below,
starts a Runtime (whose worker claims jobs) and runs until SIGTERM (or SIGKILL, which is the
point). Each handler appends one line per call to the file named by --log, opened O_APPEND so
lines from several processes never interleave:

    test.block-first  attempt 1: "claimed <job> <attempt> <pid>", then blocks for ever;
                      later attempts: "ran <job> <attempt> <pid>"
    test.count        "ran <job> <attempt> <pid>"
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal

from parlour.config import Settings
from parlour.jobs import JobContext
from parlour.runtime import build_runtime


def _append(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


async def main(log: str) -> None:
    node = build_runtime(Settings())
    pid = os.getpid()

    async def block_first(ctx: JobContext) -> None:
        if ctx.attempt == 1:
            _append(log, f"claimed {ctx.job_id} {ctx.attempt} {pid}")
            await asyncio.Event().wait()
        _append(log, f"ran {ctx.job_id} {ctx.attempt} {pid}")

    async def count(ctx: JobContext) -> None:
        _append(log, f"ran {ctx.job_id} {ctx.attempt} {pid}")
        await asyncio.sleep(random.uniform(0, 0.005))  # let the two workers interleave

    node.jobs.register("test.block-first", block_first)
    node.jobs.register("test.count", count)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await node.start()
    _append(log, f"started - - {pid}")
    try:
        await stop.wait()
    finally:
        await node.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    asyncio.run(main(parser.parse_args().log))
