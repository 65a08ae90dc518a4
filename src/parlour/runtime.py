"""The resources one running node holds, built from Settings in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from parlour.auth import passwords
from parlour.config import Settings
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
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.writer = MessageWriter(
            self.uow,
            max_chars=self.settings.max_message_chars,
            batch_max=self.settings.write_batch_max,
        )
        self.limiter = RateLimiter(self.clock)
        passwords.configure(concurrency=self.settings.password_hash_concurrency)

    def uow(self, *, write: bool = True) -> UnitOfWork:
        """A new unit of work (the caller's `async with` runs and commits it)."""
        return UnitOfWork(self.sessions, publisher=self.broker, clock=self.clock, write=write)

    async def start(self) -> None:
        await self.broker.start()
        self.writer.start()

    async def stop(self) -> None:
        await self.writer.stop()
        await self.broker.stop()
        await self.engine.dispose()


def build_runtime(settings: Settings, *, clock: Clock | None = None) -> Runtime:
    """Everything a node needs, from its settings (nothing is built at import)."""
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        broker=InProcessBroker(),
        clock=clock or SystemClock(),
        secret_key=settings.resolved_secret_key(),
    )
