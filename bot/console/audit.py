"""The audit log: every change an officer makes (who, what, when), kept append-only for review.

Knowledge edits, publishes, rollbacks, lexicon edits and account changes all call `record`; the
admin page lists the entries. Details never hold citizen data, only what the officer changed.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

AUDIT_FILE = "audit.sqlite"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float  # unix time
    user: str
    action: str  # short code, e.g. "document.edit", "publish", "rollback", "lexicon.edit", "account.add"
    target: str  # what was changed, in words an officer recognises (document title, account name…)
    detail: str


class AuditLog:
    """SQLite-backed log in the console folder (a server database replaces it when configured)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY, at REAL NOT NULL, "
                         "user TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL)")

    def record(self, user: str, action: str, target: str, detail: str = "") -> None:
        with self._lock:
            self._db.execute("INSERT INTO audit (at, user, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                             (time.time(), user, action, target, detail))

    def entries(self, limit: int = 100, offset: int = 0, action_prefix: str = "") -> list[AuditEntry]:
        with self._lock:
            rows = self._db.execute("SELECT id, at, user, action, target, detail FROM audit WHERE action LIKE ? "
                                    "ORDER BY id DESC LIMIT ? OFFSET ?",
                                    (action_prefix + "%", limit, offset)).fetchall()
        return [AuditEntry(*r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
