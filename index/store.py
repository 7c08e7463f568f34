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


def current_version(data_dir: Path) -> str | None:
    shared = shared_pointer(data_dir)
    if shared is not None:  # many workers: the pointer is a database row (index.shared)
        return shared.current()
    return _local_version(data_dir)


def _local_version(data_dir: Path) -> str | None:
    pointer = data_dir / "CURRENT"
    if not pointer.exists():
        return None
    return pointer.read_text(encoding="utf-8").strip() or None


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


def publish(data_dir: Path, version: str, on_switched=None) -> None:
    """Point CURRENT at a validated version, mark states (new live, old retired), prune old versions.

    Refuses a version that was never validated. `on_switched` is a test hook between the pointer and the states.
    """
    state = version_state(data_dir, version)
    if state not in SERVABLE:
        raise IndexUnavailable(f"Phiên bản {version} chưa qua kiểm tra (trạng thái: {state or 'không rõ'}), "
                               "không đưa vào phục vụ.")
    previous = current_version(data_dir)
    _write_pointer(data_dir, version)
    if on_switched is not None:
        on_switched()
    set_state(data_dir, version, "live")
    if previous and previous != version:
        _retire(data_dir, previous)
    prune(data_dir)


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


# -- versions: states, list, roll back, prune (used by `cchc index build/refresh/rollback` and bot.live) ---
# building: written, not yet checked · validated: passed the checks · live: CURRENT points at it ·
# retired: was live, replaced (the only kind rollback goes to). A version without a state predates states.
STATES = ("building", "validated", "live", "retired")
SERVABLE = ("validated", "live", "retired")


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


# -- the live pointer: the CURRENT file, or (many workers, CCHC_DATABASE_URL) a shared one from index.shared ---
_SHARED: dict[Path, object] = {}


def share(data_dir: Path, pointer: object | None) -> None:
    """In this process, `pointer` (an index.shared.SharedPointer) is the live pointer of `data_dir`; None: the
    CURRENT file again. Set by `index.shared.attach(settings)`."""
    key = Path(data_dir).resolve()
    if pointer is None:
        _SHARED.pop(key, None)
    else:
        _SHARED[key] = pointer


def shared_pointer(data_dir: Path):
    return _SHARED.get(Path(data_dir).resolve()) if _SHARED else None


def _write_pointer(data_dir: Path, version: str, action: str = "publish") -> None:
    shared = shared_pointer(data_dir)
    if shared is not None:  # uploads the version if object storage is configured, then moves the database row
        shared.publish(version, action)
        return
    write_local_pointer(data_dir, version)


def write_local_pointer(data_dir: Path, version: str) -> None:
    tmp = data_dir / "CURRENT.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(version + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, data_dir / "CURRENT")
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full(data_dir) from exc
        raise


def version_state(data_dir: Path, version: str) -> str | None:
    try:
        return read_manifest(indexes_dir(data_dir) / version).extra.get("state")
    except (OSError, ValueError, TypeError):
        return None


