"""Recognise which national procedure a citizen means, and which of its fields is asked.

Names are matched on folded syllables and syllable pairs, IDF-weighted over the catalogue's own names, so
"khai sinh" finds "Thủ tục đăng ký khai sinh" without diacritics. Colloquial names ("sổ hồng", "cắt khẩu")
come from knowledge/lexicon/procedure_names.yaml: a question is scored both as written and with the
colloquial term replaced by the catalogue's wording, and each procedure keeps its better score.

Confidence is coverage: the share of the question's topical weight that the name matches. The ranking
score also multiplies in how much of the name the question covers, so a special variant ("… có yếu tố
nước ngoài", "… lưu động") loses to the general one unless the question names the special case.
Everything is numpy over an inverted index: about a millisecond per question for 2,642 names.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.lexicon import Lexicon, load_lexicon
from index.procedure_record import PROCEDURE_TYPE, ProcedureRecord, procedure_fields
from index.types import Document
from index.vietnamese import ABBREVIATIONS, fold, nfc

FIELDS = ("fee", "time", "papers", "where", "steps", "conditions", "online", "who", "result")
WARD_LEVEL = "Cấp xã"
BIGRAM_FACTOR = 0.5  # a syllable pair counts half its IDF: it confirms order, the syllables carry the topic
UNKNOWN_WEIGHT = 2.0  # a question syllable no procedure name has: likely a topic the catalogue lacks
WARD_BONUS = 0.02  # ward-level variants win ties: citizens mostly do procedures at their ward
NAME_SHARE = 0.45  # how much of the score depends on the name being covered (special variants lose)
LEX_MIN_FACTOR = 0.35  # "sổ đỏ" → 13 catalogue words: each counts a third, so "công chứng bản sao sổ đỏ" stays chứng thực
ACCENT_MISMATCH = 0.5  # a name word spelled with other marks than the question's counts half ("đối" for "đổi")
MIN_EVIDENCE = 4.0  # matched IDF weight below which coverage is scaled down (one rare syllable ≈ 5–7)
PAREN_FACTOR = 0.4  # words in a name's parentheses explain rather than name: "(áp dụng cho cả trường hợp …)"
RE_PAREN = re.compile(r"\(([^()]*)\)")
RE_LEVEL_SUFFIX = re.compile(r"\s*\((?:thực hiện )?(?:tại |ở )?(?:cấp )?(?:xã|huyện|tỉnh|trung ương|bộ)[^()]*\)\s*$", re.I)

_WORD = re.compile(r"[0-9a-zà-ỹđ]+", re.IGNORECASE)
# Matching-specific stopword lists (the index's stopwords drop "tư", "con", "đi", "đầu", which procedure
# names need: "khai tử", "nhận cha, mẹ, con", "di chúc", "lần đầu").
# Folded words that never name a procedure, dropped however they are written.
PLAIN_STOP = frozenset("""a ah ak ad oi nhe ha hi ui gi va cua cac nhung voi khong duoc hay nao nhu em anh
    roi xin biet giup ve den trong tren vao ra se neu khi nay deu len luon bi vs ai nhieu ne vui long cho""".split())
# Phrases that carry no topic although their words alone may ("thu" in "thu hồi", "bao" in "bảo hiểm").
GENERIC = (("thu", "tuc", "hanh", "chinh"), ("thu", "tuc"), ("bao", "nhieu"), ("nhu", "the", "nao"), ("the", "nao"),
           ("o", "phuong"), ("tai", "phuong"))
# Words common in questions that count only when a name has them ("cho con" vs "nhận cha, mẹ, con"):
# who the citizen does it for rarely names the procedure.
OPTIONAL_ALWAYS = frozenset("con be chau bo me ong ba vo chong nguoi".split())
# Accented fillers dropped only when written with these exact diacritics ("cần" ≠ "căn", "mình" ≠ "minh").
ACCENTED_FILLERS = frozenset("""cần có mà thì là gì đâu mấy tôi mình muốn làm được phải của thế vậy thôi đó
    đã tại chị bạn hỏi nhé ạ à ơi nhá hả phường""".split())
# Their folded forms stay optional when unaccented: they count only if a name has them ("chung minh").
OPTIONAL_FOLDED = frozenset(fold(w) for w in ACCENTED_FILLERS) - PLAIN_STOP


def default_lexicon_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "knowledge" / "lexicon"


def load_procedure_lexicon(directory: Path | None = None) -> Lexicon:
    """Procedure names and field cues (validated by index.lexicon); the lead's loader does the work."""
    return load_lexicon(directory or default_lexicon_dir())


