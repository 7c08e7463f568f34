"""What a conversation remembers about one chat, kept in the store so a restart does not forget it.

The last procedure (code, title, the fields asked), the last document, the ward the citizen lives in, the
last answer (question id, citation key, the choices offered, the numbered actions shown) and a few redacted
turns for a hand-off to an officer. After a quiet hour the conversational part is forgotten; the day of the
last help footer is kept so Zalo's footer stays once a day. Questions are redacted before they are kept;
the chat id is stored only as the store's salted hash.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Any

from bot.redact import redact
from bot.store import Store

log = logging.getLogger(__name__)

QUIET_SECONDS = 3600.0  # a chat quiet for an hour starts afresh
MAX_TURNS = 10  # turns kept for a hand-off
VN = timezone(timedelta(hours=7))


@dataclass
class ChatMemory:
    procedure_code: str | None = None
    procedure_title: str | None = None
    fields: list[str] = field(default_factory=list)  # procedure fields asked last ("fee", "papers", …)
    document_id: str | None = None
    document_title: str | None = None
    ward: str | None = None  # "phường An Hải", as the citizen said it
    question: str | None = None  # the last question answered (redacted, after follow-up resolution)
    question_id: int = 0
    citations_key: str | None = None
    options: list[dict[str, str]] = field(default_factory=list)  # the last choice: [{"code", "title"}]
    actions: list[str] = field(default_factory=list)  # payloads of the last numbered actions ("1" = actions[0])
    misses: int = 0  # not-found answers in a row
    note_for: int = 0  # a 👎 was just given on this question id: the next remark is what was wrong
    turns: list[dict[str, str]] = field(default_factory=list)  # {"who": "dân"|"bot", "text"} (redacted)
    footer_day: str | None = None  # the last day (Vietnam time) a help footer was shown
    _KEEP = ("footer_day", "ward")  # survive a quiet hour: where the citizen lives does not change overnight

    def add_turn(self, who: str, text: str) -> None:
        self.turns.append({"who": who, "text": redact(text)[:500]})
        del self.turns[:-MAX_TURNS]

    def first_reply_today(self, now: float | None = None) -> bool:
        """True once per day (Vietnam time): the day's first answer carries the help footer."""
        today = datetime.fromtimestamp(now or time.time(), VN).date().isoformat()
        if self.footer_day == today:
            return False
        self.footer_day = today
        return True

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["question"] = redact(data["question"]) if data["question"] else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], quiet: bool) -> "ChatMemory":
        names = {f.name for f in fields(cls)}
        kept = {k: v for k, v in data.items() if k in names and (not quiet or k in cls._KEEP)}
        return cls(**kept)


class Memory:
    """Load and save chat memories of one channel through the store."""

    def __init__(self, store: Store, channel: str, quiet_seconds: float = QUIET_SECONDS) -> None:
        self.store = store
        self.channel = channel
        self.quiet_seconds = quiet_seconds

    def load(self, chat_hash: str, now: float | None = None) -> ChatMemory:
        try:
            found = self.store.load_memory(self.channel, chat_hash)
        except Exception:  # noqa: BLE001 - a damaged database: answer without memory
            log.exception("%s: chat memory not read", self.channel)
            found = None
        if not found:
            return ChatMemory()
        updated_at, data = found
        quiet = (now or time.time()) - updated_at > self.quiet_seconds
        return ChatMemory.from_json(data, quiet)

    def save(self, chat_hash: str, memory: ChatMemory) -> None:
        try:
            self.store.save_memory(self.channel, chat_hash, memory.to_json())
        except Exception:  # noqa: BLE001 - the reply matters more than the memory
            log.exception("%s: chat memory not saved", self.channel)
