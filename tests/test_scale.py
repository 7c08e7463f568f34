"""Scale (issue 14 item 5): the synthetic benchmark runs, big indexes are HNSW, top-k vector search answers alike."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import faiss
import pytest

from index import store
from index.search import Searcher

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "kế hoạch tuyên truyền cải cách hành chính phường An Hải năm 2026",
    "số tổng đài hỗ trợ dịch vụ công là gì",
    "đăng nhập cổng dịch vụ công bằng tài khoản gì",
    "tuyen truyen cchc xa phu thai nam 2025",
    "cấp lại căn cước công dân bị mất cần giấy tờ gì",
    "đăng ký khai sinh cho con ở đâu",
]


def _copy(stored: store.StoredIndex, data_dir: Path, version: str) -> store.StoredIndex:
    manifest = replace(stored.manifest, extra=dict(stored.manifest.extra))
    vectors = stored.vectors.reconstruct_n(0, stored.vectors.ntotal)
    store.write_version(data_dir, version, manifest, stored.chunks, vectors, stored.keyword)
    return store.load_version(data_dir, version, stored.manifest.model)


def test_synthetic_benchmark_prints_the_table(tmp_path):
    out = subprocess.run([sys.executable, "scripts/benchmark.py", "--synthetic", "3000", "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "CCHC_DATA_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert "== 3,000 passages" in text
    for row in ("keyword (BM25)", "vectors", "chunk metadata", "keyword (any)", "dense (flat)", "hybrid (flat)",
                "dense (hnsw)", "hybrid (hnsw)", "recall@10"):
        assert row in text, row
    recall = text.split("passage-like")[1].splitlines()[1].split()
    assert recall[0] == "1024" and 0.8 <= float(recall[2].split("/")[1]) <= 1.0
    assert not list(tmp_path.glob("indexes/*")), "the benchmark must not touch the data dir"


def test_vectors_only_benchmark_compares_flat_and_hnsw(tmp_path):
    out = subprocess.run([sys.executable, "scripts/benchmark.py", "--synthetic", "5000", "--vectors-only",
                          "--queries", "5"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "CCHC_DATA_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "== 5,000 vectors" in out.stdout
    assert "faiss top-200 (flat)" in out.stdout and "faiss top-200 (hnsw)" in out.stdout
    recall = out.stdout.split("passage-like")[1].splitlines()[1].split()  # efSearch 512
    assert recall[0] == "512" and float(recall[2].split("/")[1]) >= 0.9


def test_index_past_the_threshold_is_hnsw_and_finds_what_flat_finds(stored_index, embedder, tmp_path,
                                                                     monkeypatch):
    flat = _copy(stored_index, tmp_path / "small", "v1")
    assert flat.manifest.extra["vector_index"] == "flat"
    assert isinstance(flat.vectors, faiss.IndexFlatIP)

    monkeypatch.setattr(store, "APPROXIMATE_FROM", 1000)  # the real threshold is tens of thousands
    approx = _copy(stored_index, tmp_path / "big", "v1")
    assert approx.manifest.extra["vector_index"] == "hnsw"
    assert isinstance(approx.vectors, faiss.IndexHNSWFlat)
    assert approx.vectors.ntotal == len(approx.chunks) == flat.vectors.ntotal
    assert approx.vectors.hnsw.efSearch == store.HNSW_EF_SEARCH

    exact, fast = Searcher(flat, embedder), Searcher(approx, embedder)
    for q in QUESTIONS:
        for mode in ("dense", "hybrid"):
            assert fast.search(q, 5, mode=mode)[0].chunk.id == exact.search(q, 5, mode=mode)[0].chunk.id, (q, mode)


def test_nearest_200_answer_as_scoring_every_passage(stored_index, embedder, assistant):
    """The searcher scores only the nearest K_DENSE vectors; on real questions the answers do not change."""
    every = Searcher(stored_index, embedder, assistant.searcher.dense_weight, k_dense=len(stored_index.chunks))
    nearest = Searcher(stored_index, embedder, assistant.searcher.dense_weight)
    assert nearest.k_dense < len(stored_index.chunks)
    for q in QUESTIONS:
        a, b = every.search(q, 5), nearest.search(q, 5)
        assert a[0].chunk.id == b[0].chunk.id, q
        assert all(h.dense_rank is not None and h.dense_rank >= 1 for h in b)
    answers = {}
    kept = assistant.searcher.k_dense
    try:
        for k in (every.k_dense, nearest.k_dense):
            assistant.searcher.k_dense = k
            answers[k] = [(ans.found, [c.doc_id for c in ans.citations][:1]) for ans in map(assistant.answer, QUESTIONS)]
    finally:
        assistant.searcher.k_dense = kept
    assert answers[every.k_dense] == answers[nearest.k_dense]
    assert sum(found for found, _ in answers[nearest.k_dense]) >= 4


@pytest.mark.parametrize("count,kind", [(10, "flat"), (10**6, "hnsw")])
def test_default_kind_by_size(count, kind):
    assert store.vector_index_kind(count) == kind


def test_fast_keyword_path_ranks_like_the_real_build(monkeypatch):
    """Past 100k passages the benchmark computes BM25 terms per distinct line; rankings must stay those of
    KeywordIndex.build, or the 1M keyword latency would measure another index."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_synthetic
    from index.keyword import KeywordIndex

    monkeypatch.setattr(bench_synthetic, "FAST_KEYWORD_FROM", 10)
    monkeypatch.setattr(bench_synthetic, "SAMPLE", 10)
    texts = ["Kế hoạch tuyên truyền cải cách hành chính\nphường An Hải năm 2026",
             "Thủ tục đăng ký khai sinh\ncho con tại UBND xã", "", "Cấp lại thẻ căn cước\nkhi bị mất"] * 10
    fast, _, how = bench_synthetic.keyword_index(texts)
    real = KeywordIndex.build(texts)
    assert how.startswith("extrapolated")
    for q in ("khai sinh", "tuyen truyen cai cach hanh chinh an hai", "can cuoc bi mat"):
        assert fast.scores(q).argmax() == real.scores(q).argmax()
        assert (fast.scores(q) > 0).sum() == (real.scores(q) > 0).sum() == 10