# -- tokens ---------------------------------------------------------------------------------------
@dataclass
class _Tok:
    folded: str
    raw: str  # as written (lowercase NFC); equals `folded` for expansions and lexicon words
    kind: str = "q"  # q: question word, lex: from a lexicon 'means', cue: part of a field cue
    factor: float = 1.0  # lexicon words: a long 'means' must not outweigh the rest of the question


RE_FINAL_Y = re.compile(r"^([bcdghklmnprstvx]+)y$")
def _fy(folded: str) -> str:
    """'ky' → 'ki': "kí" and "ký", "lí" and "lý" are both taught spellings of one syllable."""
    return RE_FINAL_Y.sub(r"\1i", folded)


_TONES = {"\u0300": "f", "\u0301": "s", "\u0309": "r", "\u0303": "x", "\u0323": "j"}


def accent_key(raw: str) -> str:
    """Spelling-tolerant accented form: 'hoà' = 'hòa', 'kí' = 'ký'; 'đổi' ≠ 'đối', 'cũ' ≠ 'cư'."""
    d = unicodedata.normalize("NFD", raw.lower())
    tone = "".join(_TONES[c] for c in d if c in _TONES)
    letters = unicodedata.normalize("NFC", "".join(c for c in d if c not in _TONES)).replace("y", "i")
    return letters + tone


def _raw_tokens(text: str) -> list[_Tok]:
    out = []
    for raw in _WORD.findall(nfc(text).lower()):
        folded = _fy(fold(raw))
        if folded.isdigit():
            folded = folded.lstrip("0") or "0"
        out.append(_Tok(folded, raw))
    return out


def _expand(toks: list[_Tok], abbreviations: dict[str, str]) -> list[_Tok]:
    """Chat abbreviations ("bn", "ko", "cccd") — only for words typed without tone marks, so "hồng" stays."""
    out: list[_Tok] = []
    for t in toks:
        plain = fold(t.raw)
        exp = abbreviations.get(plain) if t.kind == "q" and t.raw.replace("đ", "d") == plain else None
        out.extend(_Tok(_fy(w), _fy(w), t.kind) for w in exp.split()) if exp else out.append(t)
    return out


class _Phrases:
    """Longest-first phrase lookup over folded token sequences."""

    def __init__(self, phrases: dict[tuple[str, ...], object]) -> None:
        self.by_first: dict[str, list[tuple[tuple[str, ...], object]]] = {}
        for key, value in sorted(phrases.items(), key=lambda kv: -len(kv[0])):
            self.by_first.setdefault(key[0], []).append((key, value))

    def find(self, words: list[str], start: int) -> tuple[int, object] | None:
        for key, value in self.by_first.get(words[start], ()):
            if tuple(words[start:start + len(key)]) == key:
                return len(key), value
        return None


def _folded_words(text: str) -> tuple[str, ...]:
    return tuple(t.folded for t in _raw_tokens(text))


