"""What the bot knows, read without loading FAISS or the model: the live index's manifest and passages, and the
documents of the knowledge folder (disabled ones included) with their state against the live index.

The knowledge folder is read through `index.documents` with the data folder's parse cache, so a page over
2,600 procedure records costs a stat per file, not a YAML parse; the live passages are read once per version.
"""
from __future__ import annotations

import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from index import store
from index.chunk import PROCEDURE_TYPE, display_date
from index.documents import KnowledgeError, document_hash, is_disabled, load_document_files
from index.settings import Settings
from index.types import Document
from index.wards import WardProfileError, profile_documents

# indexed | changed (edited since the build) | not_indexed | removed (only in the index) |
# disabled (switched off, not in the index) | disabling (switched off, still served until the next publish)
PENDING_STATES = ("changed", "not_indexed", "removed", "disabling")


@dataclass
class DocumentRow:
    id: str
    title: str
    type: str | None = None
    number: str | None = None
    date: str | None = None
    ward: str | None = None
    city: str | None = None
    period: str | None = None
    chunks: int = 0
    state: str = "indexed"
    path: Path | None = None  # the file in the knowledge folder (None: only in the index)
    procedure: bool = False

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES


@dataclass
class KnowledgeView:
    version: str | None
    manifest: store.Manifest | None
    documents: list[DocumentRow] = field(default_factory=list)
    problem: str | None = None  # why the index or the folder could not be read (Vietnamese)

    @property
    def needs_rebuild(self) -> bool:
        return any(d.pending for d in self.documents)

    @property
    def pending(self) -> list[DocumentRow]:
        return [d for d in self.documents if d.pending]


