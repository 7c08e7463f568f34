"""Chaos cases for the channels (loaded by scripts/chaos.py): logins raced, webhooks flooded and
replayed, the store on a full disk. Loopback only, bounded in count and time.

Each case is `fn(ctx) -> dict(case, served, lost, ok, ...)`; `ctx` is chaos.py's Context, or just a
folder (pathlib.Path) when a case is run on its own:

    python scripts/chaos_cases_channels.py [WORKDIR]
"""
from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (str(ROOT), str(ROOT / "tests")):  # the fake Telegram/Zalo servers live with the tests
    if _p not in sys.path:
        sys.path.insert(0, _p)

from bot.console.auth import Accounts  # noqa: E402
from bot.flood import AnswerGate, GatedAssistant  # noqa: E402
from bot.store_sqlite import SqliteStore  # noqa: E402
from bot.types import Answer, Citation  # noqa: E402

CASE_TIMEOUT = 120.0  # seconds for the asynchronous scenarios
NOTHING_LOST = "không mất gì"


def _workdir(ctx: Any, name: str) -> Path:
    if hasattr(ctx, "workdir"):
        return ctx.workdir(name)
    path = Path(ctx) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class _RssPeak:
    """Highest resident memory seen while the block runs (sampled every 20 ms)."""

    def __enter__(self) -> "_RssPeak":
        self.base = self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> float:
        return self.peak - self.base


class _Stub:
    """Stands for the assistant when no index is at hand: a fixed cost per question, one citation."""

    citation = Citation(n=1, doc_id="kh-cchc-tan-an-2026", title="Kế hoạch CCHC phường Tân An 2026",
                        section="I. MỤC TIÊU", source="tan-an.txt", text="Tỷ lệ hồ sơ đúng hạn đạt 98%.", score=0.9)

    def __init__(self, seconds: float = 0.15) -> None:
        self.seconds = seconds

    def answer(self, question: str) -> Answer:
        time.sleep(self.seconds)
        return Answer(question, "Tỷ lệ hồ sơ đúng hạn đạt 98% [1].", True, citations=[self.citation])


def _assistant(ctx: Any, name: str):
    """The real assistant on a private built index when chaos.py gives one, else the stub."""
    if hasattr(ctx, "fresh"):
        from bot.answer import Assistant

        settings = ctx.fresh(name)
        return Assistant.load(settings, embedder=ctx.embedder), "trợ lý thật"
    return _Stub(), "trợ lý giả"


# ------------------------------------------------------------------------------ concurrent logins
def concurrent_logins(ctx: Any) -> dict:
    """30 parallel wrong passwords for one officer, then the right one: refused while locked."""
    folder = _workdir(ctx, "channel-logins")
    accounts = Accounts(env_user="canbo", env_password="mat-khau-dung-123", file=folder / "accounts.json")
    start = threading.Barrier(30)

    def guess(i: int):
        start.wait()
        return accounts.check("canbo", f"doan-sai-{i}", address=f"10.0.0.{i}")

    began = time.monotonic()
    with _RssPeak() as rss, ThreadPoolExecutor(30) as pool:
        results = list(pool.map(guess, range(30)))
    right = accounts.check("canbo", "mat-khau-dung-123", address="10.0.1.1")
    checked = sum(not r.locked for r in results)
    ok = checked <= accounts.slow_after and not right.ok and right.locked and rss.growth < 400
    return {"case": "channel-logins-30", "ok": ok,
            "served": f"30 lần đoán song song: {checked} được kiểm tra mật khẩu, {30 - checked} bị làm chậm hoặc khoá; mật khẩu "
                      f"đúng lúc đang khoá bị từ chối ({'có' if right.locked else 'KHÔNG'} báo khoá); bộ nhớ tăng "
                      f"tối đa {rss.growth:.0f} MB; {time.monotonic() - began:.1f} s",
            "lost": NOTHING_LOST, "memory_growth_mb": round(rss.growth, 1), "checked": checked}


