"""Zalo Bot platform adapter: `POST {base}{token}/{method}` (base = ZALO_BOT_API_BASE_URL ending in "/bot",
added when missing, like Telegram's `…/bot<token>`; a base containing "{token}" is used as a template).

Polling (getUpdates, one update per call, HTTP 408 = nothing new) unless ZALO_BOT_WEBHOOK_URL is set; then
setWebhook, and updates arrive at that URL's path with X-Bot-Api-Secret-Token (checked in constant time,
before the body is read, which is bounded). Replays are answered once (ids, else a content hash, claimed in the
store); a webhook POST is acknowledged only once its replies went out (bot/deliveries.py).
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any, Iterable
from urllib.parse import urlparse

import httpx
from aiohttp import web

from bot.conversation import Conversation
from bot.deliveries import DELIVERY_DOWN, DELIVERY_NEW, RETRY_AFTER_S, refused
from bot.zalo_common import (BOT_CHANNEL, MAX_WEBHOOK_BODY, ZaloAdapter, ZaloApiError, ZaloConfigError,
                             _backoff_delay, _json_body, _short, content_key, read_capped)

log = logging.getLogger("bot.zalo")

BOT_SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_EVENT = "message.text.received"
MAX_UPDATES_PER_POST = 20  # a Bot webhook POST carrying more updates: the rest are dropped with a log line


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
        states = await self.accept(payload, wait=True)
        if any(refused(s) for s in states):  # Zalo delivers the POST again; what was answered is then dropped
            return web.json_response({"ok": False, "description": "try again later"}, status=503,
                                     headers={"Retry-After": str(RETRY_AFTER_S)})
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

    async def accept(self, payload: Any, wait: bool = False) -> list[str]:
        """Claim and answer the updates of a payload (at most MAX_UPDATES_PER_POST); replays are dropped:
        same message_id, or for a message without one, same sender, text and date. With `wait` (webhook) the
        replies have gone out on return; polling schedules them. Returns each update's final claim state."""
        states: list[str] = []
        jobs: list[tuple[int, Any]] = []
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
            state = await self.deliveries.claim(key)
            states.append(state)
            if state == DELIVERY_NEW:
                jobs.append((len(states) - 1, self.deliveries.answer(key, self._process(update))))
            elif state == DELIVERY_DOWN:
                chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
                chat_id = str(chat.get("id") or sender.get("id") or "")
                if chat_id:
                    jobs.append((-1, self.busy_notice(key, lambda text, c=chat_id: self.client.send_message(c, text))))
            else:
                log.info("Zalo Bot: message %s delivered again (%s), not answered here", _short(key), state)
        if not wait:
            for _, job in jobs:
                self._spawn(job)
            return states
        for (at, _), final in zip(jobs, await asyncio.gather(*(job for _, job in jobs))):
            if at >= 0:
                states[at] = final
        return states

    async def _process(self, update: dict) -> bool:
        """Answer one update; False when Zalo refused the reply (the claim is then given back)."""
        message = update.get("message") if isinstance(update.get("message"), dict) else {}
        sender = message.get("from") if isinstance(message.get("from"), dict) else {}
        chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
        chat_id = str(chat.get("id") or sender.get("id") or "")
        user_id = str(sender.get("id") or chat_id)
        text = message.get("text")
        event = str(update.get("event_name") or (TEXT_EVENT if isinstance(text, str) else ""))
        if not chat_id or not event.startswith("message."):
            return True
        try:
            async with self._chats.hold(chat_id):
                is_text = event == TEXT_EVENT and isinstance(text, str)
                if is_text and self.typing:
                    await self._typing(chat_id)
                send = lambda part: self.client.send_message(chat_id, part)  # noqa: E731
                for part in await self.reply_texts(chat_id, user_id, text if is_text else None, send):
                    await self.client.send_message(chat_id, part)
        except (ZaloApiError, httpx.HTTPError) as exc:
            log.error("Zalo Bot: reply to chat %s failed: %s", self.pseudonym(chat_id), exc)
            return False
        except Exception:  # a bug: answering it again would fail again
            log.exception("Zalo Bot: handling an update of chat %s failed", self.pseudonym(chat_id))
        return True

    async def _typing(self, chat_id: str) -> None:
        try:
            await self.client.send_chat_action(chat_id, "typing")
        except (ZaloApiError, httpx.HTTPError) as exc:  # a missing typing indicator is not worth a failure
            log.debug("Zalo Bot sendChatAction: %s", exc)


