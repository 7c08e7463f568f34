"""The Telegram webhook behind our own ASGI handler: size bound, secret before parsing, replays dropped.

Real PTB Application, real uvicorn on 127.0.0.1, the fake Bot API server; a stub assistant (the
answer itself is not under test here)."""
from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from bot.store_sqlite import SqliteStore
from bot.telegram_webhook import MAX_BODY_BYTES
from bot.types import Answer
from fake_telegram import FakeTelegram
from test_telegram import RunningBot, make_settings

SECRET = "s3cret_Token-for-tests"
HOOK = "https://bot.example.org/tg/hook-7f3"


class Counting:
    def __init__(self) -> None:
        self.questions: list[str] = []

    def answer(self, question: str) -> Answer:
        self.questions.append(question)
        return Answer(question, f"Trả lời: {question}", False, kind="not_found")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake():
    server = FakeTelegram().start()
    yield server
    server.stop()


@pytest.fixture
def webhook(fake, tmp_path):
    """Start a webhook bot; returns (url, assistant, bot). Restartable on the same store file."""
    bots: list[RunningBot] = []
    stores: list[SqliteStore] = []

    def start(port: int | None = None, assistant=None):
        port = port or free_port()
        assistant = assistant or Counting()
        store = SqliteStore(tmp_path / "store" / "store.sqlite")
        stores.append(store)
        settings = make_settings(fake, tmp_path / "data", telegram_webhook_url=HOOK, telegram_webhook_secret=SECRET,
                                 webhook_port=port)
        bot = RunningBot(settings, assistant, store).start(fake)
        bots.append(bot)
        return f"http://127.0.0.1:{port}/tg/hook-7f3", assistant, bot

    yield start
    for bot in bots:
        bot.stop()
    for store in stores:
        store.close()


def post(url: str, body: bytes | dict, secret: str | None = SECRET, **headers) -> httpx.Response:
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    content = json.dumps(body).encode() if isinstance(body, dict) else body
    with httpx.Client(timeout=10) as client:
        return client.post(url, content=content, headers={"content-type": "application/json", **headers})


def test_secret_is_checked_before_the_body_is_parsed(webhook, fake):
    url, assistant, _ = webhook()
    assert post(url, b"{not json", secret=None).status_code == 403
    assert post(url, b"{not json", secret="wrong").status_code == 403
    assert post(url, b"{not json").status_code == 400  # only a trusted sender learns the body was bad
    assert post(url, {"update_id": 5, **fake.text_update(601, "xin chào")}, secret=SECRET[:-1]).status_code == 403
    time.sleep(0.3)
    assert assistant.questions == []


def raw_status(url: str, head: str, body: bytes) -> int:
    """Send a request by hand (httpx will not send a Content-Length it cannot honour) and read the status."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    path = "/" + url.split("//")[1].split("/", 1)[1]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{head}\r\n".encode() + body)
        reply = sock.recv(4096).decode("latin-1")
    return int(reply.split(" ", 2)[1])


def test_oversized_bodies_are_refused_without_reading_them(webhook, fake):
    url, assistant, bot = webhook()
    started = time.monotonic()
    declared = raw_status(url, f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nContent-Length: {100 * 1024 * 1024}"
                               "\r\nContent-Type: application/json\r\n", b'{"update_id": 1')
    assert declared == 413 and time.monotonic() - started < 5  # answered without waiting for 100 MB

    def chunks():  # no Content-Length: streamed until the cap, then cut off
        for _ in range(64):
            yield b"x" * 65536

    with httpx.Client(timeout=10) as client:
        streamed = client.post(url, content=chunks(), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert streamed.status_code == 413
    handler = bot.app.bot_data["webhook_handler"]
    assert handler.refused == 2 and handler.accepted == 0
    big_text = {"update_id": 9, **fake.text_update(602, "a" * (MAX_BODY_BYTES + 1))}
    assert post(url, big_text).status_code == 413
    assert assistant.questions == []


def test_a_replayed_update_is_answered_once_even_after_a_restart(webhook, fake):
    url, assistant, bot = webhook()
    update = {"update_id": 4242, **fake.text_update(603, "thủ tục đăng ký khai sinh")}
    assert [post(url, update).status_code for _ in range(3)] == [200, 200, 200]
    fake.wait_for(lambda: fake.sent_texts(603), what="the answer")
    time.sleep(0.5)
    assert assistant.questions == ["thủ tục đăng ký khai sinh"]
    assert len(fake.sent_texts(603)) == 1
    bot.stop()

    url2, again, _ = webhook()  # a new process on the same data folder
    assert post(url2, update).status_code == 200
    fresh = {"update_id": 4243, **fake.text_update(603, "câu hỏi mới")}
    assert post(url2, fresh).status_code == 200
    fake.wait_for(lambda: len(fake.sent_texts(603)) == 2, what="the second answer")
    assert again.questions == ["câu hỏi mới"]


def test_wrong_paths_methods_and_shapes(webhook, fake):
    url, assistant, _ = webhook()
    base = url.rsplit("/", 1)[0]
    with httpx.Client(timeout=10) as client:
        assert client.post(base + "/other", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}).status_code == 404
        assert client.get(url).status_code == 405
    assert post(url, {"no": "update id"}).status_code == 400
    assert post(url, b"[1, 2]").status_code == 400
    assert assistant.questions == []


def test_a_busy_port_is_explained_not_a_silent_exit(fake, tmp_path):
    from bot.telegram import ChannelConfigError, build_application, run

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        settings = make_settings(fake, tmp_path / "data", telegram_webhook_url=HOOK, telegram_webhook_secret=SECRET,
                                 webhook_port=busy.getsockname()[1])
        store = SqliteStore(tmp_path / "store.sqlite")
        try:
            with pytest.raises(ChannelConfigError, match="CCHC_WEBHOOK_PORT"):
                run(build_application(settings, Counting(), store), settings, stop_signals=None)
        finally:
            store.close()
