"""Answers about a document itself — who signed it, its number, its date, where it was sent — from its card.

A plan's text rarely says who signed it; its card (`index.chunk.document_card`) does, one labelled sentence per fact
("Người ký: …", "Nơi nhận: …"). A question's `document_facts` (strict_cues.yaml, `document_*` groups) name the labels.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from bot.evidence import select_sentences, written_marks
from bot.understand import Understanding, marked_content
from index.chunk import CARD_LABELS
from index.types import Hit
from index.vietnamese import fold

# another document named by its number: "1588/QĐ-TTg", "Quyết định số 03", "thông tư 26" (read on folded text)
RE_DOCUMENT_NUMBER = re.compile(r"\b(\d{1,5})/[a-z]|\b(?:so|quyet dinh|thong tu|nghi dinh|nghi quyet|cong van|ke hoach|"
                                r"chi thi|de an|qd|tt|nd|nq|kh|cv)\s+(?:so\s+)?(\d{1,5})\b")
# a card sentence runs to the next label, so "Nơi nhận: …; TT. HĐND xã; …" stays whole
RE_CARD_SENTENCE = re.compile(r"(?<=\.)\s+(?=(?:%s)\b)" % "|".join(
    re.escape(label) for labels in CARD_LABELS.values() for label in labels))


def card_lines(card: str, facts: list[str]) -> list[tuple[str, int]]:
    """The card's sentences that state the facts asked ("Người ký: …" for the signer), in the card's order."""
    labels = tuple(label for fact in facts for label in CARD_LABELS.get(fact, ()))
    return [(text, 0) for text in RE_CARD_SENTENCE.split(card) if labels and text.startswith(labels)]


def card_answer(u: Understanding, card: Hit, idf: Callable[[str], float]) -> list[tuple[str, int]]:
    """The labelled lines asked, else the card's best sentences. No figure is required: "số hiệu bao nhiêu" may be
    answered "số văn bản để trống trong bản gốc"."""
    return card_lines(card.chunk.passage, u.document_facts) or select_sentences(
        u.folded, [card], idf, clauses=False, marks=written_marks(u.text), marked_content=marked_content(u.text))


def names_other_document(question: str, card_text: str) -> bool:
    """"Quyết định số 03 ban hành ngày nào": the question names a document by a number this card does not have, so
    the card's own date would be a wrong answer."""
    numbers = {a or b for a, b in RE_DOCUMENT_NUMBER.findall(fold(question))}
    return any(f"{n}/" not in fold(card_text) for n in numbers)