# ------------------------------------------------------------------- flood of long questions
def flood_long_questions(ctx: Any) -> dict:
    """Three chats send long questions as fast as their flood limit allows, through the Zalo Bot
    webhook; a fourth chat asks one normal question. Every accepted question is answered once."""
    from fake_zalo import FakeZaloBotAPI, bot_text_update

    from bot.zalo import build_service
    from index.settings import Settings

    folder = _workdir(ctx, "channel-flood")
    assistant, which = _assistant(ctx, "channel-flood")
    long_q = ("Cho tôi hỏi về tỷ lệ hồ sơ giải quyết đúng hạn của phường Tân An " * 16)[:1000]

    async def scenario() -> dict:
        fake = await FakeZaloBotAPI().start()
        store = SqliteStore(folder / "store.sqlite")
        port = _free_port()
        settings = Settings(_env_file=None, data_dir=folder / "data", webhook_host="127.0.0.1", webhook_port=port,
                            zalo_bot_token=fake.token, zalo_bot_api_base_url=f"{fake.url}/bot",
                            zalo_bot_webhook_url=f"http://127.0.0.1:{port}/zalo/bot",
                            zalo_bot_webhook_secret="chaos-secret-0123456789", zalo_oa_app_id=None,
                            zalo_oa_secret_key=None, zalo_app_secret=None, zalo_oa_access_token=None,
                            zalo_oa_refresh_token=None)
        gated = GatedAssistant(assistant, AnswerGate(slots=2))
        service = build_service(settings, gated, store, backoff=0.02)
        await service.start()
        try:
            single = time.monotonic()  # the normal question alone, for the median
            for _ in range(3):
                before = len(fake.messages_to("calm"))
                await fake.deliver(bot_text_update("calm", "Tỷ lệ hồ sơ đúng hạn là bao nhiêu?"))
                await fake.wait_until(lambda: len(fake.messages_to("calm")) > before, timeout=60)
            alone = (time.monotonic() - single) / 3
            floods = [f"flood-{i}" for i in range(3)]
            sent = [bot_text_update(chat, f"{long_q} (câu {n})") for n in range(5) for chat in floods]
            # Webhooks answer before they acknowledge: the flood is in flight while the calm question arrives.
            flood = [asyncio.create_task(fake.deliver(u)) for u in sent]
            await asyncio.sleep(0.2)
            t0 = time.monotonic()
            before = len(fake.messages_to("calm"))
            await fake.deliver(bot_text_update("calm", "Tỷ lệ hồ sơ đúng hạn là bao nhiêu?"))
            await fake.wait_until(lambda: len(fake.messages_to("calm")) > before, timeout=CASE_TIMEOUT)
            waited = time.monotonic() - t0
            await fake.wait_until(lambda: all(len(fake.messages_to(c)) >= 5 for c in floods), timeout=CASE_TIMEOUT)
            await asyncio.gather(*flood)
            for adapter in service.adapters:
                await adapter.drain()
            answered = {c: len(fake.messages_to(c)) for c in floods}
        finally:
            await service.stop()
            await fake.stop()
            store.close()
        return {"alone": alone, "waited": waited, "answered": answered, "sent": len(sent)}

    r = asyncio.run(asyncio.wait_for(scenario(), CASE_TIMEOUT * 2))
    got = sum(r["answered"].values())
    lost = r["sent"] - min(got, r["sent"])
    twice = max(0, got - r["sent"])
    ok = lost == 0 and twice == 0 and r["waited"] <= max(10 * r["alone"], 3.0)
    return {"case": "channel-flood-long-questions", "ok": ok,
            "served": f"{which}: {got}/{r['sent']} câu dài (1000 ký tự) của 3 người gửi dồn được trả lời; câu thường "
                      f"của người thứ tư chờ {r['waited']:.2f} s (một mình {r['alone']:.2f} s)",
            "lost": NOTHING_LOST if not lost and not twice else f"{lost} câu mất, {twice} câu trả lời hai lần",
            "normal_wait_s": round(r["waited"], 3), "normal_alone_s": round(r["alone"], 3)}


# ---------------------------------------------------------------------------- disk full store
class _FullDisk:
    """A store connection on a full disk: reads work, every write fails as SQLite reports it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params=()):
        if sql.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, params)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def disk_full_store(ctx: Any) -> dict:
    """The store's disk is full while 5 citizens ask 4 questions each (plus "nguồn"): all answered."""
    from bot.zalo import Conversation

    folder = _workdir(ctx, "channel-disk-full")
    store = SqliteStore(folder / "store.sqlite")
    real = store._conn
    store._conn = _FullDisk(real)

    async def scenario() -> tuple[int, int]:
        conv = Conversation(_Stub(0.01), store, "zalo_bot", flood_limit=None)
        answers = sources = 0
        for user in range(5):
            for n in range(4):
                parts = await conv.on_text(f"chat-{user}", f"user-{user}", f"Tỷ lệ hồ sơ đúng hạn? ({n})")
                answers += bool(parts) and parts[0].startswith("Tỷ lệ")
            parts = await conv.on_text(f"chat-{user}", f"user-{user}", "nguồn")
            sources += bool(parts) and "Tân An" in parts[0]
        return answers, sources

    try:
        answers, sources = asyncio.run(asyncio.wait_for(scenario(), CASE_TIMEOUT))
        lost_writes = store.lost_writes
    finally:
        store._conn = real
        store.close()
    ok = answers == 20 and sources == 5 and lost_writes >= 20
    return {"case": "channel-disk-full", "ok": ok,
            "served": f"{answers}/20 câu trả lời và {sources}/5 lần xem nguồn khi đĩa đầy",
            "lost": f"{lost_writes} dòng nhật ký (đã đếm, cán bộ được cảnh báo); không mất câu trả lời nào",
            "lost_writes": lost_writes}


