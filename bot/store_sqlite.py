"""The SQLite implementation of `bot.store.Store`: one private file in the data dir (one process, or a few
sharing the file). Kept apart from `bot.store`, which holds the interface and the types every backend shares.

Writes that fail (disk full, read-only or damaged file) never cost a citizen the answer: see `bot.store`.
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from bot.redact import redact
from bot.store import (DELIVERY_TTL, MEMORY_CITATIONS, Feedback, Store, StoreWriteFailed, UnknownQuestion,
                       _citations_json, _normalise)
from bot.store_chat import LOST_QUESTION_ID, SqliteChatTables, _write_error
from bot.store_reads import StoreReads
from bot.store_stats import Stats, sqlite_stats

STORE_FILE = "store.sqlite"
SALT_FILE = "store.salt"

log = logging.getLogger("bot.store")  # one logger name for every backend (operators filter on it)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    channel TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    question TEXT NOT NULL,
    question_norm TEXT NOT NULL,
    answer_text TEXT NOT NULL,
    found INTEGER NOT NULL,
    kind TEXT NOT NULL DEFAULT 'answer',
    citations_json TEXT NOT NULL DEFAULT '[]',
    reply_ms REAL
);
CREATE INDEX IF NOT EXISTS questions_created ON questions(created_at);
CREATE TABLE IF NOT EXISTS citations (
    key TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    question_id INTEGER REFERENCES questions(id),
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    question_id INTEGER NOT NULL REFERENCES questions(id),
    channel TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    reviewed INTEGER NOT NULL DEFAULT 0,
    UNIQUE (question_id, user_hash)
);
CREATE INDEX IF NOT EXISTS feedback_vote ON feedback(vote, reviewed);
CREATE TABLE IF NOT EXISTS deliveries (
    channel TEXT NOT NULL,
    key TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (channel, key)
);
CREATE INDEX IF NOT EXISTS deliveries_created ON deliveries(created_at);
CREATE TABLE IF NOT EXISTS chat_memory (
    channel TEXT NOT NULL,
    chat_hash TEXT NOT NULL,
    updated_at REAL NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (channel, chat_hash)
);
CREATE TABLE IF NOT EXISTS feedback_notes (
    question_id INTEGER NOT NULL,
    user_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (question_id, user_hash)
);
CREATE TABLE IF NOT EXISTS handoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    channel TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    reason TEXT NOT NULL,
    ward TEXT,
    transcript_json TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS handoffs_done ON handoffs(done, created_at);
CREATE TABLE IF NOT EXISTS lost_writes (
    created_at REAL NOT NULL,
    count INTEGER NOT NULL
);
"""


