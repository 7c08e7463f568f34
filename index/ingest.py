"""Add a new document to the knowledge base: extract → clean → propose metadata → write Markdown."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from index.clean import clean
from index.documents import KnowledgeError, read_document, write_document
from index.metadata import propose
from index.types import Document
from index.vietnamese import fold


@dataclass
class AddResult:
    path: Path
    document: Document
    missing: list[str]


def extract_text(path: Path) -> str:
    """Text of a TXT/MD file. (PDF and DOCX arrive with the refresh work.)"""
    suffix = path.suffix.lower()
    if suffix not in {".txt", ".md"}:
        raise KnowledgeError(f"{path.name}: định dạng {suffix or '(không có)'} chưa được hỗ trợ; hãy dùng TXT hoặc MD.")
    data = path.read_bytes()
    if not data.strip():
        raise KnowledgeError(f"{path.name}: tệp rỗng, không có gì để thêm.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KnowledgeError(
            f"{path.name}: không phải UTF-8 (có thể là mã TCVN3/VNI cũ). Hãy chuyển sang Unicode rồi thêm lại."
        ) from exc


def slug(text: str, limit: int = 60) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    return words[:limit].rstrip("-") or "van-ban"


def add_file(path: Path, knowledge_dir: Path, doc_id: str | None = None, update: bool = False) -> AddResult:
    cleaned = clean(extract_text(path))
    proposal = propose(cleaned, source=path.name)
    values = dict(proposal.values)
    title = values.pop("title") or f"{values['type'].capitalize()} {path.stem}"
    doc_id = doc_id or slug(title)
    target = knowledge_dir / "plans" / f"{doc_id}.md"
    body = f"# {title}\n\n{cleaned.body}"
    if target.exists():
        if not update:
            raise KnowledgeError(f"{target} đã có. Dùng --update để làm mới nội dung mà giữ phần đầu đã sửa.")
        kept = read_document(target)  # the officer's reviewed metadata wins over a new proposal
        kept.body = f"# {kept.title}\n\n{cleaned.body}"
        write_document(kept, target)
        return AddResult(target, kept, [])
    known = {"type", "number", "date", "issuer", "ward", "city", "year", "period", "signer", "source"}
    doc = Document(
        id=doc_id,
        title=title,
        body=body,
        **{k: values.pop(k) for k in list(values) if k in known},
        extra=values,
    )
    write_document(doc, target)
    return AddResult(target, doc, proposal.missing)
