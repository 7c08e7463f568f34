"""The Telegram webhook as our own small ASGI app, so nothing is read or parsed before it is trusted.

PTB's built-in webhook server reads the whole body (up to 100 MB) before it checks the secret, and
compares the secret with `!=`. Here, in order: the path and method, the secret header with
`hmac.compare_digest`, the declared Content-Length, then the body read in pieces and cut off at
MAX_BODY_BYTES (413), JSON, and the update id — claimed in the store (bot/deliveries.py): a replayed id is
acknowledged and dropped, one another worker is answering is refused (503) for a later redelivery. A new
update is processed by PTB's handlers *before* the response, so Telegram gets its 200 only once the replies
went out: a worker that dies mid-answer never acknowledged, and Telegram delivers the update again.
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
import socket
from typing import Any, Iterator, Sequence
from urllib.parse import urlparse

import uvicorn
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send
from telegram import Update
from telegram.ext import Application

from bot import replies
from bot.deliveries import DELIVERY_BUSY, DELIVERY_DONE, DELIVERY_DOWN, RETRY_AFTER_S, Deliveries
from bot.store import Store

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
MAX_BODY_BYTES = 256 * 1024  # a Telegram update with the longest text and entities is a few tens of KB
CHANNEL = "telegram"


class TelegramWebhook:
    """ASGI app: one POST path; everything else is 404/405."""

    def __init__(self, path: str, secret: str, store: Store, application: Application,
                 max_body: int = MAX_BODY_BYTES) -> None:
        self.path = "/" + path.lstrip("/")
        self._secret = secret.encode("utf-8")
        self.store = store
        self.application = application
        self.max_body = max_body
        self.deliveries = Deliveries(store, CHANNEL)
        self.accepted = 0
        self.duplicates = 0
        self.refused = 0
        self.deferred = 0  # refused for a redelivery: being answered elsewhere, or the database is down

    def _refuse(self, status: int, reason: str, request: Request) -> JSONResponse:
        self.refused += 1
        client = request.client.host if request.client else "?"
        log.warning("Telegram webhook: %s (%d) from %s", reason, status, client)
        return JSONResponse({"ok": False, "description": reason}, status_code=status)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off; websockets are not served
            return
        request = Request(scope, receive)
        response = await self._handle(request)
        await response(scope, receive, send)

    async def _handle(self, request: Request) -> JSONResponse:
        if request.url.path != self.path:
            return JSONResponse({"ok": False, "description": "not found"}, status_code=404)
        if request.method != "POST":
            return JSONResponse({"ok": False, "description": "method not allowed"}, status_code=405)
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret):
            return self._refuse(403, "wrong or missing secret token", request)
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                return self._refuse(400, "bad content-length", request)
            if int(declared) > self.max_body:
                return self._refuse(413, "body too large", request)
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > self.max_body:  # chunked or lying Content-Length: stop reading here
                    return self._refuse(413, "body too large", request)
        except ClientDisconnect:
            return self._refuse(400, "client went away", request)
        try:
            data = json.loads(body)
        except ValueError:
            return self._refuse(400, "bad json", request)
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return self._refuse(400, "no update_id", request)
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception as exc:  # noqa: BLE001 - a malformed update must not become a 500
            return self._refuse(400, f"not an update ({type(exc).__name__})", request)
        key = str(update_id)
        state = await self.deliveries.claim(key)
        if state == DELIVERY_DONE:
            self.duplicates += 1
            log.info("Telegram webhook: update %d delivered again, ignored", update_id)
            return JSONResponse({"ok": True})
        if state in (DELIVERY_BUSY, DELIVERY_DOWN):
            self.deferred += 1
            if state == DELIVERY_DOWN:
                await self._busy_notice(update, key)
            return JSONResponse({"ok": False, "description": "try again later"}, status_code=503,
                                headers={"Retry-After": str(RETRY_AFTER_S)})
        self.accepted += 1
        await self.deliveries.answer(key, self._process(update))
        return JSONResponse({"ok": True})

    async def _process(self, update: Update) -> bool:
        """PTB's handlers, awaited; their errors reach the bot's error handler, which tells the citizen."""
        await self.application.process_update(update)
        return True

    async def _busy_notice(self, update: Update, key: str) -> None:
        """The database is down: tell the citizen once (with the hotlines); Telegram keeps the update."""
        chat = update.effective_chat
        if chat is None or not self.deliveries.first_notice(key):
            return
        try:
            await self.application.bot.send_message(chat.id, replies.UNAVAILABLE)
        except Exception as exc:  # noqa: BLE001 - Telegram itself may be unreachable too
            log.warning("Telegram webhook: busy notice not sent (%s)", type(exc).__name__)


class _Server(uvicorn.Server):
    """uvicorn inside PTB's event loop: the application, not uvicorn, owns the stop signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_webhook(application: Application, settings: Any, secret: str, store: Store,
                allowed_updates: Sequence[str], stop_signals: str | None = "default") -> None:
    """Like `Application.run_webhook`, with our ASGI app: blocks until a stop signal or `stop_running()`."""
    from bot.telegram import ChannelConfigError

    path = urlparse(settings.telegram_webhook_url).path or "/"
    handler = TelegramWebhook(path, secret, store, application)
    try:  # bind first: a busy port is an operator's mistake to explain, not a silent exit
        sock = socket.create_server((settings.webhook_host, settings.webhook_port), reuse_port=False)
    except OSError as exc:
        raise ChannelConfigError(
            f"Không mở được cổng webhook {settings.webhook_host}:{settings.webhook_port} ({exc.strerror or exc}). "
            "Hãy đặt CCHC_WEBHOOK_HOST/CCHC_WEBHOOK_PORT khác (mỗi tiến trình `cchc telegram`, `cchc zalo` một "
            "cổng riêng).") from None
    config = uvicorn.Config(handler, host=settings.webhook_host, port=settings.webhook_port, lifespan="off",
                            access_log=False, log_level="warning", limit_concurrency=200)
    server = _Server(config)
    application.bot_data["webhook"] = server
    application.bot_data["webhook_handler"] = handler
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

    def stop() -> None:
        loop.stop()

    if stop_signals == "default":
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop)
    serving: asyncio.Task | None = None
    try:
        loop.run_until_complete(application.initialize())
        from bot.telegram import register_commands

        loop.run_until_complete(register_commands(application))  # post_init runs only in PTB's own run_* methods
        loop.run_until_complete(application.bot.set_webhook(settings.telegram_webhook_url, secret_token=secret,
                                                             allowed_updates=list(allowed_updates)))
        loop.run_until_complete(application.start())
        serving = loop.create_task(server.serve(sockets=[sock]))
        log.info("Telegram: webhook on %s:%s%s", settings.webhook_host, settings.webhook_port, handler.path)
        loop.run_forever()  # until a signal or application.stop_running() stops the loop
    except (KeyboardInterrupt, SystemExit):
        log.debug("Telegram webhook: stop signal")
    finally:
        server.should_exit = True
        if serving is not None:
            loop.run_until_complete(serving)
        if application.running:
            loop.run_until_complete(application.stop())
        loop.run_until_complete(application.shutdown())
        sock.close()
        loop.close()
