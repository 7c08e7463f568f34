"""Zalo channels: the one assistant behind the Zalo Bot platform and a Zalo Official Account (OA v3).

Both adapters share one text dialogue (`Conversation`): Zalo has no inline buttons, so after each
answer the citizen is told to reply "nguồn" for the full sources and "1"/"2" (👍/👎) to rate it;
the last answer of each chat is remembered server-side (its question id and a citation key in the
store). Everything written goes through the `Store` (redacted); logs carry hashed ids, never text.

HTTP is a thin httpx client (the public Zalo SDKs are young forks); webhooks are served by aiohttp
on CCHC_WEBHOOK_HOST:CCHC_WEBHOOK_PORT behind the operator's TLS proxy:
- Zalo Bot: `POST {base}{token}/{method}`, base = ZALO_BOT_API_BASE_URL ending in "/bot" (added when
  missing, like Telegram's `…/bot<token>`; a base containing "{token}" is used as a template).
  Polling (getUpdates, one update per call, HTTP 408 = nothing new) unless ZALO_BOT_WEBHOOK_URL is set;
  then setWebhook, and updates arrive at that URL's path with X-Bot-Api-Secret-Token.
- Zalo OA: events at ZALO_OA_WEBHOOK_PATH signed with X-ZEvent-Signature (see `oa_event_mac`), replies
  via /v3.0/oa/message/cs with the access token kept fresh by `bot.zalo_oa_auth`.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import re
import signal
import time
import unicodedata
from abc import ABC, abstractmethod
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Iterable, Protocol, Sequence
from urllib.parse import urlparse

import httpx
from aiohttp import web

from bot import replies
from bot.flood import BUSY, DEFAULT_FLOOD_LIMIT, AssistantBusy, FloodGuard
from bot.store import Store, StoreWriteFailed
from bot.types import Answer
from bot.zalo_oa_auth import TOKEN_FILE, OAAuthError, OATokenManager, TokenFile

log = logging.getLogger(__name__)

BOT_CHANNEL = "zalo_bot"
OA_CHANNEL = "zalo_oa"
MAX_CHARS = 2000  # both Zalo APIs: 1–2000 characters per text message
BOT_SECRET_HEADER = "X-Bot-Api-Secret-Token"
OA_SIGNATURE_HEADER = "X-ZEvent-Signature"
OA_TIMESTAMP_HEADER = "X-ZEvent-Timestamp"
OA_SEND_PATH = "/v3.0/oa/message/cs"
TEXT_EVENT = "message.text.received"
OA_TOKEN_INVALID = (-216, -220)  # access token invalid / expired → refresh once and retry
OA_RATE_LIMITED = -32
OA_USER_INACTIVE = -230  # the citizen has not interacted with the OA for 7 days: Zalo refuses, do not retry
MAX_WEBHOOK_BODY = 64 * 1024  # one Zalo event or a small batch; bigger bodies are refused (413) unread
MAX_UPDATES_PER_POST = 20  # a Bot webhook POST carrying more updates: the rest are dropped with a log line
OA_EVENT_WINDOW_S = 300.0  # a signed OA event older (or newer) than this is a replay: ignored
_RAW_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*"?(\d{1,20})"?')

# -- Vietnamese texts ---------------------------------------------------------------------------
FOOTER = ("Nhắn “nguồn” để xem trích dẫn đầy đủ. Câu trả lời có giúp được bạn không? "
          "Nhắn “1” nếu có 👍, “2” nếu chưa 👎.")
FOOTER_NOT_FOUND = "Nếu bạn thấy câu trả lời này chưa ổn, hãy nhắn “2” 👎 để cán bộ xem lại."
SOURCES_HEAD = "Nguồn của câu trả lời gần nhất:"
NO_SOURCES = "Câu trả lời gần nhất không có nguồn trích dẫn. Bạn hãy đặt câu hỏi, rồi nhắn “nguồn” để xem nguồn nhé."
NO_VOTE_TARGET = "Chưa có câu trả lời nào để đánh giá. Bạn hãy đặt câu hỏi trước, rồi nhắn “1” (👍) hoặc “2” (👎)."
THANKS_UP = "Cảm ơn bạn đã đánh giá 👍! Bạn cứ hỏi tiếp nhé."
THANKS_DOWN = "Cảm ơn bạn đã cho biết 👎. Cán bộ sẽ xem lại câu trả lời này. " + replies.HOTLINES
VOTE_NOT_SAVED = "Xin lỗi, lúc này mình chưa ghi được đánh giá của bạn. Bạn thử lại sau ít phút nhé."
FLOOD = "Bạn gửi nhanh quá, mình chưa kịp trả lời. Bạn vui lòng đợi một chút rồi gửi lại câu hỏi nhé."
NO_TEXT = replies.NO_TEXT  # images, stickers, voice…: "mình chỉ đọc được câu hỏi bằng chữ"


class AnswersQuestions(Protocol):
    def answer(self, question: str) -> Answer: ...


class ZaloConfigError(RuntimeError):
    """A missing or wrong Zalo setting; the message is Vietnamese, for the operator."""


class ZaloApiError(RuntimeError):
    """The Zalo API refused a call. Carries what Zalo said, never the token."""

    def __init__(self, method: str, status: int, error_code: int | None, description: str) -> None:
        super().__init__(f"{method}: HTTP {status}, error {error_code}: {description}")
        self.method, self.status, self.error_code, self.description = method, status, error_code, description


# -- text splitting -----------------------------------------------------------------------------
# A sentence ends at . ! ? … (plus closing quotes and any " [n]" citation markers after it) before
# whitespace, or at a line break. "1800.1096" and "26.01" do not end sentences: no space follows.
_SENTENCE_END = re.compile(r"\n|[.!?…][\"'”’»)\]]*(?:\s?\[\d+\])*(?=\s)")


def split_message(text: str, limit: int = MAX_CHARS) -> list[str]:
    """NFC text cut into parts of at most `limit` characters, on sentence (or line) boundaries.

    Falls back to a word boundary, then a hard cut, only for a sentence longer than a third of
    the limit. Empty text gives no parts (Zalo refuses empty messages).
    """
    text = unicodedata.normalize("NFC", text or "").strip()
    parts: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = 0
        for m in _SENTENCE_END.finditer(window):
            if m.end() <= limit:
                cut = m.end()
        if cut < limit // 3:
            space = window.rfind(" ", 0, limit + 1)
            cut = space if space >= limit // 3 else limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return [p for p in parts if p]


_SOURCE_FILE = re.compile(r"\S+\.(?:txt|md|pdf|docx?)", re.IGNORECASE)


def format_sources(citations: Sequence[dict[str, Any]]) -> str:
    """The full citations as plain text: label, the quoted passage, and where it comes from."""
    blocks = [SOURCES_HEAD]
    for c in citations:
        label = c.get("label") or f"[{c.get('n')}] {c.get('title') or ''}".strip()
        block = [label]
        passage = re.sub(r"[ \t]+\n", "\n", (c.get("text") or "").strip())
        if passage:
            block.append(f"“{passage}”")
        source = (c.get("source") or "").strip()
        if source and not _SOURCE_FILE.fullmatch(source):  # a seed file name means nothing to a citizen
            block.append(f"Nguồn gốc: {source}")
        blocks.append("\n".join(block))
    return "\n\n".join(blocks)


# -- the shared text dialogue -------------------------------------------------------------------


@dataclass
class LastAnswer:
    question_id: int
    citations_key: str | None


def _command(text: str) -> str | None:
    """'sources', 'up' or 'down' when the message is one of the text commands, else None."""
    t = unicodedata.normalize("NFC", text).strip().lower().strip(" .!?\"'“”")
    t = re.sub(r"[\U0001F3FB-\U0001F3FF\uFE0F]", "", t)  # skin tones, emoji presentation selector
    folded = unicodedata.normalize("NFD", t.replace("đ", "d"))
    folded = "".join(ch for ch in folded if unicodedata.category(ch) != "Mn")
    if folded in {"nguon", "xem nguon", "/nguon", "nguon trich dan", "trich dan", "/sources", "sources"}:
        return "sources"
    if t in {"1", "👍"}:
        return "up"
    if t in {"2", "👎"}:
        return "down"
    return None


class Conversation:
    """Text in, replies out, for one channel: answers, 'nguồn', '1'/'2', flood limit, logging.

    The assistant is CPU-bound and synchronous: it runs in a small thread pool shared by the
    channels, so the event loop keeps accepting webhooks while answers are computed.
    """

    def __init__(self, assistant: AnswersQuestions, store: Store, channel: str, *,
                 executor: ThreadPoolExecutor | None = None, flood_limit: str | None = DEFAULT_FLOOD_LIMIT,
                 max_chats: int = 50_000) -> None:
        self.assistant = assistant
        self.store = store
        self.channel = channel
        self._executor = executor
        self.flood = FloodGuard(flood_limit) if flood_limit else None
        self._last: OrderedDict[str, LastAnswer] = OrderedDict()
        self._max_chats = max_chats
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    @asynccontextmanager
    async def chat_lock(self, chat_id: str) -> AsyncIterator[None]:
        """One message at a time per chat, so "nguồn" right after a question refers to its answer."""
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

    def _remember(self, chat_id: str, last: LastAnswer) -> None:
        self._last[chat_id] = last
        self._last.move_to_end(chat_id)
        while len(self._last) > self._max_chats:
            self._last.popitem(last=False)

    def no_text(self) -> list[str]:
        return [NO_TEXT]

    async def on_text(self, chat_id: str, user_id: str, text: str) -> list[str]:
        """The messages to send back for one text message (each at most 2000 characters)."""
        user_hash = self.store.hash_user(self.channel, user_id)
        if self.flood and not self.flood.allow(user_hash):
            log.info("%s: flood from user %s, message dropped", self.channel, user_hash[:8])
            return [FLOOD] if self.flood.should_warn(user_hash) else []
        command = _command(text)
        if command == "sources":
            return await self._sources(chat_id)
        if command in ("up", "down"):
            return await self._vote(chat_id, user_hash, 1 if command == "up" else -1)
        return await self._answer(chat_id, user_hash, text)

    async def _answer(self, chat_id: str, user_hash: str, text: str) -> list[str]:
        started = time.perf_counter()
        try:
            answer, question_id, key = await self._run(self._answer_and_log, user_hash, text, started)
        except AssistantBusy:
            log.warning("%s: assistant busy, question of user %s not answered", self.channel, user_hash[:8])
            return [BUSY]
        except Exception:
            log.exception("%s: answering failed for user %s", self.channel, user_hash[:8])
            return [replies.UNAVAILABLE]
        if answer.kind in ("answer", "not_found"):
            self._remember(chat_id, LastAnswer(question_id, key))
        body = answer.text
        if key:
            body += "\n\n" + FOOTER
        elif answer.kind == "not_found":
            body += "\n\n" + FOOTER_NOT_FOUND
        return split_message(body)

    def _answer_and_log(self, user_hash: str, text: str, started: float) -> tuple[Answer, int, str | None]:
        answer = self.assistant.answer(text)
        reply_ms = (time.perf_counter() - started) * 1000
        try:  # answer first: a log line that cannot be written (disk full) must not cost the citizen the reply
            question_id = self.store.log_question(self.channel, user_hash, text, answer.text, answer.found,
                                                  answer.citations, reply_ms, kind=answer.kind)
            key = self.store.save_citations(answer.citations, question_id) if answer.citations else None
        except Exception:  # noqa: BLE001 - logged; the answer still goes out
            log.exception("%s: question of user %s not logged", self.channel, user_hash[:8])
            question_id, key = 0, None
        log.info("%s: user %s question %d kind=%s found=%s %.0f ms", self.channel, user_hash[:8], question_id,
                 answer.kind, answer.found, reply_ms)
        return answer, question_id, key

    async def _sources(self, chat_id: str) -> list[str]:
        last = self._last.get(chat_id)
        if not last or not last.citations_key:
            return [NO_SOURCES]
        citations = await self._run(self.store.get_citations, last.citations_key)
        if not citations:
            return [NO_SOURCES]
        return split_message(format_sources(citations))

    async def _vote(self, chat_id: str, user_hash: str, vote: int) -> list[str]:
        last = self._last.get(chat_id)
        if not last:
            return [NO_VOTE_TARGET]
        if not last.question_id:  # the question itself could not be logged (disk full)
            return [VOTE_NOT_SAVED]
        try:
            await self._run(self.store.record_vote, last.question_id, self.channel, user_hash, vote)
        except StoreWriteFailed:
            return [VOTE_NOT_SAVED]
        log.info("%s: user %s voted %+d on question %d", self.channel, user_hash[:8], vote, last.question_id)
        return [THANKS_UP if vote > 0 else THANKS_DOWN]


# -- shared adapter machinery -------------------------------------------------------------------
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


async def first_delivery(seen: RecentIds, store: Store, channel: str, key: str) -> bool:
    """In memory first (atomic within the event loop), then the store, so a replay is caught after a restart."""
    if not seen.first_time(key):
        return False
    return await asyncio.to_thread(store.first_delivery, channel, key)


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
        self._tasks: set[asyncio.Task] = set()

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


# -- Zalo Bot platform --------------------------------------------------------------------------
def bot_method_url(base_url: str, token: str, method: str) -> str:
    """`https://bot-api.zaloplatforms.com/bot` + token + `/sendMessage`; a base without the trailing
    "/bot" gets it (both hosts in the wild document `/bot<TOKEN>/<method>`)."""
    base = base_url.strip().rstrip("/")
    if "{token}" in base:
        return f"{base.replace('{token}', token).rstrip('/')}/{method}"
    if not base.endswith("/bot"):
        base += "/bot"
    return f"{base}{token}/{method}"


def _retry_after(data: dict) -> float | None:
    params = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
    value = params.get("retry_after", data.get("retry_after"))
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class ZaloBotClient:
    """Thin JSON client for the Zalo Bot API. Retries rate limits (429) and gateway errors with backoff."""

    def __init__(self, token: str, base_url: str, http: httpx.AsyncClient, *, backoff: float = 0.5,
                 max_attempts: int = 5) -> None:
        self._token = token
        self.base_url = base_url
        self._http = http
        self.backoff = backoff
        self.max_attempts = max_attempts

    async def call(self, method: str, payload: dict | None = None, *, timeout: float | None = None) -> Any:
        url = bot_method_url(self.base_url, self._token, method)
        kwargs: dict[str, Any] = {"json": payload or {}}
        if timeout is not None:
            kwargs["timeout"] = timeout
        for attempt in range(self.max_attempts):
            last = attempt == self.max_attempts - 1
            try:
                resp = await self._http.post(url, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # not sent: safe to retry
                if last:
                    raise ZaloApiError(method, 0, None, f"cannot connect ({type(exc).__name__})") from None
                await asyncio.sleep(_backoff_delay(self.backoff, attempt))
                continue
            data = _json_body(resp)
            if not isinstance(data, dict):
                data = {"result": data}
            if resp.status_code == 200 and data.get("ok", True) is not False:
                return data.get("result", data)
            code = data.get("error_code")
            err = ZaloApiError(method, resp.status_code, code,
                               str(data.get("description") or resp.reason_phrase or "error"))
            retryable = resp.status_code in (429, 502, 503, 504) or code == 429
            if not retryable or last:
                raise err
            delay = _backoff_delay(self.backoff, attempt, _retry_after(data))
            log.warning("Zalo Bot %s: %s; retrying in %.1f s", method, err, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_updates(self, timeout: int) -> list[dict]:
        """The next update(s); [] when the long poll ended empty (HTTP 408, which is not an error)."""
        try:
            result = await self.call("getUpdates", {"timeout": str(timeout)}, timeout=timeout + 15)
        except ZaloApiError as exc:
            if exc.status == 408 or exc.error_code == 408:
                return []
            raise
        return list(iter_updates(result))

    async def send_message(self, chat_id: str, text: str) -> Any:
        return await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> Any:
        return await self.call("sendChatAction", {"chat_id": chat_id, "action": action})

    async def set_webhook(self, url: str, secret_token: str) -> Any:
        return await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> Any:
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> Any:
        return await self.call("getWebhookInfo")

    async def get_me(self) -> Any:
        return await self.call("getMe")


def iter_updates(payload: Any) -> Iterable[dict]:
    """Updates from a webhook body or getUpdates result: a bare update, `{ok, result}`, or a list."""
    if isinstance(payload, list):
        for item in payload:
            yield from iter_updates(item)
    elif isinstance(payload, dict):
        if "event_name" not in payload and "message" not in payload and "result" in payload:
            yield from iter_updates(payload["result"])
        elif payload:
            yield payload


def validate_bot_secret(secret: str | None) -> str:
    """Zalo requires a webhook secret_token of 8–256 characters."""
    if not secret or not 8 <= len(secret) <= 256:
        raise ZaloConfigError(
            "ZALO_BOT_WEBHOOK_SECRET phải có từ 8 đến 256 ký tự khi dùng webhook (ZALO_BOT_WEBHOOK_URL). "
            "Hãy đặt một chuỗi ngẫu nhiên, ví dụ: python -c \"import secrets; print(secrets.token_urlsafe(32))\".")
    return secret


class ZaloBotAdapter(ZaloAdapter):
    """The Zalo Bot platform: polling, or a webhook when `webhook_url` is given."""

    channel = BOT_CHANNEL

    def __init__(self, conversation: Conversation, client: ZaloBotClient, *, webhook_url: str | None = None,
                 webhook_secret: str | None = None, poll_timeout: int = 30, typing: bool = True,
                 max_updates: int = MAX_UPDATES_PER_POST) -> None:
        super().__init__(conversation)
        self.max_updates = max_updates
        self.client = client
        self.webhook_url = webhook_url or None
        self._secret = validate_bot_secret(webhook_secret) if self.webhook_url else None
        self.webhook_path = (urlparse(self.webhook_url).path or "/") if self.webhook_url else None
        self.poll_timeout = poll_timeout
        self.typing = typing
        self._seen = RecentIds()

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.webhook_path, self._webhook)] if self.webhook_path else []

    async def start(self) -> None:
        try:
            me = await self.client.get_me()
        except ZaloApiError as exc:
            if exc.status in (401, 403, 404):
                raise ZaloConfigError(
                    f"Zalo Bot từ chối ZALO_BOT_TOKEN (HTTP {exc.status}: {exc.description}). Hãy kiểm tra mã bot "
                    "và ZALO_BOT_API_BASE_URL.") from None
            raise
        name = me.get("account_name") or me.get("display_name") or me.get("id") if isinstance(me, dict) else me
        if self.webhook_url:
            await self.client.set_webhook(self.webhook_url, self._secret or "")
            log.info("Zalo Bot %s: webhook set, listening at %s", name, self.webhook_path)
        else:
            try:
                await self.client.delete_webhook()
            except ZaloApiError as exc:  # no webhook to delete is fine
                log.debug("Zalo Bot deleteWebhook: %s", exc)
            log.info("Zalo Bot %s: polling getUpdates", name)

    async def _webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(BOT_SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode("utf-8"), (self._secret or "").encode("utf-8")):
            log.warning("Zalo Bot webhook: wrong or missing %s from %s", BOT_SECRET_HEADER, request.remote)
            return web.json_response({"ok": False, "description": "forbidden"}, status=403)
        raw = await read_capped(request, MAX_WEBHOOK_BODY)
        if raw is None:
            log.warning("Zalo Bot webhook: body over %d bytes refused", MAX_WEBHOOK_BODY)
            return web.json_response({"ok": False, "description": "body too large"}, status=413)
        try:
            payload = json.loads(raw)
        except ValueError:
            return web.json_response({"ok": False, "description": "bad json"}, status=400)
        await self.accept(payload)
        return web.json_response({"ok": True})

    async def run(self) -> None:
        """Poll getUpdates until cancelled (webhook mode: nothing to do). Errors back off, never stop."""
        if self.webhook_url:
            return
        failures = 0
        while True:
            try:
                updates = await self.client.get_updates(self.poll_timeout)
                failures = 0
            except ZaloApiError as exc:
                delay = _backoff_delay(self.client.backoff, failures)
                failures += 1
                log.warning("Zalo Bot getUpdates failed: %s; again in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            except httpx.HTTPError as exc:
                delay = _backoff_delay(self.client.backoff, failures)
                failures += 1
                log.warning("Zalo Bot getUpdates: %s; again in %.1f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                continue
            await self.accept(updates)

    async def accept(self, payload: Any) -> int:
        """Schedule the new updates of a payload (at most MAX_UPDATES_PER_POST); replays are dropped:
        same message_id, or for a message without one, same sender, text and date."""
        scheduled = 0
        for n, update in enumerate(iter_updates(payload)):
            if n >= self.max_updates:
                extra = sum(1 for _ in iter_updates(payload)) - n
                log.warning("Zalo Bot: one delivery carried %d updates; %d over the limit of %d dropped",
                            n + extra, extra, self.max_updates)
                break
            message = update.get("message") if isinstance(update.get("message"), dict) else {}
            message_id = message.get("message_id")
            sender = message.get("from") if isinstance(message.get("from"), dict) else {}
            key = (f"m:{message_id}" if message_id is not None
                   else content_key(sender.get("id"), message.get("text"), message.get("date")))
            if not await first_delivery(self._seen, self.conversation.store, self.channel, key):
                log.info("Zalo Bot: message %s delivered again, ignored", _short(key))
                continue
            self._spawn(self._process(update))
            scheduled += 1
        return scheduled

    async def _process(self, update: dict) -> None:
        message = update.get("message") if isinstance(update.get("message"), dict) else {}
        sender = message.get("from") if isinstance(message.get("from"), dict) else {}
        chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
        chat_id = str(chat.get("id") or sender.get("id") or "")
        user_id = str(sender.get("id") or chat_id)
        text = message.get("text")
        event = str(update.get("event_name") or (TEXT_EVENT if isinstance(text, str) else ""))
        if not chat_id or not event.startswith("message."):
            return
        try:
            async with self.conversation.chat_lock(chat_id):
                if event == TEXT_EVENT and isinstance(text, str):
                    if self.typing:
                        await self._typing(chat_id)
                    texts = await self.conversation.on_text(chat_id, user_id, text)
                else:
                    texts = self.conversation.no_text()
                for part in texts:
                    await self.client.send_message(chat_id, part)
        except ZaloApiError as exc:
            log.error("Zalo Bot: reply to chat %s failed: %s", _short(chat_id), exc)
        except Exception:
            log.exception("Zalo Bot: handling an update of chat %s failed", _short(chat_id))

    async def _typing(self, chat_id: str) -> None:
        try:
            await self.client.send_chat_action(chat_id, "typing")
        except (ZaloApiError, httpx.HTTPError) as exc:  # a missing typing indicator is not worth a failure
            log.debug("Zalo Bot sendChatAction: %s", exc)


def _short(identifier: str) -> str:
    """A log-friendly pseudonym of a Zalo id (not reversible)."""
    return hashlib.sha256(identifier.encode("utf-8")).hexdigest()[:8]


# -- Zalo Official Account (API v3) -------------------------------------------------------------
def oa_event_mac(app_id: str, raw_body: bytes, timestamp: str | int, oa_secret_key: str) -> str:
    """The MAC Zalo puts in X-ZEvent-Signature as "mac=<hex>": sha256 hex of
    app_id + raw request body + timestamp + OA secret key (Zalo OA webhook docs, v3).

    `timestamp` is the event's own `timestamp` field (milliseconds, as sent); some write-ups say
    the X-ZEvent-Timestamp header instead, so the verifier tries both. Keep the formula here only.
    """
    return hashlib.sha256(app_id.encode("utf-8") + raw_body + str(timestamp).encode("utf-8")
                          + oa_secret_key.encode("utf-8")).hexdigest()


def matching_timestamp(app_id: str, raw_body: bytes, header: str | None, oa_secret_key: str,
                       timestamps: Sequence[Any]) -> str | None:
    """The candidate timestamp (digits) whose MAC equals "mac=<hex>" (or a bare hex), compared in
    constant time; None when none does."""
    given = (header or "").strip()
    if given.lower().startswith("mac="):
        given = given[4:]
    given_b = given.strip().lower().encode("utf-8", "replace")
    if not given_b:
        return None
    found = None
    for ts in timestamps:
        if ts is None or not str(ts).isdigit():
            continue
        expected = oa_event_mac(app_id, raw_body, ts, oa_secret_key).encode("ascii")
        if hmac.compare_digest(expected, given_b) and found is None:
            found = str(ts)
    return found


def verify_oa_signature(app_id: str, raw_body: bytes, header: str | None, oa_secret_key: str,
                        timestamps: Sequence[Any]) -> bool:
    """Constant-time check of "mac=<hex>" (or a bare hex) against each candidate timestamp."""
    return matching_timestamp(app_id, raw_body, header, oa_secret_key, timestamps) is not None


class ZaloOAError(RuntimeError):
    def __init__(self, error: int | None, message: str, status: int = 200) -> None:
        super().__init__(f"Zalo OA error {error} (HTTP {status}): {message}")
        self.error, self.message, self.status = error, message, status


class ZaloOAClient:
    """Sends customer-service text messages; Zalo reports errors as HTTP 200 with a non-zero `error`."""

    def __init__(self, base_url: str, tokens: OATokenManager, http: httpx.AsyncClient, *, backoff: float = 0.5,
                 max_attempts: int = 5) -> None:
        self.url = base_url.rstrip("/") + OA_SEND_PATH
        self.tokens = tokens
        self._http = http
        self.backoff = backoff
        self.max_attempts = max_attempts

    async def send_text(self, user_id: str, text: str) -> bool:
        """True when delivered; False when Zalo refuses for good (-230: no interaction for 7 days).

        -216/-220 (token invalid/expired): refresh the token once and retry; -32 (rate limit) and
        gateway errors: back off and retry; anything else raises ZaloOAError.
        """
        body = {"recipient": {"user_id": user_id}, "message": {"text": text}}
        refreshed = False
        attempt = 0
        while True:
            token = await self.tokens.access_token()
            try:
                resp = await self._http.post(self.url, json=body, headers={"access_token": token})
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt + 1 >= self.max_attempts:
                    raise ZaloOAError(None, f"cannot connect ({type(exc).__name__})", 0) from None
                await asyncio.sleep(_backoff_delay(self.backoff, attempt))
                attempt += 1
                continue
            data = _json_body(resp)
            if not isinstance(data, dict):
                data = {}
            if resp.status_code != 200:
                if resp.status_code in (429, 502, 503, 504) and attempt + 1 < self.max_attempts:
                    await asyncio.sleep(_backoff_delay(self.backoff, attempt))
                    attempt += 1
                    continue
                raise ZaloOAError(data.get("error"), str(data.get("message") or resp.reason_phrase), resp.status_code)
            try:
                error = int(data.get("error") or 0)
            except (TypeError, ValueError):
                error = -1
            if error == 0:
                return True
            message = str(data.get("message") or "")
            if error in OA_TOKEN_INVALID and not refreshed:
                log.info("Zalo OA: access token rejected (%d); refreshing", error)
                await self.tokens.refresh(stale=token)
                refreshed = True
                continue
            if error == OA_RATE_LIMITED and attempt + 1 < self.max_attempts:
                delay = _backoff_delay(self.backoff, attempt)
                log.warning("Zalo OA: rate limited (-32); retrying in %.1f s", delay)
                await asyncio.sleep(delay)
                attempt += 1
                continue
            if error == OA_USER_INACTIVE:
                log.warning("Zalo OA: user %s has not interacted for 7 days (-230); reply not sent", _short(user_id))
                return False
            raise ZaloOAError(error, message)


class ZaloOAAdapter(ZaloAdapter):
    """A Zalo Official Account: signed webhook events in, customer-service messages out."""

    channel = OA_CHANNEL

    def __init__(self, conversation: Conversation, client: ZaloOAClient, *, app_id: str, oa_secret_key: str,
                 webhook_path: str = "/zalo/oa", event_window_s: float = OA_EVENT_WINDOW_S, clock=time.time) -> None:
        super().__init__(conversation)
        self.event_window_s = event_window_s
        self._clock = clock
        self.client = client
        self.app_id = app_id
        self._secret = oa_secret_key
        self.webhook_path = webhook_path if webhook_path.startswith("/") else "/" + webhook_path
        self._seen = RecentIds()

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.webhook_path, self._webhook)]

    async def start(self) -> None:
        if not self.client.tokens.tokens.access_token and not self.client.tokens.tokens.refresh_token:
            raise ZaloConfigError("Chưa có mã truy cập Zalo OA: đặt ZALO_OA_ACCESS_TOKEN và ZALO_OA_REFRESH_TOKEN.")
        log.info("Zalo OA %s: webhook at %s", self.app_id, self.webhook_path)

    async def _webhook(self, request: web.Request) -> web.Response:
        """Size, then signature (on the raw bytes), then JSON, then the timestamp window, then dedup."""
        raw = await read_capped(request, MAX_WEBHOOK_BODY)
        if raw is None:
            log.warning("Zalo OA webhook: body over %d bytes refused", MAX_WEBHOOK_BODY)
            return web.json_response({"error": 413, "message": "body too large"}, status=413)
        candidates = [m.group(1).decode("ascii") for m in _RAW_TIMESTAMP.finditer(raw, 0, len(raw))][:3]
        candidates.append(request.headers.get(OA_TIMESTAMP_HEADER))
        signed_ts = matching_timestamp(self.app_id, raw, request.headers.get(OA_SIGNATURE_HEADER), self._secret,
                                       candidates)
        if signed_ts is None:
            log.warning("Zalo OA webhook: bad or missing %s from %s", OA_SIGNATURE_HEADER, request.remote)
            return web.json_response({"error": 403, "message": "invalid signature"}, status=403)
        try:
            event = json.loads(raw)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            return web.json_response({"error": 400, "message": "bad json"}, status=400)
        age = self._clock() - int(signed_ts) / 1000.0
        if abs(age) > self.event_window_s:  # a replay of an old (validly signed) event, or a wrong clock
            log.warning("Zalo OA webhook: event timestamp %.0f s away from now (window %.0f s), ignored",
                        age, self.event_window_s)
            return web.json_response({"error": 0, "message": "ignored: stale event"})
        await self.accept(event)
        return web.json_response({"error": 0, "message": "ok"})  # at once: Zalo wants 200 within 2 s

    async def accept(self, event: dict) -> bool:
        """Schedule a citizen's message; the OA's own echoes, other events and replays are dropped."""
        name = str(event.get("event_name") or "")
        if not name.startswith("user_send_"):  # oa_send_* echoes, follow, user_seen_message…
            return False
        message = event.get("message") if isinstance(event.get("message"), dict) else {}
        sender = event.get("sender") if isinstance(event.get("sender"), dict) else {}
        msg_id = message.get("msg_id")
        key = (f"m:{msg_id}" if msg_id is not None
               else content_key(sender.get("id"), message.get("text"), event.get("timestamp")))
        if not await first_delivery(self._seen, self.conversation.store, self.channel, key):
            log.info("Zalo OA: message %s delivered again, ignored", _short(key))
            return False
        self._spawn(self._process(name, event))
        return True

    async def _process(self, name: str, event: dict) -> None:
        sender = event.get("sender") if isinstance(event.get("sender"), dict) else {}
        user_id = str(sender.get("id") or "")
        if not user_id:
            return
        message = event.get("message") if isinstance(event.get("message"), dict) else {}
        text = message.get("text")
        try:
            async with self.conversation.chat_lock(user_id):
                if name == "user_send_text" and isinstance(text, str):
                    texts = await self.conversation.on_text(user_id, user_id, text)
                else:
                    texts = self.conversation.no_text()
                for part in texts:
                    if not await self.client.send_text(user_id, part):
                        break
        except (ZaloOAError, OAAuthError) as exc:
            log.error("Zalo OA: reply to user %s failed: %s", _short(user_id), exc)
        except Exception:
            log.exception("Zalo OA: handling an event of user %s failed", _short(user_id))


# -- configuration and the service --------------------------------------------------------------
def _secret(value: Any) -> str:
    return value.get_secret_value().strip() if value is not None else ""


@dataclass
class ZaloPlan:
    """Which Zalo APIs `cchc zalo` serves, decided from the settings alone (before loading the model)."""

    bot: bool
    oa: bool
    bot_webhook: bool = False


def check_config(settings: Any) -> ZaloPlan:
    """Validate the Zalo settings; raises ZaloConfigError with a Vietnamese explanation."""
    bot_token = _secret(settings.zalo_bot_token)
    bot_wanted = bool(bot_token or settings.zalo_bot_webhook_url or settings.zalo_bot_webhook_secret)
    oa_values = {
        "ZALO_OA_APP_ID": (settings.zalo_oa_app_id or "").strip(),
        "ZALO_OA_SECRET_KEY": _secret(settings.zalo_oa_secret_key),
        "ZALO_APP_SECRET": _secret(settings.zalo_app_secret),
        "ZALO_OA_ACCESS_TOKEN": _secret(settings.zalo_oa_access_token),
        "ZALO_OA_REFRESH_TOKEN": _secret(settings.zalo_oa_refresh_token),
    }
    oa_wanted = any(oa_values.values())
    if not bot_wanted and not oa_wanted:
        raise ZaloConfigError(
            "Chưa cấu hình Zalo. Đặt ZALO_BOT_TOKEN (Zalo Bot), hoặc ZALO_OA_APP_ID, ZALO_OA_SECRET_KEY, "
            "ZALO_APP_SECRET, ZALO_OA_ACCESS_TOKEN, ZALO_OA_REFRESH_TOKEN (Zalo Official Account) trong biến môi "
            "trường hoặc tệp .env, rồi chạy lại `cchc zalo`. Xem README, mục “Kênh Zalo”.")
    bot_webhook = False
    if bot_wanted:
        if not bot_token:
            raise ZaloConfigError("Thiếu ZALO_BOT_TOKEN: hãy đặt mã bot mà Zalo cấp khi tạo bot.")
        if settings.zalo_bot_webhook_url:
            parsed = urlparse(settings.zalo_bot_webhook_url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ZaloConfigError("ZALO_BOT_WEBHOOK_URL phải là địa chỉ đầy đủ, ví dụ https://bot.example.vn/zalo/bot.")
            validate_bot_secret(_secret(settings.zalo_bot_webhook_secret))
            bot_webhook = True
    if oa_wanted:
        missing = [name for name in ("ZALO_OA_APP_ID", "ZALO_OA_SECRET_KEY") if not oa_values[name]]
        stored = TokenFile(Path(settings.data_dir) / TOKEN_FILE).load()
        if not (oa_values["ZALO_OA_ACCESS_TOKEN"] or oa_values["ZALO_OA_REFRESH_TOKEN"] or stored):
            missing.append("ZALO_OA_ACCESS_TOKEN, ZALO_OA_REFRESH_TOKEN")
        if (oa_values["ZALO_OA_REFRESH_TOKEN"] or stored) and not oa_values["ZALO_APP_SECRET"]:
            missing.append("ZALO_APP_SECRET (để làm mới mã truy cập)")
        if missing:
            raise ZaloConfigError("Cấu hình Zalo OA còn thiếu: " + "; ".join(missing) + ".")
        if not settings.zalo_oa_webhook_path.startswith("/"):
            raise ZaloConfigError("ZALO_OA_WEBHOOK_PATH phải bắt đầu bằng “/”, ví dụ /zalo/oa.")
        if bot_webhook and urlparse(settings.zalo_bot_webhook_url).path.rstrip("/") == \
                settings.zalo_oa_webhook_path.rstrip("/"):
            raise ZaloConfigError("ZALO_BOT_WEBHOOK_URL và ZALO_OA_WEBHOOK_PATH đang trùng đường dẫn; hãy đặt hai "
                                  "đường dẫn khác nhau (ví dụ /zalo/bot và /zalo/oa).")
    return ZaloPlan(bot=bot_wanted, oa=oa_wanted, bot_webhook=bot_webhook)


class ZaloService:
    """The adapters of one process, with one aiohttp webhook server for all their routes."""

    def __init__(self, adapters: Sequence[ZaloAdapter], host: str, port: int,
                 http: httpx.AsyncClient | None = None, executor: ThreadPoolExecutor | None = None) -> None:
        self.adapters = list(adapters)
        self.host, self.port = host, port
        self.http = http
        self.executor = executor
        self._runner: web.AppRunner | None = None
        self._loops: list[asyncio.Task] = []

    async def start(self) -> None:
        """Bind the webhook server first (Zalo may deliver as soon as the webhook is set), then start."""
        routes = [r for a in self.adapters for r in a.routes()]
        if routes:
            app = web.Application(client_max_size=256 * 1024)
            app.add_routes(routes)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.host, self.port)
            try:
                await site.start()
            except OSError as exc:
                await self._runner.cleanup()
                self._runner = None
                raise ZaloConfigError(
                    f"Không mở được cổng webhook {self.host}:{self.port} ({exc.strerror or exc}). Hãy đặt "
                    "CCHC_WEBHOOK_HOST/CCHC_WEBHOOK_PORT khác (mỗi tiến trình `cchc telegram`, `cchc zalo` "
                    "một cổng riêng).") from None
            sockets = getattr(site._server, "sockets", None) or []  # port 0 → the one the OS picked
            if sockets:
                self.port = sockets[0].getsockname()[1]
            log.info("Zalo webhooks on http://%s:%d (%s)", self.host, self.port,
                     ", ".join(sorted({r.path for r in routes})))
        try:
            for adapter in self.adapters:
                await adapter.start()
        except BaseException:
            await self.stop()
            raise
        self._loops = [asyncio.create_task(a.run(), name=f"{a.channel}-run") for a in self.adapters]

    async def wait(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; a polling loop that dies takes the service down with its error."""
        stopper = asyncio.create_task(stop.wait())
        try:
            pending = {stopper, *[t for t in self._loops]}
            while True:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if stopper in done:
                    return
                for task in done:
                    if not task.cancelled() and task.exception() is not None:
                        raise task.exception()
        finally:
            stopper.cancel()

    async def stop(self) -> None:
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._loops = []
        if self._runner is not None:  # stop accepting webhooks first, then let replies in flight finish
            await self._runner.cleanup()
            self._runner = None
        for adapter in self.adapters:
            await adapter.close()
        if self.http is not None:
            await self.http.aclose()
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)


