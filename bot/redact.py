"""Remove citizens' phone, ID-card and e-mail details before anything is stored or logged.

Citizens paste their phone or CCCD number into questions, in every spelling: glued to a word
("sđt0912345678"), full-width, split by spaces, dots or dashes, inside a link (zalo.me/09…).
Officers reviewing feedback must never see them in clear. So the text is first normalised
character by character (NFKC, any Unicode digit → ASCII, invisible characters dropped, lower case,
no diacritics) keeping a map back to the original, number-like runs are found and classified on
that form, and the matching spans of the *original* text are replaced.

Kept as they are: our hotlines and other service numbers (1800.1096, 1022, 113…), dates
(26/01/2026), document numbers (407/KH-UBND), procedure codes (1.004222), money (20.000 đồng,
100.000.000 đồng) and file codes (000.00.12.H12-250101-0001), because answers and statistics
need them. Phone numbers are checked with Google's libphonenumber (`phonenumbers`).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

PHONE = "[SĐT]"
ID_NUMBER = "[SỐ GIẤY TỜ]"
EMAIL = "[EMAIL]"

MAX_DIGITS = 15  # the longest number worth classifying (E.164); longer runs are tried in pieces

# On the folded text (lower case, no diacritics, ASCII digits).
# An e-mail is found from its "@" outwards: a left-to-right pattern would rescan long words (quadratic).
_EMAIL_LOCAL = re.compile(r"[\w.+\-]{1,64}$")
_EMAIL_DOMAIN = re.compile(r"[\w\-]{1,63}(?:\.[\w\-]{1,63}){1,8}")
# A run of digit groups joined by up to three separator characters: "0912 345 678", "(+84) 912-345-678".
_SEP = r"[ \t.\-_()\u2010-\u2015\u00b7*]{1,3}"
_RUN = re.compile(r"(?:\(?\+\s?)?\d+(?:" + _SEP + r"\d+)*")
_GROUP = re.compile(r"\d+")
# VN passport: one letter + 7 digits (C1234567), standing alone.
_PASSPORT = re.compile(r"(?<![a-z0-9])[a-z]\d{7}(?![a-z0-9])")
# Words that announce a personal number right before it ("sđt:", "cccd số", "bhxh", "stk").
_TAIL = r"(?:\s*(?:cua\s*(?:toi|em|minh|anh|chi|con)\s*)?(?:la|so|:|#|=|-)?\s*)*$"
_PHONE_WORDS = r"sdt|so dien thoai|dien thoai|dt|dtdd|phone|tel|mobile|hotline ca nhan|zalo|lien he|goi"
_ID_WORDS = (r"cccd|cmnd|cmt|can cuoc(?: cong dan)?|chung minh(?: nhan dan| thu)?|dinh danh(?: ca nhan)?|ma dinh danh"
             r"|bhxh|so bhxh|bao hiem xa hoi|so so|bhyt|the bhyt|ho chieu|passport|stk|so tai khoan|tai khoan|mst"
             r"|ma so thue")
_KEYWORD = re.compile(r"(?<![a-z])(?:" + _PHONE_WORDS + "|" + _ID_WORDS + ")" + _TAIL)
_ID_KEYWORD = re.compile(r"(?<![a-z])(?:" + _ID_WORDS + ")" + _TAIL)
_MONEY_AFTER = re.compile(r"\s*(?:d\b|dong|vnd|vnđ|trieu|ty|nghin|ngan|%|usd|\$)")
_URL_CHARS = "/=?&#"


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """What one character counts as for matching: '' for invisible ones, ASCII digits, folded letters."""
    if unicodedata.category(ch) == "Cf":  # zero-width spaces, joiners, soft hyphens hidden inside numbers
        return ""
    if ch.isdigit():
        try:
            return str(unicodedata.decimal(ch))
        except ValueError:
            pass
    text = unicodedata.normalize("NFKC", ch).lower().replace("đ", "d")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return text


def _fold(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the index of the original character."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        folded = _fold_char(ch)
        out.append(folded)
        where.extend([i] * len(folded))
    return "".join(out), where


def _vn_phone(digits: str) -> bool:
    """A Vietnamese subscriber number: 0 + 9–10 digits (84 / +84 accepted for the 0), not a service number."""
    if digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    return len(digits) in (10, 11) and digits[0] == "0" and digits[1] != "0"


def _valid_phone(text: str) -> bool:
    """libphonenumber's verdict (Vietnam by default; '+' numbers of any country)."""
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException:
        return False
    if number.country_code == 84 and str(number.national_number)[:1] == "1":
        return False  # 1800/1900 service lines, 1022, 113–115: public numbers
    return phonenumbers.is_valid_number(number)


