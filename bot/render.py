"""Text shared by every channel: splitting at sentence boundaries, the source list, bold key facts.

Channels draw these (HTML on Telegram, plain text on Zalo and Messenger); they never word them.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Callable, Sequence

from bot import replies

# A sentence ends at . ! ? … (plus closing quotes and any " [n]" citation markers after it) before
# whitespace, or at a line break. "1800.1096" and "26.01" do not end sentences: no space follows.
_SENTENCE_END = re.compile(r"\n|[.!?…][\"'”’»)\]]*(?:\s?\[\d+\])*(?=\s)")


def split_message(text: str, limit: int = 2000, length: Callable[[str], int] = len) -> list[str]:
    """NFC text cut into parts of at most `limit` (as `length` counts), on sentence (or line) boundaries.

    Falls back to a word boundary, then a hard cut, only for a sentence longer than a third of the
    limit. Empty text gives no parts (the messaging APIs refuse empty messages).
    """
    text = unicodedata.normalize("NFC", text or "").strip()
    parts: list[str] = []
    while length(text) > limit:
        hard = min(len(text), limit)
        while length(text[:hard]) > limit:  # astral characters count twice in UTF-16
            hard -= 1
        window = text[: hard + 1]
        cut = 0
        for m in _SENTENCE_END.finditer(window):
            if m.end() <= hard:
                cut = m.end()
        if cut < hard // 3:
            space = window.rfind(" ", 0, hard + 1)
            cut = space if space >= hard // 3 else hard
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return [p for p in parts if p]


def fit(body: str, limit: int) -> tuple[str, bool]:
    """The body cut to about `limit` characters at a line or sentence end (phone-sized); True when cut."""
    body = body.strip()
    if len(body) <= limit:
        return body, False
    room = limit - len(replies.MORE_IN_SOURCES) - 2
    head = split_message(body, room)[0]
    return f"{head}\n{replies.MORE_IN_SOURCES}", True


_SOURCE_FILE = re.compile(r"\S+\.(?:txt|md|pdf|docx?|ya?ml)", re.IGNORECASE)


def _origin(citation: dict[str, Any]) -> str:
    """Where a document comes from, when that means something to a citizen (a URL or a named place, not a file)."""
    source = (citation.get("source") or "").strip()
    return "" if not source or _SOURCE_FILE.fullmatch(source) else source


def _label_parts(c: dict[str, Any]) -> tuple[str, str]:
    """(document part, section part) of a citation label "[1] Title, mục II, ngày 26/01/2026"."""
    label = c.get("label") or f"[{c.get('n')}] {c.get('title') or ''}"
    label = re.sub(r"^\[\d+\]\s*", "", label).strip()
    section = c.get("section") or ""
    marker = f", mục {section}"
    if section and marker in label:
        document = label.replace(marker, "")
        return document, f"mục {section}"
    return label, ""


def format_sources(citations: Sequence[dict[str, Any]]) -> str:
    """The citations as plain text: each document once ("[1], [2] Kế hoạch …, ngày …"), then every quoted
    passage under its number and section, then where the document comes from."""
    groups: dict[tuple[str, str], list[tuple[dict[str, Any], str]]] = {}
    for c in citations:
        document, section = _label_parts(c)
        groups.setdefault((document, _origin(c)), []).append((c, section))
    blocks = [replies.SOURCES_HEAD]
    for (document, origin), items in groups.items():
        numbers = ", ".join(f"[{c.get('n')}]" for c, _ in items)
        block = [f"{numbers} {document}"]
        for c, section in items:
            passage = re.sub(r"[ \t]+\n", "\n", (c.get("text") or "").strip())
            lead = (f"[{c.get('n')}] {section}: " if section else f"[{c.get('n')}] ") if len(items) > 1 else \
                (f"{section[0].upper()}{section[1:]}: " if section else "")
            if passage:
                block.append(f"{lead}“{passage}”")
        if origin and origin not in document:
            block.append(f"Nguồn gốc: {origin}")
        blocks.append("\n".join(block))
    return "\n\n".join(blocks)


_KEY_FACT = re.compile(
    r"\d[\d.,]*\s*(?:đồng|VNĐ|USD)(?:/[\wÀ-ỹ]+)*"  # 10.000 đồng, 2.000 đồng/trang
    r"|\d+(?:[.,]\d+)?\s*(?:ngày làm việc|ngày|giờ làm việc|giờ|tháng|năm)\b"  # 3 ngày làm việc
    r"|\b(?:1800[.\s]?1096|1022|113|114|115)\b"  # hotlines and emergency numbers
    r"|\bmiễn phí\b|\bkhông mất phí\b", re.IGNORECASE)
_HEADER = re.compile(r"^(?:\[\d+\](?:, \[\d+\])* .+|" + re.escape(replies.SOURCES_HEAD) + ")$", re.MULTILINE)


def bold_spans(text: str) -> list[tuple[int, int]]:
    """Spans to show in bold where the channel can: fees, durations, phone numbers, source headers."""
    spans = [m.span() for m in _HEADER.finditer(text)]
    spans += [m.span() for m in _KEY_FACT.finditer(text) if not any(a <= m.start() < b for a, b in spans)]
    return sorted(spans)


def numbered(labels: Sequence[str]) -> str:
    """'1) Xóa đăng ký tạm trú\\n2) Xóa đăng ký thường trú' for channels without buttons."""
    return "\n".join(f"{i}) {label}" for i, label in enumerate(labels, 1))
