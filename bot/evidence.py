"""Compose a short answer from retrieved passages: the sentences that answer, each with its [n].

Extractive on purpose: every sentence shown is a sentence of a cited document, so nothing is
invented. (LLM generation is a separate, later decision.)
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from index.chunk import CARD_SECTION, display_date
from index.types import Hit
from index.vietnamese import content_tokens, normalized_tokens

RE_SENTENCE = re.compile(r"(?<=[.;!?])\s+(?=[-–•A-ZĐÀ-Ỹ0-9(“\"])|\n+")
MAX_SENTENCES = 4
MAX_CHARS = 800
# Questions that ask for a number or a date: a sentence without digits does not answer them.
RE_QUANTITY = re.compile(
    r"\b(bao nhieu|bao nhiu|bn|so may|may (phan tram|ngay|thang|nam|gio|lan|nguoi)|ngay nao|ngay may|"
    r"khi nao|bao gio|bao lau|han chot|truoc ngay|phan tram|ty le|chi tieu)\b"
)
RE_CLAUSE = re.compile(r"(?<=;)\s+|\s+(?=- [A-ZĐÀ-Ỹ])")
LONG_UNIT = 300  # sentences longer than this are scored clause by clause


def _split_clauses(sentence: str) -> list[str]:
    """Split a long list item at '; ' and ' - ', but never inside a quotation (“…; …”)."""
    pieces, start, depth = [], 0, 0
    for i, ch in enumerate(sentence):
        depth += ch == "“"
        depth -= ch == "”" and depth > 0
        m = RE_CLAUSE.match(sentence, i) if depth == 0 else None
        if m and m.end() > i:
            pieces.append(sentence[start:i])
            start = m.end()
    pieces.append(sentence[start:])
    return [p for p in pieces if p.strip()]


def _pieces(passage: str):
    for sentence in RE_SENTENCE.split(passage):
        if len(sentence) > LONG_UNIT:
            yield from _split_clauses(sentence)  # long list items: score each clause on its own
        else:
            yield sentence


def split_units(passage: str) -> list[str]:
    """Sentences and list items of a passage, short fragments merged into their neighbour."""
    units: list[str] = []
    for piece in _pieces(passage):
        piece = piece.strip()
        if not piece:
            continue
        if units and (len(piece) < 25 or len(units[-1]) < 25):
            units[-1] = f"{units[-1]} {piece}"
        else:
            units.append(piece)
    return units


def score_unit(unit: str, query_terms: set[str], idf: Callable[[str], float], query_bigrams: set[str]) -> float:
    tokens = normalized_tokens(unit)
    present = set(content_tokens(tokens))
    bigrams = {f"{a}_{b}" for a, b in zip(tokens, tokens[1:])}
    unigram_score = sum(idf(t) for t in query_terms & present)
    return unigram_score + 0.5 * len(query_bigrams & bigrams)


def section_leaf(section: str) -> str:
    """'V. TỔ CHỨC THỰC HIỆN > 2. Trung tâm Phục vụ…' -> 'Trung tâm Phục vụ…' (the unit a passage is about)."""
    if not section or section == CARD_SECTION:
        return ""
    leaf = section.rsplit(" > ", 1)[-1]
    return re.sub(r"^\d+\.\s*", "", leaf).strip()


@lru_cache(maxsize=4096)
def _context(title: str, ward: str | None, year: int | None) -> frozenset[str]:
    return frozenset(content_tokens(normalized_tokens(" ".join(filter(None, [title, ward, str(year or "")])))))


def context_terms(hit: Hit) -> frozenset[str]:
    """Words that only say which plan this is (title, ward, year): they locate, they do not answer.

    A guidance note's title ("Tổng đài hỗ trợ … dịch vụ công") is what it is about, so it stays topical.
    """
    c = hit.chunk
    if c.doc_type == "hướng dẫn":
        return frozenset()
    return _context(c.title, c.ward, c.year)


# Questions about the details of one procedure: papers, fees, duration, conditions, where to file.
RE_PROCEDURE_DETAIL = re.compile(
    r"\b(giay to gi|giay to nao|nhung giay to|ho so gom|ho so can|can nhung gi|can mang|can chuan bi|"
    r"le phi (la |het )?bao nhieu|phi bao nhieu|mat bao lau|bao lau|dieu kien gi|can dieu kien|lam o dau|nop o dau|lam the nao de duoc|duoc huong)\b"
)


# Practical facts about an office (hours, address, who holds a post now): plans never state them.
RE_OFFICE_INFO = re.compile(r"\b(gio lam viec|lam viec (thu|chu nhat|ngay le)|tru so|hien nay la ai|dang la ai)\b")


def asks_procedure_detail(folded_question: str) -> bool:
    return bool(RE_PROCEDURE_DETAIL.search(folded_question))


def asks_office_info(folded_question: str) -> bool:
    return bool(RE_OFFICE_INFO.search(folded_question))


RE_FIGURE = re.compile(r"\d+(?:[.,/]\d+)*%?")


def new_figures(unit: str, folded_question: str) -> list[str]:
    """Figures in a sentence that could answer 'how many / when': not a bare year, not echoed from the question."""
    asked = set(RE_FIGURE.findall(folded_question))
    return [f for f in RE_FIGURE.findall(unit) if not re.fullmatch(r"20\d\d", f) and f not in asked]


RE_PHONE_QUESTION = re.compile(r"\b(so dien thoai|dien thoai|tong dai|goi so|goi den|so nao|so may)\b")
RE_PHONE_NUMBER = re.compile(r"\b(1800[. ]?\d{4}|1900[. ]?\d{4}|1022|0\d{9,10})\b")


def asks_phone(folded_question: str) -> bool:
    return bool(RE_PHONE_QUESTION.search(folded_question))


def asks_quantity(folded_question: str) -> bool:
    return bool(RE_QUANTITY.search(folded_question))


def select_sentences(question: str, hits: list[Hit], idf: Callable[[str], float]) -> list[tuple[str, int]]:
    """Best (sentence, hit index) pairs, at most MAX_SENTENCES, in reading order per hit.

    `question` is the folded, corrected question. For "how many / when" questions only sentences
    with a number qualify: a plan that never states the figure does not answer the question.
    """
    need_number = asks_quantity(question)
    want_phone = asks_phone(question)  # "sdt hỗ trợ dvc": the sentence that gives a number comes first
    tokens = normalized_tokens(question)
    terms = set(content_tokens(tokens))
    bigrams = {f"{a}_{b}" for a, b in zip(tokens, tokens[1:])}
    scored: list[tuple[float, int, int, str]] = []
    for h, hit in enumerate(hits):
        topical = (terms - context_terms(hit)) or terms  # a question that only names the plan
        topical_bigrams = {b for b in bigrams if set(b.split("_")) & topical}
        leaf = section_leaf(hit.chunk.section)
        for u, unit in enumerate(split_units(hit.chunk.passage)):
            if need_number and not new_figures(unit, question):
                continue
            # The section a list item sits under is part of what it says ("1. Phòng Văn hóa - Xã hội: a) chủ trì…").
            score = score_unit(f"{leaf} {unit}", topical, idf, topical_bigrams)
            if want_phone and RE_PHONE_NUMBER.search(unit):
                score *= 1.5
            scored.append((score * (1.0 - 0.08 * h), h, u, unit))
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    if not scored or scored[0][0] <= 0:
        return []
    best = scored[0][0]
    chosen, length = [], 0
    for score, h, u, unit in scored:
        if len(chosen) >= MAX_SENTENCES or score < 0.5 * best:
            break
        if length + len(unit) > MAX_CHARS and chosen:
            continue
        chosen.append((h, u, unit))
        length += len(unit)
    chosen.sort(key=lambda c: (c[0], c[1]))
    return [(unit, h) for h, _, unit in chosen]


def excerpt(unit: str, question: str, idf: Callable[[str], float], limit: int = 450) -> str:
    """A long sentence cut to the window of words that matches the question best."""
    if len(unit) <= limit:
        return unit
    terms = set(content_tokens(normalized_tokens(question)))
    words = unit.split()
    weights = [sum(idf(t) for t in set(normalized_tokens(w)) & terms) for w in words]
    best_start, best_score = 0, -1.0
    for start in range(len(words)):
        length, end, score = 0, start, 0.0
        while end < len(words) and length + len(words[end]) + 1 <= limit:
            length += len(words[end]) + 1
            score += weights[end]
            end += 1
        if score > best_score:
            best_start, best_score = start, score
        if end == len(words):
            break
    length, end = 0, best_start
    while end < len(words) and length + len(words[end]) + 1 <= limit:
        length += len(words[end]) + 1
        end += 1
    text = " ".join(words[best_start:end]).rstrip(",;:")
    return ("… " if best_start else "") + text + (" …" if end < len(words) else "")


def lead_in(hit: Hit) -> str:
    c = hit.chunk
    when = display_date(c.date)
    if c.doc_type == "hướng dẫn":
        return f"Theo {c.title}:"
    return f"Theo {c.title}" + (f" ({when})" if when and when not in c.title else "") + ":"
