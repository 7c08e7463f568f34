"""Zalo Official Account (API v3) adapter: signed webhook events in, customer-service messages out.

Events arrive at ZALO_OA_WEBHOOK_PATH signed with X-ZEvent-Signature (see `oa_event_mac`): size, then the
signature on the raw bytes, then JSON, then the timestamp window, then the delivery claim (bot/deliveries.py);
the 200 follows the reply (well under Zalo's 2 s in normal load), so a worker that dies mid-answer never acked.
Replies go to /v3.0/oa/message/cs with the access token kept fresh by `bot.zalo_oa_auth`.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from typing import Any, Sequence

import httpx
from aiohttp import web

from bot.conversation import Conversation
from bot.deliveries import DELIVERY_DONE, DELIVERY_DOWN, DELIVERY_NEW, RETRY_AFTER_S, refused
from bot.zalo_common import (MAX_WEBHOOK_BODY, OA_CHANNEL, ZaloAdapter, ZaloConfigError, _backoff_delay, _json_body,
                             _short, content_key, read_capped)
from bot.zalo_oa_auth import OAAuthError, OATokenManager

log = logging.getLogger("bot.zalo")

OA_SIGNATURE_HEADER = "X-ZEvent-Signature"
OA_TIMESTAMP_HEADER = "X-ZEvent-Timestamp"
OA_SEND_PATH = "/v3.0/oa/message/cs"
OA_TOKEN_INVALID = (-216, -220)  # access token invalid / expired → refresh once and retry
OA_RATE_LIMITED = -32
OA_USER_INACTIVE = -230  # the citizen has not interacted with the OA for 7 days: Zalo refuses, do not retry
OA_EVENT_WINDOW_S = 300.0  # a signed OA event older (or newer) than this is a replay: ignored
_RAW_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*"?(\d{1,20})"?')


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
                return False  # the adapter logs it, with the citizen's pseudonym
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
        if refused(await self.accept(event)):  # Zalo delivers it again; by then it is answered or answerable
            return web.json_response({"error": 503, "message": "try again later"}, status=503,
                                     headers={"Retry-After": str(RETRY_AFTER_S)})
        return web.json_response({"error": 0, "message": "ok"})

    async def accept(self, event: dict) -> str:
        """Answer a citizen's message, then return its claim state; the OA's own echoes, other events and
        replays are dropped (DELIVERY_DONE)."""
        name = str(event.get("event_name") or "")
        if not name.startswith("user_send_"):  # oa_send_* echoes, follow, user_seen_message…
            return DELIVERY_DONE
        message = event.get("message") if isinstance(event.get("message"), dict) else {}
        sender = event.get("sender") if isinstance(event.get("sender"), dict) else {}
        msg_id = message.get("msg_id")
        key = (f"m:{msg_id}" if msg_id is not None
               else content_key(sender.get("id"), message.get("text"), event.get("timestamp")))
        state = await self.deliveries.claim(key)
        if state == DELIVERY_NEW:
            return await self.deliveries.answer(key, self._process(name, event))
        if state == DELIVERY_DOWN and sender.get("id"):
            await self.busy_notice(key, lambda text: self.client.send_text(str(sender["id"]), text))
        else:
            log.info("Zalo OA: message %s delivered again (%s), not answered here", _short(key), state)
        return state

    async def _process(self, name: str, event: dict) -> bool:
        """Answer one event; False when Zalo refused the reply (the claim is then given back)."""
        sender = event.get("sender") if isinstance(event.get("sender"), dict) else {}
        user_id = str(sender.get("id") or "")
        if not user_id:
            return True
        message = event.get("message") if isinstance(event.get("message"), dict) else {}
        text = message.get("text")
        try:
            async with self._chats.hold(user_id):
                is_text = name == "user_send_text" and isinstance(text, str)
                send = lambda part: self.client.send_text(user_id, part)  # noqa: E731
                for part in await self.reply_texts(user_id, user_id, text if is_text else None, send):
                    if not await self.client.send_text(user_id, part):
                        log.warning("Zalo OA: user %s has not interacted for 7 days (-230); reply not sent",
                                    self.pseudonym(user_id))
                        break
        except (ZaloOAError, OAAuthError, httpx.HTTPError) as exc:
            log.error("Zalo OA: reply to user %s failed: %s", self.pseudonym(user_id), exc)
            return False
        except Exception:  # a bug: answering it again would fail again
            log.exception("Zalo OA: handling an event of user %s failed", self.pseudonym(user_id))
        return True


