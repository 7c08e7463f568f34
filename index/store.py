"""Built indexes on disk: one folder per version, a manifest, and a CURRENT pointer switched atomically."""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np

from index.keyword import KeywordIndex
from index.types import Chunk

FORMAT_VERSION = 1
KEEP_VERSIONS = 3


class IndexUnavailable(RuntimeError):
    """The index cannot serve; the message tells the officer which command fixes it."""


class IndexMissing(IndexUnavailable):
    pass


class IndexIncompatible(IndexUnavailable):
    pass


@dataclass
class Manifest:
    format: int
    model: str
    dim: int
    chunk_size: int
    chunk_overlap: int
    documents: dict[str, str]  # doc id -> content hash
    chunk_count: int
    built_at: str
    build_seconds: float = 0.0
    embedded_now: int = 0
    extra: dict = field(default_factory=dict)


@dataclass
class StoredIndex:
    version: str
    path: Path
    manifest: Manifest
    chunks: list[Chunk]
    vectors: faiss.Index
    keyword: KeywordIndex


def indexes_dir(data_dir: Path) -> Path:
    return data_dir / "indexes"


def current_version(data_dir: Path) -> str | None:
    pointer = data_dir / "CURRENT"
    if not pointer.exists():
        return None
    return pointer.read_text(encoding="utf-8").strip() or None


def write_version(data_dir: Path, version: str, manifest: Manifest, chunks: list[Chunk],
                  vectors: np.ndarray, keyword: KeywordIndex) -> Path:
    """Write a complete index beside the live one; nothing is visible until `publish`."""
    target = indexes_dir(data_dir) / version
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    index = faiss.IndexFlatIP(manifest.dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(tmp / "vectors.faiss"))
    keyword.save(tmp / "keyword")
    with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
        for c in chunks:
            fh.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")
    (tmp / "manifest.json").write_text(json.dumps(asdict(manifest), ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.rename(target)
    return target


def publish(data_dir: Path, version: str) -> None:
    pointer = data_dir / "CURRENT"
    tmp = data_dir / "CURRENT.tmp"
    tmp.write_text(version + "\n", encoding="utf-8")
    os.replace(tmp, pointer)
    versions = sorted(p for p in indexes_dir(data_dir).iterdir() if p.is_dir() and not p.name.endswith(".partial"))
    for old in versions[:-KEEP_VERSIONS]:
        if old.name != version:
            shutil.rmtree(old, ignore_errors=True)


def read_manifest(path: Path) -> Manifest:
    data = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    return Manifest(**data)


def load(data_dir: Path, model_id: str) -> StoredIndex:
    version = current_version(data_dir)
    if version is None:
        raise IndexMissing(f"Chưa có chỉ mục trong {data_dir}. Hãy chạy: cchc index build")
    return load_version(data_dir, version, model_id)


def load_version(data_dir: Path, version: str, model_id: str) -> StoredIndex:
    """Any complete version, live or not: a refresh validates a new version before publishing it."""
    path = indexes_dir(data_dir) / version
    try:
        manifest = read_manifest(path)
    except (OSError, ValueError, TypeError) as exc:
        raise IndexIncompatible(
            f"Chỉ mục {path} bị hỏng hoặc thuộc định dạng cũ ({exc}). Hãy chạy: cchc index build --rebuild"
        ) from exc
    if manifest.format != FORMAT_VERSION:
        raise IndexIncompatible(
            f"Chỉ mục {path} có định dạng {manifest.format}, phiên bản này cần {FORMAT_VERSION}. "
            "Hãy chạy: cchc index build --rebuild"
        )
    from index.vietnamese import ANALYZER_VERSION

    if manifest.extra.get("analyzer") != ANALYZER_VERSION:
        raise IndexIncompatible(
            f"Chỉ mục {path} được tạo bằng bộ tách từ khoá cũ. Hãy chạy: cchc index build --rebuild"
        )
    if manifest.model != model_id:
        raise IndexIncompatible(
            f"Chỉ mục được tạo bằng mô hình '{manifest.model}', cấu hình hiện tại dùng '{model_id}'. "
            "Hãy chạy: cchc index build --rebuild (hoặc đặt lại CCHC_EMBEDDING_MODEL)."
        )
    try:
        vectors = faiss.read_index(str(path / "vectors.faiss"))
        keyword = KeywordIndex.load(path / "keyword")
        with open(path / "chunks.jsonl", encoding="utf-8") as fh:
            chunks = [Chunk(**json.loads(line)) for line in fh if line.strip()]
    except Exception as exc:  # faiss raises RuntimeError, json ValueError, bm25s various
        raise IndexIncompatible(f"Chỉ mục {path} bị hỏng ({exc}). Hãy chạy: cchc index build --rebuild") from exc
    if vectors.ntotal != len(chunks) or vectors.d != manifest.dim:
        raise IndexIncompatible(f"Chỉ mục {path} không khớp (vector/đoạn). Hãy chạy: cchc index build --rebuild")
    return StoredIndex(version, path, manifest, chunks, vectors, keyword)


# -- versions: list, inspect, roll back (used by `cchc index refresh/rollback` and bot.live) -----------
def list_versions(data_dir: Path) -> list[str]:
    """Complete versions on disk, oldest first (names are UTC timestamps)."""
    root = indexes_dir(data_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.endswith(".partial") and (p / "manifest.json").exists())


def pointer_state(data_dir: Path) -> tuple[str | None, int]:
    """(live version, mtime of the pointer in ns): cheap enough to poll before every question."""
    pointer = data_dir / "CURRENT"
    try:
        stamp = pointer.stat().st_mtime_ns
    except OSError:
        return None, 0
    return current_version(data_dir), stamp


def previous_version(data_dir: Path, version: str | None = None) -> str | None:
    """The version that was live before `version` (default: the live one), if still on disk."""
    version = version or current_version(data_dir)
    versions = list_versions(data_dir)
    if version is None:
        return None
    try:
        recorded = read_manifest(indexes_dir(data_dir) / version).extra.get("previous_version")
    except (OSError, ValueError, TypeError):
        recorded = None
    if recorded and recorded in versions and recorded != version:
        return recorded
    older = [v for v in versions if v < version]
    return older[-1] if older else None


def rollback(data_dir: Path) -> tuple[str, str]:
    """Switch the pointer back to the previous version; nothing is deleted. Returns (from, to)."""
    live = current_version(data_dir)
    if live is None:
        raise IndexMissing(f"Chưa có chỉ mục trong {data_dir}: không có gì để quay lại.")
    target = previous_version(data_dir, live)
    if target is None:
        raise IndexUnavailable(f"Không còn phiên bản nào trước {live} trong {indexes_dir(data_dir)} để quay lại.")
    pointer = data_dir / "CURRENT"
    tmp = data_dir / "CURRENT.tmp"
    tmp.write_text(target + "\n", encoding="utf-8")
    os.replace(tmp, pointer)
    return live, target


def remove_version(data_dir: Path, version: str) -> None:
    """Delete a version that failed validation; the live one is never removed."""
    if version == current_version(data_dir):
        raise IndexUnavailable(f"Phiên bản {version} đang phục vụ, không xoá.")
    shutil.rmtree(indexes_dir(data_dir) / version, ignore_errors=True)
