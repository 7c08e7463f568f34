"""What the Zalo Bot and Zalo OA adapters share: errors, replay detection, bounded bodies, backoff, and the
adapter base that hands each message to the conversation layer and sends its replies as text.

Zalo has no inline buttons: the conversation layer writes actions as numbered text (choices) or explains the
words that work ("nguồn", "1" 👍, "2" 👎) in the first reply of the day. Logs carry hashed ids, never text.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Protocol

import httpx
from aiohttp import web

from bot import replies
from bot.conversation import Conversation, Incoming
from bot.deliveries import Deliveries
from bot.flood import ChatLocks
from bot.types import Answer

log = logging.getLogger("bot.zalo")

BOT_CHANNEL = "zalo_bot"
OA_CHANNEL = "zalo_oa"
MAX_CHARS = 2000  # both Zalo APIs: 1–2000 characters per text message
MAX_WEBHOOK_BODY = 64 * 1024  # one Zalo event or a small batch; bigger bodies are refused (413) unread


class AnswersQuestions(Protocol):
    def answer(self, question: str) -> Answer: ...


class ZaloConfigError(RuntimeError):
    """A missing or wrong Zalo setting; the message is Vietnamese, for the operator."""


class ZaloApiError(RuntimeError):
    """The Zalo API refused a call. Carries what Zalo said, never the token."""

    def __init__(self, method: str, status: int, error_code: int | None, description: str) -> None:
        super().__init__(f"{method}: HTTP {status}, error {error_code}: {description}")
        self.method, self.status, self.error_code, self.description = method, status, error_code, description



class RecentIds:
    """Ids seen lately (bounded): Zalo may deliver one message twice; answer it once."""

    def __init__(self, size: int = 100_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def first_time(self, key: str) -> bool:
        if key in self._ids:
            return False
        self._ids[key] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


def content_key(sender: Any, text: Any, timestamp: Any) -> str:
    """Dedup key of a message without an id: what was said, by whom, when (hashed: no text is kept)."""
    raw = json.dumps([str(sender or ""), str(text or ""), str(timestamp or "")], ensure_ascii=False)
    return "h:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


async def read_capped(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is (declared or turns out) longer than `limit`; never reads past it."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    while True:
        chunk = await request.content.read(min(65536, limit + 1 - len(body)))
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > limit:
            return None


def _json_body(resp: httpx.Response) -> Any:
    """The decoded JSON of a Zalo response; {} when the body is not JSON (gateways answer HTML)."""
    try:
        return resp.json()
    except ValueError:
        return {}


def _backoff_delay(base: float, attempt: int, retry_after: float | None = None, cap: float = 30.0) -> float:
    if retry_after and retry_after > 0:
        return min(float(retry_after), cap)
    return min(base * (2 ** attempt), cap) * (0.75 + random.random() / 2)



class ZaloAdapter(ABC):
    """What the Zalo service needs from each API: webhook routes, a start-up call, an optional
    long-running loop (polling), and a clean close that lets replies in flight finish."""

    channel: str

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.deliveries = Deliveries(conversation.store, self.channel)  # answered once across workers
        self._tasks: set[asyncio.Task] = set()
        self._chats = ChatLocks()  # replies of one chat go out in order, all parts of one before the next

    def pseudonym(self, user_id: str) -> str:
        """How logs name a citizen: the store's salted hash, as the conversation layer's log lines do."""
        return self.conversation.store.hash_user(self.channel, user_id)[:8]

    async def reply_texts(self, chat_id: str, user_id: str, text: str | None,
                          send: Callable[[str], Awaitable[Any]]) -> list[str]:
        """The messages to send for one Zalo message (text, or None for an image, sticker, voice…); emergency
        numbers go out through `send` at once, before the answer waits for its turn."""
        async def early(first: list) -> None:
            for reply in first:
                await send(reply.text)

        incoming = Incoming(text) if isinstance(text, str) else Incoming.other()
        return [r.text for r in await self.conversation.handle(chat_id, incoming, user_id, early=early)]

    async def busy_notice(self, key: str, send: Callable[[str], Awaitable[Any]]) -> None:
        """The database is down: tell the citizen once from this worker (with the hotlines); Zalo keeps the
        message, a redelivery is answered once the database is back."""
        if not self.deliveries.first_notice(key):
            return
        try:
            await send(replies.UNAVAILABLE)
        except Exception as exc:  # noqa: BLE001 - Zalo itself may be unreachable too
            log.warning("%s: busy notice not sent (%s)", self.channel, type(exc).__name__)

    def routes(self) -> list[web.RouteDef]:
        return []

    @abstractmethod
    async def start(self) -> None:
        """Check the credentials with Zalo and register the webhook (or clear it for polling)."""

    async def run(self) -> None:
        """Long-running work besides the webhook (polling); returns at once when there is none."""

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for replies still being computed or sent."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def close(self) -> None:
        await self.drain()



def _short(identifier: str) -> str:
    """A short digest of a delivery key for log lines (message ids, content hashes; never a user id)."""
    return hashlib.sha256(identifier.encode("utf-8")).hexdigest()[:8]

