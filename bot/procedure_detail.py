"""The one sentence of a procedure record that answers what a question adds to the procedure's name.

"sắp hết hạn tạm trú thì phải gia hạn trước mấy ngày", "nhận con nuôi thì phải hơn con nuôi bao nhiêu tuổi",
"hộ kinh doanh đổi địa chỉ thì trong bao lâu phải đăng ký thay đổi": the procedure is recognised, but the
answer is neither its fee nor its processing time — it is a sentence of its conditions, steps or papers
("Trong thời hạn 15 ngày trước ngày kết thúc thời hạn tạm trú …"). The words the question adds beyond the
procedure's name and the field asked are looked for in the record's own sentences; the best one, if it
carries most of them, is quoted ahead of the field. Extractive: the sentence is the record's.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from bot.evidence import excerpt, marks_of, new_figures, split_units, written_marks
from bot.procedure_terms import ACCENTED_FILLERS, _default_analyzer
from bot.procedure_text import sections
from index.vietnamese import STOPWORDS, fold, normalized_tokens

SKIP_SECTIONS = ("căn cứ pháp lý", "cơ quan thực hiện", "kết quả")  # list laws, agencies, documents: never "the rule"
MIN_RESIDUAL = 4.0  # IDF mass the question must add beyond the name and field (≈ one rare or two common words)
MIN_SHARE = 0.6  # share of that mass the sentence must carry
FIGURE_SHARE = 0.35
COMMON_IDF = 2.0
MAX_CHARS = 300
RE_HEADING = re.compile(r"^\s*#")




def residual_terms(question_tokens: list, name: str) -> set[str]:
    """Topic syllables of the question that are neither the procedure's name nor part of a field cue found in
    it ("bao lâu", "cần gì"); `question_tokens` are the procedure analyzer's tokens, cue words marked."""
    name_words = set(normalized_tokens(name))
    # fillers written with their marks ("thì", "cần", "mà") say nothing the record could carry
    words = {w for t in question_tokens if t.kind == "q" and not (t.raw in ACCENTED_FILLERS and t.raw != t.folded)
             for w in normalized_tokens(t.raw)}
    return {t for t in words if t not in STOPWORDS and t not in name_words and not t[0].isdigit()}


def _units(body: str, papers: list[str]):
    for heading, text in sections(body).items():
        if not fold(heading).startswith(tuple(fold(s) for s in SKIP_SECTIONS)):
            yield from split_units(text)
    for paper in papers:  # the papers list carries the record's notes ("Lưu ý: … không đặt tên quá dài")
        yield from split_units(" ".join(paper.split()))


def _quote(unit: str, folded_question: str, idf: Callable[[str], float], need_number: bool) -> str:
    """The sentence, or the window of it that holds the figure asked for (else the best-matching window)."""
    unit = unit.lstrip("-*+• ").strip()
    if len(unit) <= MAX_CHARS:
        return unit
    figures = new_figures(unit, folded_question) if need_number else []
    if figures:
        at = unit.find(figures[0])
        start = max(unit.rfind(", ", 0, at), unit.rfind("; ", 0, at), unit.rfind(": ", 0, at))
        start = 0 if start < 0 or at - start > MAX_CHARS // 2 else start + 2
        end = unit.rfind(" ", start, start + MAX_CHARS)
        return ("… " if start else "") + unit[start:end].rstrip(" ,;:") + " …"
    return excerpt(unit, folded_question, idf, MAX_CHARS)


def detail_sentence(question: str, folded_question: str, name: str, body: str,
                    idf: Callable[[str], float], need_number: bool, papers: list[str] = ()) -> str | None:
    """The record's sentence that carries what the question adds, or None when none carries enough.

    Words below COMMON_IDF ("người", "làm") say little; a question asking for a figure only looks at
    sentences with one, so fewer words must match (FIGURE_SHARE)."""
    tokens, _, _ = _default_analyzer().tokens(question, with_names=True)  # colloquial names → catalogue words
    terms = residual_terms(tokens, name)
    weights = {t: w for t in terms if (w := idf(t)) >= COMMON_IDF}
    total = sum(weights.values())
    if total < MIN_RESIDUAL:
        return None
    marked = marks_of(t.raw for t in tokens if t.kind == "q")
    best, best_score = None, 0.0
    for unit in _units(body, list(papers)):
        if RE_HEADING.match(unit) or (need_number and not new_figures(unit, folded_question)):
            continue
        present = set(normalized_tokens(unit))
        written = written_marks(unit)
        # a word the citizen wrote with marks counts only where the record writes it so: "trọ" is not "trở",
        # "thuê" is not "thuế" (folding makes them one)
        score = sum(w for t, w in weights.items() if t in present and (t not in marked or marked[t] & written.get(t, set())))
        if score > best_score:
            best, best_score = unit, score
    if best is None or best_score < (FIGURE_SHARE if need_number else MIN_SHARE) * total:
        return None
    return _quote(best, folded_question, idf, need_number)


