"""Fake Zalo servers on 127.0.0.1 for tests and scripts/load_zalo.py: the Bot platform API, and the
OA API with its OAuth token endpoint. They speak HTTP like the real ones (the real ones cannot be
reached here), keep what they were sent, and can be told to fail the next calls.

Bot API: `POST /bot<TOKEN>/<method>`, JSON, `{ok, result}` or a non-200 `{ok:false, error_code,
description}`; getUpdates hands out one queued update per call and ends an empty poll with 408.
setWebhook remembers url + secret_token; `deliver()` then POSTs an update there, as Zalo does.
OA API: `/v3.0/oa/message/cs` answers HTTP 200 with `error` ≠ 0 on failure; `/v4/oa/access_token`
swaps a single-use refresh token for a new pair.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web

from bot.zalo import oa_event_mac


@dataclass
class Sent:
    chat_id: str
    text: str
    at: float = field(default_factory=time.monotonic)


class _Server:
    """An aiohttp app on 127.0.0.1 with an OS-chosen port."""

    def __init__(self) -> None:
        self.app = web.Application()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.changed = asyncio.Condition()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> "_Server":
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def wait_until(self, predicate, timeout: float = 20.0) -> None:
        """Wait until `predicate()` holds (re-checked after every recorded call)."""
        async def waiter() -> None:
            async with self.changed:
                await self.changed.wait_for(predicate)

        await asyncio.wait_for(waiter(), timeout)


class FakeZaloBotAPI(_Server):
    """The Zalo Bot platform, for one bot token."""

    def __init__(self, token: str = "1234567:fake-zalo-token", poll_wait: float = 0.2) -> None:
        super().__init__()
        self.token = token
        self.poll_wait = poll_wait  # how long an empty getUpdates waits before its 408
        self.sent: list[Sent] = []
        self.by_chat: dict[str, list[Sent]] = {}
        self.actions: list[tuple[str, str]] = []
        self.calls: list[str] = []  # every method call, in order, including failed ones
        self.webhook: dict[str, str] | None = None
        self.empty_polls = 0
        self.updates_served = 0
        self._updates: asyncio.Queue[dict] = asyncio.Queue()
        self._failures: dict[str, list[tuple[int, dict]]] = {}
        self._ids = itertools.count(1)
        self.app.router.add_post("/bot{token}/{method}", self._handle)

    # -- test controls ----------------------------------------------------------------------------
    def fail_next(self, method: str, status: int, error_code: int, description: str, times: int = 1,
                  **extra: Any) -> None:
        body = {"ok": False, "error_code": error_code, "description": description, **extra}
        self._failures.setdefault(method, []).extend([(status, body)] * times)

    def queue_update(self, update: dict) -> None:
        """Make an update available to getUpdates (polling mode)."""
        self._updates.put_nowait(update)

    def messages_to(self, chat_id: str) -> list[str]:
        return [s.text for s in self.by_chat.get(str(chat_id), [])]

    async def deliver(self, update: dict, secret: str | None = None, client: httpx.AsyncClient | None = None
                      ) -> httpx.Response:
        """POST an update to the registered webhook, with the registered secret unless told otherwise."""
        assert self.webhook, "setWebhook was not called"
        headers = {}
        token = self.webhook["secret_token"] if secret is None else secret
        if token:
            headers["X-Bot-Api-Secret-Token"] = token
        if client is not None:
            return await client.post(self.webhook["url"], json=update, headers=headers)
        async with httpx.AsyncClient(timeout=10) as c:
            return await c.post(self.webhook["url"], json=update, headers=headers)

    # -- the API ------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls.append(method)
        try:
            if request.match_info["token"] != self.token:
                return self._error(401, 401, "Unauthorized")
            failures = self._failures.get(method)
            if failures:
                status, body = failures.pop(0)
                return web.json_response(body, status=status)
            try:
                payload = await request.json() if request.can_read_body else {}
            except ValueError:
                return self._error(400, 400, "Bad Request: invalid JSON")
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                return self._error(404, 404, "Not Found")
            return await handler(payload or {})
        finally:
            await self._notify()

    @staticmethod
    def _error(status: int, code: int, description: str) -> web.Response:
        return web.json_response({"ok": False, "error_code": code, "description": description}, status=status)

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _m_getMe(self, payload: dict) -> web.Response:
        return self._ok({"id": "bot-1", "account_name": "bot.CCHC", "account_type": "BASIC", "can_join_groups": False})

    async def _m_getUpdates(self, payload: dict) -> web.Response:
        if self.webhook:
            return self._error(400, 400, "Bad Request: webhook is active")
        timeout = float(payload.get("timeout", 30))
        try:
            update = await asyncio.wait_for(self._updates.get(), min(timeout, self.poll_wait))
        except asyncio.TimeoutError:
            self.empty_polls += 1
            return self._error(408, 408, "Request timeout")
        self.updates_served += 1
        return self._ok(update)

    async def _m_setWebhook(self, payload: dict) -> web.Response:
        url, secret = payload.get("url"), payload.get("secret_token")
        if not url or not secret or not 8 <= len(secret) <= 256:
            return self._error(400, 400, "Bad Request: url and secret_token (8-256 characters) are required")
        self.webhook = {"url": url, "secret_token": secret}
        return self._ok({"url": url, "updated_at": int(time.time() * 1000)})

    async def _m_deleteWebhook(self, payload: dict) -> web.Response:
        self.webhook = None
        return self._ok({"url": "", "updated_at": int(time.time() * 1000)})

    async def _m_getWebhookInfo(self, payload: dict) -> web.Response:
        return self._ok({"url": (self.webhook or {}).get("url", ""), "updated_at": 0})

    async def _m_sendMessage(self, payload: dict) -> web.Response:
        chat_id, text = payload.get("chat_id"), payload.get("text")
        if not chat_id or not isinstance(text, str) or not 1 <= len(text) <= 2000:
            return self._error(400, 400, "Bad Request: text must be 1-2000 characters")
        sent = Sent(str(chat_id), text)
        self.sent.append(sent)
        self.by_chat.setdefault(sent.chat_id, []).append(sent)
        return self._ok({"message_id": f"m{next(self._ids)}", "date": int(time.time() * 1000)})

    async def _m_sendChatAction(self, payload: dict) -> web.Response:
        if payload.get("action") != "typing":
            return self._error(400, 400, "Bad Request: unknown action")
        self.actions.append((str(payload.get("chat_id")), "typing"))
        return self._ok(True)


def bot_text_update(chat_id: str, text: str, message_id: str | None = None, event: str = "message.text.received",
                    wrapped: bool = False, name: str = "Nguyễn Văn A") -> dict:
    """An update as the Zalo Bot platform sends it (optionally wrapped in {ok, result})."""
    message: dict[str, Any] = {
        "from": {"id": chat_id, "display_name": name, "is_bot": False},
        "chat": {"id": chat_id, "chat_type": "PRIVATE"},
        "message_id": message_id or secrets.token_hex(8),
        "date": int(time.time() * 1000),
    }
    if event == "message.text.received":
        message["text"] = text
    elif event == "message.image.received":
        message["photo_url"] = "https://example.invalid/p.jpg"
    elif event == "message.sticker.received":
        message["sticker"] = "d063f44dc80821567819"
    update = {"event_name": event, "message": message}
    return {"ok": True, "result": update} if wrapped else update


class FakeZaloOA(_Server):
    """The OA API (`/v3.0/oa/message/cs`) and the OAuth token endpoint (`/v4/oa/access_token`) of one OA."""

    def __init__(self, app_id: str = "4321987654321", app_secret: str = "fake-app-secret",
                 oa_secret_key: str = "fake-oa-secret-key", access_token: str = "access-0",
                 refresh_token: str = "refresh-0") -> None:
        super().__init__()
        self.app_id, self.app_secret, self.oa_secret_key = app_id, app_secret, oa_secret_key
        self.access_token, self.refresh_token = access_token, refresh_token
        self.sent: list[Sent] = []
        self.attempts: list[dict] = []  # every cs call: {user_id, text, token, error}
        self.refreshes: list[dict] = []
        self._failures: list[dict] = []
        self._gen = itertools.count(1)
        self.app.router.add_post("/v3.0/oa/message/cs", self._send)
        self.app.router.add_post("/v4/oa/access_token", self._refresh)

    # -- test controls ----------------------------------------------------------------------------
    def fail_next(self, error: int, message: str, times: int = 1) -> None:
        self._failures.extend([{"error": error, "message": message}] * times)

    def expire_access_token(self) -> None:
        """The current access token stops working (Zalo answers -216 until a refresh)."""
        self.access_token = f"access-revoked-{secrets.token_hex(4)}"

    def messages_to(self, user_id: str) -> list[str]:
        return [s.text for s in self.sent if s.chat_id == str(user_id)]

    def signed(self, event: dict, secret_key: str | None = None, timestamp_header: bool = False
               ) -> tuple[bytes, dict[str, str]]:
        """Body and headers as Zalo signs them: mac = sha256(app_id + body + timestamp + OA secret key)."""
        raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
        ts = str(event.get("timestamp", ""))
        headers = {"Content-Type": "application/json"}
        if timestamp_header:  # the variant where the timestamp travels in a header, not the body
            ts = str(int(time.time() * 1000))
            headers["X-ZEvent-Timestamp"] = ts
        mac = oa_event_mac(self.app_id, raw, ts, secret_key or self.oa_secret_key)
        headers["X-ZEvent-Signature"] = f"mac={mac}"
        return raw, headers

    async def deliver(self, url: str, event: dict, *, secret_key: str | None = None, signature: str | None = None,
                      timestamp_header: bool = False) -> httpx.Response:
        raw, headers = self.signed(event, secret_key, timestamp_header)
        if signature is not None:
            headers["X-ZEvent-Signature"] = signature
        async with httpx.AsyncClient(timeout=10) as c:
            return await c.post(url, content=raw, headers=headers)

    # -- the API ------------------------------------------------------------------------------------
    async def _send(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            token = request.headers.get("access_token", "")
            user_id = str(((body.get("recipient") or {}).get("user_id")) or "")
            text = (body.get("message") or {}).get("text")
            if token != self.access_token:
                result = {"error": -216, "message": "Access token is invalid"}
            elif self._failures:
                result = self._failures.pop(0)
            elif not user_id or not isinstance(text, str) or not 1 <= len(text) <= 2000:
                result = {"error": -201, "message": "Parameters are invalid"}
            else:
                self.sent.append(Sent(user_id, text))
                result = {"error": 0, "message": "Success",
                          "data": {"message_id": f"oa{next(self._gen)}", "user_id": user_id}}
            self.attempts.append({"user_id": user_id, "text": text, "token": token, "error": result["error"]})
            return web.json_response(result)  # HTTP 200 even for errors, as Zalo does
        finally:
            await self._notify()

    async def _refresh(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.refreshes.append(dict(form))
        if request.headers.get("secret_key") != self.app_secret:
            return web.json_response({"error": -14002, "error_name": "Invalid secret key",
                                      "error_description": "secret_key is invalid"})
        if form.get("app_id") != self.app_id or form.get("grant_type") != "refresh_token":
            return web.json_response({"error": -14001, "error_description": "Invalid parameter"})
        if form.get("refresh_token") != self.refresh_token:
            return web.json_response({"error": -14014, "error_description": "Refresh token is invalid"})
        n = next(self._gen)
        self.access_token, self.refresh_token = f"access-{n}", f"refresh-{n}"  # the old refresh token is spent
        return web.json_response({"access_token": self.access_token, "refresh_token": self.refresh_token,
                                  "expires_in": "90000"})


def oa_text_event(app_id: str, user_id: str, text: str, msg_id: str | None = None,
                  event: str = "user_send_text", oa_id: str = "oa-579745863508352884") -> dict:
    """An OA v3 webhook event as Zalo sends it (timestamp in milliseconds, as a string)."""
    message: dict[str, Any] = {"msg_id": msg_id or secrets.token_hex(12)}
    if event in ("user_send_text", "oa_send_text"):
        message["text"] = text
    elif event == "user_send_image":
        message["attachments"] = [{"type": "image", "payload": {"url": "https://example.invalid/p.jpg"}}]
    sender, recipient = (user_id, oa_id) if event.startswith("user_") else (oa_id, user_id)
    return {"app_id": app_id, "user_id_by_app": f"app-{user_id}", "event_name": event,
            "timestamp": str(int(time.time() * 1000)), "sender": {"id": sender}, "recipient": {"id": recipient},
            "message": message}
