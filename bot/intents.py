"""Read a raw message: clean it, refuse what cannot be answered, and recognise small talk."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bot import replies
from index.vietnamese import fold, has_vietnamese_diacritics, nfc

RE_TAG = re.compile(r"<[^>]{0,200}>")
RE_MARKDOWN = re.compile(r"[*_`~#>\[\]]+")
ENGLISH = frozenset(
    "what how where when who why which is are the a an do does can could i you my your of to for in on "
    "please tell me about weather price today there this that with".split()
)
SMALLTALK = {
    "greeting": re.compile(r"^(xin chao|chao|chao ban|chao bot|chao ad|hello|hi|helo|alo|ad oi|ban oi|hey)( ban| bot| ad| nhe| a)*$"),
    "identity": re.compile(r"\b(ban|may|bot) (la ai|la gi|ten (la )?gi)\b|^ai day$"),
    "help": re.compile(r"^/(start|help)$|\bban (co the )?(giup|lam|biet|tra loi) (duoc )?(gi|nhung gi|cai gi)\b|huong dan su dung bot|^help$|^giup( toi| minh| voi)?$"),
    "thanks": re.compile(r"^(cam on|cam on ban|cam on nhieu|thanks|thank you|tks|thank)( ban| nhe| nha| a| nhieu)*$"),
}
REPLIES = {"greeting": replies.GREETING, "identity": replies.IDENTITY, "help": replies.HELP, "thanks": replies.THANKS}


@dataclass
class Reading:
    question: str  # cleaned text to search with
    reply: str | None = None  # a fixed reply instead of a search
    kind: str = "question"  # question | invalid | smalltalk


def clean_message(raw: str) -> str:
    text = html.unescape(nfc(raw or ""))
    text = RE_TAG.sub(" ", text)
    text = RE_MARKDOWN.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def _english(text: str) -> bool:
    if has_vietnamese_diacritics(text):
        return False
    words = re.findall(r"[a-zA-Z]+", text.lower())
    return len(words) >= 3 and sum(w in ENGLISH for w in words) / len(words) >= 0.3


def read(raw: str, max_chars: int) -> Reading:
    if raw and len(raw) > max_chars:
        return Reading("", replies.TOO_LONG.format(length=f"{len(raw):,}".replace(",", "."), limit=max_chars), "invalid")
    text = clean_message(raw)
    if not text:
        return Reading("", replies.EMPTY, "invalid")
    if not re.search(r"[0-9A-Za-zÀ-ỹđĐ]", text):
        return Reading("", replies.NO_TEXT, "invalid")
    folded = re.sub(r"[^a-z0-9/ ]+", " ", fold(text)).strip()
    folded = re.sub(r"\s+", " ", folded)
    for kind, pattern in SMALLTALK.items():
        if pattern.search(folded) and len(folded.split()) <= 8:
            return Reading(text, REPLIES[kind], "smalltalk")
    if _english(text):
        return Reading(text, replies.NOT_VIETNAMESE, "invalid")
    return Reading(text)
