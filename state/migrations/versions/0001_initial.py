"""The shared store: question log, citations, votes and notes, deliveries, chat memory, hand-offs, OA tokens.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("user_hash", sa.Text, nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("question_norm", sa.Text, nullable=False),
        sa.Column("answer_text", sa.Text, nullable=False),
        sa.Column("found", sa.SmallInteger, nullable=False),
        sa.Column("kind", sa.Text, nullable=False, server_default="answer"),
        sa.Column("citations_json", sa.Text, nullable=False, server_default="[]"),
        sa.Column("reply_ms", sa.Double),
        sa.Column("ward", sa.Text),
    )
    op.create_index("questions_created", "questions", ["created_at"])
    op.create_table(
        "citations",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("question_id", sa.BigInteger, sa.ForeignKey("questions.id")),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("question_id", sa.BigInteger, sa.ForeignKey("questions.id"), nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("user_hash", sa.Text, nullable=False),
        sa.Column("vote", sa.SmallInteger, nullable=False),
        sa.Column("reviewed", sa.SmallInteger, nullable=False, server_default="0"),
        sa.CheckConstraint("vote IN (-1, 1)", name="feedback_vote_check"),
        sa.UniqueConstraint("question_id", "user_hash", name="feedback_question_user"),
    )
    op.create_index("feedback_vote", "feedback", ["vote", "reviewed"])
    op.create_table(
        "feedback_notes",
        sa.Column("question_id", sa.BigInteger, primary_key=True),
        sa.Column("user_hash", sa.Text, primary_key=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("channel", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("lease_until", sa.Double, nullable=False),
        sa.Column("worker", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
        sa.Column("done_at", sa.Double),
        sa.CheckConstraint("state IN ('claimed', 'done')", name="deliveries_state_check"),
    )
    op.create_index("deliveries_created", "deliveries", ["created_at"])
    op.create_table(
        "chat_memory",
        sa.Column("channel", sa.Text, primary_key=True),
        sa.Column("chat_hash", sa.Text, primary_key=True),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_table(
        "handoffs",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("user_hash", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("ward", sa.Text),
        sa.Column("transcript_json", sa.Text, nullable=False),
        sa.Column("done", sa.SmallInteger, nullable=False, server_default="0"),
    )
    op.create_index("handoffs_done", "handoffs", ["done", "created_at"])
    op.create_table(
        "lost_writes",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "oa_tokens",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("access_token", sa.Text, nullable=False),
        sa.Column("refresh_token", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Double),
        sa.Column("env_fingerprint", sa.Text),
        sa.Column("updated_at", sa.Double),
    )
    op.create_table(
        "index_pointer",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("published_at", sa.Double, nullable=False),
    )


def downgrade() -> None:
    for table in ("index_pointer", "oa_tokens", "meta", "lost_writes", "handoffs", "chat_memory", "deliveries",
                  "feedback_notes", "feedback", "citations", "questions"):
        op.drop_table(table)
