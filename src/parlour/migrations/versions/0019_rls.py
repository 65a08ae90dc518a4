"""row-level security: RLS on, FORCEd and one policy per command on every tenant table (PostgreSQL)

The policies come from the registry in `parlour.models.rls` (table -> rule), so this migration
covers the tables of the migrations before it; a table made after it calls `rls.apply` in its
own migration. The app role (PARLOUR_DATABASE_APP_ROLE, default `parlour_app`) gets the table
privileges it needs, when it exists (docs/row-level-security.md says how to create it). SQLite
has no row-level security: nothing happens there.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

from parlour.models import rls

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

DEFAULT_APP_ROLE = "parlour_app"


def _app_role() -> str:
    config = op.get_context().config
    given = config.attributes.get("app_role") if config is not None else None
    return str(given or DEFAULT_APP_ROLE)


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    rls.apply(conn)
    role = _app_role()
    if rls.role_exists(conn, role):
        rls.grant(conn, role)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    present = rls.existing_tables(conn)
    for table in rls.POLICIES:
        if table in present:
            for statement in rls.drop_ddl(table):
                op.execute(statement)
