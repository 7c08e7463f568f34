"""Procedure questions as weighted terms: folded syllables and pairs, colloquial names replaced by the
catalogue's wording (knowledge/lexicon/procedure_names.yaml), field cue phrases marked
(procedure_fields.yaml), chat abbreviations expanded, fillers dropped.

Accent-insensitive by default (citizens type without marks), but the marks as written are kept per
syllable so that, when present, they can break ties that folding creates ("đổi" vs "đối", "cũ" vs "cư").
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from index.lexicon import Lexicon, active, lexicon_dir, load_lexicon
from index.vietnamese import ABBREVIATIONS, fold, nfc

FIELDS = ("fee", "time", "papers", "where", "steps", "conditions", "online", "who", "result")
UNKNOWN_WEIGHT = 2.0  # a question syllable no procedure name has: likely a topic the catalogue lacks
BIGRAM_FACTOR = 0.5  # a syllable pair counts half its IDF: it confirms order, the syllables carry the topic
# "sổ đỏ" → 13 catalogue words: each counts about a third, so "công chứng bản sao sổ đỏ" stays chứng thực
LEX_MIN_FACTOR = 0.35
OVERLAP_FACTOR = 0.5

_WORD = re.compile(r"[0-9a-zà-ỹđ]+", re.IGNORECASE)
# Matching-specific stopword lists (the index's stopwords drop "tư", "con", "đi", "đầu", which procedure
# names need: "khai tử", "nhận cha, mẹ, con", "di chúc", "lần đầu").
# Folded words that never name a procedure, dropped however they are written.
PLAIN_STOP = frozenset("""a ah ak ad oi nhe ha hi ui gi va cua cac nhung voi khong duoc hay nao nhu em anh
    roi xin biet giup ve den trong tren vao ra se neu khi nay deu len luon bi vs ai nhieu ne vui long cho""".split())
# Phrases that carry no topic although their words alone may ("thu" in "thu hồi", "bao" in "bảo hiểm"); "nộp hồ
# sơ" is how any procedure is done ("Gia hạn nộp hồ sơ khai thuế" is not what "nộp hồ sơ rồi bao lâu" asks).
GENERIC = (("thu", "tuc", "hanh", "chinh"), ("thu", "tuc"), ("bao", "nhieu"), ("nhu", "the", "nao"), ("the", "nao"),
           ("o", "phuong"), ("tai", "phuong"), ("thuc", "hien"), ("nop", "ho", "so"))
# Words common in questions that count only when a name has them ("cho con" vs "nhận cha, mẹ, con"):
# who the citizen does it for rarely names the procedure.
OPTIONAL_ALWAYS = frozenset("con be chau bo me ong ba vo chong nguoi".split())
# "người nhà", "người thân": a family member, however written ("nhà" alone names houses: "cấp phép xây nhà").
FAMILY = (("nguoi", "nha"), ("nguoi", "than"), ("gia", "dinh"), ("ong", "noi"), ("ba", "noi"), ("ong", "ngoai"),
          ("ba", "ngoai"), ("anh", "trai"), ("chi", "gai"), ("em", "trai"), ("em", "gai"), ("con", "trai"),
          ("con", "gai"), ("chau", "noi"), ("chau", "ngoai"), ("bo", "chong"), ("me", "chong"), ("bo", "vo"),
          ("me", "vo"), ("bo", "de"), ("me", "de"))
# When it happened ("hôm qua", "tháng sau") is the citizen's situation, optional like kin.
TEMPORAL = (("hom", "qua"), ("hom", "nay"), ("hom", "truoc"), ("hom", "kia"), ("bay", "gio"), ("tuan", "truoc"),
            ("tuan", "sau"), ("tuan", "nay"), ("thang", "truoc"), ("thang", "sau"), ("thang", "nay"), ("nam", "ngoai"),
            ("nam", "truoc"), ("nam", "sau"), ("hien", "nay"), ("hien", "gio"), ("luc", "nay"), ("sap", "toi"))
# Accented fillers dropped only when written with these exact diacritics ("cần" ≠ "căn", "mình" ≠ "minh").
ACCENTED_FILLERS = frozenset("""cần có mà thì là gì đâu mấy tôi mình muốn làm được phải của thế vậy thôi đó
    đã tại chị bạn hỏi nhé ạ à ơi nhá hả phường""".split())
# Their folded forms stay optional when unaccented: they count only if a name has them ("chung minh").
OPTIONAL_FOLDED = frozenset(fold(w) for w in ACCENTED_FILLERS) - PLAIN_STOP
# Dropped as written, but their unmarked form is a name's word that is always written without marks ("di chúc").
ACCENTED_ONLY = frozenset(["đi"])


def default_lexicon_dir() -> Path:
    return lexicon_dir()


def load_procedure_lexicon(directory: Path | None = None) -> Lexicon:
    """Procedure names and field cues, read and validated by index.lexicon: from `directory`, else those of
    the index version answering now (`index.lexicon.active`), else knowledge/lexicon."""
    if directory is None and active() is not None:
        return active()
    return load_lexicon(directory or default_lexicon_dir())


# -- tokens ---------------------------------------------------------------------------------------
@dataclass
class _Tok:
    folded: str
    raw: str  # as written (lowercase NFC); equals `folded` for expansions and lexicon words
    kind: str = "q"  # q: question word, lex: from a lexicon 'means', cue: part of a field cue
    factor: float = 1.0  # lexicon words: a long 'means' must not outweigh the rest of the question
    proper: bool = False  # part of a place or person's name the citizen capitalised ("ở trọ tại Hà Nội")


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


def raw_tokens(text: str, proper_marks: bool = False) -> list[_Tok]:
    """`proper_marks`: a citizen's question (never a procedure's name) — mark the place names they capitalised."""
    written = _WORD.findall(nfc(text))
    proper = proper_names(written) if proper_marks else set()
    out = []
    for i, word in enumerate(written):
        raw = word.lower()
        folded = _fy(fold(raw))
        if folded.isdigit():
            folded = folded.lstrip("0") or "0"
        out.append(_Tok(folded, raw, proper=i in proper))
    return out


def proper_names(words: list[str]) -> set[int]:
    """Positions of capitalised runs of two or more words after the first ("ở trọ tại Hà Nội, thường trú ở Nghệ An"):
    where the citizen lives or who they are, never what a procedure is called. Not when most words are capitalised
    (a title-cased question) and not abbreviations ("CCCD")."""
    caps = [len(w) > 1 and w[0].isupper() and not w.isupper() for w in words]
    if sum(caps) * 2 > len(words):
        return set()
    found: set[int] = set()
    i = 1
    while i < len(words):
        j = i
        while j < len(words) and caps[j]:
            j += 1
        if j - i >= 2:
            found.update(range(i, j))
        i = j + 1
    return found


def _expand(toks: list[_Tok], abbreviations: dict[str, str]) -> list[_Tok]:
    """Chat abbreviations ("bn", "ko", "cccd") — only for words typed without tone marks, so "hồng" stays."""
    out: list[_Tok] = []
    for t in toks:
        plain = fold(t.raw)
        exp = abbreviations.get(plain) if t.kind == "q" and t.raw.replace("đ", "d") == plain else None
        out.extend(_Tok(_fy(w), _fy(w), t.kind) for w in exp.split()) if exp else out.append(t)
    return out


GAP_MIN_TERM = 3  # colloquial names of 3+ syllables still match with one word said inside them


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
    return tuple(t.folded for t in raw_tokens(text))


class Analyzer:
    """Question → weighted terms, with or without colloquial names replaced."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.abbreviations = lexicon.abbreviations or ABBREVIATIONS
        names = {}
        for e in lexicon.procedure_names:
            key = _folded_words(e.term)
            if key:
                names.setdefault(key, e)
        self.names = _Phrases(names)
        self.compounds = _Phrases({key: "".join(key) for e in lexicon.name_compounds
                                   if len(key := _folded_words(e.term)) > 1})
        cues = {}
        for name, phrases in lexicon.procedure_fields.items():
            for cue in phrases:
                key = tuple(t.folded for t in _expand([_Tok(_fy(w), w) for w in cue.split()], self.abbreviations))
                if key:
                    cues.setdefault(key, name)
        self.cues = _Phrases(cues)

    def _replace_names(self, toks: list[_Tok], used: list) -> list[_Tok]:
        """Replace colloquial names by the catalogue's wording. A term inside a longer one is dropped ("sổ đỏ"
        in "làm sổ đỏ"); one that only overlaps a longer one counts at half weight ("mất bằng lái" +
        "bằng lái xe máy": the longer, more specific term leads, the shorter still adds "cấp lại")."""
        words = [t.folded for t in toks]
        found = []  # (span, start, entry, position of a word said inside the term or None)
        for i in range(len(toks)):
            for key, entry in self.names.by_first.get(words[i], ()):
                n = len(key)
                if tuple(words[i:i + n]) == key and all(t.kind == "q" for t in toks[i:i + n]):
                    found.append((n, i, entry, None))
                    continue
                # one word said inside a longer term: "đăng ký xe [máy] mới", "sang tên [cái] xe"
                for g in range(1, n) if n >= GAP_MIN_TERM else ():
                    if (tuple(words[i:i + g]) == key[:g] and tuple(words[i + g + 1:i + n + 1]) == key[g:]
                            and all(t.kind == "q" for t in toks[i:i + n + 1])):
                        found.append((n + 1, i, entry, i + g))
                        break
        chosen: list[tuple[int, int, object, float, int | None]] = []
        for n, i, entry, gap in sorted(found, key=lambda f: (-f[0] + (f[3] is not None), f[1])):
            if not any(j <= i and i + n <= j + m for m, j, _, _, _ in chosen):  # not inside a longer one
                overlaps = any(not (i + n <= j or j + m <= i) for m, j, _, _, _ in chosen)
                chosen.append((n, i, entry, OVERLAP_FACTOR if overlaps else 1.0, gap))
        starts: dict[int, list[tuple[int, object, float, int | None]]] = {}
        covered: set[int] = set()
        for n, i, entry, weight, gap in chosen:
            starts.setdefault(i, []).append((n, entry, weight, gap))
            covered.update(j for j in range(i, i + n) if j != gap)
        out: list[_Tok] = []
        for i, tok in enumerate(toks):
            for n, entry, weight, gap in starts.get(i, ()):
                used.append(entry)
                means = _folded_words(entry.means)
                factor = weight * max(LEX_MIN_FACTOR, min(1.0, 1.5 * (n - (gap is not None)) / max(len(means), 1)))
                out.extend(_Tok(w, w, "lex", factor) for w in means)
            if i not in covered:
                out.append(tok)
        return out

    def _fuse_compounds(self, toks: list[_Tok]) -> list[_Tok]:
        """"xe máy chuyên dùng" becomes one word, in names and questions alike: a question saying only "xe máy"
        does not match it, one saying all of it does (knowledge/lexicon/name_compounds.yaml)."""
        if not self.compounds.by_first:
            return toks
        words = [t.folded for t in toks]
        out: list[_Tok] = []
        i = 0
        while i < len(toks):
            hit = self.compounds.find(words, i)
            if hit:
                n, fused = hit
                out.append(_Tok(fused, fused, toks[i].kind, toks[i].factor))
                i += n
            else:
                out.append(toks[i])
                i += 1
        return out

    def fields(self, toks: list[_Tok]) -> list[tuple[int, str]]:
        """(position, field) for every cue phrase; marks cue words so they do not count as topic. Cues may
        overlap ("cần những giấy" + "giấy tờ"): every word of each is a cue word, so no half of a cue
        ("tờ") is left to match a name ("yếu tố")."""
        words = [t.folded for t in toks]
        found = []
        end = 0  # end of the cue span found last
        for i in range(len(toks)):
            hit = self.cues.find(words, i) if toks[i].kind in ("q", "cue") else None
            if not hit:
                continue
            n, name = hit
            if i >= end:
                found.append((i, name))
            for t in toks[i:i + n]:
                t.kind = "cue"
            end = max(end, i + n)
        return found

    def tokens(self, question: str, with_names: bool,
               proper: bool = False) -> tuple[list[_Tok], list, list[tuple[int, str]]]:
        """Tokens (cue words marked), the lexicon entries used, and the (position, field) cues found. `proper`: a
        citizen's question, whose capitalised place names are marked (`proper_names`)."""
        used: list = []
        toks = self._fuse_compounds(raw_tokens(question, proper))
        if with_names:
            toks = self._replace_names(toks, used)
        toks = _expand(toks, self.abbreviations)
        if with_names:
            toks = self._replace_names(toks, used)
        return toks, used, self.fields(toks)


