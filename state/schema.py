"""The PostgreSQL tables, as SQLAlchemy Core. Changed only together with a migration in `migrations/versions`.

Mirrors the SQLite file (bot/store.py) so the officers' SQL (bot/store_questions.py) runs on both: times are unix
seconds in double precision, flags are small integers. Added for many workers: `deliveries.state` with a lease
(a redelivery waits for the worker answering it, or retakes it when that worker died), `meta` (the salt of user
hashes, shared by all workers), `oa_tokens` (the Zalo OA token pair), `index_pointer` (which index version every
worker serves, see index/shared.py) and `index_history` (each publish and rollback). For N console processes
(migration 0003, state/console.py): `console_accounts`, `console_sessions`, `console_audit`, `login_attempts`.
"""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

questions = sa.Table(
    "questions", metadata,
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
    sa.Index("questions_created", "created_at"),
)

citations = sa.Table(
    "citations", metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("question_id", sa.BigInteger, sa.ForeignKey("questions.id")),
    sa.Column("payload", sa.Text, nullable=False),
)

feedback = sa.Table(
    "feedback", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("question_id", sa.BigInteger, sa.ForeignKey("questions.id"), nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("user_hash", sa.Text, nullable=False),
    sa.Column("vote", sa.SmallInteger, nullable=False),
    sa.Column("reviewed", sa.SmallInteger, nullable=False, server_default="0"),
    sa.CheckConstraint("vote IN (-1, 1)", name="feedback_vote_check"),
    sa.UniqueConstraint("question_id", "user_hash", name="feedback_question_user"),
    sa.Index("feedback_vote", "vote", "reviewed"),
)

feedback_notes = sa.Table(
    "feedback_notes", metadata,
    sa.Column("question_id", sa.BigInteger, primary_key=True),
    sa.Column("user_hash", sa.Text, primary_key=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("state", sa.Text, nullable=False),  # 'claimed' (a worker is answering) or 'done' (answer sent)
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("lease_until", sa.Double, nullable=False),  # a 'claimed' row past this is retaken by a redelivery
    sa.Column("worker", sa.Text, nullable=False),  # host:pid:random of the worker holding the claim
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    sa.Column("done_at", sa.Double),
    sa.CheckConstraint("state IN ('claimed', 'done')", name="deliveries_state_check"),
    sa.Index("deliveries_created", "created_at"),
)

chat_memory = sa.Table(
    "chat_memory", metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("chat_hash", sa.Text, primary_key=True),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
)

handoffs = sa.Table(
    "handoffs", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("user_hash", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("ward", sa.Text),
    sa.Column("transcript_json", sa.Text, nullable=False),
    sa.Column("done", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Index("handoffs_done", "done", "created_at"),
)

lost_writes = sa.Table(
    "lost_writes", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
)

meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

oa_tokens = sa.Table(
    "oa_tokens", metadata,
    sa.Column("name", sa.Text, primary_key=True),  # one row per OA ('default')
    sa.Column("access_token", sa.Text, nullable=False),
    sa.Column("refresh_token", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Double),
    sa.Column("env_fingerprint", sa.Text),
    sa.Column("updated_at", sa.Double),
)

index_pointer = sa.Table(
    "index_pointer", metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("version", sa.Text, nullable=False),
    sa.Column("published_at", sa.Double, nullable=False),
    sa.Column("published_by", sa.Text),  # the officer (console) or user@host that moved it (migration 0002)
)

index_history = sa.Table(  # every move of the pointer: publish or rollback (migration 0002)
    "index_history", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("version", sa.Text, nullable=False),
    sa.Column("previous", sa.Text),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("published_at", sa.Double, nullable=False),
    sa.Column("published_by", sa.Text),
    sa.CheckConstraint("action IN ('publish', 'rollback')", name="index_history_action_check"),
    sa.Index("index_history_published", "name", "published_at"),
)

console_accounts = sa.Table(  # officers' accounts (migration 0003); the JSON file's twin
    "console_accounts", metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("hash", sa.Text, nullable=False),  # Argon2id; the password itself is never stored
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("disabled", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("created", sa.Double, nullable=False),
    sa.CheckConstraint("role IN ('viewer', 'editor', 'admin')", name="console_accounts_role_check"),
)

console_sessions = sa.Table(  # live logins (migration 0003): logout and account changes delete rows
    "console_sessions", metadata,
    sa.Column("id_hash", sa.Text, primary_key=True),  # SHA-256 of the cookie's session id, never the id itself
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Index("console_sessions_user", "user_name"),
    sa.Index("console_sessions_expires", "expires_at"),
)

console_audit = sa.Table(  # every change an officer made through any console process (migration 0003)
    "console_audit", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index("console_audit_action", "action"),
)

login_attempts = sa.Table(  # one row per login attempt per key, pruned past the lock window (migration 0003)
    "login_attempts", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("scope", sa.Text, nullable=False),  # 'login-name' or 'login-address'
    sa.Column("key_hash", sa.Text, nullable=False),  # SHA-256 of scope and name/address: nothing typed in clear
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("slow", sa.SmallInteger, nullable=False, server_default="0"),  # let through: counts toward slow-down
    sa.Index("login_attempts_key", "key_hash", "at"),
)