# ------------------------------------------------------------------ replayed Telegram webhook
def telegram_replay(ctx: Any) -> dict:
    """One Telegram update delivered 5 times, then again after a restart: answered once."""
    import httpx
    from fake_telegram import FakeTelegram

    from bot.telegram import build_application, run
    from index.settings import Settings

    folder = _workdir(ctx, "channel-telegram-replay")
    fake = FakeTelegram().start()
    secret = "chaos_secret-token"
    statuses: list[int] = []
    try:
        update = {"update_id": 777001, **fake.text_update(4242, "Tỷ lệ hồ sơ đúng hạn là bao nhiêu?")}
        for _ in range(2):  # two processes, one after the other, on the same data folder
            port = _free_port()
            settings = Settings(_env_file=None, data_dir=folder / "data", telegram_bot_token=fake.token,
                                telegram_api_base_url=fake.base_url, webhook_host="127.0.0.1", webhook_port=port,
                                telegram_webhook_url="https://bot.example.org/tg/hook",
                                telegram_webhook_secret=secret)
            store = SqliteStore(folder / "data" / "store.sqlite")
            app = build_application(settings, _Stub(0.01), store)
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=lambda: (asyncio.set_event_loop(loop),
                                                      run(app, settings, stop_signals=None)), daemon=True)
            thread.start()
            fake.wait_for(lambda: getattr(app.bot_data.get("webhook"), "started", False), 30, "webhook")
            with httpx.Client(timeout=10) as client:
                for _ in range(5):
                    statuses.append(client.post(f"http://127.0.0.1:{port}/tg/hook", json=update,
                                                headers={"X-Telegram-Bot-Api-Secret-Token": secret}).status_code)
            time.sleep(0.5)
            loop.call_soon_threadsafe(app.stop_running)
            thread.join(30)
            store.close()
        answers = [c for c in fake.calls_of("sendMessage", 4242) if c.ok]
    finally:
        fake.stop()
    ok = len(answers) == 1 and set(statuses) == {200}
    return {"case": "channel-telegram-replay", "ok": ok,
            "served": f"1 cập nhật gửi 10 lần (5 trước, 5 sau khi khởi động lại): {len(answers)} câu trả lời",
            "lost": NOTHING_LOST if answers else "câu hỏi không được trả lời"}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_FUNCTIONS = [("channel-logins-30", concurrent_logins, False, "30 lần đăng nhập song song rồi mật khẩu đúng"),
              ("channel-flood-long-questions", flood_long_questions, True,
               "3 người gửi dồn câu hỏi dài qua webhook Zalo, một người hỏi bình thường"),
              ("channel-disk-full", disk_full_store, True, "đĩa của store đầy trong lúc trả lời"),
              ("channel-telegram-replay", telegram_replay, True, "một cập nhật Telegram gửi lặp, cả sau khởi động lại")]

try:  # loaded by scripts/chaos.py: its Case objects (name, quick flag, description)
    from chaos import Case

    CASES = [Case(name, fn, quick, about) for name, fn, quick, about in _FUNCTIONS]
except ImportError:  # on its own: plain functions
    CASES = [fn for _, fn, _, _ in _FUNCTIONS]


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="cchc-chaos-channels-"))
    failed = 0
    for _, fn, _, _ in _FUNCTIONS:
        began = time.monotonic()
        result = fn(root)
        failed += not result["ok"]
        print(f"{'✓' if result['ok'] else '✗'} {result['case']} ({time.monotonic() - began:.1f} s): "
              f"{result['served']} | {result['lost']}")
        print("  " + json.dumps({k: v for k, v in result.items() if k not in ('served', 'lost')}, ensure_ascii=False))
    sys.exit(1 if failed else 0)