class _Analyzer:
    """Question → weighted terms, with or without colloquial names replaced."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.abbreviations = lexicon.abbreviations or ABBREVIATIONS
        names = {}
        for e in lexicon.procedure_names:
            key = _folded_words(e.term)
            if key:
                names.setdefault(key, e)
        self.names = _Phrases(names)
        cues = {}
        for name, phrases in lexicon.procedure_fields.items():
            for cue in phrases:
                key = tuple(t.folded for t in _expand([_Tok(_fy(w), w) for w in cue.split()], self.abbreviations))
                if key:
                    cues.setdefault(key, name)
        self.cues = _Phrases(cues)

    def _replace_names(self, toks: list[_Tok], used: list) -> list[_Tok]:
        """Replace colloquial names by the catalogue's wording. A term inside a longer one found is dropped
        ("sổ đỏ" in "làm sổ đỏ"); partly overlapping terms both count ("mất bằng lái" + "bằng lái xe máy")."""
        words = [t.folded for t in toks]
        found = []
        for i in range(len(toks)):
            for key, entry in self.names.by_first.get(words[i], ()):
                if tuple(words[i:i + len(key)]) == key and all(t.kind == "q" for t in toks[i:i + len(key)]):
                    found.append((len(key), i, entry))
        chosen: list[tuple[int, int, object]] = []
        for n, i, entry in sorted(found, key=lambda f: (-f[0], f[1])):
            if not any(j <= i and i + n <= j + m for m, j, _ in chosen):
                chosen.append((n, i, entry))
        starts: dict[int, list[tuple[int, object]]] = {}
        covered: set[int] = set()
        for n, i, entry in chosen:
            starts.setdefault(i, []).append((n, entry))
            covered.update(range(i, i + n))
        out: list[_Tok] = []
        for i, tok in enumerate(toks):
            for n, entry in starts.get(i, ()):
                used.append(entry)
                means = _folded_words(entry.means)
                factor = max(LEX_MIN_FACTOR, min(1.0, 1.5 * n / max(len(means), 1)))
                out.extend(_Tok(w, w, "lex", factor) for w in means)
            if i not in covered:
                out.append(tok)
        return out

    def fields(self, toks: list[_Tok]) -> list[tuple[int, str]]:
        """(position, field) for every cue phrase; marks cue words so they do not count as topic."""
        words = [t.folded for t in toks]
        found = []
        i = 0
        while i < len(toks):
            hit = self.cues.find(words, i) if toks[i].kind == "q" else None
            if hit:
                n, name = hit
                found.append((i, name))
                for t in toks[i:i + n]:
                    t.kind = "cue"
                i += n
            else:
                i += 1
        return found

    def tokens(self, question: str, with_names: bool) -> tuple[list[_Tok], list, list[tuple[int, str]]]:
        """Tokens (cue words marked), the lexicon entries used, and the (position, field) cues found."""
        used: list = []
        toks = _raw_tokens(question)
        if with_names:
            toks = self._replace_names(toks, used)
        toks = _expand(toks, self.abbreviations)
        if with_names:
            toks = self._replace_names(toks, used)
        return toks, used, self.fields(toks)


def _terms(toks: list[_Tok]) -> dict[str, tuple[float, bool, str | None]]:
    """term -> (factor, optional, accent): content syllables and adjacent pairs. Factor scales the term's
    IDF; accent is the syllable's marks as written (None when typed without marks)."""
    keep: list[tuple[str, bool, float, str | None] | None] = []
    words = [t.folded for t in toks]
    generic: set[int] = set()
    for i in range(len(words)):
        for phrase in GENERIC:
            if tuple(words[i:i + len(phrase)]) == phrase and toks[i].kind != "lex":
                generic.update(range(i, i + len(phrase)))
                break
    for i, t in enumerate(toks):
        if i in generic or t.folded in PLAIN_STOP or (t.raw in ACCENTED_FILLERS and t.raw != t.folded):
            keep.append(None)
        else:
            optional = t.kind == "cue" or (t.kind == "q" and (t.folded in OPTIONAL_ALWAYS or (
                t.raw == t.folded and t.folded in OPTIONAL_FOLDED)))
            accent = accent_key(t.raw) if t.kind != "lex" and t.raw != t.folded else None
            keep.append((t.folded, optional, t.factor, accent))
    terms: dict[str, tuple[float, bool, str | None]] = {}

    def add(key: str, factor: float, optional: bool, accent: str | None) -> None:
        old = terms.get(key)
        if old is None or (old[1] and not optional) or (old[1] == optional and factor > old[0]):
            terms[key] = (factor, optional, accent if old is None or old[2] == accent else None)
        elif old[2] != accent:
            terms[key] = (old[0], old[1], None)  # written two ways: no accent preference

    for k in keep:
        if k:
            add(k[0], k[2], k[1], k[3])
    for a, b in zip(keep, keep[1:]):
        if a and b:
            add(f"{a[0]}_{b[0]}", BIGRAM_FACTOR * min(a[2], b[2]), a[1] or b[1], None)
    return terms


# -- catalogue ------------------------------------------------------------------------------------
@dataclass
class ProcedureMatch:
    record: ProcedureRecord
    doc: Document
    score: float  # ranking score (coverage × how much of the name is covered, + ward bonus)
    coverage: float  # share of the question's topical weight matched by the name: the confidence
    matched_name: str  # the name (title or alias) that matched
    name_coverage: float = 1.0  # share of the name's weight the question matched (low: a special variant)
    name_words: frozenset = frozenset()  # the name's topical syllables (a variant adds words to its base)
    via: list = field(default_factory=list)  # lexicon entries used ("sổ hồng" → …), for notes and "why"

    @property
    def title(self) -> str:
        return self.record.title

    @property
    def code(self) -> str:
        return self.record.code


class Matches(list):
    """ProcedureMatch list, best first; `ambiguous` says whether to let the citizen choose."""

    @property
    def ambiguous(self) -> bool:
        return ambiguous(self)


