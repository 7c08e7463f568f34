"""Telegram channel: the one assistant behind a python-telegram-bot (v22) application.

The channel only formats and delivers; answering is `assistant.answer(question) -> Answer` (any object
with that method, so a hot-reloading wrapper can be swapped in). Everything remembered goes through
the `Store` (redacted). Polling when TELEGRAM_WEBHOOK_URL is unset, a webhook server otherwise: the
project's own ASGI handler (`bot.telegram_webhook`) on uvicorn, which bounds the body, checks the
secret in constant time before parsing, and drops replayed update ids (kept in the store) before
handing the update to PTB's update queue.
"""
from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from typing import Any, Protocol, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.constants import ChatAction, MessageLimit, ParseMode
from telegram.error import BadRequest
from telegram.ext import (AIORateLimiter, Application, ApplicationBuilder, ApplicationHandlerStop,
                          CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters)

from bot import replies
from bot.flood import BUSY, DEFAULT_FLOOD_LIMIT, AssistantBusy, ChatLocks, FloodGuard
from bot.redact import redact
from bot.store import Store, StoreWriteFailed
from bot.types import Answer

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_CHARS = MessageLimit.MAX_TEXT_LENGTH  # 4096, counted by Telegram in UTF-16 code units
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as secret_token

START = (
    replies.GREETING + "\n\nMình chưa có thông tin về hồ sơ, giấy tờ, lệ phí của từng thủ tục cụ thể và không xem "
    "được hồ sơ của riêng bạn; khi không tìm thấy câu trả lời trong văn bản, mình sẽ nói rõ và chỉ chỗ hỏi tiếp. "
    "Gõ /help để xem ví dụ, /hotline để xem số tổng đài."
)
HOTLINE = (
    "Các kênh hỗ trợ:\n"
    "• Tổng đài 1800.1096: hỗ trợ dùng Cổng Dịch vụ công quốc gia (tài khoản, nộp hồ sơ, tra cứu hồ sơ).\n"
    "• Tổng đài 1022 của tỉnh, thành phố (nếu địa phương có): hỏi về thủ tục, phản ánh, kiến nghị tại địa phương; "
    "có nơi phải bấm kèm mã vùng.\n"
    "• Đường dây nóng của xã, phường: xem tại bộ phận một cửa hoặc trang thông tin của xã, phường.\n"
    "• Tra cứu thủ tục, nộp hồ sơ trực tuyến: https://dichvucong.gov.vn"
)
FLOOD = "Bạn gửi nhanh quá, mình chưa kịp trả lời. Bạn vui lòng đợi một chút rồi gửi lại câu hỏi nhé."
THANKS_VOTE = "Cảm ơn bạn đã góp ý! Cán bộ sẽ xem lại câu trả lời này."
VOTE_NOT_SAVED = "Xin lỗi, lúc này mình chưa ghi được đánh giá của bạn. Bạn thử lại sau ít phút nhé."
SOURCES_GONE = "Xin lỗi, mình không còn lưu nguồn của câu trả lời này. Bạn hãy hỏi lại nhé."
NO_TOKEN = ("Chưa có TELEGRAM_BOT_TOKEN. Hãy lấy mã bot từ @BotFather rồi đặt biến môi trường TELEGRAM_BOT_TOKEN "
            "(hoặc ghi vào tệp .env) trước khi chạy `cchc telegram`.")
SOURCES_HEAD = "Nguồn của câu trả lời:"
BUTTON_SOURCES = "📄 Xem nguồn"
BUTTON_UP = "👍"
BUTTON_DOWN = "👎"


class AnswersQuestions(Protocol):
    def answer(self, question: str) -> Answer: ...


class ChannelConfigError(RuntimeError):
    """A missing or wrong Telegram setting; the message is Vietnamese, for the operator."""


# -- text splitting ---------------------------------------------------------------------------
def tg_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


_BOUNDARIES = ("\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ")


