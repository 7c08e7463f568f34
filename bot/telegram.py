"""Telegram channel: a python-telegram-bot (v22) adapter over the conversation layer.

Everything a citizen reads is decided in `bot.conversation` (answers, follow-ups, sources, votes, care); this
module only turns updates into `Incoming`, draws `Reply` actions as inline buttons and bold spans as HTML, and
delivers. Polling when TELEGRAM_WEBHOOK_URL is unset, a webhook server otherwise: the project's own ASGI handler
(`bot.telegram_webhook`) on uvicorn, which bounds the body, checks the secret in constant time before parsing,
and drops replayed update ids (kept in the store) before handing the update to PTB's update queue. The "/" menu
(`setMyCommands`) is registered at start-up.
"""
from __future__ import annotations

import asyncio
import html
import logging
import re
from typing import Any, Sequence

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.constants import ChatAction, MessageLimit, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (AIORateLimiter, Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes,
                          MessageHandler, filters)

from bot import replies
from bot.conversation import AnswersQuestions, Conversation, Incoming, Reply
from bot.flood import DEFAULT_FLOOD_LIMIT
from bot.redact import redact
from bot.render import split_message
from bot.store import Store

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_CHARS = MessageLimit.MAX_TEXT_LENGTH  # 4096, counted by Telegram in UTF-16 code units
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as secret_token
START = replies.START
HOTLINE = replies.HOTLINE
FLOOD = replies.FLOOD
THANKS_UP = replies.THANKS_UP
NO_TOKEN = ("Chưa có TELEGRAM_BOT_TOKEN. Hãy lấy mã bot từ @BotFather rồi đặt biến môi trường TELEGRAM_BOT_TOKEN "
            "(hoặc ghi vào tệp .env) trước khi chạy `cchc telegram`.")
BUTTON_SOURCES = replies.BUTTON_SOURCES
COMMANDS = [("start", "Bắt đầu, giới thiệu trợ lý"), ("help", "Ví dụ câu hỏi"), ("hotline", "Số tổng đài hỗ trợ"),
            ("phuong", "Cho biết phường, xã của bạn, ví dụ /phuong An Hải"),
            ("nguon", "Xem nguồn câu trả lời gần nhất")]


class ChannelConfigError(RuntimeError):
    """A missing or wrong Telegram setting; the message is Vietnamese, for the operator."""


