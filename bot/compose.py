"""Compose: render a decision as a phone-sized Vietnamese reply with its sources in a separate block.

The body answers first (about 700 characters at most), quoting whole sentences or list items in the
document's order; sources are numbered [1], [2] and kept apart so a channel can put them behind a
"Xem nguồn" button. Procedure answers are rendered by `bot.procedure_compose` from the record.
"""
from __future__ import annotations

import re

from bot import replies
from bot.decide import ANSWER, CHOICE, LIST, NO_FIGURE, NO_PROCEDURE, PERSONAL, PROCEDURE, SANCTION, VAGUE, Decision
from bot.evidence import around_figure, compact, section_leaf
from bot.policy import Policy
from bot.types import Answer, Citation
from index.chunk import display_date
from index.types import Hit
from index.vietnamese import fold

RE_DANGLING = re.compile(r"\s*(như sau|sau đây|gồm|bao gồm)\s*:?\s*$", re.I)


def lead_in(hit: Hit) -> str:
    c = hit.chunk
    when = display_date(c.date)
    if c.doc_type == "hướng dẫn":
        return f"Theo {c.title}:"
    return f"Theo {c.title}" + (f" ({when})" if when and when not in c.title else "") + ":"


def heading(section: str) -> str:
    """A section name fit to show: no numbering, no shouting capitals."""
    leaf = section_leaf(section)
    leaf = re.sub(r"^[IVXLC]+\.\s*", "", leaf).strip()
    if leaf.isupper():
        leaf = leaf.capitalize()
    return leaf


def sentence(unit: str, limit: int = 320, question: str | None = None) -> str:
    """A quoted unit that starts like a sentence and does not end on "như sau:". `question` (folded): a figure or
    number is asked, so a long unit is quoted around its first figure the question lacks, not cut before it."""
    text = re.sub(r"^[-–+•]\s*|^[a-zđ]\)\s*", "", " ".join(unit.split()))
    text = RE_DANGLING.sub("", text).rstrip(" ;,:")
    if question is not None and len(text) > limit:
        windowed = around_figure(text, question, limit=limit - 4)
        if windowed != text:
            return windowed
    if len(text) > limit:
        # Keep as much as fits: up to the last clause boundary, else the last whole word.
        cut = max(text.rfind(sep, 0, limit) for sep in (". ", "; "))
        text = text[:cut + 1] if cut >= 0.6 * limit else text[:text.rfind(" ", 0, limit)].rstrip(" ,;:") + " …"
    return text[:1].upper() + text[1:]


class Composer:
    def __init__(self, policy: Policy, titles: dict[str, str], superseded_by: dict[str, str]) -> None:
        self.policy = policy
        self.titles = titles
        self.superseded_by = superseded_by
        self.replaces = {new: old for old, new in superseded_by.items()}

    def compose(self, question: str, d: Decision) -> Answer:
        if d.route == ANSWER:
            return self._answer(question, d)
        if d.route == LIST:
            return self._list(question, d)
        if d.route in (PROCEDURE, CHOICE):
            from bot.procedure_answers import render_procedure

            return render_procedure(question, d)
        if d.route == NO_FIGURE and d.procedures:
            record = d.procedures[0]
            text = replies.FIGURE_NOT_IN_RECORD.format(title=record.title, source=record.doc.source or
                                                      "https://dichvucong.gov.vn")
            return Answer(question, text, False, kind="not_found", body=text)
        text = {NO_PROCEDURE: replies.NO_PROCEDURE_DETAILS, VAGUE: replies.TOO_VAGUE,
                PERSONAL: replies.PERSONAL_FILE, SANCTION: replies.NO_FINES}.get(d.route, replies.NOT_FOUND)
        return Answer(question, text, False, kind="not_found", body=text)

    # -- passages -------------------------------------------------------------------------
    def _citation(self, citations: list[Citation], numbers: dict[str, int], hit: Hit, text: str | None = None) -> int:
        key = hit.chunk.id
        if key not in numbers:
            numbers[key] = len(numbers) + 1
            c = hit.chunk
            citations.append(Citation(n=numbers[key], doc_id=c.doc_id, title=c.title, section=c.section,
                                      source=c.source, text=text or c.passage, score=round(hit.score, 4), date=c.date))
        return numbers[key]

    def _answer(self, question: str, d: Decision) -> Answer:
        citations: list[Citation] = []
        numbers: dict[str, int] = {}
        groups: dict[str, list[str]] = {}
        first = d.hits[d.units[0][1]]
        budget = self.policy.max_body_chars - len(lead_in(first))
        asked = fold(question) if d.figure_asked else None  # the figure asked: never cut a sentence before it
        for i, (unit, h) in enumerate(d.units):
            hit = d.hits[h]
            title = heading(hit.chunk.section)
            head = title if title and fold(title) not in fold(unit) and fold(title) not in fold(hit.chunk.title) else ""
            # A long sentence keeps as much as the body has room for, so its answer is not cut off.
            room = budget - (len(head) + 2 if head else 0) - 8 - 60 * (len(d.units) - i - 1)
            line = f"• {sentence(unit, max(220, min(room, 520)), asked)} [{self._citation(citations, numbers, hit)}]"
            cost = len(line) + (len(head) + 2 if head and head not in groups else 0)
            if budget - cost < 0 and groups:
                continue
            budget -= cost
            groups.setdefault(head, []).append(line)
        parts = [lead_in(first)]
        for head, lines in groups.items():
            parts.append((f"{head}:\n" if head else "") + "\n".join(lines))
        return self._finish(question, d, parts, citations, first.chunk.doc_id)

    def _list(self, question: str, d: Decision) -> Answer:
        hit = d.hits[0]
        intro, items, whole = d.section
        citations: list[Citation] = []
        n = self._citation(citations, {}, hit, whole)
        title = heading(hit.chunk.section)
        parts = [lead_in(hit)]
        top = f"{title} [{n}]:" if title else f"[{n}]"
        lines, budget = [], self.policy.max_body_chars - len(parts[0]) - len(top) - 40
        limit = self.policy.max_list_items
        for item in items[:limit]:
            line = f"• {compact(item, 150)}"
            if budget - len(line) - 1 < 0 and lines:
                break
            budget -= len(line) + 1
            lines.append(line)
        rest = len(items) - len(lines)
        if rest > 0:
            lines.append(f"… và {rest} mục khác (xem nguồn [{n}]).")
        parts.append(top + "\n" + "\n".join(lines))
        return self._finish(question, d, parts, citations, hit.chunk.doc_id)

    def _finish(self, question: str, d: Decision, parts: list[str], citations: list[Citation], doc_id: str) -> Answer:
        note = self._version_note(doc_id)
        if note and len("\n".join(parts)) + len(note) <= self.policy.max_body_chars:
            parts.append(note)
        body = "\n".join(parts)
        sources = [c.label() for c in citations]
        text = body + "\n\nNguồn:\n" + "\n".join(sources)
        return Answer(question, text, True, citations, kind="answer", body=body, sources=sources)

    def _version_note(self, doc_id: str) -> str | None:
        newer = self.superseded_by.get(doc_id)
        if newer:
            return f"Lưu ý: kế hoạch này đã có kế hoạch thay thế: {self.titles.get(newer, newer)}."
        older = self.replaces.get(doc_id)
        if older:
            return f"(Đây là kế hoạch mới nhất, thay cho {self.titles.get(older, older)}.)"
        return None
