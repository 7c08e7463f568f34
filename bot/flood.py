"""Per-user flood limit shared by the channels (the `limits` library, moving window, in memory).

One process serves one bot, so memory storage is enough; a multi-process deployment would swap in
the library's Redis storage here.
"""
from __future__ import annotations

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

DEFAULT_FLOOD_LIMIT = "5/15 seconds;40/hour"  # per user: a person typing questions stays well below
FLOOD_WARNING_LIMIT = "1/30 seconds"  # tell a flooding user once, then stay quiet for a while


class FloodGuard:
    def __init__(self, limit: str = DEFAULT_FLOOD_LIMIT, warn_limit: str = FLOOD_WARNING_LIMIT) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._items: list[RateLimitItem] = parse_many(limit)
        self._warn: list[RateLimitItem] = parse_many(warn_limit)

    def allow(self, user: str) -> bool:
        """Count one message; False when the user is over any limit (then it is not counted)."""
        if not all(self._limiter.test(item, "msg", user) for item in self._items):
            return False
        return all([self._limiter.hit(item, "msg", user) for item in self._items])

    def should_warn(self, user: str) -> bool:
        return all([self._limiter.hit(item, "warn", user) for item in self._warn])
