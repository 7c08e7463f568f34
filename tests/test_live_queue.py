"""A flood of slow questions from three chats must not starve a fourth: answers are computed a few at a
time, first come first served, one per chat at a time (so each chat's answers keep their order).

Real PTB Application against the fake Bot API server; a slow stub assistant stands for long questions."""
from __future__ import annotations

import threading
import time

import pytest

from bot.flood import BUSY, AnswerGate, AssistantBusy, GatedAssistant
from bot.store_sqlite import SqliteStore
from bot.types import Answer
from fake_telegram import FakeTelegram
from test_telegram import RunningBot, make_settings

SLOW = 0.4  # seconds per answer


class Slow:
    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self._lock = threading.Lock()

    def answer(self, question: str) -> Answer:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(SLOW)
        with self._lock:
            self.running -= 1
        return Answer(question, f"Trả lời: {question}", False, kind="not_found")


@pytest.fixture
def fake():
    server = FakeTelegram().start()
    yield server
    server.stop()


def answered(fake: FakeTelegram, chat: int) -> list[str]:
    return [c.params["text"] for c in fake.calls_of("sendMessage", chat) if c.ok]


def test_three_flooding_chats_delay_a_fourth_by_at_most_one_turn(fake, tmp_path):
    slow = Slow()
    gate = AnswerGate(slots=2, max_waiting=100)
    store = SqliteStore(tmp_path / "store.sqlite")
    bot = RunningBot(make_settings(fake, tmp_path / "data"), GatedAssistant(slow, gate), store,
                     flood_limit="1000/second").start(fake)
    try:
        sent = time.monotonic()  # the same question with nobody else around: the channel's own overhead
        fake.push(fake.text_update(804, "tôi hỏi một mình"))
        fake.wait_for(lambda: answered(fake, 804), timeout=30, what="the answer alone")
        alone = time.monotonic() - sent
        floods = {chat: [f"câu dài {chat}-{i}" for i in range(15)] for chat in (801, 802, 803)}
        fake.push(*[fake.text_update(chat, qs[i]) for i in range(15) for chat, qs in floods.items()])
        time.sleep(0.1)
        sent = time.monotonic()
        fake.push(fake.text_update(804, "tôi chỉ hỏi một câu"))
        fake.wait_for(lambda: len(answered(fake, 804)) == 2, timeout=30, what="the normal chat's answer")
        waited = time.monotonic() - sent
        fake.wait_for(lambda: all(len(answered(fake, c)) == 15 for c in floods), timeout=60, what="the floods")
    finally:
        bot.stop()
        store.close()
    # Two flooders hold the two slots, the third waits; the fourth chat is next in line: one turn, then its own.
    # (Without the gate and the per-chat order it waited behind every queued flood question: > 3 s here.)
    assert waited < alone + SLOW + 0.5, f"normal chat waited {waited:.2f} s (alone {alone:.2f} s)"
    assert slow.peak == 2 == gate.peak_running
    for chat, questions in floods.items():  # every flooded chat got every answer, in the order asked
        assert answered(fake, chat) == [f"Trả lời: {q}" for q in questions]


def test_a_full_waiting_line_is_refused_at_once_with_a_polite_message(fake, tmp_path):
    gate = AnswerGate(slots=1, max_waiting=1)
    store = SqliteStore(tmp_path / "store.sqlite")
    bot = RunningBot(make_settings(fake, tmp_path / "data"), GatedAssistant(Slow(), gate), store,
                     flood_limit="1000/second").start(fake)
    try:
        fake.push(*[fake.text_update(900 + i, f"câu {i}") for i in range(4)])
        fake.wait_for(lambda: sum(len(answered(fake, 900 + i)) for i in range(4)) == 4, timeout=30, what="replies")
    finally:
        bot.stop()
        store.close()
    replies = [answered(fake, 900 + i)[0] for i in range(4)]
    assert replies.count(BUSY) == 2 and gate.refused == 2  # one answered, one waited, two told to retry
    assert sum(r.startswith("Trả lời") for r in replies) == 2


def test_gate_serves_in_arrival_order():
    gate = AnswerGate(slots=1, max_waiting=10)
    order: list[int] = []
    hold = threading.Event()

    def first():
        with gate.turn():
            hold.wait(5)
            order.append(0)

    def later(i):
        with gate.turn():
            order.append(i)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    time.sleep(0.05)
    for i in range(1, 6):
        t = threading.Thread(target=later, args=(i,))
        t.start()
        threads.append(t)
        time.sleep(0.02)
    hold.set()
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3, 4, 5]
    with pytest.raises(AssistantBusy):
        AnswerGate(slots=1, max_waiting=0, wait_seconds=0.05).__class__  # noqa: B018 - construction is fine
        busy = AnswerGate(slots=1, max_waiting=1, wait_seconds=0.05)
        with busy.turn():
            with busy.turn():  # no slot within the wait: refused, not stuck
                pass
