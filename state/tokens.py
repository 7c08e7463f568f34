"""The Zalo OA token pair in the shared database (table `oa_tokens`), for every worker at once.

Same interface as `bot.zalo_oa_auth.TokenFile` (load/save), plus `exclusive()`: the refresh token is single use,
so workers refresh one at a time under a PostgreSQL advisory lock, and a worker that waited reads the pair the
other one just stored instead of spending the dead refresh token again (`OATokenManager.refresh`).
The tokens are kept as the file kept them (the database is the deployment's secret store: restrict its users).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from bot.zalo_oa_auth import OATokens
from state import schema as t
from state.engine import is_down

log = logging.getLogger("bot.zalo")

REFRESH_LOCK = 0x43434844  # pg_advisory_lock key held while one worker refreshes the OA token


class DbTokenFile:
    """One row per OA name ('default')."""

    def __init__(self, engine: Engine, name: str = "default") -> None:
        self.engine = engine
        self.name = name
        self.path = f"CSDL dùng chung (bảng oa_tokens, {name})"  # what log lines call it

    def load(self) -> OATokens | None:
        try:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(t.oa_tokens).where(t.oa_tokens.c.name == self.name)).mappings().first()
        except Exception as exc:
            if not is_down(exc):
                raise
            log.error("Zalo OA tokens not read from the database (%s); using the environment", type(exc).__name__)
            return None
        if row is None or (not row["access_token"] and not row["refresh_token"]):
            return None
        return OATokens(access_token=row["access_token"], refresh_token=row["refresh_token"],
                        expires_at=row["expires_at"], env_fingerprint=row["env_fingerprint"],
                        updated_at=row["updated_at"])

    def save(self, tokens: OATokens) -> None:
        """Raises OSError when the database cannot take it, like a file that cannot be written."""
        values = {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
                  "expires_at": tokens.expires_at, "env_fingerprint": tokens.env_fingerprint,
                  "updated_at": tokens.updated_at}
        stmt = pg_insert(t.oa_tokens).values(name=self.name, **values)
        try:
            with self.engine.begin() as conn:
                conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=values))
        except Exception as exc:
            if is_down(exc):
                raise OSError(f"database unavailable ({type(exc).__name__})") from exc
            raise

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """One worker refreshes at a time (a session advisory lock on a connection of its own)."""
        conn = await asyncio.to_thread(self.engine.connect)
        try:
            await asyncio.to_thread(conn.execute, sa.text("SELECT pg_advisory_lock(:k)"), {"k": REFRESH_LOCK})
            try:
                yield
            finally:
                await asyncio.to_thread(conn.execute, sa.text("SELECT pg_advisory_unlock(:k)"), {"k": REFRESH_LOCK})
        finally:
            await asyncio.to_thread(conn.close)
