"""Running an import: the system's plans, through the domains' services, in committed batches.

Stages run in order (people, conversations with their tickets and appointments, messages),
each in batches of `batch_size` source rows; every batch is one transaction that writes its
rows and their `import_keys` together. A row whose key is already recorded is counted as
`already` and left alone, so a re-run imports nothing twice and a run stopped anywhere
(killed, a lost connection) continues after its last committed batch. Messages stream in
time order, so a resumed run still appends each conversation's messages in order.

A dry run does the same work in one transaction and rolls it back: its counts are exact.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError

from parlour.appointments import service as appointments
from parlour.auth.service import do_create_user, do_ensure_tenant, find_tenant_by_slug
from parlour.conversations import service as conversations
from parlour.core.errors import AppError, BadRequest
from parlour.core.uow import UnitOfWork
from parlour.importer import repository
from parlour.importer.plans import ConversationPlan, Key, MessagePlan, Person, Skip
from parlour.importer.sources import Source
from parlour.importer.systems import System
from parlour.messages import service as messages
from parlour.models.tenant import Tenant
from parlour.models.user import Role
from parlour.tickets import service as tickets

DEFAULT_BATCH = 500
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
T = TypeVar("T")
Progress = Callable[[int], None]


@dataclass
class Counts:
    imported: int = 0
    already: int = 0  # recorded by an earlier run
    linked: int = 0  # people: an existing account with the same email
    skipped: int = 0


@dataclass
class Report:
    system: str
    tenant: str
    dry_run: bool
    created_tenant: bool = False
    people: Counts = field(default_factory=Counts)
    conversations: Counts = field(default_factory=Counts)
    messages: Counts = field(default_factory=Counts)
    skipped: list[Skip] = field(default_factory=list)

    def skip(self, counts: Counts, skip: Skip) -> None:
        counts.skipped += 1
        self.skipped.append(skip)


@dataclass(frozen=True)
class Planned:
    """What the source holds, read before anything is written (sizes the progress bar)."""

    people: list[Person | Skip]
    conversations: list[ConversationPlan | Skip]
    message_rows: int

    @property
    def total(self) -> int:
        return len(self.people) + len(self.conversations) + self.message_rows


async def plan(source: Source, system: System) -> Planned:
    """Read the source's people and conversations (messages stream later)."""
    return Planned(
        people=[p async for p in system.people(source)],
        conversations=[c async for c in system.conversations(source)],
        message_rows=await source.count(system.message_table),
    )


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _reason(exc: AppError | DBAPIError) -> str:
    if isinstance(exc, AppError):
        return f"{exc.message} ({exc.code})"
    # A value the database refuses (too long, out of range): its own words, first line.
    return f"the database refused it: {str(exc.orig).splitlines()[0]}"


class _RolledBack(Exception):
    """Ends a dry run's transaction without committing it."""


Transaction = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


