"""Zalo webhooks under replay and batch attacks: timestamp window, content-hash dedup, signature before
JSON, body and batch bounds, dedup that survives a restart. Real service and fake Zalo servers on
127.0.0.1; a counting stub assistant (the answers themselves are not under test)."""
from __future__ import annotations

import asyncio
import json
import logging
import time

import httpx

from bot.store_sqlite import SqliteStore
from bot.types import Answer
from bot.zalo import MAX_UPDATES_PER_POST, MAX_WEBHOOK_BODY, OA_EVENT_WINDOW_S
from fake_zalo import bot_text_update, oa_text_event
from test_zalo import arun, store, zalo_stack  # noqa: F401 - fixtures


class Counting:
    def __init__(self) -> None:
        self.questions: list[str] = []

    def answer(self, question: str) -> Answer:
        self.questions.append(question)
        return Answer(question, f"Trả lời: {question}", False, kind="not_found")


def aged(event: dict, seconds: float) -> dict:
    return {**event, "timestamp": str(int((time.time() - seconds) * 1000))}


def test_oa_validly_signed_old_or_future_events_are_not_answered(store, tmp_path):
    assistant = Counting()

    async def scenario():
        async with zalo_stack(assistant, store, tmp_path, bot=False, oa=True) as stack:
            oa = stack.oa
            year_old = aged(oa_text_event(oa.app_id, "u-old", "câu hỏi cũ"), 365 * 24 * 3600)
            future = aged(oa_text_event(oa.app_id, "u-future", "câu hỏi tương lai"), -2 * OA_EVENT_WINDOW_S)
            fresh = aged(oa_text_event(oa.app_id, "u-fresh", "câu hỏi mới"), 60)
            codes = [(await oa.deliver(stack.oa_url, e)).status_code for e in (year_old, future, fresh)]
            await oa.wait_until(lambda: oa.messages_to("u-fresh"))
            await stack.drain()
            return codes

    assert arun(scenario()) == [200, 200, 200]  # acknowledged, so Zalo does not retry, but ignored
    assert assistant.questions == ["câu hỏi mới"]


def test_oa_events_without_message_id_are_answered_once(store, tmp_path):
    assistant = Counting()

    async def scenario():
        async with zalo_stack(assistant, store, tmp_path, bot=False, oa=True) as stack:
            oa = stack.oa
            event = oa_text_event(oa.app_id, "u-noid", "hỏi về khai sinh")
            del event["message"]["msg_id"]
            for _ in range(3):
                assert (await oa.deliver(stack.oa_url, event)).status_code == 200
            later = {**event, "timestamp": str(int(event["timestamp"]) + 1000)}  # the same words, a second later
            assert (await oa.deliver(stack.oa_url, later)).status_code == 200
            await oa.wait_until(lambda: len(oa.messages_to("u-noid")) >= 2)
            await stack.drain()

    arun(scenario())
    assert assistant.questions == ["hỏi về khai sinh", "hỏi về khai sinh"]


def test_oa_signature_is_checked_before_json_and_body_size_is_bounded(store, tmp_path):
    assistant = Counting()

    async def scenario():
        async with zalo_stack(assistant, store, tmp_path, bot=False, oa=True) as stack:
            async with httpx.AsyncClient(timeout=10) as client:
                bomb = await client.post(stack.oa_url, content=b"[" * 60_000,  # RecursionError in a JSON parser
                                         headers={"X-ZEvent-Signature": "mac=00"})
                huge = await client.post(stack.oa_url, content=b" " * (MAX_WEBHOOK_BODY + 1),
                                         headers={"X-ZEvent-Signature": "mac=00"})
            # A validly signed body over the limit is refused too (size comes first).
            event = oa_text_event(stack.oa.app_id, "u-big", "x" * MAX_WEBHOOK_BODY)
            signed_big = await stack.oa.deliver(stack.oa_url, event)
            await stack.drain()
            return bomb.status_code, huge.status_code, signed_big.status_code

    assert arun(scenario()) == (403, 413, 413)
    assert assistant.questions == []


def test_bot_webhook_batch_is_bounded(store, tmp_path, caplog):
    assistant = Counting()
    updates = [bot_text_update(f"chat-{i}", f"câu {i}") for i in range(300)]

    async def scenario():
        async with zalo_stack(assistant, store, tmp_path) as stack:
            body = json.dumps(updates).encode()
            async with httpx.AsyncClient(timeout=30) as client:
                resp = await client.post(stack.bot.webhook["url"], content=body,
                                         headers={"X-Bot-Api-Secret-Token": stack.bot.webhook["secret_token"]})
                assert len(body) > MAX_WEBHOOK_BODY and resp.status_code == 413  # 300 updates: over the body bound
                small = [bot_text_update(f"chat-{i}", f"câu {i}") for i in range(100)]
                resp = await client.post(stack.bot.webhook["url"], json=small,
                                          headers={"X-Bot-Api-Secret-Token": stack.bot.webhook["secret_token"]})
            assert resp.status_code == 200
            await stack.bot.wait_until(lambda: len(assistant.questions) >= MAX_UPDATES_PER_POST)
            await asyncio.sleep(0.3)
            await stack.drain()

    with caplog.at_level(logging.WARNING, logger="bot.zalo"):
        arun(scenario())
    assert len(assistant.questions) == MAX_UPDATES_PER_POST
    assert any("80 over the limit" in r.getMessage() for r in caplog.records)


def test_bot_messages_without_id_are_deduplicated_by_content(store, tmp_path):
    assistant = Counting()

    async def scenario():
        async with zalo_stack(assistant, store, tmp_path) as stack:
            update = bot_text_update("chat-noid", "lệ phí cấp bản sao")
            del update["message"]["message_id"]
            for _ in range(3):
                assert (await stack.bot.deliver(update)).status_code == 200
            await stack.bot.wait_until(lambda: stack.bot.messages_to("chat-noid"))
            await asyncio.sleep(0.3)
            await stack.drain()

    arun(scenario())
    assert assistant.questions == ["lệ phí cấp bản sao"]


def test_a_redelivery_after_a_restart_is_not_answered_again(tmp_path):
    assistant = Counting()
    path = tmp_path / "store" / "store.sqlite"
    update = bot_text_update("chat-restart", "giờ làm việc của bộ phận một cửa", message_id="msg-restart-1")

    async def once():
        store = SqliteStore(path)
        try:
            async with zalo_stack(assistant, store, tmp_path) as stack:
                assert (await stack.bot.deliver(update)).status_code == 200
                await asyncio.sleep(0.5)
                await stack.drain()
        finally:
            store.close()

    arun(once())
    arun(once())  # a new process on the same data folder receives the same message again
    assert assistant.questions == ["giờ làm việc của bộ phận một cửa"]
