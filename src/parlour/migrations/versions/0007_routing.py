"""routing: agents' availability, capacity and last routing time

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_routing",
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("last_routed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_agent_routing_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_agent_routing_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agent_routing")),
    )
    op.create_index(
        op.f("ix_agent_routing_tenant_id_status"), "agent_routing", ["tenant_id", "status"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_agent_routing_tenant_id_status"), table_name="agent_routing")
    op.drop_table("agent_routing")
