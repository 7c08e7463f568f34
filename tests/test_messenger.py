"""Messenger over real HTTP on 127.0.0.1: the real adapter and webhook server (`bot.messenger`) against a fake
Send API (tests/fake_messenger.py), with the real assistant over the small procedure index: the handshake,
signatures on the raw body, bounded bodies, replays, quick replies, and the scripted six-turn conversation."""
from __future__ import annotations

import asyncio
import json
import os

import httpx
import pytest

from bot import replies
from bot.messenger import (MAX_BODY, MessengerConfig, MessengerConfigError, MessengerService, quick_replies,
                           signature)
from bot.conversation import Action, Reply
from bot.store_sqlite import SqliteStore
from conversation_kit import SCRIPT, assert_script_replies, body_length, procedure_assistant
from fake_messenger import FakeMessenger


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "store.sqlite")
    yield s
    s.close()


def arun(coro, timeout: float = 120):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Stack:
    def __init__(self, store, assistant=None) -> None:
        self.store, self.assistant = store, assistant or procedure_assistant()

    async def __aenter__(self) -> "Stack":
        self.fake = await FakeMessenger().start()
        self.config = MessengerConfig.from_env(self.fake.env())
        self.service = MessengerService(self.assistant, self.store, self.config, "127.0.0.1", 0, backoff=0.02)
        await self.service.start()
        self.url = f"http://127.0.0.1:{self.service.port}{self.config.path}"
        return self

    async def __aexit__(self, *exc) -> None:
        await self.service.stop()
        await self.fake.stop()

    async def say(self, psid: str, text: str = "", quick: str | None = None, n: int = 1) -> list:
        before = len(self.fake.messages_to(psid))
        resp = await self.fake.deliver(self.url, self.fake.text_event(psid, text or "x", quick_payload=quick))
        assert resp.status_code == 200 and resp.text == "EVENT_RECEIVED"
        await self.fake.wait_until(lambda: len(self.fake.messages_to(psid)) >= before + n)
        await self.service.adapter.drain()
        return self.fake.messages_to(psid)[before:]


def test_handshake_answers_the_challenge_only_with_our_verify_token(store):
    async def scenario():
        async with Stack(store) as s:
            async with httpx.AsyncClient() as c:
                ok = await c.get(s.url, params={"hub.mode": "subscribe", "hub.verify_token": s.fake.verify_token,
                                                "hub.challenge": "1158201444"})
                bad = await c.get(s.url, params={"hub.mode": "subscribe", "hub.verify_token": "guess",
                                                 "hub.challenge": "1158201444"})
            return ok, bad

    ok, bad = arun(scenario())
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert bad.status_code == 403 and "1158201444" not in bad.text


def test_events_need_a_valid_signature_on_the_raw_body_and_a_bounded_size(store):
    async def scenario():
        async with Stack(store) as s:
            event = s.fake.text_event("psid-1", "lệ phí đăng ký tạm trú bao nhiêu")
            unsigned = await s.fake.deliver(s.url, event, sign=False)
            wrong = await s.fake.deliver(s.url, event, secret="someone-else")
            raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
            tampered = await s.fake.deliver(s.url, event, raw=raw.replace(b"psid-1", b"psid-9"), signed_body=raw)
            huge = await s.fake.deliver(s.url, event, raw=b" " * (MAX_BODY + 1))
            await s.service.adapter.drain()
            assert s.fake.sent == [] and s.fake.messages_to("psid-9") == []
            [answer] = await s.say("psid-1", "lệ phí đăng ký tạm trú bao nhiêu")
            return (unsigned.status_code, wrong.status_code, tampered.status_code, huge.status_code), answer

    codes, answer = arun(scenario())
    assert codes == (403, 403, 403, 413)  # unsigned, another secret, a body changed after signing, too big
    assert "10.000 đồng" in answer.text
    assert [q["title"] for q in answer.quick_replies] == ["👍", "👎", replies.BUTTON_SOURCES]
    assert signature("k", b"{}") == "sha256=" + __import__("hmac").new(b"k", b"{}", "sha256").hexdigest()


def test_a_replayed_message_is_answered_once_and_echoes_are_ignored(store):
    async def scenario():
        async with Stack(store) as s:
            event = s.fake.text_event("psid-2", "lệ phí đăng ký tạm trú bao nhiêu", mid="mid.replayed")
            for _ in range(3):
                assert (await s.fake.deliver(s.url, event)).status_code == 200
            echo = s.fake.text_event("psid-2", "tin của trang")
            echo["entry"][0]["messaging"][0]["message"]["is_echo"] = True
            await s.fake.deliver(s.url, echo)
            await s.fake.wait_until(lambda: s.fake.messages_to("psid-2"))
            await s.service.adapter.drain()
            return s.fake.messages_to("psid-2")

    assert len(arun(scenario())) == 1
    assert store.stats().total == 1


def test_quick_replies_fit_the_send_api_limits():
    reply = Reply("Có vài thủ tục…", [Action("Xóa đăng ký thường trú đối với người đã chết", "pick:1.003197"),
                                       Action(replies.BUTTON_PERSON, "person")] + [Action("x", f"v:{i}:1")
                                                                                  for i in range(20)])
    quick = quick_replies(reply)
    assert len(quick) == 13 and all(len(q["title"]) <= 20 for q in quick)
    assert quick[0]["title"].startswith("1. Xóa đăng ký") and quick[0]["payload"] == "pick:1.003197"


def test_rate_limit_is_retried(store):
    async def scenario():
        async with Stack(store) as s:
            s.fake.fail_next(400, 613, "Calls to this api have exceeded the rate limit.")
            return await s.say("psid-3", "lệ phí đăng ký tạm trú bao nhiêu")

    [answer] = arun(scenario())
    assert "10.000 đồng" in answer.text


def test_missing_configuration_is_explained(run_cli, tmp_path):
    with pytest.raises(MessengerConfigError, match="MESSENGER_APP_SECRET"):
        MessengerConfig.from_env({"MESSENGER_PAGE_ACCESS_TOKEN": "x", "MESSENGER_VERIFY_TOKEN": "y"})
    saved = {k: os.environ.pop(k) for k in [k for k in os.environ if k.startswith("MESSENGER_")]}
    try:
        proc = run_cli("messenger", data_dir=tmp_path / "data", timeout=120)
    finally:
        os.environ.update(saved)
    assert proc.returncode == 2 and "MESSENGER_PAGE_ACCESS_TOKEN" in proc.stderr
    assert not (tmp_path / "data").exists()  # refused before loading anything


def test_scripted_six_turn_conversation_with_quick_replies_and_a_restart(store):
    async def scenario():
        turns, last = [], None
        stack = await Stack(store).__aenter__()
        try:
            for n, (text, kind) in enumerate(SCRIPT):
                if n == 2:  # restart between two turns: memory is in the store
                    await stack.__aexit__(None, None, None)
                    stack = await Stack(store).__aenter__()
                if kind in ("pick", "vote"):
                    titles = {q["title"]: q["payload"] for q in last.quick_replies}
                    payload = list(titles.values())[1] if kind == "pick" else titles["👍"]
                    sent = await stack.say("psid-script", quick=payload)
                else:
                    sent = await stack.say("psid-script", text)
                turns.append([m.text for m in sent])
                last = sent[-1]
        finally:
            await stack.__aexit__(None, None, None)
        return turns

    turns = arun(scenario())
    assert_script_replies(turns)
    assert max(body_length(t[0]) for t in turns[:4]) <= 700
