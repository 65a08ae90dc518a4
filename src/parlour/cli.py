"""The `parlour` command."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from parlour.auth.service import do_ensure_default_tenant, get_tenant_by_slug
from parlour.config import Settings
from parlour.core import rls  # rls:
from parlour.core.db import create_engine  # rls:
from parlour.core.migrations import schema_status, upgrade
from parlour.core.uow import UnitOfWork
from parlour.importer import cli as importer_cli  # import
from parlour.jobs import cli as jobs_cli
from parlour.models.tenant import Tenant
from parlour.runtime import Runtime, build_runtime
from parlour.transcripts import cli as transcripts_cli  # transcripts

app = typer.Typer(
    help="Parlour: live conversations between customers and the people who help them.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(jobs_cli.app, name="jobs")
app.command("export")(transcripts_cli.export)  # transcripts: parlour export
app.command("import")(importer_cli.import_data)  # import: parlour import

T = TypeVar("T")


def _with_runtime(work: Callable[[Runtime], Awaitable[T]]) -> T:
    async def main() -> T:
        runtime = build_runtime(Settings())
        # rls: a command acts for the operator, across tenants (row-level security's service).
        rls.enter(rls.ALL_TENANTS)
        try:
            return await work(runtime)
        finally:
            if runtime.redis is not None:  # redis: a command's events went out through it
                await runtime.redis.aclose()
            await runtime.engine.dispose()

    return asyncio.run(main())


async def _tenant(tx: UnitOfWork, slug: str | None) -> Tenant:
    """The tenant a command acts for: by slug, or the default one (created on first use)."""
    if slug is None:
        return await do_ensure_default_tenant(tx.session, now=tx.now)
    return await get_tenant_by_slug(tx.session, slug)


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the newest version."""

    async def work(rt: Runtime) -> None:
        # rls: as the tables' owner (PARLOUR_MIGRATE_DATABASE_URL), granting the app role.
        settings = rt.settings
        engine = create_engine(settings.resolved_migrate_database_url())
        try:
            before = await schema_status(engine)
            await upgrade(engine, app_role=settings.database_app_role)
        finally:
            await engine.dispose()
        if before.pending:
            typer.echo(f"applied {len(before.pending)} migration(s): {', '.join(before.pending)}")
        else:
            typer.echo("the schema is current")

    _with_runtime(work)


@db_app.command("check")
def db_check() -> None:
    """List tables, indexes, row-level security and pending migrations; exit 1 when the schema
    is behind or (PostgreSQL) a tenant table lacks its policies or the app role could bypass
    them."""

    async def work(rt: Runtime) -> bool:
        status = await schema_status(rt.engine, with_tables=True)
        typer.echo(f"database: {rt.engine.url.render_as_string(hide_password=True)}")
        typer.echo(f"revision: {status.current_revision or '(none)'} (head {status.head_revision})")
        for table, indexes in status.tables.items():
            typer.echo(f"  table {table}" + "".join(f"\n    index {i}" for i in indexes))
        if status.pending:
            typer.echo(f"pending migrations: {', '.join(status.pending)} (run `parlour migrate`)")
        else:
            typer.echo("no pending migrations")
        secure = True
        if rt.engine.dialect.name == "postgresql":  # rls:
            secure = await _report_rls(rt)
        return status.current and secure

    if not _with_runtime(work):
        raise typer.Exit(1)


async def _report_rls(rt: Runtime) -> bool:
    """rls: print row-level security per table and the app role's standing; True if sound."""
    from parlour.models import rls as policies

    async with rt.engine.connect() as conn:
        tables = await conn.run_sync(policies.check_tables)
        role = await conn.run_sync(policies.check_role)
    typer.echo("row-level security:")
    for t in tables:
        state = (
            f"{'enabled' if t.enabled else 'DISABLED'}, {'forced' if t.forced else 'NOT FORCED'}"
        )
        names = ", ".join(f"{name} ({cmd})" for name, cmd in t.policies) or "no policies"
        typer.echo(f"  {t.table}: {state}; {names}")
        for problem in t.problems:
            typer.echo(f"    PROBLEM: {problem}")
    typer.echo(
        f"app role: {role.name} (superuser: {role.superuser}, bypassrls: {role.bypassrls}, "
        f"owns tables: {len(role.owns)})"
    )
    for problem in role.problems:
        typer.echo(f"  PROBLEM: {problem}")
    return not role.problems and not any(t.problems for t in tables)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (PARLOUR_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (PARLOUR_PORT).")] = None,
) -> None:
    """Serve the API, the realtime gateway and the web pages."""
    import logging

    import uvicorn

    from parlour.app import create_app
    from parlour.core.logredact import install_redaction

    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the schema check is not news
    install_redaction()  # again in the app's lifespan, once Uvicorn has set up its loggers
    if host:
        settings.host = host
    if port:
        settings.port = port

    async def check(rt: Runtime) -> list[str]:
        from parlour.demo import demo_accounts_present

        pending = (await schema_status(rt.engine)).pending
        if not pending and not settings.demo and await demo_accounts_present(rt):
            typer.echo(
                "warning: the demo accounts (published password) are in this database; "
                "deactivate or delete them before going live",
                err=True,
            )
        return pending

    pending = _with_runtime(check)
    if pending:
        typer.echo(
            f"The database schema is behind ({len(pending)} migration(s) pending). "
            "Run `parlour migrate` first.",
            err=True,
        )
        raise typer.Exit(1)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ws_max_size=settings.ws_max_frame_bytes,
        log_level=settings.log_level,
        # X-Forwarded-* are read by the app itself, from PARLOUR_TRUSTED_PROXIES only
        # (uvicorn's own handling trusts any loopback caller).
        proxy_headers=False,
    )


