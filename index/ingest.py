"""Add a new document to the knowledge base: extract → clean → propose metadata → write Markdown.

Nothing is written unless the whole file was read: a scan, a locked or broken file, an empty
file or a copy of a document already in the knowledge folder is refused with a message that
says what to do. A plan that replaces an older one for the same ward and topic is marked
`replaces: <old id>` in its front matter, so the index knows which plan is current.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

from index.clean import clean
from index.documents import KnowledgeError, read_document, write_document
from index.extract import Extraction, extract
from index.metadata import propose, ward_key
from index.sandbox import extract_limited
from index.types import Document
from index.vietnamese import fold

KNOWN_FIELDS = {"type", "number", "date", "issuer", "ward", "city", "year", "period", "signer", "source", "scope"}
# A line that is only a big integer: Word drawing anchors (wp:posOffset, in EMU) dumped by some converters.
RE_DRAWING_NUMBER = re.compile(r"^\s*-?\d{5,9}(?:\s+-?\d{5,9})*\s*$")
RE_DRAFT_MARK = re.compile(r"^\s*\(?\s*DỰ\s+THẢO\s*\)?\s*(?:lần\s*\d+)?\s*$", re.IGNORECASE)
RE_TOPIC_NOISE = re.compile(
    r"\b(?:6 thang (?:dau|cuoi)(?: nam)?|giai doan|nam|quy [ivx\d]+|thang \d{1,2}|dot \d+|"
    r"cua|tren dia ban|uy ban nhan dan|ubnd|(?:19|20)\d\d)\b"
)
NEAR_DUPLICATE = 0.95  # share of shared 5-word shingles: the same text read from another format
TOPIC_SIMILARITY = 85  # rapidfuzz token_sort_ratio between titles stripped of place and period


@dataclass
class AddResult:
    path: Path
    document: Document
    missing: list[str]
    notes: list[str] = field(default_factory=list)  # what was read and what could not be, in Vietnamese
    replaces: str | None = None


def extract_text(path: Path) -> str:
    """Plain text of a supported file (kept for callers that only need the text)."""
    return extract(path).text


def slug(text: str, limit: int = 60) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    return words[:limit].rstrip("-") or "van-ban"


def default_id(title: str, ward: str | None, year: int | None) -> str:
    """Slug of the title that keeps ward and year even when the title is long (wards share titles)."""
    full = slug(title, limit=200)
    if len(full) <= 60 and (not ward or slug(ward_key(ward) or "") in full):
        return full
    cut = full[:41]
    parts = [cut[:cut.rfind("-")] if len(full) > 40 and "-" in cut else full[:40]]  # whole words only
    if ward and slug(ward_key(ward) or "") not in parts[0]:
        parts.append(slug(ward_key(ward) or ""))
    if year and str(year) not in parts[0]:
        parts.append(str(year))
    return "-".join(parts)


# ------------------------------------------------------------------------------ pre-cleaning
def preclean(text: str) -> tuple[str, list[str]]:
    """Remove what `clean` does not know about in real files: drawing positions, a 'DỰ THẢO' stamp."""
    notes: list[str] = []
    lines = text.split("\n")
    kept = [ln for ln in lines if not RE_DRAWING_NUMBER.match(ln)]
    if len(kept) < len(lines):
        notes.append(f"Bỏ {len(lines) - len(kept)} dòng chỉ có số lớn (toạ độ hình vẽ của Word).")
    drafts = [ln for ln in kept if RE_DRAFT_MARK.match(ln)]
    if drafts:
        notes.append("Văn bản ghi 'DỰ THẢO': đây có thể chưa phải bản chính thức.")
        kept = [ln for ln in kept if not RE_DRAFT_MARK.match(ln)]
    return "\n".join(kept), notes


# ------------------------------------------------------------------------------- duplicates
def normalized_text(body: str) -> str:
    """Body as folded words only: the same text from PDF, DOCX or TXT compares equal."""
    body = re.sub(r"^#\s.*$", "", body, count=1, flags=re.M)  # the title line may have been edited
    body = re.sub(r"\(ch[uú] th[ií]ch \d+\)", " ", body, flags=re.IGNORECASE)
    return " ".join(re.findall(r"[a-z0-9]+", fold(body)))


def text_hash(body: str) -> str:
    return hashlib.sha256(normalized_text(body).encode("utf-8")).hexdigest()[:16]


def _shingles(words: list[str], n: int = 5) -> set[str]:
    return {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of 5-word shingles of two normalized texts."""
    sa, sb = _shingles(a.split()), _shingles(b.split())
    return len(sa & sb) / len(sa | sb) if sa and sb else 0.0