class _LivePassages:
    """The live version's passages grouped by document, read once per version (the file is large); without the
    procedure records' metadata, which only the answering index needs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[str, str] | None = None
        self._by_doc: dict[str, list[dict]] = {}

    def get(self, data_dir: Path, version: str) -> dict[str, list[dict]]:
        key = (str(data_dir), version)
        with self._lock:
            if self._key != key:
                by_doc: dict[str, list[dict]] = {}
                with open(store.indexes_dir(data_dir) / version / "chunks.jsonl", encoding="utf-8") as fh:
                    for line in fh:
                        if line.strip():
                            c = json.loads(line)
                            c.pop("meta", None), c.pop("text", None)  # the record and header: kept in the index
                            by_doc.setdefault(c["doc_id"], []).append(c)
                self._key, self._by_doc = key, by_doc
            return self._by_doc


live_passages = _LivePassages()


def without_paths(text: str, settings: Settings) -> str:
    """An index or knowledge error as officers see it: files named relative to the knowledge folder, no server
    folder, and no command line (a sentence that names one becomes "báo bộ phận kỹ thuật")."""
    for folder, name in ((settings.knowledge_dir, "kho tri thức"), (settings.data_dir, "thư mục dữ liệu")):
        for form in sorted({str(Path(folder)), str(Path(folder).resolve())}, key=len, reverse=True):
            text = text.replace(form + "/", "").replace(form, name)
    if "cchc " in text:
        kept = [s for s in re.split(r"(?<=[.!?])\s+", text) if "cchc " not in s]
        text = " ".join(kept + ["Hãy báo bộ phận kỹ thuật."])
    return text


class _DocumentFiles:
    """Every document with its file and content hash, read again only when a file changed: one stat per file
    (~70 ms for 2,600 records) instead of unpickling thousands of records on every page. One entry per
    knowledge folder (tests run several consoles in one process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read: dict[tuple[str, str], tuple[tuple, list, dict]] = {}

    def get(self, settings: Settings) -> tuple[list[tuple[Path | None, Document]], dict[str, str]]:
        knowledge = Path(settings.knowledge_dir)
        stamp = []
        for path in sorted(knowledge.rglob("*")):
            if path.suffix in (".md", ".yaml"):
                try:
                    stat = path.stat()
                except OSError:
                    continue
                stamp.append((str(path), stat.st_mtime_ns, stat.st_size))
        slot, key = (str(knowledge), str(settings.data_dir)), tuple(stamp)
        with self._lock:
            known = self._read.get(slot)
            if known is None or known[0] != key:
                files = _read_files(settings)
                known = self._read[slot] = (key, files, {d.id: document_hash(d) for _, d in files})
            return list(known[1]), known[2]


def _read_files(settings: Settings) -> list[tuple[Path | None, Document]]:
    knowledge = Path(settings.knowledge_dir)
    files: list[tuple[Path | None, Document]] = list(
        load_document_files(knowledge, Path(settings.data_dir) / "cache" / "documents.pickle"))
    try:
        files += [(None, d) for d in profile_documents(knowledge / "wards", {d.id for _, d in files})]
    except WardProfileError as exc:
        raise KnowledgeError(f"Hồ sơ xã/phường {exc}. Hãy sửa ở trang Hồ sơ xã/phường.") from exc
    return files


_document_files = _DocumentFiles()


def document_files(settings: Settings) -> list[tuple[Path | None, Document]]:
    """Every document, disabled ones included, with its Markdown file (parse cache in the data folder); ward
    profiles follow as the documents the index makes of them (no Markdown file: they have their own form)."""
    return _document_files.get(settings)[0]


def passages_of(settings: Settings, doc_id: str) -> list[dict]:
    """The passages the live index serves for one document, in order; [] when it serves none."""
    version = store.current_version(Path(settings.data_dir))
    if version is None:
        return []
    try:
        return live_passages.get(Path(settings.data_dir), version).get(doc_id, [])
    except (OSError, ValueError):
        return []


def _state(doc: Document, indexed: dict[str, str], digest: str) -> str:
    if is_disabled(doc):
        return "disabling" if doc.id in indexed else "disabled"
    if doc.id not in indexed:
        return "not_indexed"
    return "indexed" if indexed[doc.id] == digest else "changed"


def row_of(doc: Document, path: Path | None, indexed: dict[str, str], chunks: int, digest: str) -> DocumentRow:
    return DocumentRow(doc.id, doc.title, doc.type, doc.number, display_date(doc.date), doc.ward, doc.city,
                       doc.period, chunks, _state(doc, indexed, digest), path, doc.type == PROCEDURE_TYPE)


def read_knowledge(settings: Settings) -> KnowledgeView:
    data_dir = Path(settings.data_dir)
    version = store.current_version(data_dir)
    manifest: store.Manifest | None = None
    counts: Counter[str] = Counter()
    titles: dict[str, dict] = {}
    problem = None
    if version is None:
        problem = "Chưa có chỉ mục: trợ lý chưa trả lời được. Hãy kiểm tra và xuất bản để tạo, hoặc báo bộ phận kỹ thuật."
    else:
        try:
            manifest = store.read_manifest(store.indexes_dir(data_dir) / version)
            for doc_id, chunks in live_passages.get(data_dir, version).items():
                counts[doc_id] = len(chunks)
                titles[doc_id] = chunks[0]
        except (OSError, ValueError, TypeError) as exc:
            problem = f"Không đọc được chỉ mục (phiên bản {version}): {type(exc).__name__}. Hãy báo bộ phận kỹ thuật."
    indexed = manifest.documents if manifest else {}

    rows: list[DocumentRow] = []
    try:
        files, hashes = _document_files.get(settings)
    except KnowledgeError as exc:
        files, hashes = [], {}
        problem = (problem + " " if problem else "") + without_paths(str(exc), settings)
    for path, doc in files:
        rows.append(row_of(doc, path, indexed, counts.get(doc.id, 0), hashes[doc.id]))
    on_disk = {d.id for _, d in files}
    for doc_id in sorted(set(indexed) - on_disk):
        c = titles.get(doc_id, {})
        rows.append(DocumentRow(doc_id, c.get("title", doc_id), c.get("doc_type"), None, display_date(c.get("date")),
                                c.get("ward"), None, None, counts.get(doc_id, 0), "removed",
                                procedure=c.get("doc_type") == PROCEDURE_TYPE))
    return KnowledgeView(version, manifest, rows, problem)
