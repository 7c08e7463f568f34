"""Understand a citizen's message: clean it, recognise small talk and other languages, and read what it asks.

Everything here is accent-insensitive: citizens type on phones without diacritics and with chat
abbreviations, so every comparison goes through folded syllables (index.vietnamese). Nothing here
searches the index; the result is a plain `Understanding` that retrieval and the decision read.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import lru_cache

from bot import replies
import logging

from index.lexicon import GAP, LexiconError, active, load_or_published
from index.vietnamese import STOPWORDS, abbreviations, fold, has_vietnamese_diacritics, nfc, normalized_tokens, syllables

log = logging.getLogger(__name__)
try:  # analyzer lists plus procedure names and field cues, validated once per process (else the live index's copy)
    LEXICON = load_or_published()
except LexiconError as exc:  # a broken officer edit must not stop the bot: serve without colloquial names
    log.error("Từ điển (knowledge/lexicon) có lỗi, tạm bỏ qua tên gọi thủ tục: %s", exc)
    from index.vietnamese import LEXICON  # the analyzer lists this process already fell back to

RE_TAG = re.compile(r"<[^>]{0,200}>")
RE_MARKDOWN = re.compile(r"[*_`~#>\[\]]+")
RE_YEAR = re.compile(r"\b(20[2-3]\d)\b")
MAX_TERMS = 40  # bound the work per question: a 1,000-character message is read as its first 40 words

# A Vietnamese syllable, folded: onset, vowel nucleus, final. English words rarely fit ("what", "price",
# "weather"); everyday unaccented Vietnamese always does ("can", "to", "an", "do", "i", "a").
RE_SYLLABLE = re.compile(
    r"^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?"
    r"(uye|uya|uyu|ieu|yeu|oai|oay|uay|uoi|uou|uoc|ua|ue|ui|uo|uy|oa|oe|oi|oo|ai|ao|au|ay|eo|eu|ia|ie|iu|ye|yu|"
    r"ua|uu|ao|[aeiouy])(ch|ng|nh|[cmnpt])?$"
)
SMALLTALK = {
    "greeting": re.compile(r"^(xin chao|chao|chao ban|chao bot|chao ad|hello|hi|helo|alo|ad oi|ban oi|hey)( ban| bot| ad| nhe| a)*"
                           r"( co ai (khong|ko|k|hong|o day)( vay| a| nhi)?)?$"),
    "identity": re.compile(r"\b(ban|may|bot) (la ai|la gi|ten (la )?gi)\b|^ai day$"),
    "help": re.compile(r"^/(start|help)$|^(can|muon|xin|nho) (giup( do)?|ho tro|tu van)( voi| minh| toi| em)?$|\bban (co the )?(giup|lam|biet|tra loi) (duoc )?(gi|nhung gi|cai gi)\b|huong dan su dung bot|^help$|^giup( toi| minh| voi)?$"),
    "thanks": re.compile(r"^(cam on|cam on ban|cam on nhieu|thanks|thank you|tks|thank)( ban| nhe| nha| a| nhieu)*$"),
}
SMALLTALK_REPLIES = {"greeting": replies.GREETING, "identity": replies.IDENTITY, "help": replies.HELP,
                     "thanks": replies.THANKS}
# "Which forms / what activities": the answer is a whole list, not one sentence.
RE_LIST = re.compile(
    r"\b(nhung (gi|hinh thuc|noi dung|nhiem vu|viec|hoat dong|muc tieu|giai phap|linh vuc|don vi|co quan|ai)|"
    r"cac (hinh thuc|noi dung|nhiem vu|hoat dong|muc tieu|giai phap|linh vuc)|gom (nhung|co|cac)|bao gom|"
    r"hinh thuc nao|noi dung nao|nhiem vu nao|nhiem vu gi|gom gi|co gi|nhung [a-z]+ nao|cac [a-z]+ nao)\b"
)
RE_QUANTITY = re.compile(
    r"\b(bao nhieu|bao nhiu|so may|may (phan tram|ngay|thang|nam|gio|lan|nguoi)|ngay nao|ngay may|"
    r"khi nao|bao gio|bao lau|han chot|truoc ngay|phan tram|ty le|chi tieu)\b"
)
# The kind of figure asked: a sum of money or a percentage must be answered by one of that kind, not by a date.
RE_MONEY_QUESTION = re.compile(r"\b(bao nhieu|bn|may|het|mat|ton) (tien|trieu|ty|nghin|ngan|dong)\b|"
                               r"\b(kinh phi|ngan sach|chi phi)( la| het| duoc)? (bao nhieu|bn|may)\b|"
                               # a salary or allowance ("lương công chức … bao nhiêu 1 tháng"), not "chất lượng"
                               r"(?<!chat )(?<!so )(?<!khoi )(?<!trong )(?<!dung )\b(luong|phu cap|thu nhap)\b"
                               r"[^?]{0,60}\b(bao nhieu|bn)\b")
RE_PERCENT_QUESTION = re.compile(r"%|\b(phan tram|ty le)\b")
# "đã giải quyết bao nhiêu hồ sơ", "nhận bao nhiêu cuộc gọi": a count of things, never a date or a decision's number
RE_COUNT_QUESTION = re.compile(r"\b(bao nhieu|bn|may) (ho so|cuoc goi|cuoc|luot|nguoi|thu tuc|tin bai|bai|van ban|"
                               r"cai|chiec|truong hop|y kien|phan anh|kien nghi|don vi|can bo)\b")
# "Phòng nào chủ trì …", "ai phụ trách …": the answer is the agency a plan's "Tổ chức thực hiện" section names.
RE_AGENCY_QUESTION = re.compile(
    r"\b(phong nao|co quan nao|don vi nao|bo phan nao|ban nao|to chuc nao)\b|"
    r"\b(giao ai|ai lo|giao cho ai|do ai)\b|"  # "giao ai lo phần tài chính công", "việc này do ai làm"
    r"\bai\b.*\b(chu tri|phu trach|chiu trach nhiem|tham muu|dau moi|theo doi|duoc giao|giao cho)\b|"
    r"\b(chu tri|phu trach|chiu trach nhiem|tham muu|dau moi)\b.*\bai\b"
)
# "Ban xây dựng Đảng làm gì", "phòng văn hóa được giao nhiệm vụ gì": the office's whole list of tasks.
RE_TASK_QUESTION = re.compile(r"\b(lam gi|lam nhung gi|lam nhung viec gi|nhiem vu gi|nhiem vu nao|nv gi|duoc giao gi|"
                              r"duoc giao nhung gi|giao (nhiem vu|nv|viec) gi|trach nhiem gi|phai lam gi|lam viec gi)\b")
RE_PHONE_QUESTION = re.compile(r"\b(so dien thoai|dien thoai|tong dai|goi so|goi den|so nao|so may)\b")


@dataclass
class Understanding:
    raw: str
    text: str = ""  # cleaned message (NFC, no markup)
    kind: str = "question"  # question | invalid | smalltalk
    reply: str | None = None  # fixed reply for invalid / small talk
    folded: str = ""  # folded, synonyms applied, bounded: what keyword search reads
    asked: str = ""  # `folded` without how it is asked ("như thế nào", "xong thì"): what coverage measures
    wards: set[str] = field(default_factory=set)  # ward keys named ("an hai")
    other_wards: set[str] = field(default_factory=set)  # wards named that the knowledge base has no profile or plan of
    years: set[int] = field(default_factory=set)
    cities: set[str] = field(default_factory=set)  # provinces or cities named ("hai phong")
    asks_list: bool = False
    asks_quantity: bool = False
    figure_kind: str | None = None  # money | percent | count: the figure asked must be of that kind
    asks_phone: bool = False
    asks_agency: bool = False  # which office or unit is responsible for something
    asks_tasks: bool = False  # what an office named in the question has to do
    asks_office: bool = False
    asks_detail: bool = False  # one procedure's papers, fee, duration, conditions or place
    personal_file: bool = False  # about the asker's own file: only the office handling it knows
    asks_sanction: bool = False  # a fine for not doing a procedure: records state fees, not fines
    asks_deadline: bool = False  # by when the citizen must do a procedure ("bao lâu thì phải khai tử")
    names_steps: bool = False  # the steps themselves are asked ("các bước", "trình tự"), not just "làm thế nào"
    asks_document: bool = False  # about the document itself: who signed it, its number, its date
    document_facts: list[str] = field(default_factory=list)  # which: signer | number | date | recipients
    # syllable pairs of `asked` the citizen never wrote side by side: made at the edges of a synonym put in
    # ("làm khó thì báo" → "… phản ánh kiến nghị …") or of words taken out; coverage does not count them
    made_pairs: frozenset[str] = frozenset()
    procedure_field: str | None = None  # fee | time | papers | where | steps | conditions | online | who | result
    procedure_fields: list[str] = field(default_factory=list)  # every field asked, in order
    # (read by bot.procedures from the cue phrases in knowledge/lexicon/procedure_fields.yaml)
    restored: str = ""  # the question with diacritics restored (for e5 and for officers)


def clean_message(raw: str) -> str:
    text = html.unescape(nfc(raw or ""))
    text = RE_TAG.sub(" ", text)
    text = RE_MARKDOWN.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def folded_words(text: str) -> list[str]:
    """Folded syllables as the index cuts them: numbers such as 1800.1096 or 26/01/2026 stay one word."""
    return syllables(text)


def is_vietnamese_syllable(word: str) -> bool:
    return bool(RE_SYLLABLE.match(word))


# English function words that are not Vietnamese syllables either way ("the", "to", "do", "can" are both).
ENGLISH_WORDS = frozenset("what how where when why which who whom whose does did is are was were you your my our "
                          "their this that these those with from please want need would could should will have has "
                          "for of and or it its if about there get".split())


def looks_foreign(text: str) -> bool:
    """Most words are not Vietnamese syllables (nor known chat abbreviations), no diacritics appear, and the
    sentence is English (a function word) or has no Vietnamese syllable at all. Brand and model names are
    foreign words in a Vietnamese question: "iphone 16 pro max gia bn" is Vietnamese."""
    if has_vietnamese_diacritics(text):
        return False
    words = [w for w in folded_words(text) if w.isalpha()]
    if len(words) < 2:
        return False
    english = sum(w in ENGLISH_WORDS for w in words)
    if english >= 2:  # "How do I renew my passport": loanwords ("passport", "online") are chat abbreviations too
        return True
    table = abbreviations()  # the answering index version's, with an officer's newest ones
    foreign = [w for w in words if not is_vietnamese_syllable(w) and w not in table]
    if len(foreign) / len(words) < 0.5:
        return False
    return english > 0 or len(foreign) == len(words)


def _without_frames(folded: str, frames: list[str]) -> str:
    """The question without the phrases that only say how it is asked; the whole question if nothing is left."""
    text = f" {folded} "
    for frame in sorted(frames, key=len, reverse=True):
        text = text.replace(f" {frame} ", " ")
    text = " ".join(text.split())
    return text or folded


def _pairs(text: str) -> set[str]:
    tokens = normalized_tokens(text)
    return {f"{a}_{b}" for a, b in zip(tokens, tokens[1:])}


_SYNONYM_PAIRS: dict[int, tuple[object, frozenset[str]]] = {}  # id(lexicon) -> (lexicon, pairs inside its synonyms)


def _synonym_pairs(lex) -> frozenset[str]:
    """The pairs inside the synonyms' own wording, once per lexicon (an index version keeps its own)."""
    known = _SYNONYM_PAIRS.get(id(lex))
    if known is None or known[0] is not lex:
        if len(_SYNONYM_PAIRS) > 8:
            _SYNONYM_PAIRS.clear()
        known = _SYNONYM_PAIRS[id(lex)] = (lex, frozenset().union(*(_pairs(r) for _, r in lex.synonyms)))
    return known[1]


