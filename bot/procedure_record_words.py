"""The words of a procedure record's whole text, for questions that name a procedure and then their situation.

"Bằng lái sắp hết hạn, đi đổi giấy phép lái xe có cần giấy khám sức khỏe không": the name "Đổi giấy phép lái xe"
covers half the question; the record's papers say "giấy khám sức khỏe". A required word the matched name lacks but
the record's text (sections, papers, conditions, agency) has is about that procedure, and counts `BODY_FACTOR` of its
weight. Words most records have ("giờ", "công dân", "Việt Nam") confirm nothing: such a word weighs the lower of its
IDF over names and over records' texts. Each record is read once, when it is first a candidate (cached).
"""
from __future__ import annotations

import math
import re
import threading

from bot.procedure_terms import UNKNOWN_WEIGHT, _fy, accent_key
from index.types import Document
from index.vietnamese import fold

BODY_FACTOR = 0.8
CACHE = 512  # records kept read
SAMPLE = 8  # document frequencies over every SAMPLE-th record (a few hundred: enough for common words)
RE_WORD = re.compile(r"[0-9a-z]+")
RE_RAW = re.compile(r"[0-9a-zà-ỹđ]+")


def lexicon_terms(toks) -> set[str]:
    """Terms a colloquial name's replacement put in the question (and pairs touching them): name words, never the
    citizen's situation."""
    out = {t.folded for t in toks if t.kind == "lex"}
    out |= {f"{a.folded}_{b.folded}" for a, b in zip(toks, toks[1:]) if "lex" in (a.kind, b.kind)}
    return out


def record_text(doc: Document) -> str:
    """A record's whole text: its sections and every field of its front matter (papers, conditions, agency…)."""
    parts = [doc.body]

    def collect(value) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)
    collect(doc.extra)
    return "\n".join(parts)


def read_words(text: str) -> frozenset[str]:
    """Folded syllables, adjacent pairs and, marked "=", each syllable's accented form (`accent_key`), so that a
    question's "tối" is not the record's "tôi"."""
    w = RE_WORD.findall(fold(text.lower()))
    spelled = {x: _fy(x) for x in set(w)}  # "ký" = "kí", as `procedure_terms.raw_tokens` reads names and questions
    w = [spelled[x] for x in w]
    marked = {"=" + accent_key(raw) for raw in set(RE_RAW.findall(text.lower()))}
    return frozenset(w) | frozenset(map("_".join, zip(w, w[1:]))) | frozenset(marked)


class RecordWords:
    def __init__(self, docs: list[Document]) -> None:
        self.docs = docs
        self._words: dict[int, frozenset[str]] = {}
        self._df: dict[str, int] | None = None
        self._n = 1
        self._counting = threading.Lock()  # counted once, by the start-up thread or the first question
        # the frequencies take about a second for the whole catalogue: counted in the background at start-up, so the
        # first citizen asking about a procedure does not wait for them
        threading.Thread(target=self.idf, args=("",), name="record-words", daemon=True).start()

    def words(self, i: int) -> frozenset[str]:
        words = self._words.get(i)
        if words is None:
            if len(self._words) >= CACHE:
                self._words.clear()
            words = self._words[i] = read_words(record_text(self.docs[i]))
        return words

    def idf(self, term: str) -> float:
        if self._df is None:
            with self._counting:
                if self._df is None:
                    df: dict[str, int] = {}
                    sample = self.docs[::SAMPLE]
                    for doc in sample:
                        for t in read_words(record_text(doc)):
                            df[t] = df.get(t, 0) + 1
                    self._n, self._df = max(len(sample), 1), df
        d = self._df.get(term, 0)
        return math.log(1 + (self._n - d + 0.5) / (d + 0.5))

    def gain(self, i: int, terms: dict[str, tuple[float, bool, str | None]], name_idf: dict[str, float],
             in_name: dict, excluded: set[str]) -> float:
        """Coverage to add to record i: `BODY_FACTOR` × the share of the question's required weight that its matched
        name lacks (`in_name`), is not `excluded` (rivals' name words), and its text has."""
        words = self.words(i)
        required = gained = 0.0
        for t, (factor, optional, accent) in terms.items():
            if optional:
                continue
            w = name_idf[t] * factor if t in name_idf else (0.0 if "_" in t else UNKNOWN_WEIGHT)
            required += w
            if t not in in_name and t not in excluded and t in words and (accent is None or "=" + accent in words):
                gained += min(w, self.idf(t) * factor)
        return BODY_FACTOR * gained / required if required > 0 else 0.0
