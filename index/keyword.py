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
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from index.vietnamese import (
    STOPWORDS,
    content_bigrams,
    content_tokens,
    keyword_terms,
    normalized_tokens,
    rewrite_query,
)


def topic_terms(text: str) -> set[str]:
    """Content syllables and content bigrams: what 'covering a question' is measured on."""
    tokens = normalized_tokens(text)
    return set(content_tokens(tokens)) | set(content_bigrams(tokens))


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
            for term in topic_terms(text):
                doc_freq[term] = doc_freq.get(term, 0) + 1
        return cls(bm25, doc_freq, len(texts))

    def scores(self, query: str) -> np.ndarray:
        terms = [t for t in keyword_terms(query) if t in self._bm25.vocab_dict]
        if not terms:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)

    def correct(self, text: str) -> str:
        """Folded question with unknown syllables replaced by the closest known one ('tiu' -> 'tieu')
        and citizens' phrases mapped to the documents' words ('bưu điện' -> 'bưu chính').

        Phone typos ("mục tiu", "quyết địn", "bao nhiu") otherwise make a plan question look
        out of scope. Only one edit away, only words of 3+ letters, most frequent candidate first.
        """
        tokens = normalized_tokens(text)
        out: list[str] = []
        for i, tok in enumerate(tokens):
            if tok in self.doc_freq or tok in STOPWORDS or len(tok) < 3 or not tok.isalpha():
                out.append(tok)
                continue
            matches = process.extract(tok, self._vocab, scorer=Levenshtein.distance, score_cutoff=1, limit=None)
            # Phone typos mostly drop a letter: prefer the candidate that adds one back.
            ranked = sorted(matches, key=lambda m: (m[1], len(m[0]) <= len(tok), -self.doc_freq.get(m[0], 0)))
            left = out[-1] if out else None
            right = tokens[i + 1] if i + 1 < len(tokens) else None
            fits = [m[0] for m in ranked if self._fits(m[0], tok, left, right)]
            out.append(fits[0] if fits else tok)
        return rewrite_query(" ".join(out))

    def _fits(self, word: str, typed: str, left: str | None, right: str | None) -> bool:
        """A correction must read as the knowledge base writes: a syllable pair it has ("mục tiu" → "mục tiêu"),
        or a function word with the letter a phone dropped put back ("bao nhiu" → "bao nhiêu"). A real word it
        lacks stays as typed ("quên mật khẩu" is not "quyền mật khẩu", "thời tiết" is not "thời biết")."""
        if word in STOPWORDS:
            return len(word) > len(typed)
        return any(pair in self.doc_freq for pair in (f"{left}_{word}" if left else "", f"{word}_{right}" if right else ""))

    @property
    def _vocab(self) -> list[str]:
        if not hasattr(self, "_vocab_cache"):
            known = {t for t in self.doc_freq if t.isalpha() and "_" not in t}
            self._vocab_cache = sorted(known | STOPWORDS)  # 'nhiu' -> 'nhieu', a stopword, not 'nhau'

        return self._vocab_cache

    def idf(self, term: str) -> float:
        """IDF; a syllable pair never seen together weighs as its syllables do, not as a rare word."""
        if "_" in term and term not in self.doc_freq:
            parts = term.split("_")
            return max(self.idf(p) for p in parts)
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
