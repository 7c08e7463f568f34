"""The SQLAlchemy engine for `CCHC_DATABASE_URL`, and what counts as "the database is down".

Connections fail fast (a few seconds) so a webhook can refuse a delivery while the provider is still waiting,
and are checked before use, so a restarted server is picked up without restarting the workers.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from state.errors import DatabaseSetupError

CONNECT_TIMEOUT_S = 3
POOL_TIMEOUT_S = 5


class DatabaseUrlError(DatabaseSetupError, ValueError):
    """CCHC_DATABASE_URL is not a PostgreSQL URL; the message is Vietnamese, for the operator."""


def database_url(settings_or_url: Any) -> URL | None:
    """The URL from settings (SecretStr) or a string, with the psycopg 3 driver; None when unset."""
    raw = getattr(settings_or_url, "database_url", settings_or_url)
    if raw is not None and hasattr(raw, "get_secret_value"):
        raw = raw.get_secret_value()
    if not raw or not str(raw).strip():
        return None
    try:
        url = make_url(str(raw).strip())
    except Exception:  # noqa: BLE001 - sqlalchemy raises ArgumentError with the URL in it
        raise DatabaseUrlError("CCHC_DATABASE_URL không đúng dạng, ví dụ đúng: "
                               "postgresql://cchc:MẬT_KHẨU@db.example.vn/cchc") from None
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise DatabaseUrlError("CCHC_DATABASE_URL phải là địa chỉ PostgreSQL (postgresql://…). Muốn dùng SQLite "
                               "trên một máy thì bỏ trống biến này.")
    return url.set(drivername="postgresql+psycopg")


def make_engine(url: URL | str, pool_size: int = 5) -> Engine:
    """A pooled engine; `pool_pre_ping` replaces connections a restarted server closed."""
    if isinstance(url, str):
        url = database_url(url)
    return sa.create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=10,
                            pool_timeout=POOL_TIMEOUT_S, connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
                            future=True)


def is_down(exc: BaseException) -> bool:
    """Server unreachable, restarting, out of disk, pool exhausted — not a constraint or a bug in our SQL."""
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)
