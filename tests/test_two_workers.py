"""Two webhook workers sharing one PostgreSQL: every message answered exactly once, nothing acked is lost.

Real processes (tests/webhook_worker.py: `cchc zalo`'s service configured from the environment, a stub
assistant), a real throwaway PostgreSQL, real HTTP on 127.0.0.1 to the fake Zalo Bot API. The test plays
Zalo: 1,000 messages from 50 citizens (each waits for its message to be acknowledged before the next, as a
person waits for the answer), each delivered to a random worker; 10 % delivered twice at once, to both workers.
A refused (503) or failed delivery is delivered again to a live worker until acknowledged — what Zalo,
Telegram and Meta do. Midway, worker B is killed with SIGKILL while it is answering three messages, and
restarted. Then ten citizens vote 👎 through either worker, and one store listing (the console's) shows them all.
"""
from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bot.store import open_store
from conftest import make_settings
from fake_zalo import FakeZaloBotAPI, bot_text_update

WORKER = Path(__file__).resolve().parent / "webhook_worker.py"
SECRET = "two-workers-secret-0123456789"
USERS, PER_USER, DUP_SHARE, SLOW = 50, 20, 0.10, 3
KILL_AFTER = 400  # acknowledged messages before worker B is killed
LEASE_S = 2.0  # a dead worker's claims lapse this fast here (30 s by default)
MARK = re.compile(r"\b([QS]\d+x?\d*)\b")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Worker:
    name: str
    port: int
    env: dict
    log: Path
    proc: subprocess.Popen | None = None
    routable: bool = True
    in_flight: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/zalo/bot"

    def start(self) -> None:
        with open(self.log, "a", encoding="utf-8") as out:
            self.proc = subprocess.Popen([sys.executable, str(WORKER)], env=self.env, cwd=self.log.parent,
                                         stdout=out, stderr=subprocess.STDOUT)

    async def ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"worker {self.name} exited: {self.log.read_text(encoding='utf-8')[-3000:]}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.1)
        pytest.fail(f"worker {self.name} did not listen within {timeout} s")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@dataclass
class Provider:
    """Zalo's side: delivers an update, and delivers it again to a live worker until one answers 200."""

    workers: list[Worker]
    client: httpx.AsyncClient
    rng: random.Random
    statuses: Counter = field(default_factory=Counter)

    def routable(self) -> list[Worker]:
        return [w for w in self.workers if w.routable]

    async def post(self, worker: Worker, update: dict) -> int | str:
        worker.in_flight += 1
        try:
            resp = await self.client.post(worker.url, json=update, headers={"X-Bot-Api-Secret-Token": SECRET})
            return resp.status_code
        except httpx.TransportError as exc:  # a killed worker: connection refused or reset
            return type(exc).__name__
        finally:
            worker.in_flight -= 1

    async def until_acked(self, update: dict, first: Worker, timeout: float = 60) -> None:
        target, deadline = first, time.monotonic() + timeout
        while True:
            status = await self.post(target, update)
            self.statuses[status] += 1
            if status == 200:
                return
            assert time.monotonic() < deadline, f"message {update['message']['message_id']} never acknowledged"
            await asyncio.sleep(0.2 + self.rng.random() * 0.3)
            target = self.rng.choice(self.routable())


def ids_in(texts: list[str]) -> Counter:
    found: Counter = Counter()
    for text in texts:
        marks = MARK.findall(text)
        assert marks, f"a reply that answers no message: {text[:120]!r}"
        found[marks[0]] += 1
    return found


