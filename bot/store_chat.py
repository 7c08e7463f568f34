"""Chat memory and the hand-off queue in the store (bot/memory.py, bot/conversation.py).

`ChatStore` is the part of the `Store` interface the conversation layer uses, with in-process defaults (a
store without a database, and the fallback while the database refuses writes). `SqliteChatTables` keeps
them in the SQLite file: a chat's memory survives a restart; conversations handed to an officer wait in a
queue the console shows. Everything is redacted before it is written; chats are known by salted hashes.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections import OrderedDict
from typing import Any, Sequence

from bot.redact import redact
from bot.store_stats import utc_iso

LOST_QUESTION_ID = 0  # what log_question returns when the row could not be written (no vote is possible)
MEMORY_CHATS = 50_000  # chat memories kept in the process while the database refuses writes (or without one)
MEMORY_TTL = 24 * 3600.0  # chat memory rows older than this are deleted (the conversation forgets after an hour)


def _write_error(exc: BaseException) -> bool:
    """Disk full, read-only or damaged database, I/O error — not a constraint we rely on."""
    return isinstance(exc, (sqlite3.OperationalError, sqlite3.DatabaseError, OSError)) and not isinstance(
        exc, sqlite3.IntegrityError)


def _redacted_turns(transcript: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    return [{"who": str(t.get("who", "")), "text": redact(str(t.get("text", "")))} for t in transcript]


class ChatStore:
    """Chat memory and hand-offs, kept in the process (the default; SqliteChatTables keeps them on disk)."""

    def load_memory(self, channel: str, chat_hash: str) -> tuple[float, dict[str, Any]] | None:
        """(updated_at, the memory's JSON fields) of a chat, or None. The default keeps memory in the process."""
        return self.__dict__.setdefault("_memory_chats", OrderedDict()).get((channel, chat_hash))

    def save_memory(self, channel: str, chat_hash: str, payload: dict[str, Any]) -> None:
        """Keep a chat's memory (already redacted by the caller); never raises for a full disk."""
        chats = self.__dict__.setdefault("_memory_chats", OrderedDict())
        chats[(channel, chat_hash)] = (time.time(), dict(payload))
        while len(chats) > MEMORY_CHATS:
            chats.popitem(last=False)

    def add_feedback_note(self, question_id: int, user_hash: str, text: str) -> None:
        """What the citizen said was wrong after a 👎 (redacted here); shown with the vote. Never raises."""
        self.__dict__.setdefault("_notes", {})[(question_id, user_hash)] = redact(text)

    def enqueue_handoff(self, channel: str, user_hash: str, reason: str, ward: str | None,
                        transcript: Sequence[dict[str, str]]) -> int:
        """Put a conversation (redacted here) in the queue officers answer; returns its id (0 if lost)."""
        queue = self.__dict__.setdefault("_handoffs", [])
        queue.append({"id": len(queue) + 1, "created_at": utc_iso(time.time()), "channel": channel,
                      "user_hash": user_hash, "reason": reason, "ward": ward, "done": False,
                      "transcript": _redacted_turns(transcript)})
        return len(queue)

    def mark_handoff_done(self, handoff_id: int) -> bool:
        """An officer took the conversation up; False if there is no such hand-off."""
        for h in self.__dict__.get("_handoffs", []):
            if h["id"] == handoff_id:
                h["done"] = True
                return True
        return False

    def list_handoffs(self, done: bool | None = False, limit: int = 50) -> list[dict[str, Any]]:
        """Hand-offs, newest first: id, created_at, channel, user_hash, reason, ward, done, transcript."""
        rows = [h for h in self.__dict__.get("_handoffs", []) if done is None or h["done"] == done]
        return list(reversed(rows))[:limit]



class SqliteChatTables:
    """The SQLite side; mixed into SqliteStore (uses its connection, lock and loss counting)."""

    _memory_pruned_at = 0.0

    def save_memory(self, channel: str, chat_hash: str, payload: dict[str, Any]) -> None:
        now = time.time()
        try:
            with self._lock:
                self._conn.execute(
                    "INSERT INTO chat_memory (channel, chat_hash, updated_at, payload) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (channel, chat_hash) DO UPDATE SET updated_at = excluded.updated_at,"
                    " payload = excluded.payload", (channel, chat_hash, now, json.dumps(payload, ensure_ascii=False)))
                if now - self._memory_pruned_at > 3600:
                    self._memory_pruned_at = now
                    self._conn.execute("DELETE FROM chat_memory WHERE updated_at < ?", (now - MEMORY_TTL,))
        except Exception as exc:
            if not _write_error(exc):
                raise
            self._lost("chat memory", exc)
            super().save_memory(channel, chat_hash, payload)
            return
        self.__dict__.get("_memory_chats", {}).pop((channel, chat_hash), None)

    def enqueue_handoff(self, channel: str, user_hash: str, reason: str, ward: str | None,
                        transcript: Sequence[dict[str, str]]) -> int:
        try:
            cur = self._execute(
                "INSERT INTO handoffs (created_at, channel, user_hash, reason, ward, transcript_json)"
                " VALUES (?, ?, ?, ?, ?, ?)", (time.time(), channel, user_hash, redact(reason), ward,
                                               json.dumps(_redacted_turns(transcript), ensure_ascii=False)))
        except Exception as exc:
            if not _write_error(exc):
                raise
            self._lost("hand-off", exc)
            return LOST_QUESTION_ID
        return int(cur.lastrowid)

    def add_feedback_note(self, question_id: int, user_hash: str, text: str) -> None:
        try:
            self._execute("INSERT OR REPLACE INTO feedback_notes (question_id, user_hash, created_at, text)"
                          " VALUES (?, ?, ?, ?)", (question_id, user_hash, time.time(), redact(text)[:2000]))
        except Exception as exc:
            if not _write_error(exc):
                raise
            self._lost("feedback note", exc)

    def mark_handoff_done(self, handoff_id: int) -> bool:
        return self._execute("UPDATE handoffs SET done = 1 WHERE id = ?", (handoff_id,)).rowcount > 0
