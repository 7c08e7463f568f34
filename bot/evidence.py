"""Evidence: the sentences, list items or whole sections of retrieved passages that answer a question.

Extractive on purpose: every sentence shown is a sentence of a cited document, so nothing is
invented. The decision reads this evidence (no qualifying sentence, no answer); compose renders it.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from bot.procedure_terms import accent_key
from index.chunk import CARD_SECTION
from index.types import Hit
from index.vietnamese import content_tokens, fold, nfc, normalized_tokens

RE_SENTENCE = re.compile(r"(?<=[.;!?])\s+(?=[-–•A-ZĐÀ-Ỹ0-9(“\"])|\n+")
RE_FULL_STOP = re.compile(r"(?<=[.!?])\s+(?=[-–•A-ZĐÀ-Ỹ0-9(“\"])|\n+")  # sentences only, a list "A; B; C" kept whole
MAX_SENTENCES = 4
MAX_CHARS = 800
RE_CLAUSE = re.compile(r"(?<=;)\s+|\s+(?=- [A-ZĐÀ-Ỹ])")
LONG_UNIT = 300  # sentences longer than this are scored clause by clause
# "Số đường dây nóng của mỗi xã, phường là khác nhau": a figure asked that honestly has no single value is answered
# by the sentence that says so (and where to look), not declined as missing
RE_VARIES = re.compile(r"\b(?:mỗi|từng) (?:xã|phường|nơi|tỉnh|địa phương)\b[^.;]{0,60}\bkhác nhau\b", re.I)


def _name_before(text: str) -> bool:
    """One of the two words before a hyphen is capitalised: the hyphen joins a name ("Văn hóa - Xã hội")."""
    return any(w[:1].isupper() for w in text.split()[-2:])


def _split_clauses(sentence: str) -> list[str]:
    """Split a long list item at '; ' and ' - ', but never inside a quotation (“…; …”) or parentheses, nor at the
    hyphen of a name ("Phòng Văn hóa - Xã hội", "HĐND - UBND": a capitalised word just before it)."""
    pieces, start, depth = [], 0, 0
    for i, ch in enumerate(sentence):
        depth += ch in "“("
        depth -= ch in "”)" and depth > 0
        m = RE_CLAUSE.match(sentence, i) if depth == 0 else None
        if m and m.end() > i and sentence[m.end():m.end() + 2] == "- " and _name_before(sentence[max(0, i - 40):i]):
            m = None
        if m and m.end() > i:
            pieces.append(sentence[start:i])
            start = m.end()
    pieces.append(sentence[start:])
    return [p for p in pieces if p.strip()]


def _pieces(passage: str, clauses: bool = True):
    for sentence in (RE_SENTENCE if clauses else RE_FULL_STOP).split(passage):
        if clauses and len(sentence) > LONG_UNIT:
            yield from _split_clauses(sentence)  # long list items: score each clause on its own
        else:
            yield sentence


def split_units(passage: str, clauses: bool = True) -> list[str]:
    """Sentences and list items of a passage, short fragments merged into their neighbour; a long one split at its
    clauses unless `clauses` is False (a card's "Nơi nhận: A; B; C." is one answer)."""
    units: list[str] = []
    for piece in _pieces(passage, clauses):
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


@lru_cache(maxsize=8192)
def _context(header: str) -> frozenset[str]:
    return frozenset(content_tokens(normalized_tokens(header)))


def context_terms(hit: Hit) -> frozenset[str]:
    """Words that only say which document this is (title, ward, province, year): they locate, they do not answer.

    Read from the passage's header line ("title | ward, city | năm Y | section") minus its section.
    A guidance note's title ("Tổng đài hỗ trợ … dịch vụ công") is what it is about, so it stays topical.
    """
    c = hit.chunk
    if c.doc_type == "hướng dẫn":
        return frozenset()
    header = c.text.split("\n", 1)[0]
    if c.section and header.endswith(c.section):
        header = header[: -len(c.section)]
    return _context(header)


# A plan's preamble ("Căn cứ Kế hoạch số 45/KH-UBND…", "Thực hiện Quyết định…") names the documents it rests on:
# it answers "theo văn bản nào" and nothing else.
RE_BASIS_UNIT = re.compile(r"^\W*(căn cứ|thực hiện (quyết định|công văn|kế hoạch|chỉ thị|nghị quyết|thông báo))", re.I)
RE_BASIS_QUESTION = re.compile(r"\b(can cu|thuc hien theo|theo (quyet dinh|cong van|ke hoach|van ban)|"
                               r"quyet dinh (nao|so)|van ban nao|cong van nao|nghi quyet nao|ban hanh (kem|theo)|"
                               r"dua (vao|tren|theo) (quyet dinh|cong van|ke hoach|van ban|nghi quyet)|van ban so)\b")


RE_FIGURE = re.compile(r"\d+(?:[.,/]\d+)*%?")


def new_figures(unit: str, folded_question: str, kind: str | None = None) -> list[str]:
    """Figures in a sentence that could answer 'how many / when': not a bare year, not echoed from the question;
    of the kind asked, if one is (`kind`: money, percent or count — "6 tháng" does not say how much money)."""
    if kind and not FIGURE_KINDS[kind].search(unit):
        return []
    asked = set(RE_FIGURE.findall(folded_question))
    return [f for f in RE_FIGURE.findall(unit) if not re.fullmatch(r"20\d\d", f) and f not in asked]


FIGURE_KINDS = {
    "money": re.compile(r"\d[\d.,]*\s*(?:đồng|triệu|tỷ|nghìn|ngàn|usd|vnđ|vnd)\b", re.I),
    "percent": re.compile(r"\d+(?:[.,]\d+)?\s*%|\d\s*phần trăm", re.I),
    # so many things ("4.500 cuộc gọi", "90% hồ sơ"), not "ngày 15/7/2021" or "Nghị quyết số 76/NQ-CP"
    "count": re.compile(r"(?<![\d/.,])\d+(?:[.,]\d+)*\s*%?\s+(?:hồ sơ|cuộc|lượt|người|thủ tục|tin|bài|văn bản|cái|chiếc|trường hợp|"
                        r"ý kiến|phản ánh|kiến nghị|đơn vị|cán bộ|công chức|sở|ban|ngành|cơ quan|doanh nghiệp|hộ|"
                        r"xã|phường|huyện|tỉnh|buổi|lớp|đợt|mô hình|sáng kiến|phóng sự|chuyên mục|dịch vụ)\b", re.I),
}


RE_PHONE_NUMBER = re.compile(r"\b(1800[. ]?\d{4}|1900[. ]?\d{4}|1022|0\d{9,10})\b")


# A section named for an office or unit ("1. Phòng Văn hóa - Xã hội", "Đề nghị Ban xây dựng Đảng xã"): its items are
# what that office does, so it answers "phòng nào chủ trì …".
RE_AGENCY_SECTION = re.compile(r"^(?:đề nghị\s+)?(?:phòng|ban|văn phòng|trung tâm|công an|ủy ban|ubnd|đoàn|hội|"
                               r"mặt trận|các phòng|các cơ quan|các đơn vị|cơ quan|thủ trưởng|bộ phận|đảng ủy|"
                               r"ban chỉ huy|trạm|trường)\b", re.I)
AGENCY_BOOST = 1.6
# How a "who is responsible" question is framed, not what it is about: "ai phụ trách cải cách tài chính công" is
# answered by "Phòng Kinh tế …: Chủ trì … cải cách tài chính công", which says "chủ trì", not "phụ trách".
AGENCY_FRAME = ("chu tri", "phu trach", "chiu trach nhiem", "trach nhiem", "tham muu", "dau moi", "theo doi",
                "duoc giao", "giao cho")
AGENCY_FRAME_WORDS = frozenset(content_tokens(normalized_tokens(" ".join(AGENCY_FRAME))))


def is_agency_section(section: str) -> bool:
    return bool(RE_AGENCY_SECTION.match(section_leaf(section)))


def marks_of(words) -> dict[str, set[str]]:
    """Folded syllable -> its accented spellings among `words` (words written without marks left out), in the
    matcher's spelling-tolerant form ("hoà" = "hòa")."""
    out: dict[str, set[str]] = {}
    for w in words:
        if (f := fold(w)) != w:
            out.setdefault(f, set()).add(accent_key(w))
    return out


@lru_cache(maxsize=8192)
def written_marks(text: str) -> dict[str, set[str]]:
    """`marks_of` the words of a text; passages recur across questions, so computed once each (read-only)."""
    return marks_of(RE_MARKED_WORD.findall(nfc(text).lower()))


RE_MARKED_WORD = re.compile(r"[0-9a-zà-ỹđ]+")


def select_sentences(question: str, hits: list[Hit], idf: Callable[[str], float], need_number: bool = False,
                     want_phone: bool = False, want_agency: bool = False,
                     marks: dict[str, set[str]] | None = None,
                     marked_content: frozenset[str] = frozenset(),
                     figure_kind: str | None = None, clauses: bool = True) -> list[tuple[str, int]]:
    """Best (sentence, hit index) pairs, at most MAX_SENTENCES, in reading order per hit.

    `question` is the folded, corrected question. For "how many / when" questions only sentences
    with a number qualify: a plan that never states the figure does not answer the question.
    `marks` are the spellings the citizen wrote (`written_marks`): a syllable written with marks counts only
    where the sentence writes it so — "tài chính" is not "tại đơn vị", though both fold to "tai".
    `marked_content`: stopwords the citizen wrote as content words ("tài", not "tại"), counted as topic.
    """
    tokens = normalized_tokens(question)
    terms = set(content_tokens(tokens)) | (marked_content & set(tokens))
    bigrams = {f"{a}_{b}" for a, b in zip(tokens, tokens[1:])}
    framed = AGENCY_FRAME_WORDS if want_agency else frozenset()
    wants_basis = bool(RE_BASIS_QUESTION.search(question))
    scored: list[tuple[float, int, int, str]] = []
    for h, hit in enumerate(hits):
        # a question that only names the plan is about the plan; "who is responsible" words frame, unless nothing
        # else is asked ("phòng nào chủ trì kế hoạch này")
        context = context_terms(hit)
        topical = (terms - framed - context) or (terms - context) or terms
        topical_bigrams = {b for b in bigrams if set(b.split("_")) & topical}
        leaf = section_leaf(hit.chunk.section)
        for u, unit in enumerate(split_units(hit.chunk.passage, clauses)):
            # "số đường dây nóng … khác nhau" answers "số mấy", never how much, what share or how many
            if need_number and not new_figures(unit, question, figure_kind) and (figure_kind or not RE_VARIES.search(unit)):
                continue
            if not wants_basis and RE_BASIS_UNIT.match(unit):
                continue
            # The section a list item sits under is part of what it says ("1. Phòng Văn hóa - Xã hội: a) chủ trì…").
            said, said_bigrams = topical, topical_bigrams
            if marks:
                written = written_marks(f"{leaf} {unit}")
                # a syllable the sentence has only through an abbreviation ("TTHC") is not written otherwise
                said = {t for t in topical if t not in marks or t not in written or marks[t] & written[t]}
                said_bigrams = {b for b in topical_bigrams if set(b.split("_")) & said}
            score = score_unit(f"{leaf} {unit}", said, idf, said_bigrams)
            if want_phone and RE_PHONE_NUMBER.search(unit):
                score *= 1.5
            if want_agency and is_agency_section(hit.chunk.section):
                score *= AGENCY_BOOST
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
    for h, u, unit in list(chosen):  # "… là khác nhau": the next sentence says where to look it up
        if need_number and RE_VARIES.search(unit) and not any(c[0] == h and c[1] == u + 1 for c in chosen):
            after = split_units(hits[h].chunk.passage, clauses)[u + 1:u + 2]
            if after and length + len(after[0]) <= MAX_CHARS:
                chosen.append((h, u + 1, after[0]))
                length += len(after[0])
    # "who is responsible": the office's own section first, then what else was found
    chosen.sort(key=lambda c: (not (want_agency and is_agency_section(hits[c[0]].chunk.section)), c[0], c[1]))
    return [(unit, h) for h, _, unit in chosen]


FIGURE_WINDOW = 400  # a long sentence whose figure lies beyond this is quoted around the figure


def around_figure(unit: str, question: str, kind: str | None = None, limit: int = FIGURE_WINDOW) -> str:
    """"… Đề án “…” được Thủ tướng Chính phủ phê duyệt tại Quyết định số 1588/QĐ-TTg ngày 17/12/2024.": a long
    sentence keeps its head unless the first figure the question lacks lies past it; then the window ends there."""
    figures = new_figures(unit, question, kind) if len(unit) > limit else []
    if not figures:
        return unit
    end = unit.find(figures[0]) + len(figures[0])
    if end <= limit - 40:
        return unit
    stop = unit.find(" ", min(len(unit), end + 60))
    stop = len(unit) if stop < 0 else stop
    start = unit.find(" ", max(0, stop - limit)) + 1
    return "… " + unit[start:stop].strip() + ("" if stop >= len(unit) else " …")


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


RE_ITEM = re.compile(r"^\s*(?:[a-zđ]\)|\d+[.)]|[-–+•])\s+", re.M)
RE_ITEM_START = re.compile(r"(?m)^(?=\s*(?:[a-zđ]\)|\d+[.)]|[-–+•])\s+)")


def merge_passages(passages: list[str]) -> str:
    """Join consecutive chunks of one section, dropping the overlap the splitter repeated."""
    text = ""
    for p in passages:
        if not text:
            text = p
            continue
        overlap = 0
        for size in range(min(len(text), len(p), 200), 10, -1):
            if text.endswith(p[:size]):
                overlap = size
                break
        text = text + ("" if overlap else "\n") + p[overlap:]
    return text


def list_items(section_text: str) -> tuple[str, list[str]]:
    """(intro, items) of a section written as a list: "a) …", "1. …", "- …". Items stay whole, in order."""
    parts = [p.strip() for p in RE_ITEM_START.split(section_text) if p.strip()]
    if len(parts) < 2:
        return section_text.strip(), []
    intro = "" if RE_ITEM.match(parts[0]) else parts.pop(0)
    items = [RE_ITEM.sub("", p, count=1).strip() for p in parts if RE_ITEM.match(p)]
    return intro, items


def compact(text: str, limit: int = 160) -> str:
    """A list item for a phone: its first clause, whole words, never a dangling "như sau:"."""
    text = " ".join(text.split())
    text = re.sub(r"\s*(như sau|sau đây|gồm)\s*:\s*$", "", text, flags=re.I).rstrip(" :;,")
    if len(text) <= limit:
        return text
    for sep in (". ", "; ", ": "):
        cut = text.find(sep, 40)
        if 0 < cut <= limit:
            return text[:cut].rstrip(" ;:,.")
    cut = text.rfind(" ", 0, limit)
    return text[:cut if cut > 40 else limit].rstrip(" ;:,.") + " …"
