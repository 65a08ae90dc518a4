"""Source databases built from the guides' SQL (tests/importer/sql), CSV exports of them, and
an import run through the same service the command uses."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
from sqlalchemy import func, select

from parlour.importer import service
from parlour.importer.service import Report
from parlour.importer.sources import open_source
from parlour.importer.systems import all_systems
from parlour.runtime import Runtime
from tests.conftest import PG_URL

SQL = Path(__file__).parent / "sql"
SYSTEMS = ("sessions", "web_chat", "appointments", "whatsapp")


def admin_dsn(database: str | None = None) -> str:
    base = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    if database is None:
        return base
    return f"{base.rpartition('/')[0]}/{database}"


async def build_source(system: str) -> str:
    """A fresh PostgreSQL database holding `system`'s tables (the Supabase stub first) and its
    rows; returns its URL."""
    name = f"parlour_src_{system}_{os.getpid()}"
    admin = await asyncpg.connect(admin_dsn(), timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(admin_dsn(name), timeout=5)
    try:
        for part in ("supabase_stub.sql", f"{system}.sql", f"{system}_rows.sql"):
            await conn.execute((SQL / part).read_text())
    finally:
        await conn.close()
    return admin_dsn(name)


async def drop_source(url: str) -> None:
    admin = await asyncpg.connect(admin_dsn(), timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')
    finally:
        await admin.close()


async def export_csv(url: str, folder: Path) -> Path:
    """Every public table (and auth.users) as `<table>.csv` with a header, the way the Supabase
    dashboard exports a table (COPY ... CSV HEADER)."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    conn = await asyncpg.connect(url, timeout=5)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('public', 'auth') AND table_type = 'BASE TABLE'"
        )
        for row in tables:
            schema, table = row["table_schema"], row["table_name"]
            name = table if schema == "public" else f"{schema}.{table}"
            await conn.copy_from_table(
                table,
                schema_name=schema,
                output=str(folder / f"{name}.csv"),
                format="csv",
                header=True,
            )
    finally:
        await conn.close()
    return folder


async def run(
    rt: Runtime,
    spec: str,
    *,
    tenant: str = "imported",
    system: str | None = None,
    dry_run: bool = False,
    batch_size: int = service.DEFAULT_BATCH,
    progress: service.Progress | None = None,
) -> Report:
    """Import `spec` into `tenant` the way `parlour import` does."""
    source = await open_source(spec)
    try:
        from parlour.importer.systems import detect

        chosen = all_systems()[system] if system else (await detect(source))[0]
        planned = await service.plan(source, chosen)
        return await service.run_import(
            rt.uow,
            source,
            chosen,
            planned,
            tenant_slug=tenant,
            dry_run=dry_run,
            batch_size=batch_size,
            progress=progress,
        )
    finally:
        await source.close()


async def row_counts(rt: Runtime) -> dict[str, int]:
    """Rows per table the import writes (to show a re-run adds none)."""
    from parlour.models import (
        Appointment,
        Conversation,
        ImportKey,
        Message,
        Participant,
        Ticket,
        User,
    )

    counts = {}
    async with rt.uow(write=False) as tx:
        for model in (User, Conversation, Participant, Message, Ticket, Appointment, ImportKey):
            counts[model.__tablename__] = await tx.session.scalar(
                select(func.count()).select_from(model)
            )
    return counts


async def snapshot(rt: Runtime, tenant: str) -> list[tuple[object, ...]]:
    """A tenant's imported data without its generated ids: conversations (their people,
    messages in seq order, ticket, appointment), in creation order, to compare two imports."""
    from parlour.models import Appointment, Conversation, Message, Participant, Tenant, Ticket, User

    out: list[tuple[object, ...]] = []
    async with rt.uow(write=False) as tx:
        tenant_id = await tx.session.scalar(select(Tenant.id).where(Tenant.slug == tenant))
        names = {u.id: u.display_name for u in await tx.session.scalars(select(User))}
        conversations = await tx.session.scalars(
            select(Conversation)
            .where(Conversation.tenant_id == tenant_id)
            .order_by(Conversation.created_at, Conversation.subject)
        )
        for c in conversations:
            people = sorted(
                (p.role, names[p.user_id])
                for p in await tx.session.scalars(
                    select(Participant).where(Participant.conversation_id == c.id)
                )
            )
            messages = [
                (m.seq, m.kind, m.body, names.get(m.sender_id or ""), m.created_at, m.external_id)
                for m in await tx.session.scalars(
                    select(Message).where(Message.conversation_id == c.id).order_by(Message.seq)
                )
            ]
            ticket = await tx.session.scalar(select(Ticket).where(Ticket.conversation_id == c.id))
            appointment = await tx.session.scalar(
                select(Appointment).where(Appointment.conversation_id == c.id)
            )
            out.append(
                (
                    c.kind,
                    c.channel,
                    c.status,
                    c.end_reason,
                    c.subject,
                    c.created_at,
                    c.ended_at,
                    c.closes_at,
                    c.last_seq,
                    names[c.customer_id],
                    people,
                    messages,
                    ticket and (ticket.number, ticket.status, ticket.priority, ticket.subject),
                    appointment
                    and (appointment.status, appointment.starts_at, appointment.closes_at),
                )
            )
    return out


def reasons(report: Report) -> dict[tuple[str, str], str]:
    return {(s.table, s.source_id): s.reason for s in report.skipped}