def build_service(settings: Any, assistant: AnswersQuestions, store: Store, *, plan: ZaloPlan | None = None,
                  backoff: float = 0.5, flood_limit: str | None = DEFAULT_FLOOD_LIMIT, workers: int = 4,
                  poll_timeout: int = 30) -> ZaloService:
    """The adapters the settings ask for, sharing one HTTP client and one answer thread pool."""
    plan = plan or check_config(settings)
    http = httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=10.0),
                             limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zalo-answer")
    adapters: list[ZaloAdapter] = []
    if plan.bot:
        conv = Conversation(assistant, store, BOT_CHANNEL, executor=executor, flood_limit=flood_limit)
        client = ZaloBotClient(_secret(settings.zalo_bot_token), settings.zalo_bot_api_base_url, http,
                               backoff=backoff)
        adapters.append(ZaloBotAdapter(conv, client, webhook_url=settings.zalo_bot_webhook_url if plan.bot_webhook
                                       else None, webhook_secret=_secret(settings.zalo_bot_webhook_secret),
                                       poll_timeout=poll_timeout))
    if plan.oa:
        conv = Conversation(assistant, store, OA_CHANNEL, executor=executor, flood_limit=flood_limit)
        tokens = OATokenManager(
            app_id=settings.zalo_oa_app_id.strip(), app_secret=_secret(settings.zalo_app_secret),
            oauth_base_url=settings.zalo_oauth_base_url,
            token_file=TokenFile(Path(settings.data_dir) / TOKEN_FILE),
            env_access_token=_secret(settings.zalo_oa_access_token) or None,
            env_refresh_token=_secret(settings.zalo_oa_refresh_token) or None, http=http)
        client = ZaloOAClient(settings.zalo_oa_api_base_url, tokens, http, backoff=backoff)
        adapters.append(ZaloOAAdapter(conv, client, app_id=settings.zalo_oa_app_id.strip(),
                                      oa_secret_key=_secret(settings.zalo_oa_secret_key),
                                      webhook_path=settings.zalo_oa_webhook_path,
                                      event_window_s=float(getattr(settings, "zalo_oa_event_window_seconds",
                                                                   OA_EVENT_WINDOW_S))))
    return ZaloService(adapters, settings.webhook_host, settings.webhook_port, http=http, executor=executor)


def quiet_http_logs() -> None:
    """httpx logs every request URL at INFO, and a Zalo Bot URL contains the bot token."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


async def serve(service: ZaloService, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or `stop`), then let replies in flight finish."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-POSIX or not the main thread
            pass
    await service.start()
    try:
        await service.wait(stop)
    finally:
        await service.stop()


def run_zalo(settings: Any, assistant: AnswersQuestions, store: Store, plan: ZaloPlan | None = None) -> None:
    """Blocking entry point of `cchc zalo`."""
    quiet_http_logs()
    asyncio.run(serve(build_service(settings, assistant, store, plan=plan)))