def _made_pairs(said: str, asked: str) -> frozenset[str]:
    """Pairs in `asked` that are neither in what the citizen wrote nor inside a synonym's own wording."""
    return frozenset(_pairs(asked) - _pairs(said) - _synonym_pairs(active() or LEXICON))


def _without_connectors(folded: str, connectors: frozenset[str], pairs: frozenset[str]) -> str:
    """Connectors ("thì", typed "thi") dropped unless inside a pair the documents use ("đô thị", "cuộc thi")."""
    words = folded.split()
    keep = [w for i, w in enumerate(words)
            if w not in connectors or (i > 0 and f"{words[i - 1]} {w}" in pairs)
            or (i + 1 < len(words) and f"{w} {words[i + 1]}" in pairs)]
    return " ".join(keep) or folded


def has_cue(folded: str, cues: list[str]) -> bool:
    """A cue phrase in the folded question; a cue with a gap ("bao lau xgapx phai") allows up to GAP_WORDS words
    in between ("bao lâu gia đình phải")."""
    padded = f" {folded} "
    return any(_gap_pattern(c).search(padded) if GAP in c else f" {c} " in padded for c in cues)


GAP_WORDS = 2  # "bao lâu gia đình phải"; more would join two questions ("bao lâu thì có, có phải …")