@app.command()
def demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing if already loaded.")
    ] = False,
) -> None:
    """Load demo accounts and conversations (only with PARLOUR_DEMO=1; never in production)."""
    from parlour.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, load_demo

    if not Settings().demo:
        typer.echo(
            "Refusing to load demo data: it creates accounts with a published password. "
            "Set PARLOUR_DEMO=1 to try Parlour (`make run` does); never in production.",
            err=True,
        )
        raise typer.Exit(1)
    loaded = _with_runtime(lambda rt: load_demo(rt, if_empty=if_empty))
    typer.echo("demo data loaded" if loaded else "demo data already present")
    typer.echo(f"demo logins (password '{DEMO_PASSWORD}'):")
    for role, email, _ in DEMO_ACCOUNTS:
        typer.echo(f"  {role.value:<9} {email}")


@app.command("create-user")
def create_user(
    email: str,
    role: Annotated[str, typer.Option(help="customer, agent or admin")] = "agent",
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
    tenant: Annotated[str | None, typer.Option(help="Tenant slug (default).")] = None,
) -> None:
    """Create a user who can log in."""
    from parlour.auth.service import do_create_user
    from parlour.core.errors import AppError
    from parlour.models.user import Role

    try:
        user_role = Role(role)
    except ValueError:
        raise typer.BadParameter("role must be customer, agent or admin") from None

    async def work(rt: Runtime) -> str:
        async with rt.uow() as tx:
            found = await _tenant(tx, tenant)
            user = await do_create_user(
                tx.session,
                tenant_id=found.id,
                role=user_role,
                display_name=name or email,
                email=email,
                password=password,
                now=tx.now,
            )
            return user.id

    try:
        user_id = _with_runtime(work)
    except AppError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created {user_role.value} {email} ({user_id})")


# import: imported people come without a password; the operator sets one.
@app.command("set-password")
def set_password(
    email: str,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
    tenant: Annotated[str | None, typer.Option(help="Tenant slug (default).")] = None,
) -> None:
    """Set an existing user's password (for example one `parlour import` brought in, which
    has none); their earlier sign-ins end."""
    from parlour.auth.revocation import set_password_by_operator
    from parlour.core.errors import AppError

    async def work(rt: Runtime) -> str:
        async with rt.uow(write=False) as tx:
            tenant_id = (await get_tenant_by_slug(tx.session, tenant)).id
        user = await set_password_by_operator(
            rt.uow, tenant_id=tenant_id, email=email, new_password=password
        )
        return user.id

    try:
        user_id = _with_runtime(work)
    except AppError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"password set for {email} ({user_id})")


@app.command("create-api-key")
def create_api_key(
    name: str,
    tenant: Annotated[str | None, typer.Option(help="Tenant slug (default).")] = None,
) -> None:
    """Create a service API key for a tenant; the key is printed once."""
    from parlour.auth.service import do_create_api_key

    async def work(rt: Runtime) -> str:
        async with rt.uow() as tx:
            found = await _tenant(tx, tenant)
            _, raw = await do_create_api_key(tx.session, tenant_id=found.id, name=name, now=tx.now)
            return raw

    raw = _with_runtime(work)
    typer.echo("API key (shown once; send it as `Authorization: Bearer <key>` or `X-API-Key`):")
    typer.echo(raw)


@app.command("close-expired")
def close_expired(
    batch_size: Annotated[
        int | None,
        typer.Option(min=1, help="Most items per deadline in this run (PARLOUR_SWEEP_BATCH_SIZE)."),
    ] = None,
) -> None:
    """Run the deadline sweep once (for an external scheduler): end every conversation past its
    closes_at, and whatever else is due; prints what it closed. Safe to run on several machines
    at once and alongside the servers' own sweep."""
    from parlour.deadlines.sweep import sweep

    async def work(rt: Runtime) -> None:
        acted = await sweep(
            rt.uow, rt.deadlines, batch_size=batch_size or rt.settings.sweep_batch_size
        )
        for a in acted:
            typer.echo(f"closed {a.conversation_id} (tenant {a.tenant_id}, {a.outcome})")
        typer.echo(f"{len(acted)} closed")

    _with_runtime(work)


def main() -> None:
    from pydantic import ValidationError

    try:
        app()
    except ValidationError as exc:  # a bad PARLOUR_* setting: say which, without a traceback
        typer.echo(f"error: invalid configuration: {exc}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
