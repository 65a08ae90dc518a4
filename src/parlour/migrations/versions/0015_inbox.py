"""channel inbox: an index for listing a tenant's conversations of one channel

`GET /api/v1/conversations?channel=whatsapp` (and the inbox pages' channel filter) lists a
tenant's conversations of one channel, newest activity first; this index serves that order
without scanning the other channels' rows. The unread totals need no new index: they start from
the caller's participant rows (`ix_participants_user_id`) and reach each conversation by its key.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversations_tenant_id_channel_last_activity_at"),
            ["tenant_id", "channel", "last_activity_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_tenant_id_channel_last_activity_at"))
