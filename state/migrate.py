"""`cchc db upgrade` / `cchc db status`: Alembic with the migrations shipped in this package (no alembic.ini).

A store checks `pending()` when it opens, so a worker never writes to a schema older than its code.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Engine

from state.engine import make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: URL | str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:  # '%' must be doubled for ConfigParser
        rendered = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@dataclass
class Status:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def status(engine: Engine) -> Status:
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return Status(current, head())


def upgrade(engine: Engine, revision: str = "head") -> Status:
    """Apply the pending migrations (one advisory lock: workers upgrading together take turns)."""
    config = alembic_config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()
    return status(engine)


def upgrade_url(url: URL | str) -> Status:
    engine = make_engine(url, pool_size=1)
    try:
        return upgrade(engine)
    finally:
        engine.dispose()
