"""A small fake Telegram Bot API server on 127.0.0.1, for driving the real PTB Application over HTTP.

It implements the methods the bot uses (getMe, getUpdates with long polling, sendMessage, setMyCommands,
sendChatAction, answerCallbackQuery, editMessageReplyMarkup, deleteWebhook, setWebhook,
getWebhookInfo), records every call, serves queued updates, and can fail a method on demand
(e.g. 400 "can't parse entities") the way Telegram does.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

BOT_USER = {"id": 777000111, "is_bot": True, "first_name": "Trợ lý CCHC", "username": "cchc_test_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
JSON_FIELDS = {"reply_markup", "allowed_updates", "entities", "reply_parameters", "link_preview_options", "commands"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    result: Any = None
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return not (isinstance(self.result, dict) and "error" in self.result)


class FakeTelegram:
    def __init__(self, token: str = "123456:TEST-token") -> None:
        self.token = token
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._new_update: asyncio.Condition | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.webhook: dict[str, Any] | None = None
        self.commands: Any = None  # what setMyCommands registered (the "/" menu)
        self.listeners: list[Callable[[Call], None]] = []  # called (server thread) for every recorded call

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> "FakeTelegram":
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._new_update = asyncio.Condition()
            app = web.Application()
            app.router.add_route("*", "/bot{token}/{method}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="fake-telegram", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Telegram server did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._thread:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    # -- test controls ---------------------------------------------------------------------
    def push(self, *updates: dict[str, Any]) -> list[dict[str, Any]]:
        """Queue updates for getUpdates (ids assigned here); returns them."""
        with self._lock:
            for u in updates:
                u.setdefault("update_id", next(self._update_ids))
                self._updates.append(u)

        async def notify() -> None:
            assert self._new_update is not None
            async with self._new_update:
                self._new_update.notify_all()

        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(notify(), self._loop).result(5)
        return list(updates)

    def fail_next(self, method: str, status: int, description: str, times: int = 1) -> None:
        with self._lock:
            self._failures.setdefault(method, []).extend([(status, description)] * times)

    def calls_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method
                    and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
        """Poll until predicate() is truthy; a deadline, not a speed assertion."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; calls: {[c.method for c in self.calls]}")

    def sent_texts(self, chat_id: int) -> list[str]:
        """Texts of the messages delivered to a chat (failed attempts excluded)."""
        return [c.params["text"] for c in self.calls_of("sendMessage", chat_id) if c.ok]

    # -- update builders -------------------------------------------------------------------
    @staticmethod
    def user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "Dân", "language_code": "vi"}

    def text_update(self, user_id: int, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {"message_id": next(self._message_ids), "date": int(time.time()),
                                   "chat": {"id": user_id, "type": "private", "first_name": "Dân"},
                                   "from": self.user(user_id), "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"message": message}

    def callback_update(self, user_id: int, data: str, message: dict[str, Any]) -> dict[str, Any]:
        return {"callback_query": {"id": f"cb{next(self._message_ids)}", "from": self.user(user_id),
                                   "chat_instance": "ci-1", "data": data, "message": message}}

    # -- the API ---------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        if request.method == "GET":
            raw = dict(request.query)
        else:
            raw = dict(await request.post())
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if isinstance(value, str) and key in JSON_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        params = await self._params(request)
        with self._lock:
            failures = self._failures.get(method)
            failure = failures.pop(0) if failures else None
        if failure:
            status, description = failure
            call = Call(method, params, result={"error": status})
            with self._lock:
                self.calls.append(call)
            return web.json_response({"ok": False, "error_code": status, "description": description}, status=status)
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        result = await handler(params)
        if method != "getUpdates":
            call = Call(method, params, result)
            with self._lock:
                self.calls.append(call)
            for listener in self.listeners:
                listener(call)
        return web.json_response({"ok": True, "result": result})

    async def api_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def api_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 0.3)  # short polls: tests stop quickly
        assert self._new_update is not None

        def pending() -> list[dict[str, Any]]:
            with self._lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                return list(self._updates)

        updates = pending()
        if not updates and timeout > 0:
            async with self._new_update:
                try:
                    await asyncio.wait_for(self._new_update.wait(), timeout)
                except asyncio.TimeoutError:
                    pass
            updates = pending()
        with self._lock:
            self.calls.append(Call("getUpdates", params, len(updates)))
        return updates

    async def api_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        message = {"message_id": next(self._message_ids), "date": int(time.time()),
                   "chat": {"id": chat_id, "type": "private"}, "from": BOT_USER, "text": params["text"]}
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    async def api_sendChatAction(self, params: dict[str, Any]) -> Any:
        return True

    async def api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    async def api_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        return {"message_id": int(params.get("message_id", 0)), "date": int(time.time()),
                "chat": {"id": int(params.get("chat_id", 0)), "type": "private"}, "from": BOT_USER, "text": "…",
                **({"reply_markup": params["reply_markup"]} if params.get("reply_markup") else {})}

    async def api_setMyCommands(self, params: dict[str, Any]) -> Any:
        self.commands = params.get("commands")
        return True

    async def api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    async def api_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = params
        return True

    async def api_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                "pending_update_count": 0}
