"""The Telegram webhook on the shared PostgreSQL: the 200 comes only after the answer went out.

- the database is down: the citizen hears "hệ thống đang bận" with the hotline at once (once, however often
  Telegram retries), the webhook answers 503 so Telegram keeps the update, and once the database is back the
  redelivery is answered — exactly once;
- two workers: the update another worker is still answering is refused (503), not answered a second time.

Real PTB application and uvicorn on 127.0.0.1, the fake Bot API, real PostgreSQL (a throwaway cluster)."""
from __future__ import annotations

import logging
import threading
import time

import pytest

from bot import replies
from state.migrate import upgrade_url
from state.store import SqlStore
from bot.types import Answer
from fake_telegram import FakeTelegram
from test_telegram import RunningBot, make_settings
from test_telegram_webhook import HOOK, SECRET, Counting, free_port, post


class Slow(Counting):
    def answer(self, question: str) -> Answer:
        time.sleep(1.5)
        return super().answer(question)


@pytest.fixture
def fake():
    server = FakeTelegram().start()
    yield server
    server.stop()


def start_bot(fake, tmp_path, url: str, assistant) -> tuple[str, RunningBot, SqlStore]:
    port = free_port()
    store = SqlStore(url)
    settings = make_settings(fake, tmp_path / f"data-{port}", telegram_webhook_url=HOOK,
                             telegram_webhook_secret=SECRET, webhook_port=port)
    return f"http://127.0.0.1:{port}/tg/hook-7f3", RunningBot(settings, assistant, store).start(fake), store


def test_database_down_means_busy_reply_and_no_ack_then_one_answer(fake, tmp_path, caplog):
    from pg_cluster import start_cluster

    cluster = start_cluster()
    bot = store = None
    try:
        url = cluster.url(cluster.create_database())
        upgrade_url(url)
        assistant = Counting()
        hook, bot, store = start_bot(fake, tmp_path, url, assistant)
        assert post(hook, {"update_id": 1, **fake.text_update(701, "lệ phí tạm trú")}).status_code == 200
        assert fake.sent_texts(701) == ["Trả lời: lệ phí tạm trú"]  # sent before the 200

        cluster.stop()
        update = {"update_id": 2, **fake.text_update(701, "thủ tục khai sinh")}
        with caplog.at_level(logging.WARNING):
            assert [post(hook, update).status_code for _ in range(3)] == [503, 503, 503]  # Telegram keeps it
        busy = fake.sent_texts(701)[1:]
        assert len(busy) == 1 and busy[0] == replies.UNAVAILABLE  # told once, not at every retry
        assert "hệ thống đang bận" in busy[0] and "1800.1096" in busy[0]
        assert assistant.questions == ["lệ phí tạm trú"]
        assert not [r for r in caplog.records if r.exc_info]  # no traceback for an outage

        cluster.start()
        assert post(hook, update).status_code == 200
        assert post(hook, update).status_code == 200  # a later redelivery: acknowledged, not answered again
        assert assistant.questions == ["lệ phí tạm trú", "thủ tục khai sinh"]
        assert fake.sent_texts(701)[2:] == ["Trả lời: thủ tục khai sinh"]
        assert store.stats().total == 2
    finally:
        if bot:
            bot.stop()
        if store:
            store.close()
        cluster.remove()


def test_an_update_another_worker_is_answering_is_refused_not_answered_twice(fake, tmp_path, postgres_url):
    first, second = Slow(), Counting()
    hook_a, bot_a, store_a = start_bot(fake, tmp_path, postgres_url, first)
    hook_b, bot_b, store_b = start_bot(fake, tmp_path, postgres_url, second)
    try:
        update = {"update_id": 9, **fake.text_update(702, "giấy tờ đăng ký kết hôn")}
        statuses: list[int] = []
        slow = threading.Thread(target=lambda: statuses.append(post(hook_a, update).status_code))
        slow.start()
        fake.wait_for(lambda: first.questions == [] and store_a._held, 10, "worker A claimed the update")
        assert post(hook_b, update).status_code == 503  # A is answering: Telegram must deliver it again later
        slow.join(10)
        assert statuses == [200] and post(hook_b, update).status_code == 200
        assert first.questions == ["giấy tờ đăng ký kết hôn"] and second.questions == []
        assert fake.sent_texts(702) == ["Trả lời: giấy tờ đăng ký kết hôn"]
    finally:
        bot_a.stop()
        bot_b.stop()
        store_a.close()
        store_b.close()
