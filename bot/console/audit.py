"""The audit log: every change an officer makes (who, what, when), kept append-only for review.

Knowledge edits, publishes, rollbacks, lexicon edits, test-set edits and account changes all call
`record` (page handlers: `note(request, action, target)`); the admin page lists the entries. Details
never hold citizen data, only what the officer changed.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUDIT_FILE = "audit.sqlite"
# What each action code means, for the log page; modules that record new codes add theirs here.
ACTION_NAMES = {
    "account.add": "Thêm tài khoản", "account.role": "Đổi quyền", "account.password": "Đặt lại mật khẩu",
    "account.disable": "Tạm dừng tài khoản", "account.enable": "Mở lại tài khoản",
    "lexicon.add": "Thêm mục từ điển", "lexicon.edit": "Sửa mục từ điển", "lexicon.delete": "Xoá mục từ điển",
    "publish": "Xuất bản", "rollback": "Quay lại phiên bản trước", "document.edit": "Sửa văn bản",
    "upload": "Tải văn bản lên", "tests.add": "Thêm câu hỏi kiểm thử", "tests.edit": "Sửa câu hỏi kiểm thử",
    "tests.delete": "Xoá câu hỏi kiểm thử", "tests.run": "Chạy bộ câu hỏi", "feedback.reviewed": "Đánh dấu góp ý đã xem",
    "feedback.to_test": "Góp ý thành câu hỏi kiểm thử", "questions.to_test": "Câu hỏi của dân thành câu hỏi kiểm thử",
    "handoff.done": "Xử lý yêu cầu gặp cán bộ",
}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float  # unix time
    user: str
    action: str  # short code, e.g. "document.edit", "publish", "rollback", "lexicon.edit", "account.add"
    target: str  # what was changed, in words an officer recognises (document title, account name…)
    detail: str


class AuditLog:
    """SQLite-backed log in the console folder; with CCHC_DATABASE_URL, `state.console.DbAuditLog` instead."""

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

    def count(self, action_prefix: str = "") -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM audit WHERE action LIKE ?", (action_prefix + "%",)).fetchone()[0]

    def actions(self) -> list[str]:
        """The action codes recorded so far (for the log page's filter)."""
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT DISTINCT action FROM audit ORDER BY action")]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def note(request: Any, action: str, target: str, detail: str = "") -> None:
    """Record a change the signed-in officer just made through the console (`app.state.audit`, if any)."""
    log = getattr(request.app.state, "audit", None)
    if log is not None:
        log.record(str(request.session.get("user") or "?"), action, target, detail)
