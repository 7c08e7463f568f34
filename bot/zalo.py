"""`cchc zalo`: the Zalo Bot and Zalo OA adapters (bot/zalo_bot.py, bot/zalo_oa.py) over the conversation layer,
with one aiohttp webhook server on CCHC_WEBHOOK_HOST:CCHC_WEBHOOK_PORT behind the operator's TLS proxy.

HTTP is a thin httpx client (the public Zalo SDKs are young forks). This module checks the configuration
(before the model is loaded), builds the adapters and serves them; it also re-exports the names other code
and tests import from `bot.zalo`.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlparse

import httpx
from aiohttp import web

from bot import replies
from bot.channels import serve_webhooks
from bot.conversation import Conversation
from bot.flood import DEFAULT_FLOOD_LIMIT
from bot.render import format_sources, split_message  # noqa: F401 - re-exported
from bot.store import Store
from bot.zalo_bot import (BOT_SECRET_HEADER, MAX_UPDATES_PER_POST, TEXT_EVENT, ZaloBotAdapter,  # noqa: F401
                          ZaloBotClient, bot_method_url, iter_updates, validate_bot_secret)
from bot.zalo_common import (BOT_CHANNEL, MAX_CHARS, MAX_WEBHOOK_BODY, OA_CHANNEL, AnswersQuestions,  # noqa: F401
                             RecentIds, ZaloAdapter, ZaloApiError, ZaloConfigError, content_key)
from bot.zalo_oa import (OA_EVENT_WINDOW_S, OA_SIGNATURE_HEADER, ZaloOAAdapter, ZaloOAClient,  # noqa: F401
                         ZaloOAError, matching_timestamp, oa_event_mac, verify_oa_signature)
from bot.zalo_oa_auth import TOKEN_FILE, OATokenManager, TokenFile

log = logging.getLogger("bot.zalo")

# The texts live in bot/replies.py; these names stay for code written against bot.zalo.
FOOTER, FOOTER_NOT_FOUND, SOURCES_HEAD = replies.FOOTER, replies.FOOTER_NOT_FOUND, replies.SOURCES_HEAD
NO_SOURCES, NO_VOTE_TARGET, VOTE_NOT_SAVED = replies.NO_SOURCES, replies.NO_VOTE_TARGET, replies.VOTE_NOT_SAVED
THANKS_UP, THANKS_DOWN, FLOOD, NO_TEXT = replies.THANKS_UP, replies.THANKS_DOWN, replies.FLOOD, replies.NO_TEXT


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
                raise ZaloConfigError("ZALO_BOT_WEBHOOK_URL phải là địa chỉ đầy đủ, ví dụ "
                                      "https://bot.example.vn/zalo/bot.")
            validate_bot_secret(_secret(settings.zalo_bot_webhook_secret))
            bot_webhook = True
    if oa_wanted:
        missing = [name for name in ("ZALO_OA_APP_ID", "ZALO_OA_SECRET_KEY") if not oa_values[name]]
        stored = token_store(settings).load()
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


def token_store(settings: Any, store: Store | None = None) -> Any:
    """Where the OA token pair lives: the shared database with CCHC_DATABASE_URL (every worker refreshes through
    it, one at a time), else `zalo_oa_tokens.json` in the data dir."""
    from state.engine import database_url

    engine = getattr(store, "engine", None)
    url = database_url(settings) if engine is None else None
    if engine is None and url is None:
        return TokenFile(Path(settings.data_dir) / TOKEN_FILE)
    from state.engine import make_engine
    from state.tokens import DbTokenFile

    return DbTokenFile(engine if engine is not None else make_engine(url, pool_size=1))


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
            try:
                self._runner, self.port = await serve_webhooks(routes, self.host, self.port, 256 * 1024)
            except OSError as exc:
                self._runner = None
                raise ZaloConfigError(
                    f"Không mở được cổng webhook {self.host}:{self.port} ({exc.strerror or exc}). Hãy đặt "
                    "CCHC_WEBHOOK_HOST/CCHC_WEBHOOK_PORT khác (mỗi tiến trình `cchc telegram`, `cchc zalo` "
                    "một cổng riêng).") from None
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
            token_file=token_store(settings, store),
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