def test_two_workers_answer_each_message_once_and_lose_nothing(postgres_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCHC_", "ZALO_", "TELEGRAM_"))}

    async def scenario() -> dict:
        fake = await FakeZaloBotAPI().start()
        workers = []
        for name in ("A", "B"):
            port = free_port()
            (tmp_path / name).mkdir()
            workers.append(Worker(name, port, {
                **env, "CCHC_DATABASE_URL": postgres_url, "CCHC_DATA_DIR": str(tmp_path / name / "data"),
                "CCHC_DELIVERY_LEASE_SECONDS": str(LEASE_S), "CCHC_WEBHOOK_HOST": "127.0.0.1",
                "CCHC_WEBHOOK_PORT": str(port), "ZALO_BOT_TOKEN": fake.token,
                "ZALO_BOT_API_BASE_URL": f"{fake.url}/bot", "ZALO_BOT_WEBHOOK_URL": f"http://127.0.0.1:{port}/zalo/bot",
                "ZALO_BOT_WEBHOOK_SECRET": SECRET}, tmp_path / name / "worker.log"))
        a, b = workers
        rng = random.Random(20261202)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        client = httpx.AsyncClient(timeout=30, limits=limits)
        provider = Provider(workers, client, rng)
        result: dict = {}
        try:
            for w in workers:
                w.start()
            await asyncio.gather(*(w.ready() for w in workers))
            await fake.wait_until(lambda: fake.calls.count("setWebhook") >= 2, timeout=30)

            doubled = set(rng.sample(range(USERS * PER_USER), int(USERS * PER_USER * DUP_SHARE)))
            acked = 0
            kill_done = asyncio.Event()

            async def kill_b_mid_answer() -> None:
                b.routable = False  # new deliveries go to A; B finishes what it has
                while b.in_flight:
                    await asyncio.sleep(0.05)
                slow = [bot_text_update(f"slow-{k}", f"Câu hỏi chậm S{k}", message_id=f"S{k}") for k in range(SLOW)]
                pending = [asyncio.create_task(provider.until_acked(u, b)) for u in slow]
                await asyncio.sleep(0.6)  # B claimed them and is answering (2 s each)
                assert not any(fake.messages_to(f"slow-{k}") for k in range(SLOW))
                b.kill()
                result["killed_in_flight"] = SLOW
                await asyncio.sleep(0.5)
                b.start()
                await b.ready()
                b.routable = True
                await asyncio.gather(*pending)
                kill_done.set()

            async def citizen(u: int) -> None:
                nonlocal acked
                chat = f"citizen-{u:02d}"
                for i in range(PER_USER):
                    mark = f"Q{u:02d}x{i:02d}"
                    update = bot_text_update(chat, f"Xin hỏi thủ tục {mark} cần giấy tờ gì?", message_id=mark)
                    first = rng.choice(provider.routable())
                    sends = [provider.until_acked(update, first)]
                    if u * PER_USER + i in doubled:
                        others = [w for w in provider.routable() if w is not first] or [first]
                        sends.append(provider.until_acked(update, others[0]))
                    await asyncio.gather(*sends)
                    acked += 1
                    if acked == KILL_AFTER:
                        asyncio.create_task(kill_b_mid_answer())

            started = time.monotonic()
            await asyncio.gather(*(citizen(u) for u in range(USERS)))
            await asyncio.wait_for(kill_done.wait(), 60)
            result["wall_s"] = time.monotonic() - started
            # Ten citizens vote 👎 on their last answer, through either worker.
            votes = [provider.until_acked(bot_text_update(f"citizen-{u:02d}", "2", message_id=f"V{u}"), workers[u % 2])
                     for u in range(10)]
            await asyncio.gather(*votes)
            await asyncio.sleep(1.0)  # a late second answer would arrive here
            result["sent"] = list(fake.sent)
            result["statuses"] = dict(provider.statuses)
        finally:
            for w in workers:
                w.stop()
            await client.aclose()
            await fake.stop()
        return result

    result = asyncio.run(asyncio.wait_for(scenario(), 240))
    vote_chats = {f"citizen-{u:02d}" for u in range(10)}
    counts = ids_in([s.text for s in result["sent"] if "Trả lời:" in s.text])
    expected = {f"Q{u:02d}x{i:02d}" for u in range(USERS) for i in range(PER_USER)} | {f"S{k}" for k in range(SLOW)}
    lost = expected - set(counts)
    twice = {m: n for m, n in counts.items() if n > 1}
    print(f"\n1,000 messages + {int(USERS * PER_USER * DUP_SHARE)} duplicates + {SLOW} killed mid-answer: "
          f"{result['wall_s']:.1f} s; webhook responses {result['statuses']}")
    assert not lost, f"messages never answered: {sorted(lost)[:10]}"
    assert not twice, f"messages answered more than once: {twice}"
    assert set(counts) == expected

    store = open_store(make_settings(tmp_path / "k", tmp_path / "console", database_url=postgres_url))
    try:
        assert store.stats().total == len(expected)  # each question logged once, whichever worker answered
        down = store.list_feedback(vote=-1, limit=100)  # what the console's "Góp ý" page lists
        assert sorted(MARK.findall(f.question)[0] for f in down) == sorted(f"Q{u:02d}x{PER_USER - 1:02d}"
                                                                          for u in range(10))
        thanks = [s for s in result["sent"] if s.chat_id in vote_chats and "Trả lời:" not in s.text]
        assert len({s.chat_id for s in thanks}) == 10
        with store.engine.connect() as conn:
            retaken = conn.execute(sa.text("SELECT COUNT(*) FROM deliveries WHERE attempts > 1")).scalar()
            claimed = conn.execute(sa.text("SELECT COUNT(*) FROM deliveries WHERE state = 'claimed'")).scalar()
        assert retaken >= SLOW and claimed == 0
    finally:
        store.close()
    refused = sum(n for status, n in result["statuses"].items() if status != 200)
    print(f"refused deliveries (503 or connection lost, delivered again): {refused}; claims retaken: {retaken}")
