"""The resources one running node holds, built from Settings in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from parlour.config import Settings
from parlour.conversations.read_writer import ReadWriter
from parlour.core.clock import Clock, SystemClock
from parlour.core.db import create_engine, session_factory
from parlour.core.ratelimit import RateLimiter
from parlour.core.uow import UnitOfWork
from parlour.messages.writer import MessageWriter
from parlour.realtime.broker import Broker, InProcessBroker


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: Broker
    clock: Clock
    secret_key: str
    writer: MessageWriter = field(init=False)
    read_writer: ReadWriter = field(init=False)
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.writer = MessageWriter(
            self.uow,
            max_chars=self.settings.max_message_chars,
            batch_max=self.settings.write_batch_max,
            queue_max=self.settings.write_queue_max,
            send_timeout=self.settings.send_timeout_seconds,
            drain_timeout=self.settings.write_drain_seconds,
        )
        # Read pointers are group-committed like sends (docs/architecture/transactions.md).
        self.read_writer = ReadWriter(
            self.uow,
            batch_max=self.settings.write_batch_max,
            queue_max=self.settings.write_queue_max,
            send_timeout=self.settings.send_timeout_seconds,
            drain_timeout=self.settings.write_drain_seconds,
        )
        self.limiter = RateLimiter(self.clock)

    def uow(self, *, write: bool = True) -> UnitOfWork:
        """A new unit of work (the caller's `async with` runs and commits it)."""
        return UnitOfWork(self.sessions, publisher=self.broker, clock=self.clock, write=write)

    async def start(self) -> None:
        await self.broker.start()
        self.writer.start()
        self.read_writer.start()

    async def stop(self) -> None:
        await self.writer.stop()
        await self.read_writer.stop()
        await self.broker.stop()
        await self.engine.dispose()


def build_runtime(settings: Settings, *, clock: Clock | None = None) -> Runtime:
    """Everything a node needs, from its settings (nothing is built at import)."""
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, sqlite_synchronous=settings.sqlite_synchronous)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        broker=InProcessBroker(),
        clock=clock or SystemClock(),
        secret_key=settings.resolved_secret_key(),
    )
