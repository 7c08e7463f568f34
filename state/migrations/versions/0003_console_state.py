"""The officers' console on the shared database, so `cchc console` can run as N processes: accounts, sessions,
the audit log and failed-login attempts (state/console.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_accounts",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("disabled", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("created", sa.Double, nullable=False),
        sa.CheckConstraint("role IN ('viewer', 'editor', 'admin')", name="console_accounts_role_check"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.Text, primary_key=True),
        sa.Column("user_name", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
    )
    op.create_index("console_sessions_user", "console_sessions", ["user_name"])
    op.create_index("console_sessions_expires", "console_sessions", ["expires_at"])
    op.create_table(
        "console_audit",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("user_name", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("console_audit_action", "console_audit", ["action"])
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("key_hash", sa.Text, nullable=False),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("slow", sa.SmallInteger, nullable=False, server_default="0"),
    )
    op.create_index("login_attempts_key", "login_attempts", ["key_hash", "at"])


def downgrade() -> None:
    op.drop_index("login_attempts_key", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index("console_audit_action", table_name="console_audit")
    op.drop_table("console_audit")
    op.drop_index("console_sessions_expires", table_name="console_sessions")
    op.drop_index("console_sessions_user", table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("console_accounts")
