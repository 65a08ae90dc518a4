"""The app served by uvicorn inside the test's event loop: real WebSocket clients, and the test
can still look at the runtime (its writers' counters) directly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn

from parlour.app import create_app
from parlour.runtime import Runtime
from tests.system.conftest import free_port


@contextlib.asynccontextmanager
async def serving(rt: Runtime) -> AsyncIterator[str]:
    """The app on a free port (the runtime is the test's); yields its ws:// base."""
    port = free_port()
    config = uvicorn.Config(
        create_app(runtime=rt), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