@lru_cache(maxsize=512)
def _gap_pattern(cue: str) -> re.Pattern:
    parts = [re.escape(p.strip()) for p in cue.split(GAP) if p.strip()]
    return re.compile(r" " + rf"(?: \S+){{0,{GAP_WORDS}}} ".join(parts) + r" ")


def understand(raw: str, max_chars: int, wards: dict[str, str] | None = None,
               rewrite=lambda folded: folded, cities: set[str] | frozenset = frozenset()) -> Understanding:
    """`wards` maps a folded ward name or former name to its key; `rewrite` is the index's typo/synonym step."""
    u = Understanding(raw=raw or "")
    if raw and len(raw) > max_chars:
        u.kind, u.reply = "invalid", replies.TOO_LONG.format(length=f"{len(raw):,}".replace(",", "."), limit=max_chars)
        return u
    u.text = clean_message(raw)
    if not u.text:
        u.kind, u.reply = "invalid", replies.EMPTY
        return u
    if not re.search(r"[0-9A-Za-zÀ-ỹđĐ]", u.text):
        u.kind, u.reply = "invalid", replies.NO_TEXT
        return u
    plain = " ".join(re.sub(r"[^a-z0-9/ ]+", " ", fold(u.text)).split())
    for kind, pattern in SMALLTALK.items():
        if pattern.search(plain) and len(plain.split()) <= 8:
            u.kind, u.reply = "smalltalk", SMALLTALK_REPLIES[kind]
            return u
    if looks_foreign(u.text):
        u.kind, u.reply = "invalid", replies.NOT_VIETNAMESE
        return u
    words = folded_words(u.text)[:MAX_TERMS]
    folded = " ".join(words)
    u.wards, folded = _wards(folded, wards or {})
    u.other_wards = _other_wards(u.text, wards or {})
    u.years = {int(y) for y in RE_YEAR.findall(folded)}
    u.cities = {c for c in cities if re.search(rf"\b{re.escape(c)}\b", folded)}
    u.folded = rewrite(folded)
    u.asks_list = bool(RE_LIST.search(u.folded))
    u.asks_quantity = bool(RE_QUANTITY.search(u.folded))
    if RE_MONEY_QUESTION.search(u.folded):
        u.asks_quantity, u.figure_kind = True, "money"
    elif RE_PERCENT_QUESTION.search(f"{u.folded} {u.text}"):
        u.asks_quantity, u.figure_kind = True, "percent"
    elif RE_COUNT_QUESTION.search(u.folded):
        u.asks_quantity, u.figure_kind = True, "count"
    u.asks_phone = bool(RE_PHONE_QUESTION.search(u.folded))
    u.asks_agency = bool(RE_AGENCY_QUESTION.search(u.folded))
    u.asks_tasks = bool(RE_TASK_QUESTION.search(u.folded))
    said = f"{folded} {u.folded}"  # cues are looked for in the citizen's words and in the rewritten question
    u.asked = _without_connectors(_without_frames(u.folded, LEXICON.strict_cues.get("question_frame", [])),
                                  LEXICON.connectors, LEXICON.connector_pairs)
    u.made_pairs = _made_pairs(folded, u.asked)
    u.asks_office = has_cue(said, LEXICON.strict_cues.get("office", []))
    u.asks_detail = has_cue(said, LEXICON.strict_cues.get("procedure_detail", []))
    u.personal_file = has_cue(said, LEXICON.strict_cues.get("personal_file", []))
    # "phát thanh", "phát hiện" fold to "phat" too: a citizen who writes marks must have written "phạt"
    u.asks_sanction = has_cue(said, LEXICON.strict_cues.get("sanction", [])) and (
        "phạt" in u.text.lower() or not has_vietnamese_diacritics(u.text))
    u.asks_deadline = has_cue(said, LEXICON.strict_cues.get("deadline", []))
    u.names_steps = has_cue(said, LEXICON.strict_cues.get("steps_named", []))
    u.document_facts = [name.removeprefix("document_") for name, cues in LEXICON.strict_cues.items()
                        if name.startswith("document_") and has_cue(said, cues)]
    u.asks_document = bool(u.document_facts)
    return u


