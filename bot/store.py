"""What the channels remember: questions asked, citation payloads behind buttons, citizens' votes.

Officers read it for an overview (questions per day, not-found rate, reply times) and to review
answers citizens marked 👎. Channels talk to the `Store` interface only, so a server database can
replace the SQLite file later. Nothing a citizen typed is written in clear: questions and answers
go through `bot.redact.redact`, user ids are salted SHA-256 hashes; the files are private (0600).

Logging never costs a citizen the answer: when a write fails (disk full, read-only or damaged
file) the answer is still sent, the loss is counted in `lost_writes` (shown to officers) and a
warning is logged. Citation payloads that could not be written are kept in memory (bounded), so
"Xem nguồn" still works for the answer just sent.

The SQLite implementation is in `bot.store_sqlite`, the PostgreSQL one in `state.store`.
"""
from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime
from typing import Any, Iterable, Sequence

from bot.store_chat import LOST_QUESTION_ID, ChatStore, SqliteChatTables, _write_error  # noqa: F401
from bot.store_stats import VN_UTC_OFFSET_HOURS, Stats, sqlite_stats, utc_iso  # noqa: F401 - re-exported
from state.errors import DatabaseSetupError  # noqa: F401 - re-exported (defined where index/ can reach it)

KEY_CHARS = 12  # citation keys: 12 url-safe characters, so "src:<key>" fits Telegram's 64-byte callback data
DELIVERY_TTL = 7 * 24 * 3600.0  # update ids remembered a week: Telegram and Zalo retry for hours, not days
MEMORY_CITATIONS = 2000  # citation payloads kept in memory while the database refuses writes


class UnknownQuestion(LookupError):
    """A vote for a question id the store has never logged (stale or forged button)."""


class StoreWriteFailed(RuntimeError):
    """A write the citizen asked for (a vote) could not be stored; counted in `lost_writes`."""


class StoreUnavailable(RuntimeError):
    """The shared database cannot be reached: nothing was recorded, so a webhook must not acknowledge."""


# What `Store.claim_delivery` says about a webhook delivery.
DELIVERY_NEW = "new"  # this worker answers it, then calls finish_delivery
DELIVERY_DONE = "done"  # answered already: acknowledge, do nothing
DELIVERY_BUSY = "busy"  # another worker is answering it right now: do not acknowledge, the provider retries


@dataclass
class Feedback:
    """One vote, with the question, answer and citations it was about (for officers' review)."""

    id: int
    question_id: int
    channel: str
    user_hash: str
    vote: int
    created_at: str  # ISO 8601, UTC
    reviewed: bool
    question: str
    answer_text: str
    found: bool
    citations: list[dict[str, Any]]
    note: str = ""  # what the citizen said was wrong, after a 👎 (redacted)


def citation_payload(citations: Iterable[Any]) -> list[dict[str, Any]]:
    """Plain dicts (n, title, section, date, source, text, doc_id, label) from Citation objects or dicts.

    Citations are excerpts of published documents, never citizen input, so they are stored as is.
    """
    out: list[dict[str, Any]] = []
    for c in citations:
        if isinstance(c, dict):
            d = dict(c)
        elif is_dataclass(c):
            d = asdict(c)
            if hasattr(c, "label"):
                d["label"] = c.label()
        else:
            raise TypeError(f"not a citation: {c!r}")
        out.append({k: d.get(k) for k in ("n", "doc_id", "title", "section", "date", "source", "text", "label")})
    return out


def _citations_json(citations: str | Sequence[Any] | None) -> str:
    if citations is None:
        return "[]"
    if isinstance(citations, str):
        return citations
    return json.dumps(citation_payload(citations), ensure_ascii=False)


def _normalise(question: str) -> str:
    """Grouping key for 'most asked': lower case, single spaces, no trailing punctuation."""
    return re.sub(r"\s+", " ", question.strip().lower()).rstrip(" ?.!…")