def weighted_terms(toks: list[_Tok]) -> dict[str, tuple[float, bool, str | None]]:
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
    family: set[int] = set()
    for i in range(len(words)):
        if (tuple(words[i:i + 2]) in FAMILY or tuple(words[i:i + 2]) in TEMPORAL) and toks[i].kind == "q":
            family.update((i, i + 1))
    for i, t in enumerate(toks):
        if i in generic or t.folded in PLAIN_STOP or (t.raw in ACCENTED_FILLERS | ACCENTED_ONLY and t.raw != t.folded):
            keep.append(None)
        else:
            # a figure is the citizen's situation ("1 bản", "6 tuổi", "năm 2024"): it counts only if a name has it
            optional = t.kind == "cue" or t.folded.isdigit() or i in family or t.proper or (t.kind == "q" and (t.folded in OPTIONAL_ALWAYS or (
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


_DEFAULT_ANALYZER: Analyzer | None = None
_VERSION_ANALYZERS: dict[int, tuple[Lexicon, Analyzer]] = {}  # id(index version's lexicon) -> its analyzer


def _default_analyzer() -> Analyzer:
    global _DEFAULT_ANALYZER
    lex = active()
    if lex is not None:  # an index version's own word lists (kept with the lexicon so the id stays unique)
        known = _VERSION_ANALYZERS.get(id(lex))
        if known is None or known[0] is not lex:
            if len(_VERSION_ANALYZERS) > 8:
                _VERSION_ANALYZERS.clear()
            known = _VERSION_ANALYZERS[id(lex)] = (lex, Analyzer(lex))
        return known[1]
    if _DEFAULT_ANALYZER is None:
        _DEFAULT_ANALYZER = Analyzer(load_procedure_lexicon())
    return _DEFAULT_ANALYZER


RE_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")  # where a citizen's message starts a new sentence


def asked_fields(question: str, analyzer: Analyzer | None = None) -> list[str]:
    """Every field the question asks about, in the order asked ("cần giấy tờ gì, mất mấy ngày")."""
    analyzer = analyzer or _default_analyzer()
    _, _, found = analyzer.tokens(question, with_names=True)  # a cue inside a colloquial name is no cue
    seen: list[str] = []
    for _, name in sorted(found):
        if name not in seen:
            seen.append(name)
    # "Gia đình tôi được phép sang Úc … muốn mang theo … Xin giấy phép thì xét trong bao lâu?": sentences before the
    # last tell the situation, so what the last sentence asks is answered first
    sentences = [s for s in RE_SENTENCE_END.split(question) if s.strip()]
    if len(sentences) > 1 and len(seen) > 1:
        last = asked_fields(sentences[-1], analyzer)
        seen = [f for f in last if f in seen] + [f for f in seen if f not in last]
    return seen


def asked_field(question: str, analyzer: Analyzer | None = None) -> str | None:
    """The first field asked (fee, time, papers, where, steps, conditions, online, who, result) or None."""
    fields = asked_fields(question, analyzer)
    return fields[0] if fields else None
