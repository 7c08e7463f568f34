"""Counting login attempts: slowed after a few, locked after many, per account name and per client address.

One small interface (`take`, `clear`), two implementations, the same moving windows:

- `MemoryAttempts` — one console process (the default): the `limits` library's moving windows, in memory;
- `state.console.DbAttempts` — `CCHC_DATABASE_URL` set, N console processes behind one proxy: `limits` has no
  PostgreSQL storage, so a small `login_attempts` table is counted with the same windows, and a guesser who
  spreads attempts over the workers is slowed and locked as if there were one.

`take` counts the attempt before the password is looked at and refuses it when a window is full. Every attempt
counts toward the lock, even one refused as too fast; only attempts let through count toward the slow-down.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol, Sequence

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

Keys = Sequence[tuple[str, str]]  # (scope, key): ("login-address", "10.0.0.7"), ("login-name", "lan.nguyen")


@dataclass(frozen=True)
class Windows:
    slow_after: int  # attempts within slow_seconds before each further one must wait
    slow_seconds: int
    lock_after: int  # attempts within lock_seconds before the name or address is locked
    lock_seconds: int


@dataclass(frozen=True)
class Refusal:
    kind: str  # "locked" or "slowed"
    scope: str  # which key's window is full
    seconds: float  # until that window lets an attempt through again (at least 1)


class Attempts(Protocol):
    def take(self, keys: Keys) -> Refusal | None:
        """Count one attempt for every key; a Refusal when a window is full (the password is not checked)."""

    def clear(self, keys: Keys) -> None:
        """Forget the keys' attempts (a successful login; an admin reset the name's password)."""


class MemoryAttempts:
    """Moving windows of the `limits` library in this process's memory (a single console process)."""

    def __init__(self, windows: Windows) -> None:
        self.windows = windows
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._slow: RateLimitItem = parse(f"{windows.slow_after}/{windows.slow_seconds} seconds")
        self._lock: RateLimitItem = parse(f"{windows.lock_after}/{windows.lock_seconds} seconds")

    def _left(self, item: RateLimitItem, scope: str, key: str) -> float:
        return max(1.0, self._limiter.get_window_stats(item, scope, key).reset_time - time.time())

    def take(self, keys: Keys) -> Refusal | None:
        for scope, key in keys:  # locked: refused before anything is counted
            if not self._limiter.test(self._lock, scope, key):
                return Refusal("locked", scope, self._left(self._lock, scope, key))
        for scope, key in keys:  # each hit takes a slot atomically: parallel guesses cannot all pass
            if not self._limiter.hit(self._lock, scope, key):
                return Refusal("locked", scope, self._left(self._lock, scope, key))
        for scope, key in keys:
            if not self._limiter.hit(self._slow, scope, key):
                return Refusal("slowed", scope, self._left(self._slow, scope, key))
        return None

    def clear(self, keys: Keys) -> None:
        for scope, key in keys:
            for item in (self._slow, self._lock):
                self._limiter.clear(item, scope, key)
