"""Alembic environment: runs migrations on the connection state/migrate.py hands over (or the configured URL).

Two workers running `cchc db upgrade` at once take turns on an advisory lock, so a migration never runs twice.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from state.engine import make_engine
from state.schema import metadata

MIGRATION_LOCK = 0x43434843  # "CCHC": pg_advisory_lock key held while migrating


def run_migrations_online() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url"), pool_size=1)
        with engine.connect() as conn:
            _migrate(conn)
        engine.dispose()
    else:
        _migrate(connection)


def _migrate(connection: sa.Connection) -> None:
    connection.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
    try:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run `cchc db upgrade` against the database")
run_migrations_online()
