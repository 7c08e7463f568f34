"""Put diacritics back on an unaccented question, from the knowledge base's own syllable statistics.

"le phi dang ky thuong tru" → "lệ phí đăng ký thường trú". The dense model reads accented text far
better, and officers see the question as understood. A bigram model over the indexed passages is
enough: the words citizens ask about are the words the documents use.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from index.vietnamese import fold, has_vietnamese_diacritics, nfc

RE_SYL = re.compile(r"[a-zA-ZÀ-ỹđĐ]+")


class AccentRestorer:
    def __init__(self, texts: Iterable[str]) -> None:
        self.unigrams: Counter[str] = Counter()
        self.bigrams: Counter[tuple[str, str]] = Counter()
        self.forms: dict[str, list[str]] = defaultdict(list)
        for text in texts:
            syls = [s.lower() for s in RE_SYL.findall(nfc(text))]
            self.unigrams.update(syls)
            self.bigrams.update(zip(syls, syls[1:]))
        for syl in self.unigrams:
            self.forms[fold(syl)].append(syl)
        for key, forms in self.forms.items():
            forms.sort(key=lambda f: -self.unigrams[f])
            top = self.unigrams[forms[0]]
            # An unaccented spelling in the documents is mostly a URL or a name: keep it only when common.
            forms[:] = [f for f in forms if f != key or f == forms[0] or self.unigrams[f] >= 0.2 * top]
            del forms[6:]  # the six commonest readings are plenty
        self.total = sum(self.unigrams.values()) or 1

    def _uni(self, form: str) -> float:
        return math.log((self.unigrams[form] + 0.1) / self.total)

    def _bi(self, prev: str, form: str) -> float:
        pair = self.bigrams.get((prev, form), 0)
        return math.log((pair + 0.1 * (self.unigrams[form] + 1) / self.total) / (self.unigrams[prev] + 1))

    def restore(self, text: str) -> str:
        """Restore accents word by word (Viterbi); words already accented or unknown stay as typed."""
        if has_vietnamese_diacritics(text):
            return text
        words = text.split()
        lattice: list[list[str]] = []
        for w in words:
            key = fold(w)
            lattice.append(self.forms.get(key) or [w])
        # Viterbi over candidate forms.
        best: list[dict[str, tuple[float, str | None]]] = []
        for i, forms in enumerate(lattice):
            column: dict[str, tuple[float, str | None]] = {}
            for form in forms:
                if i == 0 or not best[-1]:
                    column[form] = (self._uni(form), None)
                else:
                    column[form] = max((score + self._bi(prev, form), prev) for prev, (score, _) in best[-1].items())
            best.append(column)
        if not best:
            return text
        form = max(best[-1], key=lambda f: best[-1][f][0])
        out = [form]
        for i in range(len(best) - 1, 0, -1):
            form = best[i][form][1]
            out.append(form)
        out.reverse()
        return " ".join(o if fold(o) == fold(w) and o != w.lower() else w for o, w in zip(out, words))