def base_title(title: str) -> str:
    """The name without its level suffix: "Cấp đổi thẻ căn cước (thực hiện tại cấp tỉnh)" → "cấp đổi thẻ căn cước"."""
    return RE_LEVEL_SUFFIX.sub("", title).strip().lower()


def ambiguous(matches: list[ProcedureMatch], margin: float = 0.05, named: float = 0.8) -> bool:
    """Let the citizen choose: the two best are different procedures (not one name at several levels),
    their scores are within `margin`, and the best is not named almost exactly by the question."""
    if len(matches) < 2:
        return False
    a, b = matches[0], matches[1]
    if base_title(a.title) == base_title(b.title) or a.score - b.score >= margin:
        return False
    if a.name_words and a.name_words < b.name_words and b.coverage <= a.coverage:
        return False  # b is a special variant of a ("… lưu động", "… có yếu tố nước ngoài") nobody asked for
    return not (a.coverage >= 0.95 and a.name_coverage >= named)


class ProcedureCatalog:
    def __init__(self, docs: list[Document], records: list[ProcedureRecord], lexicon: Lexicon) -> None:
        self.docs = docs
        self.records = records
        self.analyzer = _Analyzer(lexicon)
        names: list[tuple[int, str]] = []
        for i, (doc, rec) in enumerate(zip(docs, records)):
            names.append((i, rec.title))
            names.extend((i, str(a)) for a in doc.extra.get("aliases") or [] if str(a).strip())
        self.name_record = np.array([i for i, _ in names], dtype=np.int64)
        self.name_text = [n for _, n in names]
        name_terms = [self._name_terms(n) for _, n in names]
        self.name_words = [frozenset(t for t in terms if "_" not in t) for terms in name_terms]
        postings: dict[str, list[int]] = {}
        for j, terms in enumerate(name_terms):
            for t in terms:
                postings.setdefault(t, []).append(j)
        n = max(len(names), 1)
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in postings.items()}
        self.postings = {t: np.array(p, dtype=np.int64) for t, p in postings.items()}
        self.name_total = np.array([sum(self.idf[t] * f for t, (f, _, _) in terms.items()) or 1.0
                                    for terms in name_terms])
        accents: dict[str, dict[str, list[int]]] = {}  # folded syllable -> accented form -> name ids
        for j, (_, n) in enumerate(names):
            for tok in _raw_tokens(n):
                ids = accents.setdefault(tok.folded, {}).setdefault(accent_key(tok.raw), [])
                if not ids or ids[-1] != j:
                    ids.append(j)
        self.accents = {t: {a: np.array(ids, dtype=np.int64) for a, ids in forms.items()}
                        for t, forms in accents.items() if len(forms) > 1}
        self.active = np.array([r.status != "withdrawn" for r in records], dtype=bool)
        self.ward = np.array([WARD_LEVEL in r.levels for r in records], dtype=float) * WARD_BONUS
        self.by_code = {r.code: i for i, r in enumerate(records)}

    def _name_terms(self, name: str) -> dict[str, tuple[float, bool, str | None]]:
        outside = _terms(self.analyzer.tokens(RE_PAREN.sub(" , ", name), with_names=False)[0])
        for inner in RE_PAREN.findall(name):
            for t, (f, opt, acc) in _terms(self.analyzer.tokens(inner, with_names=False)[0]).items():
                if t not in outside:
                    outside[t] = (f * PAREN_FACTOR, opt, acc)
        return outside

    @classmethod
    def from_documents(cls, docs: list[Document], lexicon: Lexicon | None = None) -> "ProcedureCatalog":
        procs = [d for d in docs if d.type == PROCEDURE_TYPE]
        return cls(procs, [procedure_fields(d) for d in procs], lexicon or load_procedure_lexicon())

    def __len__(self) -> int:
        return len(self.records)

    def get(self, code: str) -> ProcedureMatch | None:
        i = self.by_code.get(code)
        if i is None:
            return None
        return ProcedureMatch(self.records[i], self.docs[i], 1.0, 1.0, self.records[i].title)

    def _score(self, terms: dict[str, tuple[float, bool, str | None]]) -> tuple[np.ndarray, ...] | None:
        """Coverage counts required words only (optional ones never raise confidence); the name share
        counts every matched word, so "cho con" still prefers "nhận cha, mẹ, con" among equal candidates."""
        n = len(self.name_text)
        acc = np.zeros(n)
        acc_req = np.zeros(n)
        required = 0.0
        for t, (factor, optional, accent) in terms.items():
            ids = self.postings.get(t)
            if ids is None:
                if not optional and "_" not in t:
                    required += UNKNOWN_WEIGHT
                continue
            w = self.idf[t] * factor
            same = self.accents.get(t, {}).get(accent) if accent else None
            if same is not None:  # the question's marks exist in some names: others get half
                acc[ids] += w * ACCENT_MISMATCH
                acc[same] += w * (1 - ACCENT_MISMATCH)
            else:
                acc[ids] += w
            if not optional:
                if same is not None:
                    acc_req[ids] += w * ACCENT_MISMATCH
                    acc_req[same] += w * (1 - ACCENT_MISMATCH)
                else:
                    acc_req[ids] += w
                required += w
        if required <= 0:
            return None
        # A question whose only topic word is common ("việc") is weak evidence however fully it is matched.
        cov = acc_req / required * np.minimum(1.0, acc_req / MIN_EVIDENCE)
        name_cov = np.minimum(acc / self.name_total, 1.0)
        score = cov * ((1 - NAME_SHARE) + NAME_SHARE * name_cov)
        return score, cov, name_cov

    def match(self, question: str, k: int = 3) -> Matches:
        """The k likeliest procedures for a question, best first (withdrawn ones never)."""
        variants = []
        plain, _, _ = self.analyzer.tokens(question, with_names=False)
        variants.append((_terms(plain), []))
        named, used, _ = self.analyzer.tokens(question, with_names=True)
        if used:
            variants.append((_terms(named), used))
        best_score = np.zeros(len(self.records))
        best_cov = np.zeros(len(self.records))
        best_ncov = np.zeros(len(self.records))
        best_name = np.full(len(self.records), -1)
        best_variant = np.zeros(len(self.records), dtype=np.int64)
        for v, (terms, _) in enumerate(variants):
            scored = self._score(terms)
            if scored is None:
                continue
            score, cov, name_cov = scored
            order = np.argsort(score)  # ascending: the best alias of a record is written last
            rec = self.name_record[order]
            better = score[order] > best_score[rec]
            idx = order[better]
            r = self.name_record[idx]
            best_score[r], best_cov[r], best_name[r], best_variant[r] = score[idx], cov[idx], idx, v
            best_ncov[r] = name_cov[idx]
        final = np.where(self.active & (best_score > 0), best_score + self.ward, 0.0)
        top = np.argsort(-final, kind="stable")[:k]
        out = Matches()
        for i in top:
            if final[i] <= 0:
                break
            out.append(ProcedureMatch(self.records[i], self.docs[i], round(float(final[i]), 4),
                                      round(float(best_cov[i]), 4), self.name_text[best_name[i]],
                                      round(float(best_ncov[i]), 4), self.name_words[best_name[i]],
                                      list(variants[best_variant[i]][1])))
        return out

    def asked_fields(self, question: str) -> list[str]:
        return asked_fields(question, self.analyzer)

    def asked_field(self, question: str) -> str | None:
        fields = self.asked_fields(question)
        return fields[0] if fields else None


