"""Benchmark: full build time, index size, warm `ask` latency (p50/p95) over the eval questions.

Not a test: prints figures for the README and issue notes. Uses a fresh data dir so the build
starts from nothing (no vector cache), like `cchc index build --rebuild` on a new machine.

    python scripts/benchmark.py [--questions tests/eval/dev/questions.yaml] [--repeat 3]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bot.answer import Assistant
from bot.evaluate import load_items
from index.build import build_index
from index.embed import load_embedder
from index.settings import Settings


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", default="tests/eval/dev/questions.yaml")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cchc-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        started = time.perf_counter()
        embedder = load_embedder(settings)
        load_s = time.perf_counter() - started
        report = build_index(settings, rebuild=True, embedder=embedder, show_progress=False)
        print(f"model load: {load_s:.2f} s ({embedder.model_id})")
        print(f"full build: {report.seconds:.1f} s — {report.documents} documents, {report.chunks} chunks, "
              f"{report.chunks / report.seconds:.1f} chunks/s")
        print(f"index size: {size_mb(Path(tmp) / 'indexes'):.2f} MB; vector cache: {size_mb(Path(tmp) / 'cache'):.2f} MB")
        started = time.perf_counter()
        build_index(settings, rebuild=False, embedder=embedder, show_progress=False)
        print(f"no-change build check: {(time.perf_counter() - started) * 1000:.0f} ms")

        assistant = Assistant.load(settings, embedder=embedder)
        questions = [item.question for item in load_items(Path(args.questions))]
        for q in questions[:5]:  # warm-up
            assistant.answer(q)
        totals, retrieves = [], []
        for _ in range(args.repeat):
            for q in questions:
                t = assistant.answer(q).timings_ms
                totals.append(t["total"])
                retrieves.append(t["retrieve"])
        q = statistics.quantiles(totals, n=20)
        print(f"warm ask over {len(totals)} questions: p50 {statistics.median(totals):.1f} ms, "
              f"p95 {q[18]:.1f} ms, max {max(totals):.1f} ms (retrieve p50 {statistics.median(retrieves):.1f} ms)")


if __name__ == "__main__":
    main()
