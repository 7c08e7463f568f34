"""Hybrid retrieval: BM25 carries the ranking, e5 adds a calibrated nudge.

Measured on the eval set: plain reciprocal-rank fusion loses to keyword alone, because the small
e5 model ranks Vietnamese plan passages poorly. So scores are normalised and fused as
`keyword + w × dense`, with w calibrated by `cchc eval --calibrate` (see README).
"""
from __future__ import annotations

from typing import Literal

import numpy as np

from index.embed import Embedder
from index.keyword import topic_terms
from index.store import StoredIndex
from index.types import Chunk, Hit
from index.vietnamese import content_bigrams, content_tokens, normalized_tokens

Mode = Literal["hybrid", "keyword", "dense"]


def _normalise(scores: np.ndarray) -> np.ndarray:
    top = float(scores.max()) if scores.size else 0.0
    return scores / top if top > 0 else np.zeros_like(scores)


def _ranks(scores: np.ndarray) -> np.ndarray:
    ranks = np.empty(len(scores), dtype=int)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return ranks


class Searcher:
    """Loaded once per process; answers many queries."""

    def __init__(self, index: StoredIndex, embedder: Embedder, dense_weight: float | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.dense_weight = 0.15 if dense_weight is None else dense_weight  # the answer core sets its policy's
        self.chunks: list[Chunk] = index.chunks
        self._terms = {c.id: topic_terms(c.text) for c in self.chunks}

    def correct(self, query: str) -> str:
        return self.index.keyword.correct(query)

    def search(self, query: str, k: int = 5, mode: Mode = "hybrid", boosts: dict[str, float] | None = None,
               dense_weight: float | None = None, keyword_query: str | None = None) -> list[Hit]:
        """`keyword_query` is the typo-corrected, folded question (see `correct`); e5 reads the original."""
        n = len(self.chunks)
        if n == 0:
            return []
        keyword = self.index.keyword.scores(keyword_query or query)
        dense = np.zeros(n, dtype=np.float32)
        if mode != "keyword":
            q = self.embedder.embed_queries([query])
            sims, ids = self.index.vectors.search(np.ascontiguousarray(q, dtype=np.float32), n)
            dense[ids[0]] = sims[0]
        w = self.dense_weight if dense_weight is None else dense_weight
        kw_norm = _normalise(keyword)
        # Cosine similarities of e5 sit in a narrow band; stretch them to [0, 1] before weighting.
        spread = float(dense.max() - dense.min()) if mode != "keyword" else 0.0
        dense_norm = (dense - dense.min()) / spread if spread > 0 else np.zeros_like(dense)
        if mode == "keyword":
            fused = kw_norm
        elif mode == "dense":
            fused = dense_norm
        else:
            fused = kw_norm + w * dense_norm
        if boosts:
            factors = np.array([boosts.get(c.doc_id, 1.0) for c in self.chunks], dtype=np.float32)
            fused = fused * factors
        kw_ranks, dense_ranks = _ranks(keyword), _ranks(dense)
        order = np.argsort(-fused, kind="stable")[:k]
        return [
            Hit(chunk=self.chunks[i], score=float(fused[i]), keyword_score=float(keyword[i]),
                dense_score=float(dense[i]), keyword_rank=int(kw_ranks[i]),
                dense_rank=int(dense_ranks[i]) if mode != "keyword" else None)
            for i in order
        ]

    def coverage(self, query: str, hit: Hit) -> float:
        """How much of the question the passage covers: IDF-weighted, on syllables and on syllable pairs.

        Words the knowledge base has never seen weigh most, and pairs guard against folding
        collisions ("căn cước" vs "cán bộ" share "can"): a question about "khai sinh" is not
        answered by a passage that only shares "thủ tục hành chính".
        """
        tokens = normalized_tokens(query)
        present = self._terms[hit.chunk.id]
        keyword = self.index.keyword

        def share(terms: set[str]) -> float | None:
            weights = {t: keyword.idf(t) for t in terms}
            total = sum(weights.values())
            return sum(w for t, w in weights.items() if t in present) / total if total else None

        unigrams = share(set(content_tokens(tokens)))
        if unigrams is None:
            return 0.0
        bigrams = share(set(content_bigrams(tokens)))
        return unigrams if bigrams is None else (unigrams + bigrams) / 2