async def run_import(
    uow: Transaction,
    source: Source,
    system: System,
    planned: Planned,
    *,
    tenant_slug: str,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> Report:
    """Import `planned` (and the source's messages) into the tenant `tenant_slug`, created when
    missing. `progress(n)` is told after each committed batch of n source rows."""
    if not _SLUG.match(tenant_slug):
        raise BadRequest(
            "A tenant slug is lower-case letters, digits and '-' (at most 64).",
            code="invalid_tenant",
        )
    report = Report(system=system.name, tenant=tenant_slug, dry_run=dry_run)
    run = _Run(source, system, report, batch_size, progress or (lambda n: None))
    if not dry_run:
        await run.all(uow, planned)
        return report
    try:
        async with uow() as tx:

            @asynccontextmanager
            async def shared() -> AsyncIterator[UnitOfWork]:
                yield tx

            await run.all(shared, planned)
            raise _RolledBack
    except _RolledBack:
        pass
    return report


class _Run:
    """One import's state: where it writes, what it counted."""

    def __init__(
        self, source: Source, system: System, report: Report, size: int, progress: Progress
    ) -> None:
        self.source = source
        self.system = system
        self.report = report
        self.size = size
        self.progress = progress
        self.tenant_id = ""

    async def all(self, transaction: Transaction, planned: Planned) -> None:
        async with transaction() as tx:
            existing = await _find_tenant(tx, self.report.tenant)
            tenant = existing or await do_ensure_tenant(tx.session, self.report.tenant, now=tx.now)
            self.report.created_tenant = existing is None
            self.tenant_id = tenant.id
        for batch in _chunks(planned.people, self.size):
            async with transaction() as tx:
                await repository.lock_tenant(tx.session, self.tenant_id)
                await self._people(tx, batch)
            self.progress(len(batch))
        for chunk in _chunks(planned.conversations, self.size):
            async with transaction() as tx:
                await repository.lock_tenant(tx.session, self.tenant_id)
                await self._conversations(tx, chunk)
            self.progress(len(chunk))
        pending: list[MessagePlan | Skip] = []
        async for item in self.system.messages(self.source):
            pending.append(item)
            if len(pending) >= self.size:
                await self._message_batch(transaction, pending)
                pending = []
        if pending:
            await self._message_batch(transaction, pending)

    async def _message_batch(
        self, transaction: Transaction, batch: list[MessagePlan | Skip]
    ) -> None:
        async with transaction() as tx:
            await repository.lock_tenant(tx.session, self.tenant_id)
            await self._messages(tx, batch)
        self.progress(len(batch))

    async def _lookup(self, tx: UnitOfWork, keys: Iterable[Key]) -> dict[Key, str]:
        return await repository.lookup(tx.session, self.tenant_id, self.system.name, keys)

    async def _record(self, tx: UnitOfWork, pairs: list[tuple[Key, str]]) -> None:
        await repository.record(tx.session, self.tenant_id, self.system.name, pairs, now=tx.now)

    # -- people ------------------------------------------------------------------------------

    async def _people(self, tx: UnitOfWork, batch: Sequence[Person | Skip]) -> None:
        counts = self.report.people
        people = [p for p in batch if isinstance(p, Person)]
        known = await self._lookup(tx, [p.key for p in people])
        recorded: list[tuple[Key, str]] = []
        for item in batch:
            if isinstance(item, Skip):
                self.report.skip(counts, item)
            elif item.key in known:
                counts.already += 1
            else:
                user_id = await self._person(tx, item)
                if user_id is not None:
                    known[item.key] = user_id
                    recorded.append((item.key, user_id))
        await self._record(tx, recorded)

    async def _person(self, tx: UnitOfWork, person: Person) -> str | None:
        """The user `person` becomes: an account with the same email, or a new one without a
        password (they set one through the usual reset flow; nothing is invented)."""
        counts = self.report.people
        table, source_id = person.key
        email = person.email.strip().lower() if person.email else None
        if email and (len(email) > 254 or not _EMAIL.match(email)):
            self.report.skip(
                counts, Skip(table, source_id, f"email {person.email!r} is not an address")
            )
            return None
        if email and (found := await repository.user_by_email(tx.session, self.tenant_id, email)):
            counts.linked += 1
            return found.id
        phone = person.phone if person.phone and len(person.phone) <= 32 else None
        try:
            async with tx.session.begin_nested():
                user = await do_create_user(
                    tx.session,
                    tenant_id=self.tenant_id,
                    role=Role(person.role),
                    display_name=person.name[:120],
                    email=email,
                    password=None,  # never invented: they are given one later
                    phone=phone,
                    now=tx.now,
                )
        except (AppError, DBAPIError) as exc:
            self.report.skip(counts, Skip(table, source_id, _reason(exc)))
            return None
        counts.imported += 1
        return user.id

    # -- conversations, with their tickets and appointments ----------------------------------

    async def _conversations(
        self, tx: UnitOfWork, batch: Sequence[ConversationPlan | Skip]
    ) -> None:
        counts = self.report.conversations
        plans = [p for p in batch if isinstance(p, ConversationPlan)]
        known = await self._lookup(tx, [p.key for p in plans])
        people = await self._lookup(tx, [k for p in plans for k in [p.customer, *p.agents]])
        recorded: list[tuple[Key, str]] = []
        for item in batch:
            if isinstance(item, Skip):
                self.report.skip(counts, item)
                continue
            if item.key in known:
                counts.already += 1
                continue
            missing = [k for k in [item.customer, *item.agents] if k not in people]
            if missing:
                table, source_id = missing[0]
                reason = f"its person {table} {source_id} was not imported"
                self.report.skip(counts, Skip(*item.key, reason))
                continue
            try:
                # A savepoint: a conversation the rules refuse leaves nothing behind.
                async with tx.session.begin_nested():
                    conversation_id = await self._conversation(tx, item, people)
            except (AppError, DBAPIError) as exc:
                self.report.skip(counts, Skip(*item.key, _reason(exc)))
                continue
            counts.imported += 1
            recorded.append((item.key, conversation_id))
        await self._record(tx, recorded)

    async def _conversation(
        self, tx: UnitOfWork, plan: ConversationPlan, people: dict[Key, str]
    ) -> str:
        conversation = await conversations.do_import_conversation(
            tx,
            self.tenant_id,
            kind=plan.kind,
            channel=plan.channel,
            status=plan.status,
            subject=plan.subject,
            customer_id=people[plan.customer],
            agent_ids=[people[a] for a in plan.agents],
            created_at=plan.created_at,
            ended_at=plan.ended_at,
            end_reason=plan.end_reason,
            summary=plan.summary,
        )
        if plan.ticket is not None:
            await tickets.do_import_ticket(
                tx,
                conversation,
                status=plan.ticket.status,
                priority=plan.ticket.priority,
                subject=plan.ticket.subject,
                contact_email=plan.ticket.contact_email,
                created_at=plan.ticket.created_at,
                updated_at=plan.ticket.updated_at,
            )
        if plan.appointment is not None:
            await appointments.do_import_appointment(
                tx,
                conversation,
                expert_id=people[plan.appointment.expert],
                starts_at=plan.appointment.starts_at,
                ends_at=plan.appointment.ends_at,
                status=plan.appointment.status,
                created_at=plan.appointment.created_at,
                cancelled_at=plan.appointment.cancelled_at,
            )
        return conversation.id

    # -- messages ----------------------------------------------------------------------------

    async def _messages(self, tx: UnitOfWork, batch: Sequence[MessagePlan | Skip]) -> None:
        counts = self.report.messages
        plans = [p for p in batch if isinstance(p, MessagePlan)]
        known = await self._lookup(tx, [p.key for p in plans])
        targets = await self._lookup(tx, [p.conversation for p in plans])
        senders = await self._lookup(tx, [p.sender for p in plans if p.sender is not None])
        # Per conversation, in the source's time order.
        groups: dict[str, list[MessagePlan]] = {}
        for item in batch:
            if isinstance(item, Skip):
                self.report.skip(counts, item)
            elif item.key in known:
                counts.already += 1
            elif item.conversation not in targets:
                table, source_id = item.conversation
                reason = f"its conversation {table} {source_id} was not imported"
                self.report.skip(counts, Skip(*item.key, reason))
            elif item.sender is not None and item.sender not in senders:
                table, source_id = item.sender
                reason = f"its sender {table} {source_id} was not imported"
                self.report.skip(counts, Skip(*item.key, reason))
            else:
                groups.setdefault(targets[item.conversation], []).append(item)
        recorded: list[tuple[Key, str]] = []
        for conversation_id, items in groups.items():
            try:
                async with tx.session.begin_nested():
                    ids = await self._append(tx, conversation_id, items, senders)
                recorded.extend(zip([i.key for i in items], ids, strict=True))
                continue
            except (AppError, DBAPIError):
                pass
            # Something in the group was refused (a provider id Parlour already holds): one by
            # one, so only that message is skipped.
            for item in items:
                try:
                    async with tx.session.begin_nested():
                        [message_id] = await self._append(tx, conversation_id, [item], senders)
                    recorded.append((item.key, message_id))
                except (AppError, DBAPIError) as exc:
                    reason = _conflict(item) if isinstance(exc, IntegrityError) else _reason(exc)
                    self.report.skip(counts, Skip(*item.key, reason))
        counts.imported += len(recorded)
        await self._record(tx, recorded)

    async def _append(
        self,
        tx: UnitOfWork,
        conversation_id: str,
        items: list[MessagePlan],
        senders: dict[Key, str],
    ) -> list[str]:
        return await messages.do_import_messages(
            tx,
            conversation_id,
            self.tenant_id,
            [
                messages.ImportedMessage(
                    kind=i.kind,
                    body=i.body,
                    sender_id=senders[i.sender] if i.sender is not None else None,
                    created_at=i.created_at,
                    channel=i.channel,
                    external_id=i.external_id,
                )
                for i in items
            ],
        )


def _conflict(item: MessagePlan) -> str:
    if item.external_id:
        return f"a message with provider id {item.external_id} is already in Parlour"
    return "it conflicts with a message already in Parlour"


async def _find_tenant(tx: UnitOfWork, slug: str) -> Tenant | None:
    return await find_tenant_by_slug(tx.session, slug)