class Store(ChatStore, ABC):
    """The interface channels use. Implementations must be safe to call from several threads."""

    @abstractmethod
    def hash_user(self, channel: str, user_id: str | int) -> str:
        """A stable pseudonym for a channel user (salted hash; the raw id is never stored)."""

    @abstractmethod
    def log_question(self, channel: str, user_hash: str, question: str, answer_text: str, found: bool,
                     citations_json: str | Sequence[Any] | None, reply_ms: float, kind: str = "answer",
                     ward: str | None = None) -> int:
        """Record one answered question (redacted), with the citizen's ward if known; returns its id."""

    @abstractmethod
    def save_citations(self, citations: str | Sequence[Any], question_id: int | None = None) -> str:
        """Keep a citation payload server-side; returns a short key (≤ 12 characters) for callback data."""

    @abstractmethod
    def get_citations(self, key: str) -> list[dict[str, Any]] | None:
        """The payload saved under `key`, or None if unknown."""

    @abstractmethod
    def record_vote(self, question_id: int, channel: str, user_hash: str, vote: int) -> int:
        """Store (or change) a user's 👍 (+1) / 👎 (-1) on a logged answer; returns the feedback id.

        Raises UnknownQuestion for an id that was never logged, ValueError for another vote value."""

    @abstractmethod
    def list_feedback(self, vote: int | None = -1, reviewed: bool | None = None, limit: int = 50) -> list[Feedback]:
        """Votes with their question, answer and citations, newest first."""

    @abstractmethod
    def mark_reviewed(self, feedback_id: int) -> bool:
        """Mark a vote as reviewed by an officer; False if there is no such vote."""

    @abstractmethod
    def stats(self, since: datetime | float | None = None) -> Stats:
        """Overview counts since a time (default: everything)."""

    lost_writes: int = 0  # writes that failed since start (the answers were still sent)

    def first_delivery(self, channel: str, key: str) -> bool:
        """True the first time an update/message key is seen on a channel (replays answer once).

        The default remembers in memory only; SqliteStore keeps the keys across restarts."""
        seen = self.__dict__.setdefault("_seen_memory", OrderedDict())
        if (channel, key) in seen:
            return False
        seen[(channel, key)] = None
        while len(seen) > 100_000:
            seen.popitem(last=False)
        return True

    leased_claims = False  # True when claims are leases shared by workers (SqlStore), not "seen once" marks

    def claim_delivery(self, channel: str, key: str) -> str:
        """DELIVERY_NEW, _DONE or _BUSY for a delivery key (see there). Raises StoreUnavailable when nothing can
        be recorded. The default is `first_delivery`: seen once is done at once (one process, one file)."""
        return DELIVERY_NEW if self.first_delivery(channel, key) else DELIVERY_DONE

    def finish_delivery(self, channel: str, key: str) -> None:
        """The replies to a claimed delivery went out: a redelivery is now acknowledged and dropped."""

    def release_delivery(self, channel: str, key: str) -> bool:
        """Give a claim back (its replies could not be sent); True when a redelivery will be answered."""
        return False

    def close(self) -> None:  # pragma: no cover - trivial default
        """Release resources."""


def open_store(settings: Any) -> Store:
    """PostgreSQL shared by all workers when CCHC_DATABASE_URL is set (state/), else SQLite in the data dir."""
    url = getattr(settings, "database_url", None)
    if url is not None and (url.get_secret_value() if hasattr(url, "get_secret_value") else str(url)).strip():
        from state.store import SqlStore

        return SqlStore.for_settings(settings)
    from bot.store_sqlite import SqliteStore

    return SqliteStore.for_settings(settings)


_SQLITE_NAMES = ("SqliteStore", "STORE_FILE", "SALT_FILE", "_load_salt", "_private_file")


def __getattr__(name: str) -> Any:
    """`from bot.store import SqliteStore` keeps working; loaded lazily since bot.store_sqlite imports this module."""
    if name in _SQLITE_NAMES:
        import bot.store_sqlite

        return getattr(bot.store_sqlite, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
