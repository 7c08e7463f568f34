"""Chat memory, feedback notes and the hand-off queue in PostgreSQL (the SQLite twin is bot/store_chat.py).

Any worker may receive a chat's next message, so the memory lives in the database, not in the process. While
the database refuses writes the process keeps what it could not write (ChatStore's in-memory defaults), so a
conversation on the same worker still follows; the loss is counted like every other lost write.
"""
from __future__ import annotations

import json
import time
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bot.redact import redact
from bot.store_chat import LOST_QUESTION_ID, MEMORY_TTL, _redacted_turns
from state import schema as t
from state.engine import is_down


class SqlChatTables:
    """Mixed into SqlStore (uses its engine, `_query`, `_write` and `_lost`)."""

    _memory_pruned_at = 0.0

    def save_memory(self, channel: str, chat_hash: str, payload: dict[str, Any]) -> None:
        now = time.time()
        stmt = pg_insert(t.chat_memory).values(channel=channel, chat_hash=chat_hash, updated_at=now,
                                               payload=json.dumps(payload, ensure_ascii=False))
        stmt = stmt.on_conflict_do_update(index_elements=["channel", "chat_hash"],
                                          set_={"updated_at": stmt.excluded.updated_at,
                                                "payload": stmt.excluded.payload})
        try:
            with self.engine.begin() as conn:
                conn.execute(stmt)
                if now - self._memory_pruned_at > 3600:
                    self._memory_pruned_at = now
                    conn.execute(sa.delete(t.chat_memory).where(t.chat_memory.c.updated_at < now - MEMORY_TTL))
        except Exception as exc:
            if not is_down(exc):
                raise
            self._lost("chat memory", exc)
            super().save_memory(channel, chat_hash, payload)
            return
        self.__dict__.get("_memory_chats", {}).pop((channel, chat_hash), None)

    def add_feedback_note(self, question_id: int, user_hash: str, text: str) -> None:
        stmt = pg_insert(t.feedback_notes).values(question_id=question_id, user_hash=user_hash,
                                                  created_at=time.time(), text=redact(text)[:2000])
        stmt = stmt.on_conflict_do_update(index_elements=["question_id", "user_hash"],
                                          set_={"created_at": stmt.excluded.created_at, "text": stmt.excluded.text})
        try:
            self._write(stmt)
        except Exception as exc:
            if not is_down(exc):
                raise
            self._lost("feedback note", exc)

    def enqueue_handoff(self, channel: str, user_hash: str, reason: str, ward: str | None,
                        transcript: Sequence[dict[str, str]]) -> int:
        try:
            return int(self._write(sa.insert(t.handoffs).values(
                created_at=time.time(), channel=channel, user_hash=user_hash, reason=redact(reason), ward=ward,
                transcript_json=json.dumps(_redacted_turns(transcript), ensure_ascii=False),
            ).returning(t.handoffs.c.id)).scalar_one())
        except Exception as exc:
            if not is_down(exc):
                raise
            self._lost("hand-off", exc)
            return LOST_QUESTION_ID

    def mark_handoff_done(self, handoff_id: int) -> bool:
        return self._write(sa.update(t.handoffs).where(t.handoffs.c.id == handoff_id).values(done=1)).rowcount > 0
