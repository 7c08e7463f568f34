"""An assistant that follows the published index: a refresh reaches a running bot without a restart.

`LiveAssistant.answer` looks at the CURRENT pointer at most every `check_seconds`; when it moved,
a fresh `Assistant` is loaded in a background thread (the embedding model is shared, only the
index is read) and swapped in with one assignment. A question already being answered keeps the
assistant it started with, so nothing fails mid-switch; a version that cannot be loaded is
logged and the old one keeps serving. Channels use it like `Assistant` (duck-typed `.answer`).

With `CCHC_DATABASE_URL` the pointer is the database row shared by every worker (index/shared.py): a watcher
thread polls it every `check_seconds` whether or not questions arrive, so an idle worker switches too, and no
citizen's question ever waits on the database; a version from object storage is downloaded and verified in the
background thread before the swap.

At most `max_concurrent_answers` questions are answered at once (`bot.flood.AnswerGate`, first come
first served, bounded waiting line; see there why this keeps one flooding chat from starving others).
"""
from __future__ import annotations

import logging
import threading
import time

from bot.answer import Assistant
from bot.flood import AnswerGate, gate_for
from bot.types import Answer
from index import store
from index.embed import Embedder, load_embedder
from index.settings import Settings, get_settings

log = logging.getLogger(__name__)
DEFAULT_CHECK_SECONDS = 10.0
RETRY_FAILED_S = 60.0  # shared pointer: a version that could not be loaded (corrupt download) is retried this often


class LiveAssistant:
    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None,
                 check_seconds: float | None = None, build_if_missing: bool = False,
                 show_progress: bool = False, gate: AnswerGate | None = None) -> None:
        self.settings = settings or get_settings()
        self.gate = gate or gate_for(self.settings)
        self.embedder = embedder or load_embedder(self.settings)
        self.check_seconds = float(check_seconds if check_seconds is not None
                                   else getattr(self.settings, "index_check_seconds", DEFAULT_CHECK_SECONDS))
        from index.shared import attach

        self.shared = attach(self.settings)  # None: the CURRENT file of this data dir (one machine)
        self._pointer = store.pointer_state(self.settings.data_dir)
        self._assistant = Assistant.load(self.settings, embedder=self.embedder, build_if_missing=build_if_missing,
                                         show_progress=show_progress)
        self.version: str | None = self._assistant.searcher.index.version
        self._checked_at = time.monotonic()
        self._lock = threading.Lock()
        self._loading: threading.Thread | None = None
        self.reloads = 0
        self.last_error: str | None = None
        self.switched_at: float | None = None  # wall time of the latest swap
        self._failed: tuple[tuple[str | None, int], float] | None = None  # (pointer, when) of a load that failed
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        if self.shared is not None:
            self._watcher = threading.Thread(target=self._watch, name="cchc-index-watch", daemon=True)
            self._watcher.start()

    # Evaluation and calibration read these from an Assistant.
    @property
    def assistant(self) -> Assistant:
        return self._assistant

    @property
    def searcher(self):
        return self._assistant.searcher

    def answer(self, question: str, **kwargs) -> Answer:
        if self._watcher is None:  # a shared pointer is polled by the watcher, never on a citizen's time
            self.maybe_reload()
        with self.gate.turn():
            assistant = self._assistant  # this question finishes on the assistant it started with
            return assistant.answer(question, **kwargs)

    def maybe_reload(self, wait: bool = False) -> None:
        """Start loading a newly published version if the pointer moved; `wait` blocks until swapped."""
        now = time.monotonic()
        if not wait and now - self._checked_at < self.check_seconds:
            return
        with self._lock:
            self._checked_at = now
            state = store.pointer_state(self.settings.data_dir)
            busy = self._loading is not None and self._loading.is_alive()
            failed = (self.shared is not None and self._failed is not None and self._failed[0] == state
                      and now - self._failed[1] < RETRY_FAILED_S)  # no download storm on a corrupt version
            if state == self._pointer or busy or state[0] is None or failed:
                thread = self._loading if busy else None
            else:
                thread = threading.Thread(target=self._load, args=(state,), name="cchc-index-reload", daemon=True)
                self._loading = thread
                thread.start()
        if wait and thread is not None:
            thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(max(self.check_seconds, 0.2)):
            try:
                self.maybe_reload(wait=True)
            except Exception as exc:  # a database or storage outage: keep serving, look again next time
                self.last_error = str(exc)
                log.warning("index pointer not checked: %s", exc)

    def close(self) -> None:
        """Stop watching the shared pointer (the assistant keeps answering from the version it has)."""
        self._stop.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(5)

    def _load(self, state: tuple[str | None, int]) -> None:
        version = state[0]
        try:
            index = store.load_version(self.settings.data_dir, version, self.embedder.model_id)
            from index.search import Searcher

            fresh = Assistant(self.settings, Searcher(index, self.embedder, self.settings.dense_weight))
        except Exception as exc:  # keep serving the old version; try again at the next check
            self.last_error = str(exc)
            self._failed = (state, time.monotonic())
            log.warning("index version %s not loaded, still serving %s: %s", version, self.version, exc)
            return
        self._assistant = fresh  # one reference assignment: atomic for the answering threads
        self.version = version
        self._pointer = state
        self.switched_at = time.time()
        self.reloads += 1
        self.last_error = None
        log.info("now serving index version %s", version)
