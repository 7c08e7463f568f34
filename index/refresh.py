"""Incremental refresh: build a new index version beside the live one, check it, then switch.

Only new or changed documents are chunked; a passage whose text is already in the live index
(or in the vector cache) keeps its vector, so one edited plan costs a few embeddings instead of
a full rebuild. Before the CURRENT pointer moves, the new version must pass three checks: sane
document and chunk counts, every document found by its own title in the top 5, and answer
accuracy on the eval set not worse than the live version beyond a tolerance. A failure deletes
the candidate, leaves the live index serving and says why.

Each version records its state in its manifest (building → validated → live → retired, see
`index.store`): a run killed at any point leaves at most a `building` or unpublished folder, which
the next run (or build, or rollback) removes under the same lock, and rollback only ever returns
to a version that passed the checks and served before. A full disk is reported as such and the
candidate removed.
"""
from __future__ import annotations

import fcntl
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index import store
from index.checks import check_counts, check_titles, eval_report
from index.chunk import CHUNKER_VERSION, chunk_document
from index.documents import document_hash, load_documents
from index.embed import Embedder, EmbeddingCache, embed_passages_cached, load_embedder, shipped_vectors_path
from index.ingest import superseded_by
from index.lexicon import SNAPSHOT_DIR, active, fingerprint, lexicon_dir, load_complete, snapshot, using
from index.vietnamese import analyzer_version
from index.keyword import KeywordIndex
from index.settings import PROJECT_ROOT, Settings
from index.shared import attach
from index.types import Chunk, Document

DEFAULT_TOLERANCE = 0.02  # answer accuracy may drop by at most this much (eval noise on ~130 questions)
DEFAULT_EVAL_FILE = PROJECT_ROOT / "tests" / "eval" / "dev" / "questions.yaml"


# Called with the stage name ("building" with the partial folder written, "validating", "publishing",
# "switched" after the pointer moved): scripts/chaos.py and the tests kill the process there with SIGKILL.
STAGE_HOOK: Callable[[str], None] | None = None


class RefreshBusy(store.IndexUnavailable):
    """Another refresh holds the lock (a scheduled run and a manual one at the same time)."""


def _stage(name: str) -> None:
    if STAGE_HOOK is not None:
        STAGE_HOOK(name)


@dataclass
class RefreshReport:
    version: str | None  # the version serving after this call
    previous: str | None  # the version that served before
    published: bool
    up_to_date: bool = False
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    documents: int = 0
    chunks: int = 0
    embedded_now: int = 0  # passages the model embedded in this refresh
    reused: int = 0  # passages whose vector came from the live index or the cache
    seconds: float = 0.0
    validate_seconds: float = 0.0
    checks: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # why the new version was not published
    candidate: str | None = None  # `prepare`: the checked version waiting for a person's decision
    lexicon_changed: bool = False  # the word lists (knowledge/lexicon) differ from the live version's copy
    eval_reports: dict = field(default_factory=dict, repr=False)  # "live"/"new" -> bot.evaluate.Report


def tolerance_of(settings: Settings) -> float:
    return float(getattr(settings, "refresh_tolerance", DEFAULT_TOLERANCE))


def eval_file_of(settings: Settings) -> Path | None:
    configured = getattr(settings, "refresh_eval_file", None)
    path = Path(configured) if configured else DEFAULT_EVAL_FILE
    return path if path.is_file() else None


