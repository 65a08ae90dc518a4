"""`parlour import`: bring a Supabase chat app's data into a tenant, with a progress bar (on
stderr) and a report of what was imported, what was there already and what was skipped."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from parlour.config import Settings
from parlour.core.errors import AppError
from parlour.importer import service
from parlour.importer.sources import Source, SourceError, open_source
from parlour.importer.systems import System, all_systems, detect, missing
from parlour.runtime import build_runtime

# Skipped rows listed one by one up to this many; beyond it, counted by reason.
SHOWN_SKIPS = 50


async def _system(source: Source, name: str | None) -> System:
    if name is not None:
        known = all_systems()
        if name not in known:
            raise SourceError(f"unknown --system {name!r} (known: {', '.join(sorted(known))})")
        gaps = await missing(source, known[name])
        if gaps:
            raise SourceError(f"the source has no {', '.join(gaps)} for --system {name}")
        return known[name]
    found = await detect(source)
    if len(found) == 1:
        return found[0]
    if not found:
        layouts = "; ".join(f"{s.name}: {s.describe}" for s in all_systems().values())
        raise SourceError(f"the source matches none of the known layouts ({layouts})")
    names = ", ".join(s.name for s in found)
    raise SourceError(f"the source matches several layouts ({names}): choose one with --system")


async def _import(
    spec: str,
    system_name: str | None,
    tenant: str,
    *,
    dry_run: bool,
    batch_size: int,
    show_progress: bool,
) -> service.Report:
    source = await open_source(spec)
    runtime = build_runtime(Settings())
    try:
        system = await _system(source, system_name)
        typer.echo(f"reading {source.description} as `{system.name}` ({system.describe})", err=True)
        planned = await service.plan(source, system)
        progress = Progress(
            TextColumn("dry run" if dry_run else "importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not show_progress,
        )
        with progress:
            task = progress.add_task("import", total=planned.total)
            return await service.run_import(
                runtime.uow,
                source,
                system,
                planned,
                tenant_slug=tenant,
                dry_run=dry_run,
                batch_size=batch_size,
                progress=lambda n: progress.advance(task, n),
            )
    finally:
        await source.close()
        await runtime.engine.dispose()


def _print(report: service.Report) -> None:
    verb = "would import" if report.dry_run else "imported"
    if report.created_tenant:
        typer.echo(f"tenant '{report.tenant}' {'would be ' if report.dry_run else ''}created")
    for name, counts in (
        ("people", report.people),
        ("conversations", report.conversations),
        ("messages", report.messages),
    ):
        linked = f", {counts.linked} linked to existing accounts" if counts.linked else ""
        typer.echo(
            f"{name}: {counts.imported} {verb}{linked}, {counts.already} already imported, "
            f"{counts.skipped} skipped"
        )
    for skip in report.skipped[:SHOWN_SKIPS]:
        typer.echo(f"skipped {skip.table} {skip.source_id or '(no id)'}: {skip.reason}")
    rest = report.skipped[SHOWN_SKIPS:]
    if rest:
        typer.echo(f"... and {len(rest)} more skipped:")
        for (table, reason), n in Counter((s.table, s.reason) for s in rest).most_common():
            typer.echo(f"  {n} from {table}: {reason}")
    if report.dry_run:
        typer.echo("dry run: nothing was written")


def import_data(
    source: Annotated[
        str,
        typer.Argument(
            help="The source: a PostgreSQL URL (postgresql://user:pass@host/db) or a folder "
            "of CSV exports, one <table>.csv per table."
        ),
    ],
    tenant: Annotated[
        str, typer.Option(help="The tenant to import into (its slug; created when missing).")
    ] = "default",
    system: Annotated[
        str | None,
        typer.Option(
            help="The source layout: sessions, web_chat, appointments or whatsapp "
            "(found from the tables when not given)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be imported; write nothing.")
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=5000, help="Source rows per committed batch.")
    ] = service.DEFAULT_BATCH,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Import chat data from a Supabase app (docs/migrating-from-supabase.md): people without
    passwords, conversations, messages, tickets and appointments. Safe to run again: what was
    imported is skipped, and a run that stopped half-way continues where it stopped."""
    try:
        report = asyncio.run(
            _import(
                source,
                system,
                tenant,
                dry_run=dry_run,
                batch_size=batch_size,
                show_progress=not quiet,
            )
        )
    except (SourceError, AppError) as exc:
        typer.echo(f"error: {exc.message if isinstance(exc, AppError) else exc}", err=True)
        raise typer.Exit(1) from None
    _print(report)
