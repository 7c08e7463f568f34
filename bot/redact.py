"""Remove citizens' phone, ID-card and e-mail details before anything is stored or logged.

Citizens paste their phone or CCCD number into questions; officers reviewing feedback must never
see them in clear. Our own hotlines (1800.1096, 1022), dates (26/01/2026), document numbers
(123/QĐ-UBND) and URLs are left as they are, because answers and statistics need them.
"""
from __future__ import annotations

import re

PHONE = "[SĐT]"
ID_NUMBER = "[SỐ GIẤY TỜ]"
EMAIL = "[EMAIL]"

_SEP = r"[ .\-]?"
# One pattern, alternatives tried left to right at each position: URLs first so their digits survive.
_PATTERN = re.compile(
    r"(?P<url>\b(?:https?://|www\.)\S+)"
    r"|(?P<email>\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b)"
    # Vietnamese phones: 0 + 9 digits (mobile) or 10 digits (landline 02xx), or +84/84/(+84) + 9–10 digits,
    # with at most one space, dot or hyphen between digits. 1800.1096 and 1022 have no leading 0/84.
    r"|(?P<phone>(?<![\w/.,])(?:\(\+?84\)|\+\s?84|84|0)" + _SEP + r"(?:\d" + _SEP + r"){8,9}\d(?![\w/]|[.,]\d))"
    # CMND (9 digits) / CCCD (12 digits): contiguous, or in space/dot groups of 3–4 for 12 digits,
    # space groups of 3 for 9 digits (dot-grouped 9 digits is usually money: 100.000.000 đồng).
    r"|(?P<id>(?<![\w/.,\-])(?:\d{12}|\d{9}|\d{3}[ .]\d{3}[ .]\d{3}[ .]\d{3}|\d{4}[ .]\d{4}[ .]\d{4}"
    r"|\d{3} \d{3} \d{3})(?![\w/]|[.,]\d))",
    re.UNICODE,
)


def _replace(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "url":
        return match.group(0)
    return {"email": EMAIL, "phone": PHONE, "id": ID_NUMBER}[kind or ""]


def redact(text: str | None) -> str:
    """Text with phone numbers, CMND/CCCD numbers and e-mails replaced by placeholders."""
    if not text:
        return text or ""
    return _PATTERN.sub(_replace, text)
