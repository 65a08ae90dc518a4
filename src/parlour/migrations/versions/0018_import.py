"""import: `import_keys`, what `parlour import` brought in from another system (source system,
table and id -> the Parlour row), so a re-run imports nothing twice and a stopped run resumes

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_keys",
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_table", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.Column("target_id", sa.String(length=32), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_import_keys_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "source", "source_table", "source_id", name=op.f("pk_import_keys")
        ),
    )


def downgrade() -> None:
    op.drop_table("import_keys")
