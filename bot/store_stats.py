"""Overview counts for officers, computed in SQL over the store's tables (counts only, no person).

Kept apart from `bot.store` so the store module stays about writing and reading single records. The SQL runs on
SQLite and on PostgreSQL (state/): the few spots that differ (a Vietnam-time day, counting a condition) come from
`day_sql` and `count_if`; a query function's store says which dialect it speaks (`dialect_of`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

VN_UTC_OFFSET_HOURS = 7  # officers count days in Vietnam time

Query = Callable[[str, Sequence[Any]], list]


def dialect_of(query: Query) -> str:
    """'postgresql' for `SqlStore.read_only_query`, 'sqlite' for SqliteStore's (and plain functions)."""
    return getattr(getattr(query, "__self__", None), "sql_dialect", "sqlite")


def day_sql(column: str, dialect: str = "sqlite") -> str:
    """The Vietnam-time day ('YYYY-MM-DD') of a unix-seconds column."""
    if dialect == "postgresql":
        return (f"to_char(to_timestamp({column}) AT TIME ZONE 'UTC' + interval '{VN_UTC_OFFSET_HOURS} hours',"
                " 'YYYY-MM-DD')")
    return f"date({column}, 'unixepoch', '+{VN_UTC_OFFSET_HOURS} hours')"


def count_if(condition: str) -> str:
    """How many rows meet a condition (PostgreSQL cannot SUM a boolean); 0 over no rows."""
    return f"COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0)"


@dataclass
class Stats:
    """Counts only — no question is linked to a person here."""

    since: str | None
    total: int
    not_found: int
    not_found_rate: float
    p95_reply_ms: float | None
    per_day: list[dict[str, Any]] = field(default_factory=list)  # {day, channel, count}
    most_asked: list[dict[str, Any]] = field(default_factory=list)  # {question, count}
    most_not_found: list[dict[str, Any]] = field(default_factory=list)  # {question, count}
    votes: dict[str, int] = field(default_factory=dict)  # {"up": n, "down": n, "unreviewed_down": n}
    lost_writes: int = 0  # log lines lost (disk full, read-only file), all processes: officers must look

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def utc_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")


def since_ts(since: datetime | float | None) -> float:
    if since is None:
        return 0.0
    if isinstance(since, datetime):
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        return since.timestamp()
    return float(since)


def sqlite_stats(query: Query, since: datetime | float | None = None, top: int = 10, unrecorded_losses: int = 0,
                 dialect: str | None = None) -> Stats:
    """The overview since a time (default: everything); `query(sql, params)` returns rows."""
    ts = since_ts(since)
    dialect = dialect or dialect_of(query)
    missed = count_if("found = 0 AND kind IN ('answer', 'not_found')")
    total, not_found = query(f"SELECT COUNT(*), {missed} FROM questions WHERE created_at >= ?", (ts,))[0]
    per_day = [dict(r) for r in query(
        f"SELECT {day_sql('created_at', dialect)} AS day, channel, COUNT(*) AS count FROM questions"
        " WHERE created_at >= ? GROUP BY day, channel ORDER BY day, channel", (ts,))]
    p95 = None
    n_ms = query("SELECT COUNT(*) FROM questions WHERE created_at >= ? AND reply_ms IS NOT NULL", (ts,))[0][0]
    if n_ms:
        rank = max(0, -(-95 * n_ms // 100) - 1)  # nearest-rank percentile
        p95 = query("SELECT reply_ms FROM questions WHERE created_at >= ? AND reply_ms IS NOT NULL"
                    " ORDER BY reply_ms LIMIT 1 OFFSET ?", (ts, rank))[0][0]
    top_sql = ("SELECT MIN(question) AS question, COUNT(*) AS count FROM questions WHERE created_at >= ? {extra}"
               " GROUP BY question_norm ORDER BY count DESC, question LIMIT ?")
    most_asked = [dict(r) for r in query(top_sql.format(extra="AND kind IN ('answer', 'not_found')"), (ts, top))]
    most_nf = [dict(r) for r in query(
        top_sql.format(extra="AND found = 0 AND kind IN ('answer', 'not_found')"), (ts, top))]
    up, down, open_down = query(
        f"SELECT {count_if('vote = 1')}, {count_if('vote = -1')}, {count_if('vote = -1 AND reviewed = 0')}"
        " FROM feedback WHERE created_at >= ?", (ts,))[0]
    # Not-found rate over real questions only: greetings and refusals are not misses.
    asked = sum(r["count"] for r in query(
        "SELECT COUNT(*) AS count FROM questions WHERE created_at >= ? AND kind IN ('answer', 'not_found')",
        (ts,)))
    return Stats(since=utc_iso(ts) if ts else None, total=total, not_found=not_found,
                 not_found_rate=round(not_found / asked, 4) if asked else 0.0, p95_reply_ms=p95,
                 per_day=per_day, most_asked=most_asked, most_not_found=most_nf,
                 votes={"up": up, "down": down, "unreviewed_down": open_down},
                 lost_writes=query("SELECT COALESCE(SUM(count), 0) FROM lost_writes WHERE created_at >= ?",
                                   (ts,))[0][0] + unrecorded_losses)
