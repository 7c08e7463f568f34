"""Facebook Messenger: a channel adapter over the conversation layer (webhook in, Send API out).

The webhook (MESSENGER_WEBHOOK_PATH on CCHC_WEBHOOK_HOST:CCHC_WEBHOOK_PORT, behind the operator's TLS proxy)
answers Meta's `hub.challenge` handshake when `hub.verify_token` matches, and accepts an event only when
`X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the app secret) matches, checked in constant time on
a bounded body before any JSON is read. Each message id is claimed in the store and answered once by one of
the workers; the 200 follows the replies (bot/deliveries.py), so Meta delivers again what a dead worker
dropped. Replies go through the Send API, up to 2,000 characters each, actions as quick replies.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import signal
from dataclasses import dataclass
from typing import Any, Mapping

import httpx
from aiohttp import web

from bot.channels import serve_webhooks
from bot import replies
from bot.conversation import AnswersQuestions, Conversation, Incoming, Reply
from bot.deliveries import DELIVERY_DONE, DELIVERY_DOWN, DELIVERY_NEW, RETRY_AFTER_S, Deliveries, refused
from bot.flood import DEFAULT_FLOOD_LIMIT, ChatLocks
from bot.store import Store
from bot.zalo_common import _backoff_delay, _short, read_capped

log = logging.getLogger("bot.messenger")

CHANNEL = "messenger"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_BODY = 256 * 1024  # a batch of a few events; bigger bodies are refused (413) unread
MAX_QUICK_REPLIES, QUICK_REPLY_CHARS = 13, 20  # Send API limits
DEFAULT_API = "https://graph.facebook.com/v21.0"


class MessengerConfigError(RuntimeError):
    """A missing Messenger setting; the message is Vietnamese, for the operator."""


@dataclass(frozen=True)
class MessengerConfig:
    page_token: str
    app_secret: str
    verify_token: str
    path: str = "/messenger"
    api_base_url: str = DEFAULT_API

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "MessengerConfig":
        if env is None:  # like the other settings: the environment wins over .env
            from dotenv import dotenv_values

            env = {**{k: v for k, v in dotenv_values(".env").items() if v is not None}, **os.environ}
        values = {name: (env.get(name) or "").strip() for name in
                  ("MESSENGER_PAGE_ACCESS_TOKEN", "MESSENGER_APP_SECRET", "MESSENGER_VERIFY_TOKEN")}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise MessengerConfigError(
                "Cấu hình Messenger còn thiếu: " + ", ".join(missing) + ". Lấy mã trang (Page access token) và khoá "
                "bí mật ứng dụng (App secret) trong trang quản lý ứng dụng Meta, tự đặt một chuỗi Verify token rồi "
                "khai báo cùng địa chỉ webhook, đặt các biến này trong môi trường hoặc tệp .env rồi chạy lại.")
        path = (env.get("MESSENGER_WEBHOOK_PATH") or "/messenger").strip()
        return cls(values["MESSENGER_PAGE_ACCESS_TOKEN"], values["MESSENGER_APP_SECRET"],
                   values["MESSENGER_VERIFY_TOKEN"], path if path.startswith("/") else "/" + path,
                   (env.get("MESSENGER_API_BASE_URL") or DEFAULT_API).strip().rstrip("/"))


def signature(app_secret: str, raw: bytes) -> str:
    """The value Meta sends in X-Hub-Signature-256: "sha256=" + HMAC-SHA256(app secret, raw body) in hex."""
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()


class MessengerApiError(RuntimeError):
    def __init__(self, status: int, code: Any, message: str) -> None:
        super().__init__(f"Send API: HTTP {status}, error {code}: {message}")
        self.status, self.code = status, code


def quick_replies(reply: Reply) -> list[dict[str, str]]:
    """Actions as quick replies; titles are at most 20 characters, so choices are numbered ("2. Xóa đăng ký th…")."""
    out = []
    for n, action in enumerate(reply.actions[:MAX_QUICK_REPLIES], 1):
        title = action.label if action.payload.split(":")[0] != "pick" else f"{n}. {action.label}"
        if len(title) > QUICK_REPLY_CHARS:
            title = title[: QUICK_REPLY_CHARS - 1].rstrip() + "…"
        out.append({"content_type": "text", "title": title, "payload": action.payload[:1000]})
    return out


class MessengerClient:
    """The Send API; retries rate limits (error 4, 613, HTTP 429) and gateway errors with backoff."""

    def __init__(self, config: MessengerConfig, http: httpx.AsyncClient, backoff: float = 0.5,
                 max_attempts: int = 4) -> None:
        self.url = f"{config.api_base_url}/me/messages"
        self._token = config.page_token
        self._http, self.backoff, self.max_attempts = http, backoff, max_attempts

    async def send(self, psid: str, body: dict[str, Any]) -> None:
        payload = {"recipient": {"id": psid}, **body}
        for attempt in range(self.max_attempts):
            resp = await self._http.post(self.url, params={"access_token": self._token}, json=payload)
            if resp.status_code == 200:
                return
            try:
                error = resp.json().get("error") or {}
            except ValueError:
                error = {}
            retry = resp.status_code in (429, 500, 502, 503, 504) or error.get("code") in (4, 613)
            if not retry or attempt + 1 == self.max_attempts:
                raise MessengerApiError(resp.status_code, error.get("code"), str(error.get("message") or "error"))
            await asyncio.sleep(_backoff_delay(self.backoff, attempt))

    async def reply(self, psid: str, reply: Reply) -> None:
        message: dict[str, Any] = {"text": reply.text}
        if reply.actions:
            message["quick_replies"] = quick_replies(reply)
        await self.send(psid, {"messaging_type": "RESPONSE", "message": message})

    async def typing(self, psid: str) -> None:
        try:
            await self.send(psid, {"sender_action": "typing_on"})
        except (MessengerApiError, httpx.HTTPError) as exc:  # cosmetic
            log.debug("Messenger typing_on: %s", exc)


class MessengerAdapter:
    """Webhook routes and event handling for one Facebook page."""

    def __init__(self, conversation: Conversation, client: MessengerClient, config: MessengerConfig) -> None:
        self.conversation, self.client, self.config = conversation, client, config
        self.deliveries = Deliveries(conversation.store, CHANNEL)
        self._chats = ChatLocks()
        self._tasks: set[asyncio.Task] = set()

    def pseudonym(self, psid: str) -> str:
        """How logs name a citizen: the store's salted hash, as the conversation layer's log lines do."""
        return self.conversation.store.hash_user(CHANNEL, psid)[:8]

    def routes(self) -> list[web.RouteDef]:
        return [web.get(self.config.path, self._verify), web.post(self.config.path, self._event)]

    async def _verify(self, request: web.Request) -> web.Response:
        """Meta's subscription handshake: echo hub.challenge when hub.verify_token is ours."""
        q = request.query
        token = q.get("hub.verify_token", "").encode("utf-8", "replace")
        if q.get("hub.mode") == "subscribe" and hmac.compare_digest(token, self.config.verify_token.encode("utf-8")):
            return web.Response(text=q.get("hub.challenge", ""))
        log.warning("Messenger webhook: verification refused from %s", request.remote)
        return web.Response(status=403, text="forbidden")

    async def _event(self, request: web.Request) -> web.Response:
        """Size, then the signature on the raw bytes, then JSON; the replies, then 200 (503: deliver again)."""
        raw = await read_capped(request, MAX_BODY)
        if raw is None:
            return web.Response(status=413, text="body too large")
        given = request.headers.get(SIGNATURE_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, signature(self.config.app_secret, raw).encode("ascii")):
            log.warning("Messenger webhook: bad or missing %s from %s", SIGNATURE_HEADER, request.remote)
            return web.Response(status=403, text="invalid signature")
        try:
            data = json.loads(raw)
        except ValueError:
            return web.Response(status=400, text="bad json")
        if not isinstance(data, dict) or data.get("object") != "page":
            return web.Response(status=404, text="not a page event")
        events = [event for entry in data.get("entry") or [] if isinstance(entry, dict)
                  for event in entry.get("messaging") or [] if isinstance(event, dict)]
        states = await asyncio.gather(*(self._accept(event) for event in events))
        if any(refused(state) for state in states):
            return web.Response(status=503, text="try again later", headers={"Retry-After": str(RETRY_AFTER_S)})
        return web.Response(text="EVENT_RECEIVED")

    async def _accept(self, event: dict) -> str:
        """Answer one event and return its claim state (deliveries, reads and echoes: DELIVERY_DONE)."""
        psid = str((event.get("sender") or {}).get("id") or "")
        message = event.get("message") if isinstance(event.get("message"), dict) else None
        postback = event.get("postback") if isinstance(event.get("postback"), dict) else None
        if not psid or (message is None and postback is None) or (message or {}).get("is_echo"):
            return DELIVERY_DONE  # deliveries, reads, the page's own echoes
        if message is not None:
            payload = (message.get("quick_reply") or {}).get("payload")
            text = message.get("text")
            incoming = (Incoming.button(str(payload)) if payload else Incoming(text) if isinstance(text, str)
                        else Incoming.other())
            key = f"m:{message.get('mid') or hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()}"
        else:
            incoming = Incoming.button(str(postback.get("payload") or "cmd:start"))
            key = f"p:{psid}:{event.get('timestamp')}:{postback.get('payload')}"
        state = await self.deliveries.claim(key)
        if state == DELIVERY_NEW:
            task = asyncio.ensure_future(self._process(psid, incoming))  # in flight for drain() too
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return await self.deliveries.answer(key, task)
        if state == DELIVERY_DOWN:
            if self.deliveries.first_notice(key):
                try:
                    await self.client.reply(psid, Reply(replies.UNAVAILABLE, kind="error"))
                except (MessengerApiError, httpx.HTTPError) as exc:
                    log.warning("Messenger: busy notice not sent (%s)", type(exc).__name__)
        else:
            log.info("Messenger: event %s delivered again (%s), not answered here", _short(key), state)
        return state

    async def _process(self, psid: str, incoming: Incoming) -> bool:
        """Answer one event; False when the Send API refused (the claim is then given back)."""
        try:
            async with self._chats.hold(psid):
                if incoming.kind == "text":
                    await self.client.typing(psid)
                async def early(first: list[Reply]) -> None:  # emergency numbers, before the answer's turn
                    for reply in first:
                        await self.client.reply(psid, reply)

                for reply in await self.conversation.handle(psid, incoming, psid, early=early):
                    await self.client.reply(psid, reply)
        except (MessengerApiError, httpx.HTTPError) as exc:
            log.error("Messenger: reply to user %s failed: %s", self.pseudonym(psid), exc)
            return False
        except Exception:  # a bug: answering it again would fail again
            log.exception("Messenger: handling an event of user %s failed", self.pseudonym(psid))
        return True

    async def drain(self, timeout: float = 30.0) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)


