"""conversation lifecycle and deadlines: no schema change (the sweep uses 0001's closes_at
index); kept so the revision chain stays as deployed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