def indexed_documents(knowledge_dir: Path) -> list[tuple[Path, Document]]:
    """Documents already in the knowledge folder (unreadable ones are skipped here, reported by the build)."""
    if not knowledge_dir.is_dir():
        return []
    out = []
    for path in sorted(knowledge_dir.rglob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        try:
            out.append((path, read_document(path)))
        except KnowledgeError:
            continue
    return out


def find_duplicate(body: str, ward: str | None, year: int | None,
                   existing: list[tuple[Path, Document]]) -> tuple[Document, float] | None:
    """The indexed document this text repeats: same words, or nearly so for the same ward and year."""
    digest = text_hash(body)
    normalized = normalized_text(body)
    for _, doc in existing:
        if text_hash(doc.body) == digest:
            return doc, 1.0
    for _, doc in existing:
        if ward_key(doc.ward) == ward_key(ward) and doc.year == year:
            score = similarity(normalized, normalized_text(doc.body))
            if score >= NEAR_DUPLICATE:
                return doc, score
    return None


# ------------------------------------------------------------------------------ supersession
def topic_key(doc: Document) -> str:
    """Title without place and period: 'ke hoach tuyen truyen cai cach hanh chinh nha nuoc'."""
    title = " " + " ".join(re.findall(r"[a-z0-9]+", fold(doc.title))) + " "
    key = ward_key(doc.ward)
    if key:
        title = re.sub(rf"\b(?:phuong|xa|thi tran|dac khu)?\s*{re.escape(key)}\b", " ", title)
    if doc.city:
        title = re.sub(rf"\b(?:thanh pho|tinh)?\s*{re.escape(fold(doc.city))}\b", " ", title)
    title = RE_TOPIC_NOISE.sub(" ", title)
    return " ".join(title.split())


def _age(doc: Document) -> tuple[int, str]:
    return (doc.year or 0, str(doc.date or ""))


def find_replaced(new: Document, existing: list[Document]) -> Document | None:
    """The newest older plan of the same ward and topic that `new` replaces, if any."""
    key = ward_key(new.ward)
    if not key or new.type == "hướng dẫn":
        return None
    topic = topic_key(new)
    candidates = [
        d for d in existing
        if d.id != new.id and ward_key(d.ward) == key and d.type == new.type and _age(d) < _age(new)
        and fuzz.token_sort_ratio(topic, topic_key(d)) >= TOPIC_SIMILARITY
    ]
    return max(candidates, key=_age) if candidates else None


def superseded_by(docs: list[Document]) -> dict[str, str]:
    """old id -> id of the plan that replaces it, from the `replaces` field officers can correct."""
    ids = {d.id for d in docs}
    out: dict[str, str] = {}
    for d in docs:
        old = d.extra.get("replaces")
        for old_id in (old if isinstance(old, list) else [old]):
            if old_id and str(old_id) in ids and str(old_id) != d.id:
                out[str(old_id)] = d.id
    return out


def current_version_of(doc_id: str, docs: list[Document]) -> str:
    """Follow the chain of replacements to the plan in force now."""
    chain = superseded_by(docs)
    seen = {doc_id}
    while doc_id in chain and chain[doc_id] not in seen:
        doc_id = chain[doc_id]
        seen.add(doc_id)
    return doc_id


# --------------------------------------------------------------------------------------- add
def _describe(extraction: Extraction) -> list[str]:
    return list(extraction.notes)


def add_file(path: Path, knowledge_dir: Path, doc_id: str | None = None, update: bool = False,
             extraction: Extraction | None = None) -> AddResult:
    """Read `path`, propose its metadata and write knowledge/plans/<id>.md; raise KnowledgeError otherwise.

    The file is read in a limited child process (`index.sandbox`) unless the caller already did so.
    """
    path = Path(path)
    extraction = extraction or extract_limited(path)
    text, notes = preclean(extraction.text)
    notes = _describe(extraction) + notes
    cleaned = clean(text)
    if len(normalized_text(cleaned.body).split()) < 10:
        raise KnowledgeError(f"{path.name}: đọc được quá ít chữ để làm một văn bản tri thức "
                             f"({len(cleaned.body)} ký tự). Hãy kiểm tra tệp gốc.")
    proposal = propose(cleaned, source=path.name)
    values = dict(proposal.values)
    title = values.pop("title") or f"{values['type'].capitalize()} {path.stem}"
    place = values.get("ward") or (values.get("city") if values.get("scope") == "province" else None)
    doc_id = doc_id or default_id(title, place, values.get("year"))  # provinces share titles too
    target = knowledge_dir / "plans" / f"{doc_id}.md"
    body = f"# {title}\n\n{cleaned.body}"
    everything = indexed_documents(knowledge_dir)
    existing = [(p, d) for p, d in everything if p.resolve() != target.resolve()]

    duplicate = None if update else find_duplicate(cleaned.body, values.get("ward"), values.get("year"), everything)
    if duplicate:
        doc, score = duplicate
        same = "trùng nội dung với" if score >= 1.0 else f"gần như trùng ({score:.0%}) với"
        raise KnowledgeError(
            f"{path.name}: {same} văn bản đã có '{doc.id}' ({doc.title}). Không thêm. Nếu đây là bản sửa của "
            f"văn bản đó, dùng: cchc knowledge add {path.name} --id {doc.id} --update"
        )

    if target.exists():
        if not update:
            raise KnowledgeError(f"{target} đã có. Dùng --update để làm mới nội dung mà giữ phần đầu đã sửa.")
        kept = read_document(target)  # the officer's reviewed metadata wins over a new proposal
        if text_hash(kept.body) == text_hash(cleaned.body):
            notes.append("Nội dung không đổi so với bản đã có.")
        kept.body = f"# {kept.title}\n\n{cleaned.body}"
        write_document(kept, target)
        return AddResult(target, kept, [], notes, kept.extra.get("replaces"))

    missing = list(proposal.missing)
    if values.get("number") is None and values.get("number_note"):
        notes.append("Số văn bản để trống trong bản gốc (dự thảo hoặc chưa cấp số): để trống, hãy điền khi có.")
    date = values.get("date")
    if date and len(str(date)) < 10:
        values["date_note"] = "Ngày ký để trống trong bản gốc (dự thảo hoặc chưa đóng dấu)"
        notes.append(f"Ngày ký để trống trong bản gốc: chỉ ghi được '{date}'.")
    if extraction.encoding:
        values["converted_from"] = extraction.encoding
    doc = Document(
        id=doc_id,
        title=title,
        body=body,
        **{k: values.pop(k) for k in list(values) if k in KNOWN_FIELDS},
        extra=values,
    )
    replaced = find_replaced(doc, [d for _, d in existing])
    if replaced:
        doc.extra["replaces"] = replaced.id
        notes.append(f"Thay thế văn bản cũ '{replaced.id}' ({replaced.title}): cùng địa bàn, cùng chủ đề, mới hơn. "
                     "Nếu không đúng, xoá dòng 'replaces' ở phần đầu tệp.")
    write_document(doc, target)
    return AddResult(target, doc, missing, notes, doc.extra.get("replaces"))