def _load_salt(path: Path) -> bytes:
    """A random per-installation salt, created once next to the database (mode 0600)."""
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(32)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(salt)
    try:
        os.link(tmp, path)  # atomic "create if absent": two processes starting together agree on one salt
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def _private_file(path: Path) -> None:
    """Create `path` readable by its owner only (SQLite gives its -wal/-shm files the same mode)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if p.stat().st_mode & 0o077:
                p.chmod(0o600)  # an older installation created it world-readable
        except FileNotFoundError:
            pass


class SqliteStore(StoreReads, SqliteChatTables, Store):
    """SQLite file in the data dir; one connection guarded by a lock (writes are tiny, WAL mode)."""

    def __init__(self, path: str | Path, salt: bytes | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._salt = salt if salt is not None else _load_salt(self.path.with_name(SALT_FILE))
        self._lock = threading.Lock()
        self.lost_writes = 0
        self._unrecorded = 0  # losses not yet written to the lost_writes table (done once writes work again)
        self._memory_citations: OrderedDict[str, str] = OrderedDict()
        self._pruned_at = 0.0
        self._memory_pruned_at = 0.0
        self._warned_at = -60.0
        _private_file(self.path)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)
            columns = {r["name"] for r in self._conn.execute("PRAGMA table_info(questions)")}
            if "ward" not in columns:  # files written before the question log showed wards
                self._conn.execute("ALTER TABLE questions ADD COLUMN ward TEXT")

    @classmethod
    def for_settings(cls, settings: Any) -> "SqliteStore":
        """The store of an installation: `<data_dir>/store.sqlite`."""
        return cls(Path(settings.data_dir) / STORE_FILE)

    # -- helpers -------------------------------------------------------------------------
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, params)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _lost(self, what: str, exc: BaseException) -> None:
        """Count a failed write; warn at once, then at most once a minute (a full disk fails every write)."""
        now = time.monotonic()
        with self._lock:
            self.lost_writes += 1
            self._unrecorded += 1
            lost = self.lost_writes
            loud = now - self._warned_at >= 60.0
            if loud:
                self._warned_at = now
        if loud:
            log.warning("store %s: %s not written (%s); %d writes lost since start, citizens were still answered. "
                        "Check free disk space and the permissions of the data folder.", self.path, what, exc, lost)

    # -- Store ---------------------------------------------------------------------------
    def hash_user(self, channel: str, user_id: str | int) -> str:
        digest = hashlib.sha256(self._salt + f"{channel}:{user_id}".encode("utf-8")).hexdigest()
        return digest[:32]

    def log_question(self, channel: str, user_hash: str, question: str, answer_text: str, found: bool,
                     citations_json: str | Sequence[Any] | None, reply_ms: float, kind: str = "answer",
                     ward: str | None = None) -> int:
        """Returns LOST_QUESTION_ID (0) instead of raising when the row cannot be written."""
        q = redact(question)
        try:
            cur = self._execute(
                "INSERT INTO questions (created_at, channel, user_hash, question, question_norm, answer_text, found,"
                " kind, citations_json, reply_ms, ward) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), channel, user_hash, q, _normalise(q), redact(answer_text), int(bool(found)), kind,
                 _citations_json(citations_json), reply_ms, ward or None),
            )
        except Exception as exc:
            if not _write_error(exc):
                raise
            self._lost("question log", exc)
            return LOST_QUESTION_ID
        if self._unrecorded:
            self._record_losses()
        return int(cur.lastrowid)

    def _record_losses(self) -> None:
        """Once writes work again, note how many were lost, so every process's console can show it."""
        with self._lock:
            count, self._unrecorded = self._unrecorded, 0
            try:
                self._conn.execute("INSERT INTO lost_writes (created_at, count) VALUES (?, ?)", (time.time(), count))
            except Exception as exc:
                if not _write_error(exc):
                    raise
                self._unrecorded += count

    def save_citations(self, citations: str | Sequence[Any], question_id: int | None = None) -> str:
        """Never raises for a full disk: the payload is then kept in memory (bounded) under the key."""
        payload = _citations_json(citations)
        while True:
            key = secrets.token_urlsafe(9)  # 12 characters
            try:
                self._execute("INSERT INTO citations (key, created_at, question_id, payload) VALUES (?, ?, ?, ?)",
                              (key, time.time(), question_id or None, payload))
                return key
            except sqlite3.IntegrityError:  # pragma: no cover - 72 random bits
                continue
            except Exception as exc:
                if not _write_error(exc):
                    raise
                self._lost("citations", exc)
                with self._lock:
                    self._memory_citations[key] = payload
                    while len(self._memory_citations) > MEMORY_CITATIONS:
                        self._memory_citations.popitem(last=False)
                return key

    def first_delivery(self, channel: str, key: str) -> bool:
        """Atomic "insert if new" in the deliveries table; keys older than DELIVERY_TTL are forgotten.

        When the database refuses the write, an in-memory set answers instead (a replay is then
        caught until the next restart)."""
        now = time.time()
        try:
            with self._lock:
                cur = self._conn.execute("INSERT OR IGNORE INTO deliveries (channel, key, created_at) VALUES (?, ?, ?)",
                                         (channel, key, now))
                if cur.rowcount == 1 and now - self._pruned_at > 3600:
                    self._pruned_at = now
                    self._conn.execute("DELETE FROM deliveries WHERE created_at < ?", (now - DELIVERY_TTL,))
                return cur.rowcount == 1 and super().first_delivery(channel, key)
        except Exception as exc:
            if not _write_error(exc):
                raise
            self._lost("delivery id", exc)
            return super().first_delivery(channel, key)

    def record_vote(self, question_id: int, channel: str, user_hash: str, vote: int) -> int:
        if vote not in (1, -1):
            raise ValueError("vote must be +1 or -1")
        try:
            with self._lock:
                if self._conn.execute("SELECT 1 FROM questions WHERE id = ?", (question_id,)).fetchone() is None:
                    raise UnknownQuestion(question_id)
                self._conn.execute(
                    "INSERT INTO feedback (created_at, question_id, channel, user_hash, vote) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (question_id, user_hash) DO UPDATE SET vote = excluded.vote,"
                    " created_at = excluded.created_at, reviewed = 0",
                    (time.time(), question_id, channel, user_hash, vote),
                )
                row = self._conn.execute("SELECT id FROM feedback WHERE question_id = ? AND user_hash = ?",
                                         (question_id, user_hash)).fetchone()
        except Exception as exc:
            if not _write_error(exc):
                raise
            self._lost("vote", exc)
            raise StoreWriteFailed(str(exc)) from exc
        return int(row["id"])

    def mark_reviewed(self, feedback_id: int) -> bool:
        return self._execute("UPDATE feedback SET reviewed = 1 WHERE id = ?", (feedback_id,)).rowcount > 0

    def stats(self, since: datetime | float | None = None, top: int = 10) -> Stats:
        return sqlite_stats(self._query, since, top, self._unrecorded)

    def read_only_query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """SELECTs for officers' views (bot/store_questions.py); never a write."""
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            raise ValueError("read_only_query runs SELECT statements only")
        return self._query(sql, params)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
