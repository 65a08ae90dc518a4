"""`parlour export`: a tenant's conversations in a date range as JSON Lines, with a progress
bar (on stderr, so `--out -` pipes clean JSON Lines)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from parlour.auth.principal import Principal
from parlour.auth.service import get_tenant_by_slug
from parlour.config import Settings
from parlour.core import rls
from parlour.core.errors import AppError
from parlour.runtime import build_runtime
from parlour.transcripts import service
from parlour.transcripts.export import export_lines


async def _export(
    start_text: str, end_text: str, tenant: str | None, out: TextIO, *, show_progress: bool
) -> int:
    runtime = build_runtime(Settings())
    rls.enter(rls.ALL_TENANTS)  # rls: the operator acts across tenants
    try:
        start = service.parse_moment(start_text, name="from")
        end = service.parse_moment(end_text, name="to")
        async with runtime.uow(write=False) as tx:
            tenant_id = (await get_tenant_by_slug(tx.session, tenant)).id
            # The tenant's system actor: the operator exports on the tenant's behalf.
            principal = Principal.system_actor(tenant_id)
            total = await service.count_export(tx, principal, start, end)
        progress = Progress(
            TextColumn("exporting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not show_progress,
        )
        written = 0
        with progress:
            task = progress.add_task("export", total=total)
            async for line in export_lines(runtime.uow, principal, start, end):
                out.write(line)
                written += 1
                progress.advance(task)
        return written
    finally:
        await runtime.engine.dispose()


def export(
    start: Annotated[
        str, typer.Option("--from", help="First day (2026-03-01) or time, inclusive, UTC.")
    ],
    end: Annotated[str, typer.Option("--to", help="Last day or time, exclusive, UTC.")],
    out: Annotated[Path, typer.Option("--out", help="The JSON Lines file to write ('-': stdout).")],
    tenant: Annotated[str | None, typer.Option(help="Tenant slug (default).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Export a tenant's conversations created in [--from, --to) as JSON Lines (one
    conversation with its participants and messages per line), streamed, with a progress bar."""
    try:
        if str(out) == "-":
            written = asyncio.run(_export(start, end, tenant, sys.stdout, show_progress=not quiet))
        else:
            with out.open("w", encoding="utf-8") as file:
                written = asyncio.run(_export(start, end, tenant, file, show_progress=not quiet))
    except AppError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{written} conversation(s) exported", err=True)
