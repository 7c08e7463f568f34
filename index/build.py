"""Build the index from the knowledge folder: load → chunk → embed (cached) → BM25 + FAISS → publish."""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from tqdm import tqdm

from index import store
from index.chunk import CHUNKER_VERSION, chunk_documents
from index.documents import document_hash, load_documents
from index.ingest import superseded_by
from index.embed import Embedder, EmbeddingCache, embed_passages_cached, load_embedder, shipped_vectors_path
from index.keyword import KeywordIndex
from index.settings import Settings
from index.lexicon import SNAPSHOT_DIR, fingerprint, lexicon_dir, load_complete, snapshot, using
from index.vietnamese import analyzer_version


@dataclass
class BuildReport:
    version: str | None
    documents: int
    chunks: int
    embedded_now: int
    seconds: float
    up_to_date: bool = False
    lexicon_problem: str | None = None  # a broken procedure word list, left out of this version


def _params(settings: Settings, model_id: str) -> tuple:
    return (store.FORMAT_VERSION, model_id, settings.chunk_size, settings.chunk_overlap)


def build_index(settings: Settings, rebuild: bool = False, embedder: Embedder | None = None,
                show_progress: bool = True) -> BuildReport:
    """Under the refresh lock: a build and a refresh never write versions at the same time."""
    from index.refresh import refresh_lock
    from index.shared import attach

    attach(settings)  # CCHC_DATABASE_URL: publish through the shared pointer (and object storage)
    with refresh_lock(settings.data_dir):
        store.clean_leftovers(settings.data_dir)  # what a killed build or refresh left behind
        return _build_index(settings, rebuild, embedder, show_progress)


def _build_index(settings: Settings, rebuild: bool, embedder: Embedder | None, show_progress: bool) -> BuildReport:
    started = time.perf_counter()
    docs = load_documents(settings.knowledge_dir, settings.data_dir / "cache" / "documents.pickle")
    hashes = {d.id: document_hash(d) for d in docs}
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    cache_path = data_dir / "cache" / "embeddings.sqlite"
    if rebuild:
        shutil.rmtree(cache_path.parent, ignore_errors=True)
    embedder = embedder or load_embedder(settings)
    words = lexicon_dir()  # the word lists as edited now: this version is built with them and keeps a copy
    lexicon, lexicon_print = load_complete(words), fingerprint(words)

    live = store.current_version(data_dir)
    if live and not rebuild:
        try:
            manifest = store.read_manifest(store.indexes_dir(data_dir) / live)
            same = (manifest.format, manifest.model, manifest.chunk_size, manifest.chunk_overlap)
            analyzer = manifest.extra.get("analyzer")
            with using(lexicon):
                same_words = analyzer == analyzer_version() and manifest.extra.get("lexicon") == lexicon_print
                same_words = same_words and manifest.extra.get("chunker", 1) == CHUNKER_VERSION
            if same == _params(settings, embedder.model_id) and manifest.documents == hashes and same_words:
                return BuildReport(live, len(docs), manifest.chunk_count, 0, time.perf_counter() - started, True,
                                   lexicon.problem)
        except (OSError, ValueError, TypeError):
            pass  # unreadable live index: build a fresh one

    chunks = chunk_documents(docs, settings.chunk_size, settings.chunk_overlap)
    cache = EmbeddingCache(cache_path, shipped=shipped_vectors_path(settings.knowledge_dir, embedder.model_id))
    try:
        with tqdm(total=len(chunks), desc="Nhúng đoạn văn", unit="đoạn", disable=not show_progress) as bar:
            vectors, embedded = embed_passages_cached(embedder, [c.text for c in chunks], cache, bar.update)
    finally:
        cache.close()
    with using(lexicon):
        keyword = KeywordIndex.build([c.text for c in chunks])
        analyzer = analyzer_version()
    version = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    seconds = time.perf_counter() - started
    manifest = store.Manifest(
        format=store.FORMAT_VERSION, model=embedder.model_id, dim=embedder.dim,
        chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap, documents=hashes,
        chunk_count=len(chunks), built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        build_seconds=round(seconds, 2), embedded_now=embedded,
        extra={"superseded_by": superseded_by(docs), "analyzer": analyzer, "lexicon": lexicon_print,
               "chunker": CHUNKER_VERSION},
    )
    store.write_version(data_dir, version, manifest, chunks, vectors, keyword)
    snapshot(words, store.indexes_dir(data_dir) / version / SNAPSHOT_DIR)
    store.set_state(data_dir, version, "validated")  # an officer's explicit full build is its own check
    store.publish(data_dir, version)
    return BuildReport(version, len(docs), len(chunks), embedded, seconds, lexicon_problem=lexicon.problem)
