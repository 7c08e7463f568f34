"""The question log as officers read it: filtered pages of logged questions, one question, daily series.

Read-only SQL over the store's `questions` and `feedback` tables (the channels write them through
`Store.log_question` and `Store.record_vote`). Kept apart from `bot.store`, which is about writing.
Days are counted in Vietnam time, as on the overview. The SQL runs on SQLite and PostgreSQL (state/); the query
function's store names the dialect (`dialect_of`).
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Sequence

from bot.store_stats import count_if, day_sql, dialect_of, since_ts, utc_iso

Query = Callable[[str, Sequence[Any]], list]
DAY = day_sql("q.created_at")  # SQLite's; day_sql(..., "postgresql") for the server database
ASKED = "q.kind IN ('answer', 'not_found')"  # real questions: greetings and refusals are not misses
NOT_FOUND = f"(q.found = 0 AND {ASKED})"
_COLUMNS = ("SELECT q.id, q.created_at, q.channel, q.question, q.answer_text, q.found, q.kind, q.citations_json,"
            " q.reply_ms, q.ward,"
            " (SELECT COUNT(*) FROM feedback f WHERE f.question_id = q.id AND f.vote = 1) AS up,"
            " (SELECT COUNT(*) FROM feedback f WHERE f.question_id = q.id AND f.vote = -1) AS down"
            " FROM questions q")


@dataclass
class LoggedQuestion:
    """One question as stored (already redacted), with the votes it got."""

    id: int
    created_at: str  # ISO 8601, UTC
    channel: str
    question: str
    answer_text: str
    found: bool
    kind: str
    citations: list[dict[str, Any]]
    reply_ms: float | None
    ward: str | None
    up: int
    down: int
    notes: list[str] = field(default_factory=list)  # what citizens said after a 👎 (redacted)

    @property
    def not_found(self) -> bool:
        return not self.found and self.kind in ("answer", "not_found")


@dataclass
class QuestionFilter:
    """What the officer picked on the log page; empty fields do not filter."""

    not_found: bool = False
    down: bool = False
    channel: str = ""
    ward: str = ""
    day_from: date | None = None
    day_to: date | None = None
    search: str = ""

    def where(self, dialect: str = "sqlite") -> tuple[str, list[Any]]:
        day = day_sql("q.created_at", dialect)
        parts: list[str] = []
        params: list[Any] = []
        if self.not_found:
            parts.append(NOT_FOUND)
        if self.down:
            parts.append("EXISTS (SELECT 1 FROM feedback f WHERE f.question_id = q.id AND f.vote = -1)")
        if self.channel:
            parts.append("q.channel = ?")
            params.append(self.channel)
        if self.ward:
            parts.append("q.ward = ?")
            params.append(self.ward)
        if self.day_from:
            parts.append(f"{day} >= ?")
            params.append(self.day_from.isoformat())
        if self.day_to:
            parts.append(f"{day} <= ?")
            params.append(self.day_to.isoformat())
        if self.search.strip():
            # question_norm is the question in lower case (Python's, so Vietnamese capitals too)
            pattern = "%" + self.search.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            parts.append("(q.question_norm LIKE ? ESCAPE '\\' OR lower(q.answer_text) LIKE ? ESCAPE '\\')")
            params += [pattern, pattern]
        return (" WHERE " + " AND ".join(parts) if parts else ""), params


def _row(r: Any) -> LoggedQuestion:
    return LoggedQuestion(id=r["id"], created_at=utc_iso(r["created_at"]), channel=r["channel"], question=r["question"],
                          answer_text=r["answer_text"], found=bool(r["found"]), kind=r["kind"],
                          citations=json.loads(r["citations_json"] or "[]"), reply_ms=r["reply_ms"], ward=r["ward"],
                          up=r["up"], down=r["down"])


def list_questions(query: Query, flt: QuestionFilter, offset: int = 0, limit: int = 50
                   ) -> tuple[list[LoggedQuestion], int]:
    """One page of the log, newest first, and how many questions match in all."""
    where, params = flt.where(dialect_of(query))
    total = query(f"SELECT COUNT(*) FROM questions q{where}", params)[0][0]
    rows = query(f"{_COLUMNS}{where} ORDER BY q.created_at DESC, q.id DESC LIMIT ? OFFSET ?",
                 (*params, limit, offset))
    return [_row(r) for r in rows], total


def get_question(query: Query, question_id: int) -> LoggedQuestion | None:
    rows = query(f"{_COLUMNS} WHERE q.id = ?", (question_id,))
    if not rows:
        return None
    item = _row(rows[0])
    item.notes = [r["text"] for r in query(
        "SELECT text FROM feedback_notes WHERE question_id = ? ORDER BY created_at", (question_id,))]
    return item


def known_values(query: Query) -> tuple[list[str], list[str]]:
    """The channels and wards that occur in the log (for the filter lists)."""
    channels = [r[0] for r in query("SELECT DISTINCT channel FROM questions ORDER BY channel", ())]
    wards = [r[0] for r in query("SELECT DISTINCT ward FROM questions WHERE ward IS NOT NULL AND ward != ''"
                                 " ORDER BY ward", ())]
    return channels, wards


def not_found_texts(query: Query, since: Any = None, limit: int = 5000) -> list[tuple[int, str]]:
    """(id, question) of the most recent unanswered questions, for grouping."""
    return [(r[0], r[1]) for r in query(
        f"SELECT q.id, q.question FROM questions q WHERE {NOT_FOUND} AND q.created_at >= ?"
        " ORDER BY q.created_at DESC LIMIT ?", (since_ts(since), limit))]


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (the overview's p95 uses the same rule)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, -(-int(p) * len(ordered) // 100) - 1)  # ceil(p% of n) - 1
    return ordered[min(rank, len(ordered) - 1)]


@dataclass
class Daily:
    """Per-day series for the dashboard charts (days without questions are absent)."""

    days: list[str]
    per_channel: dict[str, dict[str, int]]  # day -> channel -> count
    asked: dict[str, int]
    not_found: dict[str, int]
    p50: dict[str, float | None]
    p95: dict[str, float | None]
    up: dict[str, int]
    down: dict[str, int]
    p50_all: float | None
    p95_all: float | None


def daily(query: Query, since: Any = None) -> Daily:
    ts = since_ts(since)
    dialect = dialect_of(query)
    day = day_sql("q.created_at", dialect)
    per_channel: dict[str, dict[str, int]] = defaultdict(dict)
    asked: Counter = Counter()
    missing: Counter = Counter()
    for r in query(f"SELECT {day} AS day, q.channel, COUNT(*) AS n, {count_if(ASKED)} AS asked,"
                   f" {count_if(NOT_FOUND)} AS nf FROM questions q WHERE q.created_at >= ?"
                   " GROUP BY day, q.channel", (ts,)):
        per_channel[r["day"]][r["channel"]] = r["n"]
        asked[r["day"]] += r["asked"]
        missing[r["day"]] += r["nf"]
    times: dict[str, list[float]] = defaultdict(list)
    for r in query(f"SELECT {day} AS day, q.reply_ms FROM questions q WHERE q.created_at >= ?"
                   " AND q.reply_ms IS NOT NULL", (ts,)):
        times[r["day"]].append(r["reply_ms"])
    up: Counter = Counter()
    down: Counter = Counter()
    for r in query(f"SELECT {day_sql('f.created_at', dialect)} AS day,"
                   f" {count_if('f.vote = 1')} AS up, {count_if('f.vote = -1')} AS down"
                   " FROM feedback f WHERE f.created_at >= ? GROUP BY day", (ts,)):
        up[r["day"]], down[r["day"]] = r["up"], r["down"]
    days = sorted(set(per_channel) | set(up) | set(down))
    every = [ms for values in times.values() for ms in values]
    return Daily(days=days, per_channel=dict(per_channel), asked=dict(asked), not_found=dict(missing),
                 p50={d: percentile(times.get(d, []), 50) for d in days},
                 p95={d: percentile(times.get(d, []), 95) for d in days},
                 up=dict(up), down=dict(down), p50_all=percentile(every, 50), p95_all=percentile(every, 95))