WARD_UNITS = ("phuong", "xa", "thi tran", "p")  # folded unit words a ward's name may follow ("p" of "p. An Hải")
RE_UNIT = rf"(?:(?:{'|'.join(WARD_UNITS)})\s+)?"


def _wards(folded: str, wards: dict[str, str]) -> tuple[set[str], str]:
    """Wards a question names, with or without their unit ("phường Phú Thái" = "xã Phú Thái" = "Phú Thái").

    The mention is normalised to the document's own wording, so a wrong unit does not cost coverage.
    """
    found: set[str] = set()
    for name in sorted(wards, key=len, reverse=True):
        pattern = re.compile(rf"\b{RE_UNIT}{re.escape(name)}\b")
        if pattern.search(folded):
            found.add(_key(wards[name]))
            folded = pattern.sub(wards[name], folded)
    return found, folded


# "phường Ninh Kiều", "Xã Tân Lập": a unit followed by a capitalised name (as typed with marks and capitals)
# "phường Ninh Kiều", "p. Bến Thành", "X.Tân Lập" (not the "P." of "TP.HCM"): a unit and a capitalised name
RE_NAMED_UNIT = re.compile(r"(?:\b(?:[Pp]hường|[Xx]ã|[Tt]hị trấn)\s+|(?<![\w.])[PpXx]\.\s*)"
                           r"((?:[A-ZÀ-ỸĐ][a-zà-ỹđ]*\b)(?:\s+[A-ZÀ-ỸĐ][a-zà-ỹđ]*\b){0,2})")


