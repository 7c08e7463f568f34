"""The store's reads, in SQL both backends run unchanged (SQLite and PostgreSQL).

Mixed into `SqliteStore` and `state.store.SqlStore` ahead of their chat tables; each backend supplies
`_query(sql, params)` (rows readable by column name), `_lock` and `_memory_citations`.
"""
from __future__ import annotations

import json
from typing import Any

from bot.store import Feedback
from bot.store_stats import utc_iso


class StoreReads:
    def get_citations(self, key: str) -> list[dict[str, Any]] | None:
        with self._lock:
            kept = self._memory_citations.get(key)  # kept in memory while the database refused writes
        if kept is not None:
            return json.loads(kept)
        rows = self._query("SELECT payload FROM citations WHERE key = ?", (key,))
        return json.loads(rows[0]["payload"]) if rows else None

    def list_feedback(self, vote: int | None = -1, reviewed: bool | None = None, limit: int = 50) -> list[Feedback]:
        where, params = [], []
        if vote is not None:
            where.append("f.vote = ?")
            params.append(vote)
        if reviewed is not None:
            where.append("f.reviewed = ?")
            params.append(int(reviewed))
        sql = ("SELECT f.id, f.question_id, f.channel, f.user_hash, f.vote, f.created_at, f.reviewed,"
               " q.question, q.answer_text, q.found, q.citations_json, n.text AS note"
               " FROM feedback f JOIN questions q ON q.id = f.question_id"
               " LEFT JOIN feedback_notes n ON n.question_id = f.question_id AND n.user_hash = f.user_hash"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY f.created_at DESC, f.id DESC LIMIT ?")
        return [Feedback(id=r["id"], question_id=r["question_id"], channel=r["channel"], user_hash=r["user_hash"],
                         vote=r["vote"], created_at=utc_iso(r["created_at"]), reviewed=bool(r["reviewed"]),
                         question=r["question"], answer_text=r["answer_text"], found=bool(r["found"]),
                         citations=json.loads(r["citations_json"] or "[]"), note=r["note"] or "")
                for r in self._query(sql, (*params, limit))]

    def load_memory(self, channel: str, chat_hash: str) -> tuple[float, dict[str, Any]] | None:
        kept = super().load_memory(channel, chat_hash)  # written while the database refused writes
        rows = self._query("SELECT updated_at, payload FROM chat_memory WHERE channel = ? AND chat_hash = ?",
                           (channel, chat_hash))
        row = (rows[0]["updated_at"], json.loads(rows[0]["payload"])) if rows else None
        if kept is not None and (row is None or kept[0] >= row[0]):
            return kept
        return row

    def list_handoffs(self, done: bool | None = False, limit: int = 50) -> list[dict[str, Any]]:
        where, params = ("WHERE done = ?", (int(done),)) if done is not None else ("", ())
        rows = self._query("SELECT * FROM handoffs " + where + " ORDER BY created_at DESC, id DESC LIMIT ?",
                           (*params, limit))
        return [{"id": r["id"], "created_at": utc_iso(r["created_at"]), "channel": r["channel"],
                 "user_hash": r["user_hash"], "reason": r["reason"], "ward": r["ward"], "done": bool(r["done"]),
                 "transcript": json.loads(r["transcript_json"])} for r in rows]