# -- fields -----------------------------------------------------------------------------------------
_DEFAULT_ANALYZER: _Analyzer | None = None


def _default_analyzer() -> _Analyzer:
    global _DEFAULT_ANALYZER
    if _DEFAULT_ANALYZER is None:
        _DEFAULT_ANALYZER = _Analyzer(load_procedure_lexicon())
    return _DEFAULT_ANALYZER


def asked_fields(question: str, analyzer: _Analyzer | None = None) -> list[str]:
    """Every field the question asks about, in the order asked ("cần giấy tờ gì, mất mấy ngày")."""
    analyzer = analyzer or _default_analyzer()
    _, _, found = analyzer.tokens(question, with_names=True)  # a cue inside a colloquial name is no cue
    seen: list[str] = []
    for _, name in sorted(found):
        if name not in seen:
            seen.append(name)
    return seen


def asked_field(question: str, analyzer: _Analyzer | None = None) -> str | None:
    """The first field asked (fee, time, papers, where, steps, conditions, online, who, result) or None."""
    fields = asked_fields(question, analyzer)
    return fields[0] if fields else None


def document_from_meta(meta: dict) -> Document:
    """A procedure Document back from an index chunk's `meta` (front matter + body)."""
    import dataclasses

    meta = dict(meta)
    known = {f.name for f in dataclasses.fields(Document)} - {"extra"}
    base = {k: meta.pop(k) for k in list(meta) if k in known}
    return Document(**{"body": "", **base}, extra=meta)
