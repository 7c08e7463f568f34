"""Built indexes on disk: one folder per version, a manifest, and a CURRENT pointer switched atomically.

This module writes and reads a version's folder; the pointer, states, publish, rollback and prune are in
`index.versions` (its names are re-exported here, so `store.publish(...)` keeps working).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np

from index.keyword import KeywordIndex
from index.types import Chunk

FORMAT_VERSION = 1
KEEP_VERSIONS = 3
# Past this many passages an exact (flat) vector search costs more than its share of the 150 ms answer budget
# (~30 ms p95): flat top-200 measured p95 28 ms at 50k on 2 busy cores (10-20 ms at 50-100k when quiet, 160 ms
# at 1M); HNSW 2-9 ms from 60k to 1M (`scripts/benchmark.py --synthetic N`). Smaller indexes stay exact.
APPROXIMATE_FROM = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 120  # 40 loses ~0.1 recall@10 on near-duplicate plans of many wards
HNSW_EF_SEARCH = 1024  # recall@10 0.98 at 60k, 0.87 at 1M (512: 0.97, 0.71) for ~3-4 ms p95; faiss uses
#                        max(efSearch, k)


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
    lexicon: object = None  # index.lexicon.Lexicon this version was built with (its copy), None for older ones


def indexes_dir(data_dir: Path) -> Path:
    return data_dir / "indexes"


def vector_index_kind(count: int) -> str:
    return "hnsw" if count >= APPROXIMATE_FROM else "flat"


def build_vector_index(vectors: np.ndarray, dim: int, kind: str) -> faiss.Index:
    """Inner product over unit vectors (cosine). "flat" is exact; "hnsw" is approximate and fast at scale."""
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        raise ValueError(f"unknown vector index kind {kind!r} (flat or hnsw)")
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_version(data_dir: Path, version: str, manifest: Manifest, chunks: list[Chunk],
                  vectors: np.ndarray, keyword: KeywordIndex, on_partial=None,
                  vector_index: str | None = None) -> Path:
    """Write a complete index beside the live one, in state `building`; nothing is visible until `publish`.

    The vector index is flat (exact) below APPROXIMATE_FROM passages and HNSW above, unless `vector_index` says.

    A full disk removes the partial folder and raises DiskFull; `on_partial` is a test hook (chaos kills there).
    """
    target = indexes_dir(data_dir) / version
    tmp = target.with_name(target.name + ".partial")
    manifest.extra["state"] = "building"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        kind = vector_index or vector_index_kind(len(vectors))
        manifest.extra["vector_index"] = kind
        faiss.write_index(build_vector_index(vectors, manifest.dim, kind), str(tmp / "vectors.faiss"))
        keyword.save(tmp / "keyword")
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for c in chunks:
                fh.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")
        (tmp / "manifest.json").write_text(json.dumps(asdict(manifest), ensure_ascii=False, indent=2),
                                           encoding="utf-8")
        if on_partial is not None:
            on_partial()
        tmp.rename(target)
    except BaseException as exc:  # Ctrl+C included: no partial folder is left behind
        full = isinstance(exc, Exception) and is_disk_full(exc, data_dir)  # before the cleanup frees space
        shutil.rmtree(tmp, ignore_errors=True)
        if full:
            raise disk_full(data_dir) from exc
        raise
    return target


def read_manifest(path: Path) -> Manifest:
    data = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    return Manifest(**data)


def load(data_dir: Path, model_id: str) -> StoredIndex:
    from index.versions import current_version

    version = current_version(data_dir)
    if version is None:
        raise IndexMissing(f"Chưa có chỉ mục trong {data_dir}. Hãy chạy: cchc index build")
    return load_version(data_dir, version, model_id)


def load_version(data_dir: Path, version: str, model_id: str) -> StoredIndex:
    """Any complete version, live or not: a refresh validates a new version before publishing it."""
    from index.versions import shared_pointer

    path = indexes_dir(data_dir) / version
    shared = shared_pointer(data_dir)
    if shared is not None and not (path / "manifest.json").exists():
        shared.fetch(version)  # from object storage, verified; raises IndexUnavailable when it cannot
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
    from index.lexicon import SNAPSHOT_DIR, LexiconError, load_complete, using
    from index.vietnamese import ANALYZER_VERSION, analyzer_version

    lexicon = None
    if (path / SNAPSHOT_DIR).is_dir():  # the word lists this version was published with
        try:
            lexicon = load_complete(path / SNAPSHOT_DIR)
        except LexiconError as exc:
            raise IndexIncompatible(f"Từ điển của chỉ mục {path} bị hỏng ({exc}).") from exc
    analyzer = ANALYZER_VERSION  # a version from before copies: the process's lists, whoever asks
    if lexicon is not None:
        with using(lexicon):
            analyzer = analyzer_version()
    if manifest.extra.get("analyzer") != analyzer:
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
        if isinstance(vectors, faiss.IndexHNSW):
            vectors.hnsw.efSearch = HNSW_EF_SEARCH
        keyword = KeywordIndex.load(path / "keyword")
        with open(path / "chunks.jsonl", encoding="utf-8") as fh:
            chunks = [Chunk(**json.loads(line)) for line in fh if line.strip()]
    except Exception as exc:  # faiss raises RuntimeError, json ValueError, bm25s various
        raise IndexIncompatible(f"Chỉ mục {path} bị hỏng ({exc}). Hãy chạy: cchc index build --rebuild") from exc
    if vectors.ntotal != len(chunks) or vectors.d != manifest.dim:
        raise IndexIncompatible(f"Chỉ mục {path} không khớp (vector/đoạn). Hãy chạy: cchc index build --rebuild")
    return StoredIndex(version, path, manifest, chunks, vectors, keyword, lexicon)


class DiskFull(IndexUnavailable):
    """No space left while writing a version; its partial folder has been removed."""


def is_disk_full(exc: BaseException, data_dir: Path | None = None) -> bool:
    """ENOSPC/EDQUOT, SQLite's "database or disk is full", or (libraries that hide errno, like faiss's
    RuntimeError) an error raised while the disk under `data_dir` has less than 1 MB left."""
    import errno
    import sqlite3

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower():
        return True
    if data_dir is not None and isinstance(exc, (OSError, RuntimeError)):
        try:
            return shutil.disk_usage(data_dir).free < 1024 * 1024
        except OSError:
            return False
    return False


def disk_full(data_dir: Path) -> DiskFull:
    try:
        free = f" (còn trống {shutil.disk_usage(data_dir).free / 1024 / 1024:.0f} MB)"
    except OSError:
        free = ""
    return DiskFull(f"Hết dung lượng đĩa khi ghi chỉ mục vào {data_dir}{free}. Đã xoá phần ghi dở; chỉ mục đang "
                    "phục vụ không đổi. Hãy giải phóng dung lượng (ví dụ xoá tệp cũ) rồi chạy lại "
                    "`cchc index refresh`.")


_VERSION_NAMES = frozenset((
    "STATES", "SERVABLE", "current_version", "_local_version", "share", "shared_pointer", "_SHARED", "_write_pointer",
    "write_local_pointer", "version_state", "set_state", "annotate", "_retire", "_was_live", "list_versions",
    "version_states", "rollback_targets", "clean_leftovers", "prune", "pointer_state", "local_pointer_state",
    "previous_version", "publish", "rollback", "remove_version",
))


def __getattr__(name: str):
    """`store.publish(...)` and friends keep working; loaded lazily since index.versions imports this module."""
    if name in _VERSION_NAMES:
        import index.versions

        value = getattr(index.versions, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
