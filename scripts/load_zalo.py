"""Load test of the Zalo Bot webhook: simulated citizens → our webhook server → the real assistant →
sendMessage on a fake Zalo Bot API. Loopback only (127.0.0.1), bounded in count and time, stops by itself.

Each of `--users` citizens asks its share of `--questions` questions one after another, waiting for the
answer before the next (as a person does); about `--duplicates` of the deliveries are sent twice, as Zalo
sometimes does. Prints throughput and reply times, and checks that no question was lost or answered twice.

    python scripts/load_zalo.py [--users 50] [--questions 1000] [--data-dir DIR] [--workers 4]

Not a test: figures depend on the machine. The index is read from --data-dir (default: CCHC_DATA_DIR) and
built there first if missing (about 30 s).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))  # the fake Zalo servers live with the tests

from bot.answer import Assistant  # noqa: E402
from bot.evaluate import load_items  # noqa: E402
from bot.store_sqlite import SqliteStore  # noqa: E402
from bot.zalo import build_service, quiet_http_logs  # noqa: E402
from fake_zalo import FakeZaloBotAPI, bot_text_update  # noqa: E402
from index.settings import Settings, get_settings  # noqa: E402

SECRET = "load-test-secret-0123456789"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, -(-int(p * len(ordered)) // 100) - 1))
    return ordered[rank]


async def run(args: argparse.Namespace, assistant: Assistant, questions: list[str], data_dir: Path) -> int:
    fake = await FakeZaloBotAPI().start()
    port = free_port()
    settings = Settings(_env_file=None, data_dir=data_dir, webhook_host="127.0.0.1", webhook_port=port,
                        zalo_bot_token=fake.token, zalo_bot_api_base_url=f"{fake.url}/bot",
                        zalo_bot_webhook_url=f"http://127.0.0.1:{port}/zalo/bot", zalo_bot_webhook_secret=SECRET,
                        zalo_oa_app_id=None, zalo_oa_secret_key=None, zalo_app_secret=None,
                        zalo_oa_access_token=None, zalo_oa_refresh_token=None)
    store = SqliteStore(data_dir / "load-store.sqlite")
    # No flood limit: 50 simulated users ask far faster than people do, and that is the point here.
    service = build_service(settings, assistant, store, flood_limit=None, workers=args.workers)
    await service.start()
    rng = random.Random(7)
    share = [args.questions // args.users + (1 if u < args.questions % args.users else 0) for u in range(args.users)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    duplicates = 0

    async def citizen(u: int, client: httpx.AsyncClient) -> None:
        nonlocal duplicates
        chat = f"citizen-{u}"
        for i in range(share[u]):
            update = bot_text_update(chat, rng.choice(questions), message_id=f"{chat}-{i}")
            before = len(fake.messages_to(chat))
            started = time.monotonic()
            sends = [fake.deliver(update, client=client)]
            if rng.random() < args.duplicates:
                sends.append(fake.deliver(update, client=client))
                duplicates += 1
            for resp in await asyncio.gather(*sends):
                statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
            try:
                await fake.wait_until(lambda: len(fake.messages_to(chat)) > before, timeout=args.reply_timeout)
            except asyncio.TimeoutError:
                continue  # counted as lost below
            latencies.append(fake.by_chat[chat][before].at - started)

    started = time.monotonic()
    try:
        limits = httpx.Limits(max_connections=args.users * 2, max_keepalive_connections=args.users * 2)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            await asyncio.gather(*[citizen(u, client) for u in range(args.users)])
        wall = time.monotonic() - started
        await asyncio.gather(*[a.drain() for a in service.adapters])
        await asyncio.sleep(0.5)  # a late duplicate reply would show up here
    finally:
        await service.stop()
        await fake.stop()

    lost = sum(max(0, share[u] - len(fake.messages_to(f"citizen-{u}"))) for u in range(args.users))
    doubled = sum(max(0, len(fake.messages_to(f"citizen-{u}")) - share[u]) for u in range(args.users))
    logged = store.stats().total
    store.close()
    print(f"users {args.users}, questions {args.questions} (+{duplicates} duplicate deliveries), "
          f"answer threads {args.workers}")
    print(f"webhook responses: {dict(sorted(statuses.items()))}")
    print(f"wall time {wall:.1f} s, throughput {args.questions / wall:.1f} questions/s")
    if latencies:
        print(f"reply time (webhook POST → sendMessage): p50 {statistics.median(latencies) * 1000:.0f} ms, "
              f"p95 {percentile(latencies, 95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    print(f"lost {lost}, answered twice {doubled}, logged in store {logged}")
    ok = lost == 0 and doubled == 0 and logged == args.questions and set(statuses) == {200}
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--duplicates", type=float, default=0.05, help="share of deliveries sent twice")
    parser.add_argument("--workers", type=int, default=4, help="answer threads (build_service default: 4)")
    parser.add_argument("--data-dir", type=Path, help="data dir with the index (default: CCHC_DATA_DIR)")
    parser.add_argument("--reply-timeout", type=float, default=120.0, help="seconds one reply may take")
    parser.add_argument("--deadline", type=float, default=1800.0, help="the whole run stops after this")
    parser.add_argument("--questions-file", type=Path, default=REPO_ROOT / "tests" / "eval" / "dev" / "questions.yaml")
    args = parser.parse_args()
    if not (1 <= args.users <= 500 and 1 <= args.questions <= 20_000):
        parser.error("keep it bounded: 1–500 users, 1–20000 questions")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_http_logs()

    index_settings = get_settings() if args.data_dir is None else Settings(data_dir=args.data_dir)
    print(f"loading the assistant (index in {index_settings.data_dir})…", flush=True)
    assistant = Assistant.load(index_settings, build_if_missing=True)
    questions = [item.question for item in load_items(args.questions_file)]
    for q in questions[:5]:  # warm-up
        assistant.answer(q)
    with tempfile.TemporaryDirectory(prefix="cchc-load-zalo-") as tmp:
        try:
            return asyncio.run(asyncio.wait_for(run(args, assistant, questions, Path(tmp)), args.deadline))
        except asyncio.TimeoutError:
            print(f"FAILED: not finished within {args.deadline:.0f} s")
            return 1


if __name__ == "__main__":
    sys.exit(main())