class QueryCachingEmbedder:
    """Validation asks the same questions every time: keep their vectors in the SQLite cache."""

    def __init__(self, embedder: Embedder, cache: EmbeddingCache) -> None:
        self._embedder = embedder
        self._cache = cache
        self.model_id = embedder.model_id
        self.dim = embedder.dim

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._cache.key("query\x00" + t) for t in texts]
        model = self.model_id + "#query"
        known = self._cache.get(model, keys)
        todo = [i for i, k in enumerate(keys) if k not in known]
        if todo:
            vectors = self._embedder.embed_queries([texts[i] for i in todo])
            fresh = {keys[i]: v for i, v in zip(todo, vectors)}
            self._cache.put(model, fresh)
            known.update(fresh)
        return np.vstack([known[k] for k in keys]).astype(np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embedder.embed_passages(texts)


@contextmanager
def refresh_lock(data_dir: Path) -> Iterator[None]:
    """One build/refresh/publish/rollback at a time on this data dir, and (shared pointer, index/shared.py) in
    the whole deployment: publishers on other machines take turns on a PostgreSQL advisory lock."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "refresh.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RefreshBusy(f"Một lần làm mới chỉ mục khác đang chạy trên {data_dir}; hãy thử lại sau.") from exc
        try:
            shared = store.shared_pointer(data_dir)
            with (shared.exclusive() if shared is not None else nullcontext(True)) as got:
                if not got:
                    raise RefreshBusy("Một lần làm mới hoặc xuất bản chỉ mục khác đang chạy trên máy khác (CSDL dùng "
                                      "chung); hãy thử lại sau.")
                yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _same_params(manifest: store.Manifest, settings: Settings, model_id: str) -> bool:
    """Whether the live version's chunks and vectors can be reused (the word lists only shape BM25, which is
    rebuilt every time; `store.load_version` already checked the version against its own lexicon)."""
    return (manifest.format, manifest.model, manifest.chunk_size, manifest.chunk_overlap) == (
        store.FORMAT_VERSION, model_id, settings.chunk_size, settings.chunk_overlap)


def _live_index(settings: Settings, model_id: str) -> tuple[store.StoredIndex | None, str | None]:
    """The serving index if a refresh can reuse it; else None and the reason."""
    version = store.current_version(settings.data_dir)
    if version is None:
        return None, "chưa có chỉ mục"
    try:
        live = store.load_version(settings.data_dir, version, model_id)
    except store.IndexUnavailable as exc:
        return None, str(exc)
    if not _same_params(live.manifest, settings, model_id):
        return None, "tham số chia đoạn đã đổi"
    return live, None


def assemble(docs: list[Document], settings: Settings, embedder: Embedder, live: store.StoredIndex | None,
             cache: EmbeddingCache, show_progress: bool) -> tuple[list[Chunk], np.ndarray, int, int]:
    """Chunks and vectors for `docs`: unchanged documents copied from `live`, the rest chunked and embedded.

    Returns (chunks, vectors, embedded by the model now, reused).
    """
    live_hashes = live.manifest.documents if live else {}
    live_by_doc: dict[str, list[int]] = {}
    live_vectors = np.zeros((0, embedder.dim), np.float32)
    if live is not None:
        for i, c in enumerate(live.chunks):
            live_by_doc.setdefault(c.doc_id, []).append(i)
        live_vectors = live.vectors.reconstruct_n(0, live.vectors.ntotal) if live.vectors.ntotal else live_vectors
    by_text = {c.text: i for i, c in enumerate(live.chunks)} if live else {}

    chunks: list[Chunk] = []
    rows: list[np.ndarray | None] = []
    for doc in docs:
        if live is not None and live_hashes.get(doc.id) == document_hash(doc) and doc.id in live_by_doc:
            for i in live_by_doc[doc.id]:
                chunks.append(live.chunks[i])
                rows.append(live_vectors[i])
            continue
        for c in chunk_document(doc, settings.chunk_size, settings.chunk_overlap):
            chunks.append(c)
            i = by_text.get(c.text)
            rows.append(live_vectors[i] if i is not None else None)
    todo = [i for i, r in enumerate(rows) if r is None]
    embedded = 0
    if todo:
        with tqdm(total=len(todo), desc="Nhúng đoạn mới", unit="đoạn", disable=not show_progress) as bar:
            vectors, embedded = embed_passages_cached(embedder, [chunks[i].text for i in todo], cache, bar.update)
        for i, v in zip(todo, vectors):
            rows[i] = v
    matrix = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, embedder.dim), np.float32)
    return chunks, matrix, embedded, len(chunks) - embedded


# ----------------------------------------------------------------------------------- checks
def validate(candidate: store.StoredIndex, live: store.StoredIndex | None, docs: list[Document],
             removed: list[str], settings: Settings, embedder: Embedder, tolerance: float,
             run_eval: bool = True, show_progress: bool = False, eval_file: Path | None = None,
             reports: dict | None = None) -> tuple[list[str], dict]:
    """Problems that forbid publishing `candidate` (empty list: publish) and the measured figures.

    `eval_file` replaces the configured eval set; `reports`, when given, receives the per-question results
    ("new", "live") so a person can see which answers the change moves."""
    reports = {} if reports is None else reports
    checks: dict = {}
    steps = tqdm(total=3, desc="Kiểm tra phiên bản mới", unit="bước", disable=not show_progress)
    problems = check_counts(candidate, docs, live, removed)
    checks["documents"], checks["chunks"] = len(candidate.manifest.documents), len(candidate.chunks)
    steps.update(1)
    changed = None if live is None else {d for d, h in candidate.manifest.documents.items()
                                         if live.manifest.documents.get(d) != h}
    missing = check_titles(candidate, embedder, settings, changed)
    if missing and live is not None:
        # A document the live version could not find by title either is old news, not a reason to block.
        already = set(check_titles(live, embedder, settings, set(missing)))
        checks["not_found_by_title_before"] = sorted(already)
        missing = [d for d in missing if d not in already]
    checks["not_found_by_title"] = missing
    if missing:
        problems.append(f"Không tìm thấy văn bản theo chính tiêu đề của nó (ngoài top 5): {', '.join(missing)}. "
                        "Hãy kiểm tra tiêu đề và nội dung ở phần đầu tệp.")
    steps.update(1)
    eval_file = eval_file if eval_file is not None and Path(eval_file).is_file() else eval_file_of(settings)
    if run_eval and eval_file is not None:
        from bot.evaluate import load_items

        items = load_items(eval_file)
        embedder.embed_queries([i.question for i in items])  # one batch warms the query cache
        reports["new"] = eval_report(candidate, embedder, settings, items)
        new = checks["eval_new"] = reports["new"].metrics()
        if live is not None:
            reports["live"] = eval_report(live, embedder, settings, items)
            old = checks["eval_live"] = reports["live"].metrics()
            if (new["answer_accuracy"] or 0) < (old["answer_accuracy"] or 0) - tolerance:
                problems.append(
                    f"Độ chính xác trên bộ câu hỏi kiểm tra giảm từ {old['answer_accuracy']:.3f} xuống "
                    f"{new['answer_accuracy']:.3f} (cho phép giảm tối đa {tolerance:.3f}).")
    elif run_eval:
        checks["eval_skipped"] = "không tìm thấy tệp câu hỏi kiểm tra"
    steps.update(1)
    steps.close()
    return problems, checks


# ---------------------------------------------------------------------------------- refresh
class CandidateGone(store.IndexUnavailable):
    """The checked version waiting for a person's decision is gone or no longer matches what it was checked
    against (another refresh ran, the knowledge folder changed): it must be checked again."""


def refresh(settings: Settings, embedder: Embedder | None = None, show_progress: bool = True,
            tolerance: float | None = None, run_eval: bool = True) -> RefreshReport:
    """Publish a validated new version if the knowledge folder changed; never breaks the live one."""
    return _refresh(settings, embedder, show_progress, tolerance, run_eval, None, publish_now=True)


def prepare(settings: Settings, embedder: Embedder | None = None, show_progress: bool = False,
            tolerance: float | None = None, eval_file: Path | None = None) -> RefreshReport:
    """Build and check a new version as `refresh` does, but leave it unpublished for a person to compare.

    A version that passed the checks stays on disk in state `validated` (`report.candidate`); either way
    `report.eval_reports` holds every eval question's result on the live and the new version. Publish the
    candidate with `publish_prepared` or drop it with `discard_prepared`; any later build, refresh or rollback
    also removes it (it was never served)."""
    return _refresh(settings, embedder, show_progress, tolerance, True, eval_file, publish_now=False)


def _refresh(settings: Settings, embedder: Embedder | None, show_progress: bool, tolerance: float | None,
             run_eval: bool, eval_file: Path | None, publish_now: bool) -> RefreshReport:
    started = time.perf_counter()
    data_dir = settings.data_dir
    tolerance = tolerance_of(settings) if tolerance is None else tolerance
    attach(settings)  # CCHC_DATABASE_URL: publish through the shared pointer (and object storage)
    with refresh_lock(data_dir), tempfile.TemporaryDirectory(prefix="cchc-lexicon-") as words:
        cleaned = store.clean_leftovers(data_dir)  # a killed run's candidate is never kept, never served
        docs = load_documents(settings.knowledge_dir, settings.data_dir / "cache" / "documents.pickle")
        snapshot(lexicon_dir(), Path(words))  # the word lists as edited now, fixed for this run
        lexicon = load_complete(Path(words))  # a broken abbreviation or synonym stops the run here
        embedder = embedder or load_embedder(settings)
        live, why_full = _live_index(settings, embedder.model_id)
        previous = live.version if live else store.current_version(data_dir)
        hashes = {d.id: document_hash(d) for d in docs}
        old = live.manifest.documents if live else {}
        report = RefreshReport(
            version=previous, previous=previous, published=False,
            added=[d for d in hashes if d not in old],
            changed=[d for d in hashes if d in old and old[d] != hashes[d]],
            removed=[d for d in old if d not in hashes],
            documents=len(docs),
        )
        report.lexicon_changed = live is not None and live.manifest.extra.get("lexicon") != fingerprint(Path(words))
        if live is not None and old == hashes and not report.lexicon_changed:
            report.up_to_date, report.chunks = True, len(live.chunks)
            report.seconds = time.perf_counter() - started
            return report
        if why_full:
            report.checks["full_build"] = why_full
        if cleaned:
            report.checks["cleaned"] = cleaned

        version = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        try:
            with using(lexicon):  # the candidate is built and checked with the new word lists
                _build_and_check(settings, docs, embedder, live, report, version, hashes, previous, tolerance,
                                 run_eval, show_progress, started, eval_file)
            if publish_now and report.candidate:
                _stage("publishing")
                store.publish(data_dir, version, on_switched=lambda: _stage("switched"))
                report.version, report.published, report.candidate = version, True, None
            report.seconds = time.perf_counter() - started
            return report
        except BaseException as exc:  # Ctrl+C included: a candidate that did not go live is removed now
            full = isinstance(exc, Exception) and store.is_disk_full(exc, data_dir)
            if version != store.current_version(data_dir):
                store.remove_version(data_dir, version)  # (write_version already removed its partial folder)
            if full:
                raise store.disk_full(data_dir) from exc
            raise


def _build_and_check(settings: Settings, docs: list[Document], embedder: Embedder,
                     live: store.StoredIndex | None, report: RefreshReport, version: str, hashes: dict,
                     previous: str | None, tolerance: float, run_eval: bool, show_progress: bool,
                     started: float, eval_file: Path | None) -> None:
    """Write the candidate (state building) and check it: marked validated (`report.candidate`) or removed."""
    data_dir = settings.data_dir
    cache = EmbeddingCache(data_dir / "cache" / "embeddings.sqlite",
                           shipped=shipped_vectors_path(settings.knowledge_dir, embedder.model_id))
    try:
        chunks, vectors, embedded, reused = assemble(docs, settings, embedder, live, cache, show_progress)
        keyword = KeywordIndex.build([c.text for c in chunks])
        manifest = store.Manifest(
            format=store.FORMAT_VERSION, model=embedder.model_id, dim=embedder.dim,
            chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap, documents=hashes,
            chunk_count=len(chunks), built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            build_seconds=round(time.perf_counter() - started, 2), embedded_now=embedded,
            extra={"previous_version": previous, "superseded_by": superseded_by(docs),
                   "analyzer": analyzer_version(), "lexicon": fingerprint(active().directory), "chunker": CHUNKER_VERSION,
                   "refresh": {"added": report.added, "changed": report.changed, "removed": report.removed}},
        )
        store.write_version(data_dir, version, manifest, chunks, vectors, keyword,
                            on_partial=lambda: _stage("building"))
        snapshot(active().directory, store.indexes_dir(data_dir) / version / SNAPSHOT_DIR)
        report.chunks, report.embedded_now, report.reused = len(chunks), embedded, reused

        checked = time.perf_counter()
        _stage("validating")
        try:
            candidate = store.load_version(data_dir, version, embedder.model_id)
            problems, checks = validate(candidate, live, docs, report.removed, settings,
                                        QueryCachingEmbedder(embedder, cache), tolerance, run_eval, show_progress,
                                        eval_file, report.eval_reports)
        except Exception as exc:  # a candidate that cannot even be checked is not published
            if store.is_disk_full(exc, data_dir):
                raise
            problems, checks = [f"Không kiểm tra được phiên bản mới: {exc}"], {}
        report.validate_seconds = time.perf_counter() - checked
        report.checks.update(checks)
    finally:
        cache.close()

    if problems:
        store.remove_version(data_dir, version)
        report.problems = problems
    else:
        store.set_state(data_dir, version, "validated")
        report.candidate = version


def publish_prepared(settings: Settings, version: str, **note) -> str | None:
    """Publish a candidate `prepare` left, if it still matches the live version and the knowledge folder it
    was checked against; `note` (who published it, a summary) is kept in its manifest. Returns the version
    that served before. A stale candidate is removed and CandidateGone raised."""
    data_dir = settings.data_dir
    attach(settings)
    with refresh_lock(data_dir):
        if store.version_state(data_dir, version) != "validated":
            raise CandidateGone("Phiên bản chờ xuất bản không còn nữa (có thể vừa có một lần làm mới khác). "
                                "Hãy kiểm tra lại thay đổi.")
        manifest = store.read_manifest(store.indexes_dir(data_dir) / version)
        previous = store.current_version(data_dir)
        stale = None
        if manifest.extra.get("previous_version") != previous:
            stale = "Phiên bản đang phục vụ đã đổi từ lúc kiểm tra."
        else:
            docs = load_documents(settings.knowledge_dir, settings.data_dir / "cache" / "documents.pickle")
            if {d.id: document_hash(d) for d in docs} != manifest.documents:
                stale = "Kho tri thức đã thay đổi từ lúc kiểm tra."
            elif fingerprint(lexicon_dir()) != manifest.extra.get("lexicon"):
                stale = "Từ điển đã thay đổi từ lúc kiểm tra."
        if stale:
            store.remove_version(data_dir, version)
            raise CandidateGone(f"{stale} Phiên bản chờ đã được huỷ; hãy kiểm tra lại thay đổi.")
        if note:
            store.annotate(data_dir, version, **note)
        _stage("publishing")
        store.publish(data_dir, version, on_switched=lambda: _stage("switched"))
    return previous


def discard_prepared(settings: Settings, version: str) -> bool:
    """Remove a candidate that was never published; False when there was none to remove."""
    attach(settings)
    with refresh_lock(settings.data_dir):
        if version == store.current_version(settings.data_dir) or \
                store.version_state(settings.data_dir, version) != "validated":
            return False
        store.remove_version(settings.data_dir, version)
        return True


@dataclass
class RollbackReport:
    from_version: str
    to_version: str
    differing: list[str]  # documents whose knowledge file differs from the version now serving


def rollback(settings: Settings) -> RollbackReport:
    """Serve the previous version again; say which documents the next refresh would bring back."""
    attach(settings)
    with refresh_lock(settings.data_dir):
        store.clean_leftovers(settings.data_dir)  # settles states a killed publish left half-written
        old, new = store.rollback(settings.data_dir)
    try:
        served = store.read_manifest(store.indexes_dir(settings.data_dir) / new).documents
        cache = settings.data_dir / "cache" / "documents.pickle"
        docs = {d.id: document_hash(d) for d in load_documents(settings.knowledge_dir, cache)}
        differing = sorted({d for d in docs if served.get(d) != docs[d]} | {d for d in served if d not in docs})
    except Exception:  # the rollback itself succeeded; the hint is best effort
        differing = []
    return RollbackReport(old, new, differing)