def _classify(digits: str, seps: list[str], plus: bool, keyword: bool, money: bool, strict: bool,
              id_keyword: bool = False) -> str | None:
    """PHONE, ID_NUMBER or None for one candidate number (its digits and the separators between groups)."""
    n = len(digits)
    if id_keyword and 9 <= n <= MAX_DIGITS and not strict and not plus:  # "mã số thuế 0312345678": not a phone
        return ID_NUMBER
    if strict:  # inside a link or after "/": only a real phone number, as libphonenumber sees it
        return PHONE if _valid_phone(("+" if plus else "") + digits) else None
    if plus:
        return PHONE if 8 <= n <= MAX_DIGITS and _valid_phone("+" + digits) else None
    if money and not keyword:
        return None
    if _vn_phone(digits) or (n in (10, 11) and digits[0] == "0" and _valid_phone(digits)):
        return PHONE
    contiguous = not seps
    thousands = bool(seps) and all(s == "." for s in seps) and digits[0] != "0"  # 100.000.000 is money
    if thousands and not keyword:
        return None
    if n == 12 and (contiguous or digits[0] == "0" or keyword):  # CCCD (province code 001–096)
        return ID_NUMBER
    if n == 9 and (contiguous or keyword or all(s.strip(" -") == "" for s in seps)):  # CMND
        return ID_NUMBER
    if n == 10 and (contiguous or keyword):  # BHXH social-insurance number
        return ID_NUMBER
    if keyword and 9 <= n <= MAX_DIGITS:  # bank accounts, tax codes… right after a keyword
        return ID_NUMBER if not _vn_phone(digits) else PHONE
    return None


def _spans_in_run(folded: str, m: re.Match[str]) -> list[tuple[int, int, str]]:
    """The personal numbers inside one run of digit groups, as (start, end, placeholder) in folded text."""
    start, end = m.span()
    before = folded[max(0, start - 40):start]
    glued = bool(before) and before[-1].isalpha()
    strict = bool(before) and before[-1] in _URL_CHARS
    keyword = bool(_KEYWORD.search(before.rstrip(" :#=.-")) or _KEYWORD.search(before))
    id_keyword = keyword and bool(_ID_KEYWORD.search(before.rstrip(" :#=.-")) or _ID_KEYWORD.search(before))
    groups = list(_GROUP.finditer(folded, start, end))
    if glued and not keyword and len(groups[0].group()) < 9:
        return []  # a code like H12-250101-0001 or "Điều5": the number belongs to the word before it
    plus_at = folded.find("+", start, groups[0].start())
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(groups):
        best: tuple[int, str] | None = None
        digits = ""
        seps: list[str] = []
        for j in range(i, len(groups)):
            if j > i:
                seps.append(folded[groups[j - 1].end():groups[j].start()])
            digits += groups[j].group()
            if len(digits) > MAX_DIGITS:
                break
            run_end = groups[j].end()
            money = j == len(groups) - 1 and bool(_MONEY_AFTER.match(folded, run_end))
            kind = _classify(digits, seps, plus_at >= 0 and i == 0, keyword and i == 0, money, strict and i == 0,
                             id_keyword and i == 0)
            if kind:
                best = (j, kind)
        if best is None:
            i += 1
            continue
        j, kind = best
        s = start if i == 0 else groups[i].start()
        out.append((s, groups[j].end(), kind))
        i = j + 1
    return out


def _emails(folded: str) -> list[tuple[int, int, str]]:
    spans = []
    at = folded.find("@")
    while at >= 0:
        local = _EMAIL_LOCAL.search(folded, max(0, at - 64), at)
        domain = _EMAIL_DOMAIN.match(folded, at + 1)
        if local and domain:
            spans.append((local.start(), domain.end(), EMAIL))
        at = folded.find("@", at + 1)
    return spans


def _find(folded: str) -> list[tuple[int, int, str]]:
    """Spans to replace, in order; where two overlap the earlier one (an e-mail first) wins."""
    spans = _emails(folded) if "@" in folded else []
    for m in _RUN.finditer(folded):
        spans.extend(_spans_in_run(folded, m))
    spans.extend((m.start(), m.end(), ID_NUMBER) for m in _PASSPORT.finditer(folded))
    return sorted(spans, key=lambda s: (s[0], s[2] != EMAIL, -s[1]))


def redact(text: str | None) -> str:
    """Text with phone numbers, ID numbers (CCCD, CMND, BHXH, passport) and e-mails replaced by placeholders."""
    if not text:
        return text or ""
    folded, where = _fold(text)
    spans = _find(folded)
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for s, e, placeholder in spans:
        a, b = where[s], where[e - 1] + 1
        if a < pos:
            continue
        out.append(text[pos:a])
        out.append(placeholder)
        pos = b
    out.append(text[pos:])
    return "".join(out)
