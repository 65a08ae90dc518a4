"""Alembic, driven from code: upgrade, and tell whether the schema is current.

The migrations live inside the package (`parlour/migrations`) so an installed Parlour can
migrate its database without the source tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@dataclass
class SchemaStatus:
    current_revision: str | None
    head_revision: str | None
    pending: list[str] = field(default_factory=list)
    tables: dict[str, list[str]] = field(default_factory=dict)

    @property
    def current(self) -> bool:
        return not self.pending


class SchemaOutdated(RuntimeError):
    def __init__(self, status: SchemaStatus) -> None:
        super().__init__(
            f"The database schema is behind ({len(status.pending)} migration(s) pending: "
            f"{', '.join(status.pending)}). Run `parlour migrate` to upgrade it."
        )
        self.status = status


def _status(conn: Connection, *, with_tables: bool) -> SchemaStatus:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    current = MigrationContext.configure(conn).get_current_revision()
    pending = [
        rev.revision for rev in script.iterate_revisions(head, current) if rev.revision != current
    ]
    pending.reverse()
    tables: dict[str, list[str]] = {}
    if with_tables:
        inspector = inspect(conn)
        for table in sorted(inspector.get_table_names()):
            indexes = [i["name"] or "?" for i in inspector.get_indexes(table)]
            indexes += [u["name"] or "?" for u in inspector.get_unique_constraints(table)]
            tables[table] = sorted(indexes)
    return SchemaStatus(current, head, pending, tables)


async def schema_status(engine: AsyncEngine, *, with_tables: bool = False) -> SchemaStatus:
    """Where the database stands against the migrations in this package."""
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: _status(c, with_tables=with_tables))


def _upgrade(conn: Connection, url: str, revision: str, app_role: str | None) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = conn
    config.attributes["app_role"] = app_role
    if conn.dialect.name == "postgresql":
        # The owner is subject to its tables' FORCEd row-level security too (unless it is a
        # superuser): a migration that moves data acts for every tenant.
        conn.execute(text("SELECT set_config('parlour.role', 'service_all', true)"))
    command.upgrade(config, revision)


async def upgrade(
    engine: AsyncEngine, revision: str = "head", *, app_role: str | None = None
) -> None:
    """Apply migrations up to `revision` in one transaction, as the tables' owner; `app_role`
    is the role the app connects as, granted its table privileges (PostgreSQL)."""
    url = engine.url.render_as_string(hide_password=False)
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: _upgrade(c, url, revision, app_role))
