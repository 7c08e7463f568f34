"""Keyword index: BM25 (bm25s) over folded Vietnamese syllables and syllable bigrams.

Folding makes "thu tuc" and "thủ tục" the same term; abbreviations (tthc, dvc, sdt…) are expanded
on both sides. Document frequencies are kept too: the answer core uses them to judge how much of
a question a passage really covers.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import bm25s
import numpy as np

from index.vietnamese import content_tokens, keyword_terms, normalized_tokens


def unigram_set(text: str) -> set[str]:
    return set(content_tokens(normalized_tokens(text)))


class KeywordIndex:
    def __init__(self, bm25: bm25s.BM25, doc_freq: dict[str, int], n_docs: int) -> None:
        self._bm25 = bm25
        self.doc_freq = doc_freq
        self.n_docs = n_docs

    @classmethod
    def build(cls, texts: list[str]) -> "KeywordIndex":
        corpus = [keyword_terms(t) or [""] for t in texts]
        bm25 = bm25s.BM25()
        bm25.index(corpus, show_progress=False)
        doc_freq: dict[str, int] = {}
        for text in texts:
            for term in unigram_set(text):
                doc_freq[term] = doc_freq.get(term, 0) + 1
        return cls(bm25, doc_freq, len(texts))

    def scores(self, query: str) -> np.ndarray:
        terms = [t for t in keyword_terms(query) if t in self._bm25.vocab_dict]
        if not terms:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)

    def idf(self, term: str) -> float:
        df = self.doc_freq.get(term, 0)
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._bm25.save(str(directory / "bm25"))
        (directory / "doc_freq.json").write_text(
            json.dumps({"n_docs": self.n_docs, "doc_freq": self.doc_freq}, ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path) -> "KeywordIndex":
        bm25 = bm25s.BM25.load(str(directory / "bm25"))
        data = json.loads((directory / "doc_freq.json").read_text(encoding="utf-8"))
        return cls(bm25, data["doc_freq"], data["n_docs"])
