"""Benchmark: build time (first start with shipped vectors, and from nothing), index size, warm latency.

Not a test: prints figures for the README and issue notes. Uses fresh data dirs, like a new machine.
The whole knowledge base is indexed (plans, guidance and the 2,625-procedure catalogue).

    python scripts/benchmark.py [--questions tests/eval/dev] [--repeat 3] [--from-nothing]
    python scripts/benchmark.py --synthetic 60000 [--queries 100] [--quick]   # scale: flat vs HNSW
"""
from __future__ import annotations

import argparse
import resource
import shutil
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
    parser.add_argument("--questions", default="tests/eval/dev")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--from-nothing", action="store_true",
                        help="also time a build that embeds every passage (no shipped vectors; slow)")
    parser.add_argument("--synthetic", type=int, metavar="N",
                        help="index N synthetic passages instead and compare flat and HNSW vector search")
    parser.add_argument("--queries", type=int, help="questions timed with --synthetic (default 100, 30 past 500k)")
    parser.add_argument("--quick", action="store_true", help="with --synthetic: few queries, one efSearch")
    parser.add_argument("--vectors-only", action="store_true",
                        help="with --synthetic: vector search alone (no texts, no BM25): the 1M case in minutes")
    args = parser.parse_args()
    if args.synthetic:
        from bench_synthetic import run, run_vectors

        default = 15 if args.quick else 30 if args.synthetic > 500_000 else 100
        questions = list(dict.fromkeys(item.question for item in load_items(Path(args.questions))))
        if args.vectors_only:
            run_vectors(args.synthetic, questions[:args.queries or default], ef_values=(512, 1024, 2048))
            return
        run(args.synthetic, questions[:args.queries or default], quick=args.quick,
            ef_values=(1024,) if args.quick else (512, 1024, 2048))
        return

    with tempfile.TemporaryDirectory(prefix="cchc-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        started = time.perf_counter()
        embedder = load_embedder(settings)
        load_s = time.perf_counter() - started
        report = build_index(settings, rebuild=True, embedder=embedder, show_progress=False)
        print(f"model load: {load_s:.2f} s ({embedder.model_id})")
        print(f"first build (shipped vectors): {report.seconds:.1f} s — {report.documents} documents, "
              f"{report.chunks} chunks, embedded now {report.embedded_now}")
        if args.from_nothing:
            with tempfile.TemporaryDirectory(prefix="cchc-bench-empty-") as empty:
                no_ship = Path(empty) / "knowledge"
                shutil.copytree(settings.knowledge_dir, no_ship, ignore=shutil.ignore_patterns("vectors"))
                bare = Settings(data_dir=Path(empty) / "data", knowledge_dir=no_ship)
                full = build_index(bare, rebuild=True, embedder=embedder, show_progress=False)
                print(f"build from nothing: {full.seconds:.1f} s, {full.embedded_now / full.seconds:.1f} passages/s")
        print(f"index size: {size_mb(Path(tmp) / 'indexes'):.2f} MB; vector cache: {size_mb(Path(tmp) / 'cache'):.2f} MB")
        started = time.perf_counter()
        build_index(settings, rebuild=False, embedder=embedder, show_progress=False)
        print(f"no-change build check: {(time.perf_counter() - started) * 1000:.0f} ms")

        assistant = Assistant.load(settings, embedder=embedder)
        questions = [item.question for item in load_items(Path(args.questions))]
        print(f"peak memory after load: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
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
