"""Follow-ups resolved against the chat's memory, before the answer core sees the question.

"còn lệ phí thì sao?" after a question about a procedure becomes "<procedure> lệ phí bao nhiêu"; "còn thường trú
thì sao?" asks the same fields of another procedure; "ở phường An Hải thì sao?" repeats the last question for that
ward; "2" / "cái thứ hai" after a choice becomes "<title of option 2>" plus the fields asked before; "mình ở phường
An Hải" is remembered, not answered. The core then answers a complete question, so it needs no memory of its own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.care import fold
from bot.memory import ChatMemory
from bot.procedure_terms import asked_fields

FIELD_PHRASES = {"fee": "lệ phí bao nhiêu", "papers": "cần giấy tờ gì", "time": "thời hạn giải quyết bao lâu",
                 "where": "nộp hồ sơ ở đâu", "steps": "trình tự thực hiện thế nào", "conditions": "cần điều kiện gì",
                 "online": "có nộp trực tuyến được không", "who": "ai được làm", "result": "kết quả là gì"}
# Words a follow-up is made of besides the field itself (folded): "còn … thì sao", "thế … ?", "vậy … nữa".
_CUES = set("con the vay thi sao nao nua a nhe nha oi ve cho hoi minh toi em la gi bao nhieu can phai mat "
            "nhu duoc khong ko k co lam sao ra ak ha hả the".split())
_FIELD_WORDS = {"le phi": "fee", "phi": "fee", "tien": "fee", "chi phi": "fee", "giay to": "papers",
                "ho so": "papers", "thu tuc": None, "thoi han": "time", "thoi gian": "time", "bao lau": "time",
                "may ngay": "time", "o dau": "where", "noi nop": "where", "cac buoc": "steps", "trinh tu": "steps",
                "cach lam": "steps", "dieu kien": "conditions", "truc tuyen": "online", "online": "online",
                "ket qua": "result", "nop": "where", "ngay": "time", "mang": "papers", "gom": "papers"}
_UNIT = r"(phường|xã|thị trấn|phuong|xa|thi tran)"
_WARD = re.compile(_UNIT + r"\s+([^\s?,.!;:]+(?:\s+[^\s?,.!;:]+){0,3})", re.IGNORECASE)
# "bảo hiểm xã hội", "phuong tien" (phương tiện typed without accents)… are no wards
_NOT_WARDS = {"xa hoi", "xa giao", "xa lo", "phuong phap", "phuong tien", "phuong thuc", "phuong huong"}
_WARD_TAIL = {"thì", "thi", "sao", "thế", "the", "nào", "nao", "nhé", "nhe", "ạ", "a", "nha", "đây", "day", "vậy",
              "vay", "ha", "hả", "ơi", "oi", "mà", "ma"}
_SELF = re.compile(r"^(?:(?:mình|minh|tôi|toi|em|tui|cháu|chau|con|anh|chị|chi|nhà mình|nha minh|nhà tôi|nha toi|"
                   r"nhà em|nha em)\s+)(?:đang\s+|dang\s+|hiện\s+|hien\s+)?(?:ở|o|sống ở|song o|sống tại|song tai|"
                   r"thuộc|thuoc|cư trú ở|cu tru o|tạm trú ở|tam tru o)\s+", re.IGNORECASE)
_QUESTION_CUE = re.compile(r"\b(thi sao|the nao|ra sao|nhu the nao|bao nhieu|gi|khong)\b")
_ORDINALS = {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "nhat": 1, "dau": 1, "dau tien": 1, "mot": 1, "hai": 2,
             "nhi": 2, "ba": 3, "tu": 4, "bon": 4, "nam": 5}
_PICK = re.compile(r"^(?:(?:cai|so|thu tuc|chon|lay|muc)\s+)*(?:thu\s+)?(\d|nhat|dau tien|dau|mot|hai|nhi|ba|tu|bon|"
                   r"nam)(?:\s+(?:a|nhe|nha|di))?$")


# "còn thường trú thì sao?", "thế còn khai sinh?": the same fields, another procedure (folded words)
_SWITCH_TAILS = [["thi", "sao"], ["thi", "the", "nao"], ["the", "nao"], ["nua"], ["a"], ["nhe"], ["vay"]]


@dataclass
class Resolved:
    question: str  # what the core is asked
    via: str = ""  # "field", "ward", "pick" when memory completed the question


def _ward_span(text: str) -> tuple[int, int, str, list[str]] | None:
    """(start, end, unit, name words) of the first ward named: capitalised words after the unit ("phường An
    Hải"), or at most two words when the citizen typed in lower case ("phuong an hai")."""
    m = _WARD.search(text)
    if not m:
        return None
    words = m.group(2).split()
    capital = [w for w in words[: next((i for i, w in enumerate(words) if not w[:1].isupper()), len(words))]]
    words = capital if capital else words[:2]
    while words and words[-1].lower() in _WARD_TAIL:
        words.pop()
    if not words or fold(f"{m.group(1)} {words[0]}") in _NOT_WARDS:
        return None
    end = m.start(2) + len(" ".join(words)) if m.group(2).startswith(" ".join(words)) else m.end()
    return m.start(), end, m.group(1), words


def ward_of(text: str) -> str | None:
    """"phường An Hải" from a message naming a ward (the unit as written, the name title-cased)."""
    span = _ward_span(text)
    if not span:
        return None
    _, _, unit, words = span
    unit = {"phuong": "phường", "xa": "xã", "thi tran": "thị trấn"}.get(fold(unit), unit.lower())
    return f"{unit} {' '.join(w[:1].upper() + w[1:] for w in words)}"


def _without_ward(text: str) -> str:
    span = _ward_span(text)
    return text if not span else text[: span[0]] + " " + text[span[1]:]


def ward_statement(text: str) -> str | None:
    """The ward of "mình ở phường An Hải" (a statement, not a question), else None."""
    text = text.strip().rstrip(".!")
    if not _SELF.match(text) or "?" in text or _QUESTION_CUE.search(fold(text)):
        return None
    ward = ward_of(text)
    rest = _without_ward(_SELF.sub("", text, count=1)).strip(" ,.")
    return ward if ward and len(rest.split()) <= 1 else None


def follow_up_fields(text: str) -> list[str]:
    """The fields of a message that is nothing but a field and follow-up words ("còn lệ phí thì sao?")."""
    folded = " ".join(re.findall(r"[a-z0-9]+", fold(text)))
    words = folded.split()
    if not words or len(words) > 8:
        return []
    found = list(asked_fields(text))
    rest = f" {folded} "
    for phrase, name in sorted(_FIELD_WORDS.items(), key=lambda kv: -len(kv[0])):
        if f" {phrase} " in rest:
            rest = rest.replace(f" {phrase} ", " ")
            if name and name not in found:
                found.append(name)
    leftover = [w for w in rest.split() if w not in _CUES]
    return found if found and len(leftover) <= 1 else []


def pick_number(text: str) -> int | None:
    """1 for "1", "cái thứ nhất", "số 1"; 2 for "cái thứ hai"… None otherwise."""
    m = _PICK.match(" ".join(re.findall(r"[a-z0-9]+", fold(text))))
    return _ORDINALS.get(m.group(1)) if m else None


def strip_ward(question: str) -> str:
    """The question without the ward it names (and the "ở"/"tại" before it)."""
    span = _ward_span(question)
    if not span:
        return question
    head = re.sub(r"\b(?:ở|tại|o|tai)\s*$", "", question[: span[0]], flags=re.IGNORECASE)
    return " ".join((head + " " + question[span[1]:]).split())


def with_fields(title: str, fields: list[str]) -> str:
    return " ".join([title, *(FIELD_PHRASES[f] for f in fields if f in FIELD_PHRASES)])


def resolve(text: str, memory: ChatMemory) -> Resolved:
    """The question to ask the core for `text`, completed from memory when it is a follow-up."""
    fields = follow_up_fields(text)
    if fields and memory.procedure_title:
        return Resolved(with_fields(memory.procedure_title, fields), "field")
    ward = ward_of(text)
    if ward and memory.question:
        rest = _without_ward(text)
        leftover = [w for w in re.findall(r"[a-z0-9]+", fold(rest)) if w not in _CUES and w not in ("o", "tai")]
        if not leftover:
            return Resolved(f"{strip_ward(memory.question)} ở {ward}", "ward")
    switched = switch_subject(text) if memory.fields and memory.procedure_title else None
    if switched:
        return Resolved(with_fields(switched, memory.fields), "switch")
    return Resolved(text)


def switch_subject(text: str) -> str | None:
    """"thường trú" from "còn thường trú thì sao?": a short follow-up naming another subject, without a field."""
    words = re.findall(r"\w+", text.lower())
    if not words or len(words) > 9 or follow_up_fields(text) or asked_fields(text):
        return None
    folded = [fold(w) for w in words]
    start = 0
    while start < len(folded) and folded[start] in ("the", "vay", "con"):
        start += 1
    end, cued = len(folded), "con" in folded[:start]
    trimmed = True
    while trimmed:
        trimmed = False
        for tail in _SWITCH_TAILS:
            if end - start > len(tail) and folded[end - len(tail):end] == tail:
                end -= len(tail)
                cued = cued or tail in (["thi", "sao"], ["thi", "the", "nao"])
                trimmed = True
    what = words[start:end]
    return " ".join(what) if cued and 1 <= len(what) <= 5 else None
