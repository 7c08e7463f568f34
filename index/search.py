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
K_DENSE = 200  # nearest passages scored by the vector index; the rest count as 0 similarity


def _normalise(scores: np.ndarray) -> np.ndarray:
    top = float(scores.max()) if scores.size else 0.0
    return scores / top if top > 0 else np.zeros_like(scores)


def _rank(scores: np.ndarray, i: int) -> int:
    """Position of `i` in a stable descending sort, without sorting: O(n) for the few hits returned."""
    s = scores[i]
    return int(np.count_nonzero(scores > s) + np.count_nonzero(scores[:i] == s)) + 1


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best, as a stable descending sort would give them, in O(n) (argsort of 1M is ~0.1 s)."""
    if k >= len(scores):
        return np.argsort(-scores, kind="stable")
    cut = np.partition(scores, len(scores) - k)[len(scores) - k]  # the k-th largest value
    above = np.flatnonzero(scores > cut)
    tied = np.flatnonzero(scores == cut)[:k - len(above)]
    picked = np.concatenate([above, tied])
    return picked[np.lexsort((picked, -scores[picked]))]


class Searcher:
    """Loaded once per process; answers many queries."""

    def __init__(self, index: StoredIndex, embedder: Embedder, dense_weight: float | None = None,
                 k_dense: int = K_DENSE) -> None:
        self.index = index
        self.embedder = embedder
        self.dense_weight = 0.15 if dense_weight is None else dense_weight  # the answer core sets its policy's
        self.k_dense = k_dense
        self.chunks: list[Chunk] = index.chunks
        self._terms: dict[str, set[str]] = {}  # filled as passages are judged: 1M up front costs minutes
        self._doc_rows: dict[str, np.ndarray] | None = None

    def correct(self, query: str) -> str:
        return self.index.keyword.correct(query)

    def search(self, query: str, k: int = 5, mode: Mode = "hybrid", boosts: dict[str, float] | None = None,
               dense_weight: float | None = None, keyword_query: str | None = None) -> list[Hit]:
        """`keyword_query` is the typo-corrected, folded question (see `correct`); e5 reads the original."""
        n = len(self.chunks)
        if n == 0:
            return []
        keyword = self.index.keyword.scores(keyword_query or query)
        dense = np.zeros(n, dtype=np.float32)  # similarity of the k_dense nearest; the rest count as 0
        dense_norm = np.zeros(n, dtype=np.float32)
        dense_ranks: dict[int, int] = {}
        if mode != "keyword":
            # Only the nearest k_dense: scoring every vector costs O(n) and defeats an approximate index.
            q = self.embedder.embed_queries([query])
            sims, ids = self.index.vectors.search(np.ascontiguousarray(q, dtype=np.float32), min(self.k_dense, n))
            found = ids[0] >= 0
            sims, ids = sims[0][found], ids[0][found]
            dense[ids] = sims
            dense_ranks = {int(i): r for r, i in enumerate(ids, 1)}
            # Cosine similarities of e5 sit in a narrow band; stretch the fetched ones to [0, 1] before weighting.
            spread = float(sims.max() - sims.min()) if sims.size else 0.0
            if spread > 0:
                dense_norm[ids] = (sims - sims.min()) / spread
        w = self.dense_weight if dense_weight is None else dense_weight
        kw_norm = _normalise(keyword)
        if mode == "keyword":
            fused = kw_norm
        elif mode == "dense":
            fused = dense_norm
        else:
            fused = kw_norm + w * dense_norm
        if boosts:
            fused = fused * self._factors(boosts)
        beyond = len(dense_ranks) + 1  # not among the nearest k_dense
        return [
            Hit(chunk=self.chunks[i], score=float(fused[i]), keyword_score=float(keyword[i]),
                dense_score=float(dense[i]), keyword_rank=_rank(keyword, i),
                dense_rank=dense_ranks.get(int(i), beyond) if mode != "keyword" else None)
            for i in _top(fused, k)
        ]

    def _factors(self, boosts: dict[str, float]) -> np.ndarray:
        """Per-passage factors from per-document boosts, without a Python loop over every passage."""
        if self._doc_rows is None:
            rows: dict[str, list[int]] = {}
            for i, c in enumerate(self.chunks):
                rows.setdefault(c.doc_id, []).append(i)
            self._doc_rows = {doc: np.array(r) for doc, r in rows.items()}
        factors = np.ones(len(self.chunks), dtype=np.float32)
        for doc, factor in boosts.items():
            if doc in self._doc_rows:
                factors[self._doc_rows[doc]] = factor
        return factors

    def coverage(self, query: str, hit: Hit, skip_pairs: frozenset[str] = frozenset()) -> float:
        """How much of the question the passage covers: IDF-weighted, on syllables and on syllable pairs.

        Words the knowledge base has never seen weigh most, and pairs guard against folding
        collisions ("căn cước" vs "cán bộ" share "can"): a question about "khai sinh" is not
        answered by a passage that only shares "thủ tục hành chính".
        """
        tokens = normalized_tokens(query)
        present = self._terms.get(hit.chunk.id)
        if present is None:
            present = self._terms[hit.chunk.id] = topic_terms(hit.chunk.text)
        keyword = self.index.keyword

        def share(terms: set[str]) -> float | None:
            weights = {t: keyword.idf(t) for t in terms}
            total = sum(weights.values())
            return sum(w for t, w in weights.items() if t in present) / total if total else None

        unigrams = share(set(content_tokens(tokens)))
        if unigrams is None:
            return 0.0
        bigrams = share(set(content_bigrams(tokens)) - skip_pairs)  # not pairs the rewriting made up
        return unigrams if bigrams is None else (unigrams + bigrams) / 2
