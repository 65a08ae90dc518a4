"""appointments: booked chats, experts' availability, and no double booking in the database

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The same name as parlour.models.appointment.NO_OVERLAP (a migration never imports models).
NO_OVERLAP = "appointments_no_overlap"

# SQLite: a trigger is the database's rule against two live appointments of one expert that
# overlap (half-open intervals, like PostgreSQL's default tstzrange '[)'). Times are stored as
# fixed-width UTC text by UTCDateTime, so text comparison is time comparison.
_SQLITE_OVERLAP = f"""
SELECT RAISE(ABORT, '{NO_OVERLAP}') FROM appointments
WHERE tenant_id = NEW.tenant_id AND expert_id = NEW.expert_id AND status <> 'cancelled'
  AND id <> NEW.id AND starts_at < NEW.ends_at AND NEW.starts_at < ends_at;
"""


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("expert_id", sa.String(length=32), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("cancelled_by", sa.String(length=32), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_for", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_appointments_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_appointments_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_appointments_customer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["users.id"], name=op.f("fk_appointments_expert_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_appointments_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_appointments_conversation_id")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointments_tenant_id_expert_id_starts_at"),
            ["tenant_id", "expert_id", "starts_at"],
        )
        batch_op.create_index(
            batch_op.f("ix_appointments_tenant_id_customer_id_starts_at"),
            ["tenant_id", "customer_id", "starts_at"],
        )
        batch_op.create_index(
            batch_op.f("ix_appointments_status_closes_at"), ["status", "closes_at"]
        )

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # btree_gist lets a GiST index compare the text columns with `=` next to the range's
        # `&&`. It is a trusted extension (PostgreSQL 13+): a database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            f"ALTER TABLE appointments ADD CONSTRAINT {NO_OVERLAP} EXCLUDE USING gist "
            "(tenant_id WITH =, expert_id WITH =, tstzrange(starts_at, ends_at) WITH &&) "
            "WHERE (status <> 'cancelled')"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {NO_OVERLAP}_insert BEFORE INSERT ON appointments "
            f"WHEN NEW.status <> 'cancelled' BEGIN {_SQLITE_OVERLAP} END"
        )
        op.execute(
            f"CREATE TRIGGER {NO_OVERLAP}_update "
            "BEFORE UPDATE OF starts_at, ends_at, status, expert_id ON appointments "
            f"WHEN NEW.status <> 'cancelled' BEGIN {_SQLITE_OVERLAP} END"
        )

    op.create_table(
        "expert_availability",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("expert_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("date_from", sa.Date(), nullable=True),
        sa.Column("date_to", sa.Date(), nullable=True),
        sa.Column("start_time", sa.String(length=5), nullable=True),
        sa.Column("end_time", sa.String(length=5), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_expert_availability_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["users.id"], name=op.f("fk_expert_availability_expert_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_availability")),
    )
    with op.batch_alter_table("expert_availability", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expert_availability_tenant_id_expert_id"), ["tenant_id", "expert_id"]
        )


def downgrade() -> None:
    op.drop_table("expert_availability")
    if op.get_bind().dialect.name != "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {NO_OVERLAP}_update")
        op.execute(f"DROP TRIGGER IF EXISTS {NO_OVERLAP}_insert")
    op.drop_table("appointments")
