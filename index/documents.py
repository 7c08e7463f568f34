"""Knowledge documents on disk: Markdown with YAML front matter that officers read and edit."""
from __future__ import annotations

import hashlib
import json
import os
import pickle
from collections import Counter
from pathlib import Path

import frontmatter

from index.types import Document
from index.wards import WardProfileError, profile_documents

FIELDS = ("id", "title", "type", "number", "date", "issuer", "ward", "city", "year", "period", "signer", "source", "scope")


class KnowledgeError(Exception):
    """A knowledge file cannot be used; the message says which file and what to fix."""


def _as_text(value) -> str | None:
    return None if value is None else str(value)


SCOPES = ("ward", "province", "national")
DISABLED_FIELD = "disabled"  # front-matter flag: `disabled: true` keeps a file out of the index
CACHE_FORMAT = 1


def infer_scope(issuer: str, doc_type: str) -> str:
    """Who a document speaks for, when its front matter does not say: a ward, a province, or the whole country."""
    from index.vietnamese import fold

    who = fold(issuer)
    if doc_type in ("thủ tục", "hướng dẫn") or "bo " in f"{who} " or "chinh phu" in who:
        return "national"
    if any(w in who for w in ("phuong", " xa ", "thi tran")) or who.endswith(" xa"):
        return "ward"
    if "tinh" in who or "thanh pho" in who:
        return "province"
    return "ward"


def read_document(path: Path) -> Document:
    try:
        post = frontmatter.load(path)
    except Exception as exc:  # YAML errors come in many types
        raise KnowledgeError(f"{path}: phần đầu (front matter) không đọc được: {exc}") from exc
    meta = dict(post.metadata)
    if not meta.get("id") or not meta.get("title"):
        raise KnowledgeError(f"{path}: thiếu 'id' hoặc 'title' trong phần đầu; hãy bổ sung rồi chạy lại.")
    if not post.content.strip():
        raise KnowledgeError(f"{path}: văn bản rỗng.")
    year = meta.get("year")
    doc_type = str(meta.get("type") or "văn bản")
    scope = _as_text(meta.pop("scope", None)) or infer_scope(str(meta.get("issuer") or ""), doc_type)
    return Document(
        id=str(meta.pop("id")),
        title=str(meta.pop("title")),
        body=post.content.strip(),
        type=str(meta.pop("type", None) or "văn bản"),
        number=_as_text(meta.pop("number", None)),
        date=_as_text(meta.pop("date", None)),
        issuer=_as_text(meta.pop("issuer", None)),
        ward=_as_text(meta.pop("ward", None)),
        city=_as_text(meta.pop("city", None)),
        year=int(year) if year else None,
        period=_as_text(meta.pop("period", None)),
        signer=_as_text(meta.pop("signer", None)),
        source=_as_text(meta.pop("source", None)),
        scope=scope,
        extra={k: v for k, v in meta.items() if k != "year"},
    )