def split_text(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Cut plain text into parts of at most `limit` (Telegram) characters, at paragraph, line,
    sentence or word boundaries where possible. Split before escaping: the limit is on visible text."""
    text = text.strip()
    parts: list[str] = []
    while tg_len(text) > limit:
        window = text[:limit]
        while tg_len(window) > limit:  # astral characters count twice
            window = window[:-1]
        cut = -1
        for sep in _BOUNDARIES:
            pos = window.rfind(sep)
            if pos > limit // 3:  # not a tiny first part
                cut = pos + len(sep.rstrip(" ")) if sep.strip() else pos
                break
        if cut <= 0:
            cut = len(window)
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def sources_blocks(citations: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """(header, passage) per citation: '[1] Kế hoạch …, mục II > 1, ngày 26/01/2026' and the passage."""
    blocks = []
    for c in citations:
        header = c.get("label") or f"[{c.get('n')}] {c.get('title', '')}"
        body = (c.get("text") or "").strip()
        source = c.get("source") or ""
        if source.startswith(("http://", "https://")):
            body += f"\n(Nguồn gốc: {source})"
        blocks.append((header, body))
    return blocks


def render_sources(citations: Sequence[dict[str, Any]], limit: int = MAX_CHARS) -> list[tuple[str, str]]:
    """Messages as (html, plain) pairs: bold headers, escaped passages, each under the limit."""
    pieces: list[tuple[str, str]] = [(f"<b>{html.escape(SOURCES_HEAD)}</b>", SOURCES_HEAD)]
    for header, body in sources_blocks(citations):
        budget = limit - tg_len(header) - 2
        for i, part in enumerate(split_text(body, budget) or [""]):
            head = header if i == 0 else header + " (tiếp)"
            pieces.append((f"<b>{html.escape(head)}</b>\n{html.escape(part)}", f"{head}\n{part}"))
    messages: list[tuple[str, str]] = []
    cur_html, cur_plain = "", ""
    for h, p in pieces:
        joined = f"{cur_plain}\n\n{p}" if cur_plain else p
        if cur_plain and tg_len(joined) > limit:
            messages.append((cur_html, cur_plain))
            cur_html, cur_plain = h, p
        else:
            cur_html, cur_plain = (f"{cur_html}\n\n{h}" if cur_html else h), joined
    if cur_plain:
        messages.append((cur_html, cur_plain))
    return messages


# -- handlers ----------------------------------------------------------------------------------
def answer_keyboard(question_id: int, citations_key: str | None) -> InlineKeyboardMarkup:
    """'Xem nguồn' (when there are sources) and 👍/👎. Callback data stays far below 64 bytes."""
    rows = []
    if citations_key:
        rows.append([InlineKeyboardButton(BUTTON_SOURCES, callback_data=f"src:{citations_key}")])
    if question_id:  # 0: the question could not be logged (disk full), so a vote could not be stored either
        rows.append([InlineKeyboardButton(BUTTON_UP, callback_data=f"v:{question_id}:1"),
                     InlineKeyboardButton(BUTTON_DOWN, callback_data=f"v:{question_id}:-1")])
    return InlineKeyboardMarkup(rows)


def _is_entity_error(exc: BadRequest) -> bool:
    msg = str(exc).lower()
    return "parse entities" in msg or "entity" in msg or "entities" in msg


async def send_long(bot: Any, chat_id: int, parts: Sequence[tuple[str, str]],
                    reply_markup: InlineKeyboardMarkup | None = None, reply_to: int | None = None) -> None:
    """Send (html, plain) parts in order; the keyboard goes on the last one. If Telegram rejects the
    HTML entities, that part is sent again as plain text rather than lost."""
    for i, (html_text, plain) in enumerate(parts):
        last = i == len(parts) - 1
        kwargs: dict[str, Any] = {"reply_markup": reply_markup if last else None}
        if i == 0 and reply_to:
            kwargs["reply_parameters"] = ReplyParameters(reply_to, allow_sending_without_reply=True)
        try:
            await bot.send_message(chat_id, html_text, parse_mode=ParseMode.HTML, **kwargs)
        except BadRequest as exc:
            if not _is_entity_error(exc):
                raise
            log.warning("Telegram rejected HTML entities (%s); sending as plain text", exc)
            await bot.send_message(chat_id, plain, **kwargs)


def html_parts(text: str) -> list[tuple[str, str]]:
    """Split first (visible length), then escape each part."""
    return [(html.escape(p, quote=False), p) for p in split_text(text)]


class TelegramBot:
    """Handlers bound to one assistant and one store."""

    def __init__(self, assistant: AnswersQuestions, store: Store, flood_limit: str = DEFAULT_FLOOD_LIMIT) -> None:
        self.assistant = assistant
        self.store = store
        self.flood = FloodGuard(flood_limit)
        self.chats = ChatLocks()

    def user_hash(self, update: Update) -> str:
        user = update.effective_user
        return self.store.hash_user(CHANNEL, user.id if user else "unknown")

    async def guard(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Runs before every message handler: stops floods politely (one warning per window)."""
        user = update.effective_user
        if user is None or update.effective_chat is None:
            return
        key = str(user.id)
        if self.flood.allow(key):
            return
        log.info("flood limit hit by user %s", self.user_hash(update)[:8])
        if self.flood.should_warn(key):
            await context.bot.send_message(update.effective_chat.id, FLOOD)
        raise ApplicationHandlerStop

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(START)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(replies.HELP)

    async def hotline(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(HOTLINE)

    async def question(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Updates run concurrently; one question per chat at a time keeps each chat's answers in order."""
        async with self.chats.hold(str(update.effective_message.chat_id)):
            await self._question(update, context)

    async def _question(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        chat_id = message.chat_id
        started = time.perf_counter()
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        typing = asyncio.create_task(self._keep_typing(context.bot, chat_id))
        text = message.text or ""
        try:
            answer: Answer = await asyncio.to_thread(self.assistant.answer, text)  # CPU-bound: off the event loop
        except AssistantBusy:
            log.warning("assistant busy: question of user %s not answered", self.user_hash(update)[:8])
            await context.bot.send_message(chat_id, BUSY)
            return
        finally:
            typing.cancel()
        reply_ms = (time.perf_counter() - started) * 1000
        markup = None
        try:
            qid, key = await asyncio.to_thread(self._remember, update, text, answer, reply_ms)
        except Exception:  # noqa: BLE001 - the log is lost, the citizen still gets the answer
            log.exception("could not log a Telegram question; answering without buttons")
            qid, key = 0, None
        if answer.kind in ("answer", "not_found"):  # greetings, refusals: logged for the counts, no buttons
            markup = answer_keyboard(qid, key) if qid or key else None
        await send_long(context.bot, chat_id, html_parts(answer.text), markup)

    @staticmethod
    async def _keep_typing(bot: Any, chat_id: int, every: float = 4.5) -> None:
        """Telegram shows 'typing…' for 5 s; renew it while a slow answer is being computed."""
        while True:
            await asyncio.sleep(every)
            try:
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            except Exception as exc:  # noqa: BLE001 - cosmetic; the answer matters
                log.debug("typing action failed: %s", exc)

    def _remember(self, update: Update, text: str, answer: Answer, reply_ms: float) -> tuple[int, str | None]:
        qid = self.store.log_question(CHANNEL, self.user_hash(update), text, answer.text, answer.found,
                                      answer.citations, round(reply_ms, 1), kind=answer.kind)
        key = self.store.save_citations(answer.citations, qid) if answer.citations else None
        return qid, key

    async def not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(replies.NO_TEXT)

    async def callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        data = query.data or ""
        if data.startswith("src:"):
            citations = await asyncio.to_thread(self.store.get_citations, data[4:])
            if not citations:
                await query.answer(SOURCES_GONE, show_alert=True)
                return
            await query.answer()
            reply_to = query.message.message_id if query.message else None
            await send_long(context.bot, query.message.chat.id, render_sources(citations), reply_to=reply_to)
        elif data.startswith("v:"):
            try:
                _, qid, vote = data.split(":")
                await asyncio.to_thread(self.store.record_vote, int(qid), CHANNEL, self.user_hash(update), int(vote))
            except (ValueError, LookupError) as exc:  # forged or stale button
                log.warning("vote not stored for %r: %r", data, exc)
                await query.answer()
                return
            except StoreWriteFailed:  # disk full: counted by the store; tell the citizen honestly
                await query.answer(VOTE_NOT_SAVED, show_alert=True)
                return
            await query.answer(THANKS_VOTE)
            await self._drop_vote_buttons(query)
        else:
            await query.answer()

    async def _drop_vote_buttons(self, query: Any) -> None:
        """After a vote keep only 'Xem nguồn', so the citizen sees the vote was taken."""
        message = query.message
        if message is None:
            return
        markup = getattr(message, "reply_markup", None)
        rows = [row for row in (markup.inline_keyboard if markup else ())
                if not any((b.callback_data or "").startswith("v:") for b in row)]
        try:
            await query.edit_message_reply_markup(InlineKeyboardMarkup(rows) if rows else None)
        except BadRequest as exc:  # "message is not modified" and similar: cosmetic only
            log.debug("could not edit reply markup: %s", exc)

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The citizen gets a polite message; the log gets the trace (redacted question only)."""
        where = ""
        if isinstance(update, Update) and update.effective_message and update.effective_message.text:
            where = f" while answering {redact(update.effective_message.text)[:200]!r}"
        log.error("error in Telegram handler%s", where, exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat:
            try:
                await context.bot.send_message(update.effective_chat.id, replies.UNAVAILABLE)
            except Exception:  # noqa: BLE001 - Telegram itself may be the problem
                log.exception("could not tell the citizen about the error")


def file_url_for(base_url: str) -> str:
    """https://api.telegram.org/bot → https://api.telegram.org/file/bot (the same host for files)."""
    return base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url.rstrip("/") + "/file/bot"


def build_application(settings: Any, assistant: AnswersQuestions, store: Store,
                      flood_limit: str = DEFAULT_FLOOD_LIMIT, telegram_rate_limit: bool = True) -> Application:
    """The PTB application with all handlers; does not start anything.

    `telegram_rate_limit=False` drops AIORateLimiter (Telegram's ~30 messages/s): only for measuring the
    bot's own capacity against a fake server (scripts/load_telegram.py)."""
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value().strip():
        raise ChannelConfigError(NO_TOKEN)
    token = settings.telegram_bot_token.get_secret_value().strip()
    builder = (ApplicationBuilder().token(token)
               .base_url(settings.telegram_api_base_url)
               .base_file_url(file_url_for(settings.telegram_api_base_url))
               .concurrent_updates(True))
    if telegram_rate_limit:
        builder = builder.rate_limiter(AIORateLimiter())
    app = builder.build()
    bot = TelegramBot(assistant, store, flood_limit)
    app.bot_data["cchc"] = bot
    private = filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & (filters.COMMAND | private),
                                   bot.guard), group=-1)
    app.add_handler(CommandHandler("start", bot.start))
    app.add_handler(CommandHandler(["help", "trogiup"], bot.help))
    app.add_handler(CommandHandler("hotline", bot.hotline))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND & private,
                                   bot.question))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & private & ~filters.TEXT & ~filters.StatusUpdate.ALL,
                                   bot.not_text))
    app.add_handler(CallbackQueryHandler(bot.callback))
    app.add_error_handler(bot.error)
    return app