def tg_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Plain text cut at sentence (else word) boundaries into parts Telegram accepts (split before escaping)."""
    return split_message(text, limit, tg_len)


def to_html(reply: Reply) -> str:
    """The reply's text escaped, its bold spans in <b>."""
    out, pos = [], 0
    for start, end in reply.bold:
        out += [html.escape(reply.text[pos:start], quote=False), "<b>", html.escape(reply.text[start:end], quote=False),
                "</b>"]
        pos = end
    return "".join(out) + html.escape(reply.text[pos:], quote=False)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Sources on one row, 👍/👎 on the next, each choice or "gặp cán bộ" on its own row (callback data ≤ 64 bytes)."""
    if not reply.actions:
        return None
    votes = [a for a in reply.actions if a.payload.startswith("v:")]
    rows = [[InlineKeyboardButton(a.label, callback_data=a.payload[:64])] for a in reply.actions if a not in votes]
    rows.sort(key=lambda row: not row[0].callback_data.startswith("src:"))
    if votes:
        rows.insert(1 if rows and rows[0][0].callback_data.startswith("src:") else 0,
                    [InlineKeyboardButton(a.label, callback_data=a.payload[:64]) for a in votes])
    return InlineKeyboardMarkup(rows)


def _is_entity_error(exc: BadRequest) -> bool:
    msg = str(exc).lower()
    return "parse entities" in msg or "entity" in msg or "entities" in msg


async def send_replies(bot: Any, chat_id: int, out: Sequence[Reply], reply_to: int | None = None) -> None:
    """Send replies in order as HTML; if Telegram rejects the HTML entities, that part goes again as plain text."""
    for i, reply in enumerate(out):
        kwargs: dict[str, Any] = {"reply_markup": keyboard(reply)}
        if i == 0 and reply_to:
            kwargs["reply_parameters"] = ReplyParameters(reply_to, allow_sending_without_reply=True)
        try:
            await bot.send_message(chat_id, to_html(reply), parse_mode=ParseMode.HTML, **kwargs)
        except BadRequest as exc:
            if not _is_entity_error(exc):
                raise
            log.warning("Telegram rejected HTML entities (%s); sending as plain text", exc)
            await bot.send_message(chat_id, reply.text, **kwargs)


class TelegramBot:
    """PTB handlers around one conversation."""

    def __init__(self, assistant: AnswersQuestions, store: Store, flood_limit: str = DEFAULT_FLOOD_LIMIT) -> None:
        self.store = store
        self.conversation = Conversation(assistant, store, CHANNEL, flood_limit=flood_limit)

    async def message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        chat_id = message.chat_id
        typing = asyncio.create_task(self._keep_typing(context.bot, chat_id))
        try:
            out = await self.conversation.handle(chat_id, Incoming(message.text or ""), user.id if user else None,
                                                 early=lambda first: send_replies(context.bot, chat_id, first))
        finally:
            typing.cancel()
        await send_replies(context.bot, chat_id, out)

    async def not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        chat_id = update.effective_message.chat_id
        await send_replies(context.bot, chat_id,
                           await self.conversation.handle(chat_id, Incoming.other(), user.id if user else None))

    @staticmethod
    async def _keep_typing(bot: Any, chat_id: int, every: float = 4.5) -> None:
        """Telegram shows 'typing…' for 5 s; renew it while a slow answer is being computed."""
        while True:
            try:
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            except Exception as exc:  # noqa: BLE001 - cosmetic; the answer matters
                log.debug("typing action failed: %s", exc)
            await asyncio.sleep(every)

    async def callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button: the conversation answers; a short acknowledgement becomes the pop-up, the rest messages."""
        query, user = update.callback_query, update.effective_user
        message = query.message
        chat_id = message.chat.id if message else (user.id if user else 0)
        data = query.data or ""
        out = await self.conversation.handle(chat_id, Incoming.button(data), user.id if user else None)
        voted = any(r.text in (replies.THANKS_UP, replies.THANKS_DOWN) for r in out)
        if len(out) == 1 and out[0].toast:  # 👍 thanks, "not saved", "sources gone": a pop-up, no message
            await query.answer(out[0].text[:200], show_alert=out[0].text != replies.THANKS_UP)
            out = []
        else:
            await query.answer(replies.VOTE_NOTED if data.startswith("v:") and out else None)
        if voted:
            await self._drop_vote_buttons(query)
        elif data.startswith("pick:") and out and out[0].kind != "choice_gone":
            await self._drop_buttons(query)  # the choice is made: its buttons would only answer it again
        if out and chat_id:
            await send_replies(context.bot, chat_id, out, reply_to=message.message_id if message else None)

    async def _drop_vote_buttons(self, query: Any) -> None:
        """After a vote keep only the other buttons, so the citizen sees the vote was taken."""
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

    @staticmethod
    async def _drop_buttons(query: Any) -> None:
        try:
            await query.edit_message_reply_markup(None)
        except BadRequest as exc:  # cosmetic only
            log.debug("could not remove the choice buttons: %s", exc)

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


async def register_commands(app: Application) -> None:
    """The "/" menu: /start, /help, /hotline, /phuong, /nguon. A refusal is logged, never fatal."""
    try:
        await app.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])
    except TelegramError as exc:
        log.warning("Telegram setMyCommands failed (%s); the \"/\" menu stays as it was", exc)


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
    app = builder.post_init(register_commands).build()
    bot = TelegramBot(assistant, store, flood_limit)
    app.bot_data["cchc"] = bot
    private = filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & (private | filters.COMMAND),
                                   bot.message))
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
