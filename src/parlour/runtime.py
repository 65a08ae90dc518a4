"""The resources one running node holds, built from Settings in the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from parlour.ai import jobs as ai_jobs  # ai: its jobs and the hooks that queue summaries

# appointments: its job handlers (registered on import) and its completion deadline
from parlour.appointments import deadline as appointment_deadline
from parlour.appointments import jobs as appointment_jobs  # noqa: F401
from parlour.auth import passwords
from parlour.channels import jobs as twilio_jobs  # twilio:
from parlour.config import Settings
from parlour.conversations.read_writer import ReadWriter
from parlour.core.clock import Clock, SystemClock
from parlour.core.db import create_engine, session_factory
from parlour.core.domain_events import DomainHooks
from parlour.core.ratelimit import Limiter, RateLimiter, RedisRateLimiter
from parlour.core.redisconn import redis_client  # redis
from parlour.core.rls import DbScope
from parlour.core.supervise import supervise
from parlour.core.uow import UnitOfWork
from parlour.deadlines import conversation_expiry
from parlour.deadlines.registry import DeadlineRegistry
from parlour.deadlines.sweep import run_forever
from parlour.jobs.queue import JobQueue
from parlour.jobs.registry import JobRegistry
from parlour.jobs.registry import handlers as job_handlers
from parlour.jobs.worker import JobWorker
from parlour.mail import jobs as mail_jobs  # noqa: F401  # email: its jobs (registered on import)
from parlour.mail.listener import SmtpListener  # email:
from parlour.messages.writer import MessageWriter
from parlour.payments import no_expert, refund_job  # payments: its deadline and its job
from parlour.realtime.broker import Broker, InProcessBroker
from parlour.realtime.redis_broker import RedisBroker  # redis
from parlour.routing.dispatch import Router  # routing
from parlour.tickets import reactions as desk_reactions  # desk
from parlour.timing import deadline as timing_deadline  # timing

# How long stopping waits for a sweep pass in progress before cancelling it.
SWEEP_STOP_SECONDS = 10.0


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
    limiter: Limiter = field(init=False)
    # Job handlers this node runs (the process-wide ones, plus any registered here) and its worker.
    jobs: JobRegistry = field(init=False)
    job_worker: JobWorker = field(init=False)
    job_queue: JobQueue = field(init=False)
    # In-process reactions to committed domain events (`hooks.on("conversation.ended", ...)`).
    hooks: DomainHooks = field(default_factory=DomainHooks)
    # What the deadline sweep acts on; domains add theirs with `deadlines.register_deadline`.
    deadlines: DeadlineRegistry = field(init=False)
    # routing: who gets a waiting conversation (docs/routing.md)
    router: Router = field(init=False)
    # email: the inbound SMTP listener (started only when PARLOUR_SMTP_LISTEN_HOST is set)
    smtp_listener: SmtpListener = field(init=False)
    # redis: the client shared by the Redis broker and limiter (None: one node, in-process).
    redis: Redis | None = None
    _sweeper: asyncio.Task[None] | None = field(init=False, default=None)
    _sweep_stopping: asyncio.Event = field(init=False, default_factory=asyncio.Event)

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
        # redis: with Redis the limits are shared by every node (docs/deploying.md).
        self.limiter = (
            RateLimiter(self.clock)
            if self.redis is None
            else RedisRateLimiter(self.redis, self.clock)
        )
        passwords.configure(concurrency=self.settings.password_hash_concurrency)
        self.jobs = JobRegistry(parent=job_handlers)
        self.job_worker = JobWorker(self)
        self.job_queue = JobQueue(self.jobs, on_commit=self.job_worker.wake)
        self.deadlines = DeadlineRegistry()
        # appointments: before the expiry, so a pass closes an appointment's chat and
        # completes it in one step (the expiry would otherwise close the chat first).
        appointment_deadline.register(self.deadlines)
        conversation_expiry.register(self.deadlines)
        # routing: drain the queue after the events that free capacity; the sweep's safety net
        self.router = Router(self.uow)
        self.router.install(self.hooks, self.deadlines)
        no_expert.register(self.deadlines)  # payments
        refund_job.register_with(self.jobs)  # payments
        twilio_jobs.register_with(self.jobs)  # twilio: twilio.send, twilio.media
        # timing: session time limits (their sweep deadline and the hook that starts the clock)
        timing_deadline.register(self.deadlines, self.hooks, self.uow)
        # desk: a conversation's end resolves its ticket; support inactivity closes one.
        desk_reactions.register(self.hooks, self.deadlines, self.uow)
        # ai: message analyses and summaries, queued on handovers and ends
        ai_jobs.register_with(self.jobs)
        ai_jobs.install(self.hooks, self.uow)
        self.smtp_listener = SmtpListener(self)  # email:

    def uow(self, *, write: bool = True, scope: DbScope | None = None) -> UnitOfWork:
        """A new unit of work (the caller's `async with` runs and commits it), in `scope` or
        else the context's current row-level security scope (parlour.core.rls)."""
        return UnitOfWork(
            self.sessions,
            publisher=self.broker,
            clock=self.clock,
            write=write,
            jobs=self.job_queue,
            hooks=self.hooks,
            scope=scope,
        )

    async def start(self) -> None:
        await self.broker.start()
        self.writer.start()
        self.read_writer.start()
        if self.settings.job_worker:
            self.job_worker.start()
        interval = self.settings.sweep_interval_seconds
        if interval > 0:
            batch = self.settings.sweep_batch_size
            self._sweep_stopping.clear()
            self._sweeper = supervise(
                "deadline-sweep",
                lambda: run_forever(
                    self.uow,
                    self.deadlines,
                    interval=interval,
                    batch_size=batch,
                    stopping=self._sweep_stopping,
                ),
            )
        if self.settings.smtp_listen_host:  # email:
            await self.smtp_listener.start()

    async def stop(self) -> None:
        await self.smtp_listener.stop()  # email: no new mail while the rest stops
        if self._sweeper is not None:
            # Let the pass in hand finish (each item is a short transaction); cancel if stuck.
            self._sweep_stopping.set()
            with contextlib.suppress(TimeoutError):  # wait_for cancelled it
                await asyncio.wait_for(self._sweeper, timeout=SWEEP_STOP_SECONDS)
            self._sweeper = None
        await self.job_worker.stop()
        await self.writer.stop()
        await self.read_writer.stop()
        await self.broker.stop()
        if self.redis is not None:  # redis
            await self.redis.aclose()
        await self.engine.dispose()


def build_runtime(settings: Settings, *, clock: Clock | None = None) -> Runtime:
    """Everything a node needs, from its settings (nothing is built at import)."""
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        sqlite_synchronous=settings.sqlite_synchronous,
        pool_size=settings.db_pool_size,  # import: pool settings
        max_overflow=settings.db_max_overflow,
    )
    # redis: PARLOUR_REDIS_URL makes this one of many nodes; without it, the embedded default.
    redis = redis_client(settings.redis_url) if settings.redis_url else None
    broker: Broker = (
        InProcessBroker()
        if redis is None
        else RedisBroker(redis, catch_up_seconds=settings.redis_catch_up_seconds)
    )
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        broker=broker,
        redis=redis,
        clock=clock or SystemClock(),
        secret_key=settings.resolved_secret_key(),
    )