def write_document(doc: Document, path: Path) -> None:
    meta = {k: v for k, v in doc.metadata().items() if v is not None or k in FIELDS}
    ordered = {k: meta.pop(k) for k in FIELDS if k in meta} | meta
    post = frontmatter.Post(doc.body + "\n", **ordered)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(frontmatter.dumps(post, sort_keys=False, allow_unicode=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def load_documents(knowledge_dir: Path, cache: Path | None = None, include_disabled: bool = False) -> list[Document]:
    """Every document of the knowledge folder the index serves; a document marked `disabled: true` in its front
    matter stays on disk (ids stay unique across all files) but is left out unless `include_disabled`.

    With `cache` (a file in the data folder), files unchanged since the last load (same size and modification
    time) are not parsed again: YAML front matter of 2,600 procedure records takes seconds to parse, and a refresh
    after one edited plan should not pay for it."""
    docs = [d for _, d in load_document_files(knowledge_dir, cache)]
    try:  # one small document per ward profile (knowledge/wards/*.yaml): hours, address, phone of its centre
        docs += profile_documents(knowledge_dir / "wards", {d.id for d in docs})
    except WardProfileError as exc:
        raise KnowledgeError(f"Hồ sơ xã, phường wards/{exc} — sửa trên bảng điều khiển (Tri thức → Xã, phường) "
                             "hoặc sửa tệp, rồi chạy lại.") from exc
    served = docs if include_disabled else [d for d in docs if not is_disabled(d)]
    if not served:
        raise KnowledgeError(f"Thư mục {knowledge_dir} chưa có văn bản nào (*.md).")
    return served


def load_document_files(knowledge_dir: Path, cache: Path | None = None) -> list[tuple[Path, Document]]:
    """(file, document) for every Markdown file but READMEs, disabled ones included; ids must be unique."""
    if not knowledge_dir.is_dir():
        raise KnowledgeError(
            f"Không tìm thấy thư mục tri thức {knowledge_dir}. Đặt CCHC_KNOWLEDGE_DIR trỏ tới thư mục knowledge/."
        )
    known = _read_cache(cache)
    fresh: dict[str, tuple[int, int, Document]] = {}
    out: list[tuple[Path, Document]] = []
    for p in sorted(knowledge_dir.rglob("*.md")):
        if p.name.lower() == "readme.md":
            continue
        stat = p.stat()
        key = str(p.resolve())
        hit = known.get(key)
        doc = hit[2] if hit and hit[:2] == (stat.st_mtime_ns, stat.st_size) else read_document(p)
        fresh[key] = (stat.st_mtime_ns, stat.st_size, doc)
        out.append((p, doc))
    counts = Counter(d.id for _, d in out)
    duplicates = {i for i, n in counts.items() if n > 1}
    if duplicates:
        raise KnowledgeError(f"Trùng mã văn bản (id) trong {knowledge_dir}: {', '.join(sorted(duplicates))}")
    if cache is not None and fresh != known:
        _write_cache(cache, fresh)
    return out


def is_disabled(doc: Document) -> bool:
    """An officer took the document out of service (`disabled: true`): kept on disk, not indexed."""
    return doc.extra.get(DISABLED_FIELD) is True


def update_front_matter(path: Path, changes: dict) -> Document:
    """Set (or, with None for a key outside FIELDS, remove) front-matter keys of one file; the body and every
    other key stay as they are. Written atomically; returns the document as read back (so it is valid)."""
    try:
        post = frontmatter.load(path)
    except Exception as exc:  # YAML errors come in many types
        raise KnowledgeError(f"{path}: phần đầu (front matter) không đọc được: {exc}") from exc
    for key, value in changes.items():
        if value is None and key not in FIELDS:
            post.metadata.pop(key, None)
        else:
            post.metadata[key] = value
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(frontmatter.dumps(post, sort_keys=False, allow_unicode=True) + "\n", encoding="utf-8")
    try:
        doc = read_document(tmp)
    except KnowledgeError:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return doc


def _read_cache(cache: Path | None) -> dict:
    if cache is None or not cache.exists():
        return {}
    try:
        with open(cache, "rb") as fh:
            data = pickle.load(fh)
        if not isinstance(data, dict) or data.pop("format", None) != CACHE_FORMAT:
            return {}
        return data  # without its format key: an unchanged folder then compares equal and is not rewritten
    except Exception:  # a damaged cache only costs time
        return {}


def _write_cache(cache: Path, entries: dict) -> None:
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(cache.name + ".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump({**entries, "format": CACHE_FORMAT}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass  # a full disk or read-only data folder: the next load parses again


def document_hash(doc: Document) -> str:
    fields = [getattr(doc, k) for k in FIELDS if k != "id"] + [doc.id]
    payload = json.dumps([fields, doc.extra], sort_keys=True, default=str, ensure_ascii=False) + doc.body
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