class MessengerService:
    """The adapter behind its own aiohttp server."""

    def __init__(self, assistant: AnswersQuestions, store: Store, config: MessengerConfig, host: str, port: int,
                 flood_limit: str | None = DEFAULT_FLOOD_LIMIT, backoff: float = 0.5) -> None:
        self.host, self.port = host, port
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=10.0))
        self.adapter = MessengerAdapter(Conversation(assistant, store, CHANNEL, flood_limit=flood_limit),
                                        MessengerClient(config, self.http, backoff), config)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        try:
            self._runner, self.port = await serve_webhooks(self.adapter.routes(), self.host, self.port,
                                                           MAX_BODY + 1024)
        except OSError as exc:
            raise MessengerConfigError(f"Không mở được cổng webhook {self.host}:{self.port} ({exc.strerror or exc}). "
                                       "Hãy đặt CCHC_WEBHOOK_PORT khác cho `cchc messenger`.") from None
        log.info("Messenger: webhook on http://%s:%d%s", self.host, self.port, self.adapter.config.path)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.adapter.drain()
        await self.http.aclose()


def run_messenger(settings: Any, assistant: AnswersQuestions, store: Store, config: MessengerConfig) -> None:
    """Blocking entry point of `cchc messenger`: serve until SIGINT/SIGTERM."""
    for name in ("httpx", "httpcore"):  # request URLs carry the page token
        logging.getLogger(name).setLevel(logging.WARNING)

    async def main() -> None:
        service = MessengerService(assistant, store, config, settings.webhook_host, settings.webhook_port)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover
                pass
        await service.start()
        try:
            await stop.wait()
        finally:
            await service.stop()

    asyncio.run(main())
