"""Chunking the committed knowledge: every passage knows its document, place, year and section."""
import re
from pathlib import Path

import pytest

from index.chunk import CARD_SECTION, PROCEDURE_TYPE, chunk_document, chunk_documents, display_date
from index.documents import load_documents
from index.settings import Settings

KNOWLEDGE_DIR = Path(__file__).resolve().parents[1] / "knowledge"
SETTINGS = Settings(_env_file=None)


@pytest.fixture(scope="module")
def docs():
    return load_documents(KNOWLEDGE_DIR)


@pytest.fixture(scope="module")
def chunks_by_doc(docs):
    return {d.id: chunk_document(d, SETTINGS.chunk_size, SETTINGS.chunk_overlap) for d in docs}


def section_texts(body: str) -> dict[str, str]:
    """Section path ('II. … > 1. …') -> its own text (whitespace squashed), read from the Markdown."""
    h2 = h3 = None
    found: dict[str, list[str]] = {}
    for line in body.splitlines():
        m = re.match(r"^(#{1,3})\s+(.*)$", line)
        if m:
            level, name = len(m.group(1)), m.group(2).strip()
            if level == 1:
                h2 = h3 = None
            elif level == 2:
                h2, h3 = name, None
            else:
                h3 = name
            continue
        found.setdefault(" > ".join(x for x in (h2, h3) if x), []).append(line)
    return {k: " ".join(" ".join(v).split()) for k, v in found.items()}


def test_every_document_has_one_card_first(docs, chunks_by_doc):
    for d in docs:
        chunks = chunks_by_doc[d.id]
        cards = [c for c in chunks if c.section == CARD_SECTION]
        assert len(cards) == 1, d.id
        assert chunks[0] is cards[0]
        assert cards[0].passage.startswith(d.title)


def test_card_carries_the_facts_people_ask_about(docs, chunks_by_doc):
    for d in docs:
        card = chunks_by_doc[d.id][0].passage
        if d.signer:
            assert d.signer in card
        if d.date and len(d.date) == 10:
            assert display_date(d.date) in card
        if d.ward:
            assert d.ward in card
        if d.number:
            assert d.number in card


def test_every_chunk_text_starts_with_a_header_naming_the_document(docs, chunks_by_doc):
    for d in docs:
        if d.type == PROCEDURE_TYPE:  # one card: the name, code, field, levels — no separate header line
            (card,) = chunks_by_doc[d.id]
            assert card.text.startswith(d.title) and f"mã {d.id}" in card.text and card.meta["code"] == d.id
            continue
        for c in chunks_by_doc[d.id]:
            header, _, rest = c.text.partition("\n")
            assert header.startswith(d.title), c.id
            assert rest == c.passage, c.id
            if d.type == "kế hoạch":
                assert d.ward in header, c.id
                assert f"năm {d.year}" in header, c.id
            if c.section not in (CARD_SECTION, d.title):
                assert header.endswith(c.section), c.id


def test_no_chunk_mixes_two_sections(docs, chunks_by_doc):
    for d in docs:
        sections = section_texts(d.body)
        for c in chunks_by_doc[d.id][1:]:
            assert not re.search(r"^#{1,3} ", c.passage, re.M), c.id
            own = sections.get("" if c.section == d.title else c.section, "")
            assert " ".join(c.passage.split()) in own, f"{c.id}: passage not inside section {c.section!r}"


def test_chunks_respect_the_size_limit_and_are_not_crumbs(chunks_by_doc):
    for chunks in chunks_by_doc.values():
        for c in chunks[1:]:
            assert 20 <= len(c.passage) <= SETTINGS.chunk_size, c.id


def test_chunks_cover_the_whole_body(docs, chunks_by_doc):
    """Nothing of a plan is lost: every paragraph of the body is in some passage."""
    for d in docs:
        passages = " ".join(" ".join(c.passage.split()) for c in chunks_by_doc[d.id])
        for para in d.body.split("\n\n"):
            para = para.strip()
            if not para or para.startswith("#") or para.startswith("> Nguồn") or len(para) < 20:
                continue
            words = " ".join(para.split())
            assert words[:60] in passages, f"{d.id}: lost {words[:60]!r}"


def test_source_lines_become_citations_not_passage_text(docs, chunks_by_doc):
    guides = [d for d in docs if "> Nguồn:" in d.body]
    assert guides
    for d in guides:
        for c in chunks_by_doc[d.id]:
            assert "> Nguồn" not in c.passage
        sourced = [c for c in chunks_by_doc[d.id][1:] if c.source != d.source]
        assert sourced, f"{d.id}: sections with '> Nguồn:' should cite that source"
        assert all(c.source and c.source in d.body for c in sourced)


def test_chunk_ids_are_unique_across_the_knowledge(docs):
    chunks = chunk_documents(docs, SETTINGS.chunk_size, SETTINGS.chunk_overlap)
    ids = [c.id for c in chunks]
    assert len(ids) == len(set(ids))
    assert all(c.id.startswith(f"{c.doc_id}#") for c in chunks)


def test_chunk_metadata_matches_the_document(docs, chunks_by_doc):
    for d in docs:
        for c in chunks_by_doc[d.id]:
            assert (c.doc_id, c.title, c.ward, c.year, c.doc_type) == (d.id, d.title, d.ward, d.year, d.type)


@pytest.mark.parametrize(
    ("value", "shown"),
    [("2026-01-26", "26/01/2026"), ("2025-08", "tháng 8/2025"), ("2025", "năm 2025"), (None, None)],
)
def test_display_date(value, shown):
    assert display_date(value) == shown
