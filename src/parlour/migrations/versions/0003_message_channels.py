"""message channel and external ids

A message names the channel it came from or goes to (web, sms, whatsapp, email ...), backfilled
`web` for every existing message, and a provider's id (`external_id`) is unique per tenant and
channel, so a provider's retry cannot store a message twice. NULL external ids (every web
message) never collide: both SQLite and PostgreSQL treat NULLs as distinct in a unique
constraint.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        # NOT NULL with a server default: existing rows are backfilled with 'web'.
        batch_op.add_column(
            sa.Column("channel", sa.String(length=16), nullable=False, server_default="web")
        )
        batch_op.drop_index(batch_op.f("ix_messages_tenant_id_external_id"))
        batch_op.create_unique_constraint(
            batch_op.f("uq_messages_tenant_id_channel_external_id"),
            ["tenant_id", "channel", "external_id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_messages_tenant_id_channel_external_id"), type_="unique"
        )
        batch_op.create_index(
            batch_op.f("ix_messages_tenant_id_external_id"),
            ["tenant_id", "external_id"],
            unique=False,
        )
        batch_op.drop_column("channel")