DUTY_ACTION_SHARE = 0.5  # a duty clause names at least this share of the procedure's own words ("khai báo" of "khai báo tạm vắng")
RE_DUTY = re.compile(r"có trách nhiệm|được (?:quyền|ủy quyền|yêu cầu)|có quyền|không phải có văn bản ủy quyền|thì phải|"
                     r"người thực hiện[^.;,]{0,20}\blà\b|"  # "… thì người thực hiện khai báo là cha, mẹ hoặc người giám hộ"
                     r"(?:đại diện|người thân thích|ủy quyền)[^.;,]{0,40}\bthực hiện", re.I)
OWN_WORDS = 3.0  # a clause saying the question's own words ("ông, bà", "người đại diện") outranks how it is phrased


def who_sentence(name: str, body: str, papers: list[str] = (), question: str = "") -> str | None:
    """For "ai được / ai phải làm …": the record's sentence saying who must or may do it ("… vợ, chồng, con,
    cha, mẹ hoặc người thân thích khác của người chết có trách nhiệm đi đăng ký khai tử"), when the record
    has one that names the procedure's own action. The applicants field ("Công dân Việt Nam") rarely says it.
    Of several, the one sharing most of the question's own words ("ông bà", "khách ở lại") is quoted."""
    action = set(normalized_tokens(re.sub(r"^thủ tục\s+", "", name, flags=re.I))) - STOPWORDS
    if not action:
        return None
    phrase = " ".join(normalized_tokens(re.sub(r"^thủ tục\s+", "", name, flags=re.I)))
    own = set(normalized_tokens(question)) - STOPWORDS - action
    best, best_rank = None, 0.0
    for unit in _units(body, list(papers)):
        for clause in re.split(r"(?<=;)\s+", unit):
            words = set(normalized_tokens(clause))
            if not RE_DUTY.search(clause) or len(action & words) < DUTY_ACTION_SHARE * len(action):
                continue
            # "… có trách nhiệm đi đăng ký khai tử" says who does it; "người có trách nhiệm … ủy quyền" says less
            folded = " ".join(normalized_tokens(clause))
            duty = re.search(rf"(trach nhiem|quyen) (di |thuc hien |lam )?{re.escape(phrase)}", folded)
            # the duty is the clause's point when the action ends it ("… có trách nhiệm đi đăng ký khai tử;")
            rank = 0 if not duty else 2 + (len(folded[duty.end():].split()) <= 3)
            rank = (rank or 1) + (OWN_WORDS * len(own & words) / len(own) if own else 0.0)
            if rank > best_rank:
                best, best_rank = clause, rank
    return _quote(best.rstrip(";"), fold(name), lambda t: 1.0, False) if best else None


# A period the citizen must act within, counted from an event: "Trong thời hạn 15 ngày kể từ ngày có người chết …",
# "… trước ngày kết thúc thời hạn tạm trú", "chậm nhất là 30 ngày …".
RE_PERIOD = re.compile(r"(?:trong (?:thời hạn|vòng)|chậm nhất(?: là)?|trước(?: ít nhất)?|sau)\s+\d+\s+(?:ngày|tháng|giờ|năm)",
                       re.I)
RE_CITIZEN_DUTY = re.compile(r"\b(?:phải|có trách nhiệm|có nghĩa vụ)\b", re.I)
# The office's own steps ("Cơ quan đăng ký kinh doanh cấp giấy xác nhận", "công chức … trả kết quả"): its time
# limit is the processing time, answered from the record's channels, not a deadline for the citizen.
RE_OFFICE_STEP = re.compile(r"cơ quan|công chức|ủy ban nhân dân|công an|trả kết quả|giải quyết|tiếp nhận|thụ lý|"
                            r"xác minh|thẩm định|cấp giấy|phiếu hẹn", re.I)


def deadline_sentence(question: str, name: str, body: str, papers: list[str] = ()) -> str | None:
    """For "bao lâu thì phải …": the record's clause giving the citizen's own deadline ("Trong thời hạn 15 ngày kể
    từ ngày có người chết thì … có trách nhiệm đi đăng ký khai tử"), preferring one that says the question's words."""
    asked = set(normalized_tokens(question)) - STOPWORDS
    action = set(normalized_tokens(re.sub(r"^thủ tục\s+", "", name, flags=re.I))) - STOPWORDS
    best, best_rank = None, 0.0
    for unit in _units(body, list(papers)):
        for clause in re.split(r"(?<=;)\s+", unit):
            period = RE_PERIOD.search(clause)
            duty = RE_CITIZEN_DUTY.search(clause, period.end()) if period else None
            # who must act is said between the period and the duty: an office there makes it a processing step
            if not duty or RE_OFFICE_STEP.search(clause, period.end(), duty.start()):
                continue
            words = set(normalized_tokens(clause))
            rank = 1 + len(action & words) / max(len(action), 1) + len(asked & words) / max(len(asked), 1)
            if rank > best_rank:
                best, best_rank = clause, rank
    return _quote(best.rstrip(";"), fold(question), lambda t: 1.0, True) if best else None