def _other_wards(text: str, wards: dict[str, str]) -> set[str]:
    """Ward names written with capitals that match no ward, profile or former name known here."""
    known = set(wards)
    out = set()
    for m in RE_NAMED_UNIT.finditer(text):
        name = " ".join(folded_words(m.group(1)))
        if name and not any(name == k or name.startswith(k + " ") for k in known):
            out.add(name)
    return out


def _key(ward: str) -> str:
    return re.sub(r"^(phuong|xa|thi tran|dac khu)\s+", "", ward)


def ward_key(ward: str) -> str:
    """"phường An Hải" → "an hai": how a question's ward and a document's ward meet."""
    return _key(" ".join(folded_words(ward)))


def marked_content(text: str) -> frozenset[str]:
    """Folded words that are stopwords only unmarked: written with other marks than the function word's ("tài chính"
    vs "tại", "mọi" vs "mới"), they carry the topic (stopwords.yaml, spelled)."""
    spellings = LEXICON.stopword_spellings
    out = set()
    for w in re.findall(r"[0-9a-zà-ỹđ]+", nfc(text).lower()):
        f = fold(w)
        if f != w and f in STOPWORDS and f in spellings and w not in spellings[f]:
            out.add(f)
    return frozenset(out)


def content_words(folded: str) -> list[str]:
    return [w for w in folded.split() if w not in STOPWORDS]
