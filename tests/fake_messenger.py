"""A fake Messenger Platform on 127.0.0.1: the Send API (`POST /v21.0/me/messages?access_token=…`) with its limits
(2,000 characters, at most 13 quick replies of at most 20 characters), and a sender of signed webhook events
as Meta sends them (X-Hub-Signature-256 over the raw body). It records what it was sent and can fail on demand."""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web

from bot.messenger import signature


@dataclass
class Sent:
    psid: str
    text: str
    quick_replies: list[dict[str, Any]] = field(default_factory=list)


class FakeMessenger:
    def __init__(self, page_token: str = "EAAB-fake-page-token", app_secret: str = "fake-app-secret-123",
                 verify_token: str = "verify-me-456") -> None:
        self.page_token, self.app_secret, self.verify_token = page_token, app_secret, verify_token
        self.sent: list[Sent] = []
        self.actions: list[tuple[str, str]] = []
        self.attempts = 0
        self._failures: list[tuple[int, dict]] = []
        self._mids = itertools.count(1)
        self.changed = asyncio.Condition()
        self.app = web.Application()
        self.app.router.add_post("/v21.0/me/messages", self._send)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v21.0"

    def env(self, path: str = "/messenger") -> dict[str, str]:
        return {"MESSENGER_PAGE_ACCESS_TOKEN": self.page_token, "MESSENGER_APP_SECRET": self.app_secret,
                "MESSENGER_VERIFY_TOKEN": self.verify_token, "MESSENGER_WEBHOOK_PATH": path,
                "MESSENGER_API_BASE_URL": self.api_base_url}

    async def start(self) -> "FakeMessenger":
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def fail_next(self, status: int, code: int, message: str, times: int = 1) -> None:
        self._failures += [(status, {"error": {"message": message, "type": "OAuthException", "code": code}})] * times

    def messages_to(self, psid: str) -> list[Sent]:
        return [s for s in self.sent if s.psid == psid]

    async def wait_until(self, predicate, timeout: float = 30.0) -> None:
        async def waiter() -> None:
            async with self.changed:
                await self.changed.wait_for(predicate)

        await asyncio.wait_for(waiter(), timeout)

    async def _send(self, request: web.Request) -> web.Response:
        try:
            self.attempts += 1
            if request.query.get("access_token") != self.page_token:
                return web.json_response({"error": {"message": "Invalid OAuth access token", "code": 190}}, status=400)
            if self._failures:
                status, body = self._failures.pop(0)
                return web.json_response(body, status=status)
            body = await request.json()
            psid = str((body.get("recipient") or {}).get("id") or "")
            if "sender_action" in body:
                self.actions.append((psid, body["sender_action"]))
                return web.json_response({"recipient_id": psid})
            message = body.get("message") or {}
            text, quick = message.get("text"), message.get("quick_replies") or []
            if (not isinstance(text, str) or not 1 <= len(text) <= 2000 or len(quick) > 13
                    or any(len(q.get("title", "")) > 20 or not q.get("payload") for q in quick)):
                return web.json_response({"error": {"message": "(#100) Invalid parameter", "code": 100}}, status=400)
            self.sent.append(Sent(psid, text, quick))
            return web.json_response({"recipient_id": psid, "message_id": f"m_{next(self._mids)}"})
        finally:
            async with self.changed:
                self.changed.notify_all()

    # -- what Meta sends ---------------------------------------------------------------------
    def text_event(self, psid: str, text: str, mid: str | None = None, quick_payload: str | None = None) -> dict:
        message: dict[str, Any] = {"mid": mid or f"mid.{next(self._mids)}.{time.time_ns()}", "text": text}
        if quick_payload:
            message["quick_reply"] = {"payload": quick_payload}
        return {"object": "page", "entry": [{"id": "page-1", "time": int(time.time() * 1000), "messaging": [
            {"sender": {"id": psid}, "recipient": {"id": "page-1"}, "timestamp": int(time.time() * 1000),
             "message": message}]}]}

    async def deliver(self, url: str, event: dict, *, secret: str | None = None, sign: bool = True,
                      raw: bytes | None = None, signed_body: bytes | None = None) -> httpx.Response:
        """POST an event signed as Meta does (or unsigned, with another secret, or over another body)."""
        body = raw if raw is not None else json.dumps(event, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if sign:
            headers["X-Hub-Signature-256"] = signature(secret or self.app_secret,
                                                       body if signed_body is None else signed_body)
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(url, content=body, headers=headers)
