"""Split documents into passages along their outline; every passage carries a header naming its place.

No chunk straddles two sections (MarkdownHeaderTextSplitter cuts at headings first), and the
indexed text starts with "title | ward, city | year | section path" so a question that names a
ward or a year finds the right plan.
"""
from __future__ import annotations

import re
from datetime import date as Date

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from index.types import Chunk, Document

HEADINGS = [("#", "h1"), ("##", "h2"), ("###", "h3")]
SEPARATORS = ["\n\n", "\n", ". ", "; ", ", ", " ", ""]
RE_SOURCE_LINE = re.compile(r"^>\s*Nguồn\s*:\s*(.+)$", re.M)
CARD_SECTION = "Thông tin văn bản"
# Changes whenever the passages made from the same documents change: `cchc index build` then builds anew.
CHUNKER_VERSION = 4


def display_date(value: str | None) -> str | None:
    """'2026-01-26' -> '26/01/2026'; partial dates keep what is known ('tháng 8/2025')."""
    if not value:
        return None
    parts = str(value).split("-")
    if len(parts) == 3:
        return f"{parts[2]}/{parts[1]}/{parts[0]}"
    if len(parts) == 2:
        return f"tháng {int(parts[1])}/{parts[0]}"
    return f"năm {parts[0]}"


def place(doc: Document) -> str:
    return ", ".join(p for p in (doc.ward, doc.city) if p)


def header(doc: Document, section: str) -> str:
    parts = [doc.title, place(doc), f"năm {doc.year}" if doc.year else "", section]
    return " | ".join(p for p in parts if p)


# How a card names each fact about its document; the answer core reads a card's answer by these (a question
# about the signer is answered by the "Người ký" sentence). The first label is the one the card writes.
CARD_LABELS = {"signer": ("Người ký",), "number": ("Số hiệu", "Ban hành kèm theo"),
               "date": ("Ngày ban hành", "Cập nhật", "Ban hành kèm theo"), "recipients": ("Nơi nhận",),
               "issuer": ("Cơ quan ban hành",), "place": ("Địa bàn",), "period": ("Thời gian thực hiện",),
               "reviewed": ("Rà soát lần cuối",)}


def document_card(doc: Document) -> str:
    """One passage with the document's metadata, so 'who signed it', 'when' find an answer."""
    extra = doc.extra
    lines = [f"{doc.title}."]
    if doc.number:
        lines.append(f"{CARD_LABELS['number'][0]}: {doc.number}.")
    elif extra.get("number_note"):  # "what number is it": say honestly that the original leaves it blank
        lines.append(f"{CARD_LABELS['number'][0]}: {extra['number_note'][0].lower()}{extra['number_note'][1:]}.")
    elif extra.get("attached_to"):
        lines.append(f"{CARD_LABELS['number'][1]} {extra['attached_to']}.")
    if doc.date:
        lines.append(f"{CARD_LABELS['date'][1] if doc.type == PROFILE_TYPE else CARD_LABELS['date'][0]}: "
                     f"{display_date(doc.date)}.")
    if doc.issuer:
        lines.append(f"{CARD_LABELS['issuer'][0]}: {doc.issuer}.")
    if place(doc):
        lines.append(f"{CARD_LABELS['place'][0]}: {place(doc)}.")
    if doc.period:
        lines.append(f"{CARD_LABELS['period'][0]}: {doc.period}.")
    if extra.get("recipients"):
        lines.append(f"{CARD_LABELS['recipients'][0]}: " + "; ".join(str(r) for r in extra["recipients"]) + ".")
    if doc.signer:  # after the recipients, so that it stands as a sentence of its own
        title = extra.get("signer_title")
        lines.append(f"{CARD_LABELS['signer'][0]}: {doc.signer}{f' ({title})' if title else ''}.")
    if extra.get("deadline_note"):
        lines.append(f"{extra['deadline_note']}.")
    if extra.get("last_reviewed"):
        reviewed = extra["last_reviewed"]
        reviewed = reviewed.isoformat() if isinstance(reviewed, Date) else str(reviewed)
        lines.append(f"{CARD_LABELS['reviewed'][0]}: {display_date(reviewed)}.")
    return " ".join(lines)


PROCEDURE_TYPE = "thủ tục"
PROFILE_TYPE = "thông tin phường"  # a ward profile (index/wards.py): updated, not issued


def _json_safe(value):
    """Front matter may hold dates; chunks are stored as JSON."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, Date):
        return value.isoformat()
    return value


def procedure_card(doc: Document) -> str:
    """One passage per national procedure: its name and where it sits, what retrieval needs to find it.

    The structured record (fees, times, papers) is answered from the front matter, not from passages, so a
    2,642-procedure catalogue costs 2,642 short passages, not tens of thousands.
    """
    extra = doc.extra
    parts = [doc.title, f"mã {doc.id}"]
    for key in ("field", "applicants", "agency"):
        if extra.get(key):
            parts.append(str(extra[key]))
    levels = extra.get("levels") or []
    if levels:
        parts.append(", ".join(str(level) for level in levels))
    if extra.get("result"):
        parts.append(f"Kết quả: {extra['result']}")
    return " | ".join(parts)[:1200]


def section_path(meta: dict) -> str:
    return " > ".join(meta[k] for k in ("h2", "h3") if meta.get(k))


def chunk_document(doc: Document, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    by_heading = MarkdownHeaderTextSplitter(HEADINGS, strip_headers=True)
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=chunk_overlap, separators=SEPARATORS, keep_separator="end"
    )
    common = dict(doc_id=doc.id, title=doc.title, date=doc.date, ward=doc.ward, year=doc.year,
                  doc_type=doc.type, source=doc.source, scope=doc.scope)
    if doc.type == PROCEDURE_TYPE:
        card = procedure_card(doc)
        meta = _json_safe({**doc.metadata(), "body": doc.body})  # the record answers fee/time/papers questions
        return [Chunk(id=f"{doc.id}#0", section=CARD_SECTION, text=card, passage=card, meta=meta, **common)]
    card = document_card(doc)
    chunks = [Chunk(id=f"{doc.id}#0", section=CARD_SECTION, text=f"{header(doc, CARD_SECTION)}\n{card}",
                    passage=card, meta=_json_safe({**doc.extra, "city": doc.city}), **common)]
    for section in by_heading.split_text(doc.body):
        path = section_path(section.metadata)
        content = section.page_content
        sources = RE_SOURCE_LINE.findall(content)
        content = RE_SOURCE_LINE.sub("", content).strip()
        if not content:
            continue
        section_common = dict(common, source="; ".join(sources) if sources else doc.source)
        for piece in splitter.split_text(content):
            piece = piece.strip()
            if len(piece) < 20:
                continue
            chunks.append(Chunk(
                id=f"{doc.id}#{len(chunks)}",
                section=path or doc.title,
                text=f"{header(doc, path)}\n{piece}",
                passage=piece,
                **section_common,
            ))
    return chunks


def chunk_documents(docs: list[Document], chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    return [c for doc in docs for c in chunk_document(doc, chunk_size, chunk_overlap)]
