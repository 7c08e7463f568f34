"""Load control shared by the channels: per-user flood limit, one question per chat at a time, and
the cap on answers computed at once.

The flood limit uses the `limits` library (moving window, in memory: one process serves one bot; a
multi-process deployment would swap in its Redis storage here). Answers are CPU-bound, so at most
`max_concurrent_answers` run at once (`AnswerGate`, first come first served, bounded waiting line).
Channels send one question per chat at a time (`ChatLocks`), so a chat that floods holds at most
one place in the line and cannot push other citizens back by more than one turn; a full line is
refused at once (`AssistantBusy`) instead of piling up.
"""
from __future__ import annotations

import asyncio
import threading
from collections import deque
from contextlib import asynccontextmanager, contextmanager
from typing import Any, AsyncIterator, Iterator

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


class ChatLocks:
    """One message at a time per chat, in arrival order (asyncio.Lock is FIFO): answers keep the order of
    the questions, and a chat that floods holds at most one place in the assistant's waiting line."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, chat_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(chat_id, (asyncio.Lock(), 0))
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users <= 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)


DEFAULT_MAX_CONCURRENT_ANSWERS = 2  # CPU-bound work under the GIL: more at once only interleaves them
DEFAULT_MAX_WAITING = 100  # questions waiting for a turn; beyond that a citizen is told to retry
DEFAULT_WAIT_SECONDS = 60.0
BUSY = ("Hiện có nhiều người hỏi cùng lúc nên mình chưa trả lời kịp. Bạn vui lòng gửi lại câu hỏi sau ít phút "
        "nhé.")


class AssistantBusy(RuntimeError):
    """The waiting line is full (or the wait too long): the question was not answered, nothing else broke."""


class AnswerGate:
    """At most `slots` holders at once; waiters are served strictly in arrival order (a ticket line)."""

    def __init__(self, slots: int = DEFAULT_MAX_CONCURRENT_ANSWERS, max_waiting: int = DEFAULT_MAX_WAITING,
                 wait_seconds: float = DEFAULT_WAIT_SECONDS) -> None:
        self.slots = max(1, int(slots))
        self.max_waiting = max(0, int(max_waiting))
        self.wait_seconds = wait_seconds
        self._cond = threading.Condition()
        self._free = self.slots
        self._line: deque[object] = deque()
        self.refused = 0
        self.peak_running = 0

    @property
    def waiting(self) -> int:
        return len(self._line)

    @contextmanager
    def turn(self) -> Iterator[None]:
        ticket = object()
        with self._cond:
            if len(self._line) >= self.max_waiting and not (self._free and not self._line):
                self.refused += 1
                raise AssistantBusy(f"{len(self._line)} questions waiting")
            self._line.append(ticket)
            if not self._cond.wait_for(lambda: self._free > 0 and self._line[0] is ticket, self.wait_seconds):
                self._line.remove(ticket)
                self.refused += 1
                self._cond.notify_all()
                raise AssistantBusy(f"no turn within {self.wait_seconds:.0f} s")
            self._line.popleft()
            self._free -= 1
            self.peak_running = max(self.peak_running, self.slots - self._free)
            self._cond.notify_all()  # the next ticket may have a free slot too
        try:
            yield
        finally:
            with self._cond:
                self._free += 1
                self._cond.notify_all()


def gate_for(settings: Any) -> AnswerGate:
    """The gate sized by the settings (`max_concurrent_answers`, `max_waiting_answers`) or the defaults."""
    return AnswerGate(getattr(settings, "max_concurrent_answers", None) or DEFAULT_MAX_CONCURRENT_ANSWERS,
                      getattr(settings, "max_waiting_answers", None) or DEFAULT_MAX_WAITING)


class GatedAssistant:
    """Any assistant behind an AnswerGate (LiveAssistant has one built in)."""

    def __init__(self, assistant: Any, gate: AnswerGate) -> None:
        self.inner = assistant
        self.gate = gate

    def answer(self, question: str, **kwargs) -> Any:
        with self.gate.turn():
            return self.inner.answer(question, **kwargs)
