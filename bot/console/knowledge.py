"""Read-only view of what the bot knows: the live index's manifest and chunks, and the documents' metadata.

Nothing here loads FAISS or the model: it reads the files `index.store` wrote, and the knowledge
folder through `index.documents`, so the page also shows documents added but not yet indexed.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from index import store
from index.chunk import display_date
from index.documents import KnowledgeError, document_hash, load_documents
from index.settings import Settings


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
    state: str = "indexed"  # indexed | changed (edited since the build) | not_indexed | removed (only in the index)


@dataclass
class KnowledgeView:
    version: str | None
    manifest: store.Manifest | None
    documents: list[DocumentRow] = field(default_factory=list)
    problem: str | None = None  # why the index or the folder could not be read (Vietnamese)

    @property
    def needs_rebuild(self) -> bool:
        return any(d.state != "indexed" for d in self.documents)


def read_knowledge(settings: Settings) -> KnowledgeView:
    data_dir = Path(settings.data_dir)
    version = store.current_version(data_dir)
    manifest: store.Manifest | None = None
    counts: Counter[str] = Counter()
    titles: dict[str, dict] = {}
    problem = None
    if version is None:
        problem = "Chưa có chỉ mục: trợ lý chưa trả lời được. Hãy bấm “Xuất bản” để tạo, hoặc báo bộ phận kỹ thuật."
    else:
        path = store.indexes_dir(data_dir) / version
        try:
            manifest = store.read_manifest(path)
            with open(path / "chunks.jsonl", encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        c = json.loads(line)
                        counts[c["doc_id"]] += 1
                        titles.setdefault(c["doc_id"], c)
        except (OSError, ValueError, TypeError) as exc:
            problem = f"Không đọc được chỉ mục (phiên bản {version}): {type(exc).__name__}. Hãy báo bộ phận kỹ thuật."
    indexed_hashes = manifest.documents if manifest else {}

    rows: list[DocumentRow] = []
    try:
        docs = load_documents(Path(settings.knowledge_dir))
    except KnowledgeError as exc:
        docs = []
        problem = (problem + " " if problem else "") + str(exc)
    for d in docs:
        if d.id not in indexed_hashes:
            state = "not_indexed"
        elif indexed_hashes[d.id] != document_hash(d):
            state = "changed"
        else:
            state = "indexed"
        rows.append(DocumentRow(d.id, d.title, d.type, d.number, display_date(d.date), d.ward, d.city, d.period,
                                counts.get(d.id, 0), state))
    on_disk = {d.id for d in docs}
    for doc_id in sorted(set(indexed_hashes) - on_disk):
        c = titles.get(doc_id, {})
        rows.append(DocumentRow(doc_id, c.get("title", doc_id), c.get("doc_type"), None, display_date(c.get("date")),
                                c.get("ward"), None, None, counts.get(doc_id, 0), "removed"))
    return KnowledgeView(version, manifest, rows, problem)
