"""Who moved the index pointer and when: `index_pointer.published_by`, and `index_history` (every publish and
rollback, so any worker's operator can see which version served when).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("index_pointer", sa.Column("published_by", sa.Text))
    op.create_table(
        "index_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("previous", sa.Text),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("published_at", sa.Double, nullable=False),
        sa.Column("published_by", sa.Text),
        sa.CheckConstraint("action IN ('publish', 'rollback')", name="index_history_action_check"),
    )
    op.create_index("index_history_published", "index_history", ["name", "published_at"])


def downgrade() -> None:
    op.drop_index("index_history_published", table_name="index_history")
    op.drop_table("index_history")
    op.drop_column("index_pointer", "published_by")
