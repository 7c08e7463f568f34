"""`SqlStore`: the `Store` interface on PostgreSQL, shared by every worker of a deployment.

Same promises as SqliteStore (bot/store.py): nothing typed by a citizen is written in clear (redacted text,
salted user hashes; the salt lives in the database so every worker hashes alike), and a database that refuses
a write never costs the citizen the answer — the loss is counted (`lost_writes`, shown to officers). What is new
with many workers: webhook deliveries are claimed with a lease (state/deliveries.py), so a redelivery that
reaches another worker is answered once, and one a dead worker held is answered by the next.

The officers' read-only SQL (bot/store_questions.py, bot/store_stats.py) is written with `?` placeholders for
SQLite; `read_only_query` passes it to psycopg with `%s`, and rows answer both `row[0]` and `row["name"]`.
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from collections import OrderedDict
from datetime import datetime
from typing import Any, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import URL, Engine

from bot.redact import redact
from bot.store import (LOST_QUESTION_ID, MEMORY_CITATIONS, Feedback, Stats, Store, StoreUnavailable,
                       StoreWriteFailed, UnknownQuestion, _citations_json, _normalise)
from bot.store_reads import StoreReads
from bot.store_stats import sqlite_stats
from state import schema as t
from state.chat import SqlChatTables
from state.deliveries import SqlDeliveries
from state.engine import database_url, is_down, make_engine
from state.errors import SchemaBehind
from state.migrate import status as schema_status

log = logging.getLogger("bot.store")

SALT_KEY = "user_salt"


class Row(tuple):
    """A result row readable by position and by column name (like sqlite3.Row); dict(row) works."""

    _names: tuple[str, ...] = ()

    def __new__(cls, values: Iterable[Any], names: tuple[str, ...]) -> "Row":
        row = super().__new__(cls, values)
        row._names = names
        return row

    def keys(self) -> tuple[str, ...]:
        return self._names

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, str):
            return super().__getitem__(self._names.index(item))
        return super().__getitem__(item)


def psycopg_sql(sql: str) -> str:
    """`?` placeholders (outside quoted literals) become `%s`; a literal `%` is doubled for psycopg."""
    out, quoted = [], False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "%":
            out.append("%%")
        elif ch == "?" and not quoted:
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


def worker_name() -> str:
    """host:pid:random — which worker holds a delivery claim (the random part survives pid reuse)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class SqlStore(StoreReads, SqlDeliveries, SqlChatTables, Store):
    """PostgreSQL through a pooled SQLAlchemy engine; safe to call from several threads."""

    sql_dialect = "postgresql"
    leased_claims = True

    def __init__(self, url: URL | str | Engine, lease_seconds: float = 30.0, check_schema: bool = True) -> None:
        self.engine = url if isinstance(url, Engine) else make_engine(url)
        self.lease_seconds = float(lease_seconds)
        self.worker = worker_name()
        self._salt: bytes | None = None
        self._lock = threading.Lock()  # guards the in-process counters and fallbacks, never held during SQL
        self.lost_writes = 0
        self._unrecorded = 0
        self._warned_at = -60.0
        self._memory_citations: OrderedDict[str, str] = OrderedDict()
        SqlDeliveries.__init__(self)
        if check_schema:
            self._check_schema()

    @classmethod
    def for_settings(cls, settings: Any) -> "SqlStore":
        return cls(database_url(settings), lease_seconds=getattr(settings, "delivery_lease_seconds", 30.0))

    def _check_schema(self) -> None:
        """Refuse a database behind this code; a database that is down now is checked again when it is back."""
        try:
            found = schema_status(self.engine)
        except Exception as exc:
            if not is_down(exc):
                raise
            log.warning("database unreachable at start (%s); citizens get the 'busy' reply until it is back",
                        type(exc).__name__)
            return
        if not found.up_to_date:
            raise SchemaBehind(f"CSDL đang ở phiên bản lược đồ {found.current or 'trống'}, mã nguồn cần {found.head}."
                               " Hãy chạy `cchc db upgrade` (một lần, từ bất kỳ máy nào) rồi khởi động lại.")
        self._salt_bytes()  # now, while the server answers: hashing a user id must not wait for it later

    # -- helpers -------------------------------------------------------------------------
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self.engine.connect() as conn:
            result = conn.exec_driver_sql(psycopg_sql(sql), tuple(params))
            names = tuple(result.keys())
            return [Row(r, names) for r in result]

    def _write(self, statement: Any) -> sa.CursorResult:
        with self.engine.begin() as conn:
            return conn.execute(statement)

    def _lost(self, what: str, exc: BaseException) -> None:
        """Count a failed write; warn at once, then at most once a minute."""
        now = time.monotonic()
        with self._lock:
            self.lost_writes += 1
            self._unrecorded += 1
            lost, loud = self.lost_writes, now - self._warned_at >= 60.0
            if loud:
                self._warned_at = now
        if loud:
            log.warning("database: %s not written (%s); %d writes lost since start, citizens were still answered. "
                        "Check that the database server is up and has disk space.", what, type(exc).__name__, lost)

    def _record_losses(self) -> None:
        with self._lock:
            count, self._unrecorded = self._unrecorded, 0
        try:
            self._write(sa.insert(t.lost_writes).values(created_at=time.time(), count=count))
        except Exception as exc:
            if not is_down(exc):
                raise
            with self._lock:
                self._unrecorded += count

    def _salt_bytes(self) -> bytes:
        """The installation's salt, created once by whichever worker comes first (INSERT … ON CONFLICT)."""
        if self._salt is None:
            try:
                with self.engine.begin() as conn:
                    conn.execute(pg_insert(t.meta).values(key=SALT_KEY, value=secrets.token_hex(32))
                                 .on_conflict_do_nothing(index_elements=["key"]))
                    value = conn.execute(sa.select(t.meta.c.value).where(t.meta.c.key == SALT_KEY)).scalar_one()
            except Exception as exc:
                if is_down(exc):
                    raise StoreUnavailable(type(exc).__name__) from exc
                raise
            self._salt = bytes.fromhex(value)
        return self._salt

    # -- Store ---------------------------------------------------------------------------
    def hash_user(self, channel: str, user_id: str | int) -> str:
        return hashlib.sha256(self._salt_bytes() + f"{channel}:{user_id}".encode("utf-8")).hexdigest()[:32]

    def log_question(self, channel: str, user_hash: str, question: str, answer_text: str, found: bool,
                     citations_json: str | Sequence[Any] | None, reply_ms: float, kind: str = "answer",
                     ward: str | None = None) -> int:
        q = redact(question)
        try:
            qid = self._write(sa.insert(t.questions).values(
                created_at=time.time(), channel=channel, user_hash=user_hash, question=q, question_norm=_normalise(q),
                answer_text=redact(answer_text), found=int(bool(found)), kind=kind,
                citations_json=_citations_json(citations_json), reply_ms=reply_ms, ward=ward or None,
            ).returning(t.questions.c.id)).scalar_one()
        except Exception as exc:
            if not is_down(exc):
                raise
            self._lost("question log", exc)
            return LOST_QUESTION_ID
        if self._unrecorded:
            self._record_losses()
        return int(qid)

    def save_citations(self, citations: str | Sequence[Any], question_id: int | None = None) -> str:
        payload = _citations_json(citations)
        while True:
            key = secrets.token_urlsafe(9)
            try:
                self._write(sa.insert(t.citations).values(key=key, created_at=time.time(),
                                                          question_id=question_id or None, payload=payload))
                return key
            except sa.exc.IntegrityError:  # pragma: no cover - 72 random bits
                continue
            except Exception as exc:
                if not is_down(exc):
                    raise
                self._lost("citations", exc)
                with self._lock:
                    self._memory_citations[key] = payload
                    while len(self._memory_citations) > MEMORY_CITATIONS:
                        self._memory_citations.popitem(last=False)
                return key

    def record_vote(self, question_id: int, channel: str, user_hash: str, vote: int) -> int:
        if vote not in (1, -1):
            raise ValueError("vote must be +1 or -1")
        try:
            with self.engine.begin() as conn:
                known = conn.execute(sa.select(t.questions.c.id).where(t.questions.c.id == question_id)).first()
                if known is None:
                    raise UnknownQuestion(question_id)
                stmt = pg_insert(t.feedback).values(created_at=time.time(), question_id=question_id, channel=channel,
                                                    user_hash=user_hash, vote=vote)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["question_id", "user_hash"],
                    set_={"vote": stmt.excluded.vote, "created_at": stmt.excluded.created_at, "reviewed": 0})
                return int(conn.execute(stmt.returning(t.feedback.c.id)).scalar_one())
        except UnknownQuestion:
            raise
        except Exception as exc:
            if not is_down(exc):
                raise
            self._lost("vote", exc)
            raise StoreWriteFailed(type(exc).__name__) from exc

    def mark_reviewed(self, feedback_id: int) -> bool:
        return self._write(sa.update(t.feedback).where(t.feedback.c.id == feedback_id)
                           .values(reviewed=1)).rowcount > 0

    def stats(self, since: datetime | float | None = None, top: int = 10) -> Stats:
        return sqlite_stats(self.read_only_query, since, top, self._unrecorded, dialect=self.sql_dialect)

    def read_only_query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """SELECTs for officers' views (bot/store_questions.py), in a read-only transaction."""
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            raise ValueError("read_only_query runs SELECT statements only")
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            result = conn.exec_driver_sql(psycopg_sql(sql), tuple(params))
            names = tuple(result.keys())
            rows = [Row(r, names) for r in result]
            conn.rollback()
            return rows

    def close(self) -> None:
        SqlDeliveries.close(self)
        self.engine.dispose()