def set_state(data_dir: Path, version: str, state: str) -> None:
    """Record a version's state in its manifest (atomic replace); `live` also stamps when it first served."""
    assert state in STATES, state
    path = indexes_dir(data_dir) / version / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    extra = data.setdefault("extra", {})
    extra["state"] = state
    if state in ("live", "retired"):  # only ever set on the version CURRENT points (or pointed) at
        from datetime import datetime, timezone

        extra.setdefault("live_since", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    tmp = path.with_name("manifest.json.tmp")
    try:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full(data_dir) from exc
        raise


def annotate(data_dir: Path, version: str, **fields) -> None:
    """Add facts about a version to its manifest (who published it and why), beside its state; atomic."""
    path = indexes_dir(data_dir) / version / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data.setdefault("extra", {}).update(fields)
    tmp = path.with_name("manifest.json.tmp")
    try:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full(data_dir) from exc
        raise


def _retire(data_dir: Path, version: str) -> None:
    """Mark the version that served until now; an unreadable or missing one is simply not a rollback target."""
    try:
        set_state(data_dir, version, "retired")
    except (OSError, ValueError, TypeError):
        pass


def _was_live(manifest: Manifest) -> bool:
    return manifest.extra.get("state") in ("live", "retired") and bool(manifest.extra.get("live_since"))


def list_versions(data_dir: Path) -> list[str]:
    """Complete versions on disk, oldest first (names are UTC timestamps)."""
    root = indexes_dir(data_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.endswith(".partial") and (p / "manifest.json").exists())


def version_states(data_dir: Path) -> dict[str, str | None]:
    """Every complete version and its state, oldest first."""
    return {v: version_state(data_dir, v) for v in list_versions(data_dir)}


def rollback_targets(data_dir: Path) -> list[str]:
    """Versions that were validated and served before (state retired), oldest first."""
    out = []
    for v in list_versions(data_dir):
        try:
            manifest = read_manifest(indexes_dir(data_dir) / v)
        except (OSError, ValueError, TypeError):
            continue
        if manifest.extra.get("state") == "retired" and _was_live(manifest):
            out.append(v)
    return out


def clean_leftovers(data_dir: Path) -> list[str]:
    """Repair what a killed build/refresh left; call with the refresh lock held. Returns removed folders.

    Removes `.partial` folders and versions never served (building, or validated but not published);
    CURRENT's version is marked live and any other `live` one retired (a kill between pointer and states).
    """
    root = indexes_dir(data_dir)
    if not root.is_dir():
        return []
    removed = []
    for p in sorted(root.iterdir()):
        if p.is_dir() and p.name.endswith(".partial"):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
    live = current_version(data_dir)
    if live and version_state(data_dir, live) in ("validated", "retired", None):
        try:
            set_state(data_dir, live, "live")
        except (OSError, ValueError, TypeError):
            pass  # unreadable: the build that follows replaces it
    for v, state in version_states(data_dir).items():
        if v == live:
            continue
        if state == "live":
            _retire(data_dir, v)
        elif state in ("building", "validated"):
            shutil.rmtree(root / v, ignore_errors=True)
            removed.append(v)
    return removed


def prune(data_dir: Path, keep: int = KEEP_VERSIONS) -> list[str]:
    """Keep the live version and the newest `keep - 1` versions rollback can go to; delete the rest.

    A version being built or checked right now is kept (its refresh holds the lock and removes it itself).
    """
    live = current_version(data_dir)
    targets = rollback_targets(data_dir)
    kept = set(targets[-(keep - 1):] if keep > 1 else []) | {live}
    removed = []
    for v, state in version_states(data_dir).items():
        if v in kept or state in ("building", "validated"):
            continue
        shutil.rmtree(indexes_dir(data_dir) / v, ignore_errors=True)
        removed.append(v)
    return removed


def pointer_state(data_dir: Path) -> tuple[str | None, int]:
    """(live version, mtime of the pointer in ns): cheap enough to poll before every question. A shared pointer
    gives (version, when it was published in ns)."""
    shared = shared_pointer(data_dir)
    if shared is not None:
        return shared.state()
    return local_pointer_state(data_dir)


def local_pointer_state(data_dir: Path) -> tuple[str | None, int]:
    pointer = data_dir / "CURRENT"
    try:
        stamp = pointer.stat().st_mtime_ns
    except OSError:
        return None, 0
    return _local_version(data_dir), stamp


def previous_version(data_dir: Path, version: str | None = None) -> str | None:
    """The version rollback would serve: the one live before `version` (default: the live one), if it is a
    version that was validated and served, and is still on disk."""
    version = version or current_version(data_dir)
    if version is None:
        return None
    targets = [v for v in rollback_targets(data_dir) if v != version]
    try:
        recorded = read_manifest(indexes_dir(data_dir) / version).extra.get("previous_version")
    except (OSError, ValueError, TypeError):
        recorded = None
    if recorded in targets:
        return recorded
    older = [v for v in targets if v < version]
    return older[-1] if older else None


def rollback(data_dir: Path) -> tuple[str, str]:
    """Serve again the version that was live before; nothing is deleted. Returns (from, to).

    Only a version that passed validation and served before can come back: never a leftover candidate.
    """
    live = current_version(data_dir)
    if live is None:
        raise IndexMissing(f"Chưa có chỉ mục trong {data_dir}: không có gì để quay lại.")
    target = previous_version(data_dir, live)
    if target is None:
        raise IndexUnavailable(f"Không còn phiên bản nào đã kiểm tra và từng phục vụ trước {live} trong "
                               f"{indexes_dir(data_dir)} để quay lại.")
    _write_pointer(data_dir, target, action="rollback")
    set_state(data_dir, target, "live")
    _retire(data_dir, live)
    return live, target


def remove_version(data_dir: Path, version: str) -> None:
    """Delete a version that failed validation; the live one is never removed."""
    if version == current_version(data_dir):
        raise IndexUnavailable(f"Phiên bản {version} đang phục vụ, không xoá.")
    shutil.rmtree(indexes_dir(data_dir) / version, ignore_errors=True)