def webhook_secret(settings: Any) -> str:
    """The secret Telegram must send with every update; a webhook without one is refused."""
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    if not secret:
        raise ChannelConfigError(
            "Đã đặt TELEGRAM_WEBHOOK_URL nhưng chưa có TELEGRAM_WEBHOOK_SECRET. Hãy đặt một chuỗi bí mật "
            "(1–256 ký tự A–Z, a–z, 0–9, _ hoặc -) để máy chủ từ chối yêu cầu giả mạo.")
    if not SECRET_TOKEN.match(secret):
        raise ChannelConfigError(
            "TELEGRAM_WEBHOOK_SECRET chỉ được gồm 1–256 ký tự A–Z, a–z, 0–9, _ hoặc - (quy định của Telegram).")
    return secret


def run(app: Application, settings: Any, stop_signals: Any = "default", store: Store | None = None) -> None:
    """Serve until stopped: long polling without TELEGRAM_WEBHOOK_URL, our webhook server with it."""
    updates = ["message", "callback_query"]
    if not settings.telegram_webhook_url:
        log.info("Telegram: long polling")
        extra = {} if stop_signals == "default" else {"stop_signals": stop_signals}
        app.run_polling(allowed_updates=updates, **extra)
        return
    from bot.telegram_webhook import run_webhook

    secret = webhook_secret(settings)
    store = store or app.bot_data["cchc"].store
    run_webhook(app, settings, secret, store, allowed_updates=updates,
                stop_signals=None if stop_signals is None else "default")


def quiet_http_logs() -> None:
    """httpx logs every request URL at INFO, and Telegram URLs contain the bot token."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
