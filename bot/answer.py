"""The answer core: understand → retrieve → decide → compose, one module each, plain values between them.

Channels call `Assistant.answer`; they never touch the index. The assistant loads the model, the
index and the procedure catalogue once and is safe to share between threads (read-only after start).
"""
from __future__ import annotations

import functools
import time

from bot.accents import AccentRestorer
from bot.compose import Composer
from bot.decide import PROCEDURE, Decider, Decision
from bot.policy import Policy
from bot.procedures import asked_fields as procedure_fields
from bot.retrieve import Retriever
from bot.types import Answer
from bot.understand import Understanding, understand
from index import store
from index.build import build_index
from index.chunk import PROCEDURE_TYPE
from index.embed import Embedder, load_embedder
from index.metadata import ward_key
from index.search import Mode, Searcher
from index.settings import Settings, get_settings
from index.lexicon import load_lexicon, using
from index.types import Hit


def _catalog(searcher: Searcher):
    """The national procedure catalogue of this index version, or None when it holds no procedures."""
    records = [c for c in searcher.chunks if c.doc_type == PROCEDURE_TYPE and c.meta]
    if not records:
        return None
    from bot.procedure_answers import catalog_from_chunks

    return catalog_from_chunks(records)


def _with_lexicon(method):
    """Run a stage with this index version's word lists (abbreviations, synonyms, procedure names): an
    officer's lexicon edit reaches answers with the version it was published in, and leaves with a rollback."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with using(self.lexicon):
            return method(self, *args, **kwargs)
    return run


CITIZEN_TEXT_WEIGHT = 5  # the lexicon examples count this many times against the documents' text


class Assistant:
    def __init__(self, settings: Settings, searcher: Searcher, policy: Policy | None = None) -> None:
        self.settings = settings
        self.searcher = searcher
        self.lexicon = getattr(searcher.index, "lexicon", None)  # None: an older version, the process's lists
        self.policy = policy or Policy.load(dense_weight=settings.dense_weight, found_threshold=settings.found_threshold,
                                            strict_threshold=settings.found_threshold_detail)
        searcher.dense_weight = self.policy.dense_weight
        with using(self.lexicon):
            self.retriever = Retriever(searcher, self.policy, _catalog(searcher))
        self.decider = Decider(searcher, self.policy)
        titles = {c.doc_id: c.title for c in searcher.chunks}
        superseded = dict(searcher.index.manifest.extra.get("superseded_by", {}))
        self.composer = Composer(self.policy, titles, superseded)
        # The documents' syllables, plus how citizens write: the lexicon's example messages (accented) teach the
        # chat words documents rarely use ("nào", "vậy", "mẹ"); measured on the eval questions' accented twins,
        # syllables restored right went from 78 % to 90 %.
        lexicon = self.lexicon or load_lexicon()
        citizens = [t for entries in lexicon.entries.values() for e in entries for t in (e.example, e.term)]
        self.accents = AccentRestorer([c.passage for c in searcher.chunks] + citizens * CITIZEN_TEXT_WEIGHT)
        self._cards = {c.doc_id: c for c in searcher.chunks if c.doc_type == PROCEDURE_TYPE}

    @classmethod
    def load(cls, settings: Settings | None = None, embedder: Embedder | None = None,
             build_if_missing: bool = False, show_progress: bool = False) -> "Assistant":
        settings = settings or get_settings()
        from index.shared import attach

        shared = attach(settings)  # CCHC_DATABASE_URL: the live version is the shared pointer's (index/shared.py)
        embedder = embedder or load_embedder(settings)
        try:
            index = store.load(settings.data_dir, embedder.model_id)
        except store.IndexMissing:
            if shared is not None:  # many workers: only an explicit `cchc index build` publishes the first one
                raise store.IndexMissing(
                    "Chưa có phiên bản chỉ mục nào được xuất bản vào CSDL dùng chung. Hãy chạy `cchc index build` "
                    "một lần trên máy xuất bản (máy có thư mục tri thức), rồi khởi động lại tiến trình này.") from None
            if not build_if_missing:
                raise
            build_index(settings, embedder=embedder, show_progress=show_progress)
            index = store.load(settings.data_dir, embedder.model_id)
        return cls(settings, Searcher(index, embedder, settings.dense_weight))

    # -- the four stages -----------------------------------------------------------------
    @_with_lexicon
    def understand(self, question: str) -> Understanding:
        u = understand(question, self.settings.max_question_chars, self.retriever.ward_names,
                       rewrite=self.searcher.correct, cities=set(self.retriever.city_names))
        if u.kind == "question":
            u.restored = self.accents.restore(" ".join(u.text.split()[:40]))
            u.procedure_fields = procedure_fields(u.text)
            u.procedure_field = u.procedure_fields[0] if u.procedure_fields else None
        return u

    @_with_lexicon
    def retrieve(self, question: str, mode: Mode = "hybrid", k: int | None = None) -> list[Hit]:
        """Passages for a question (used by tests and the console); the full turn is `answer`."""
        u = self.understand(question)
        return self.retriever.retrieve(u, mode=mode, k=k or self.settings.top_k).hits

    @_with_lexicon
    def answer(self, question: str, mode: Mode = "hybrid", ward: str | None = None, procedure: str | None = None,
               fields: list[str] | None = None) -> Answer:
        """`ward`: the citizen's ward (remembered by the conversation), preferred when the question names none.
        `procedure` + `fields`: the citizen picked a procedure code from a choice, or asked a follow-up about it."""
        started = time.perf_counter()
        u = self.understand(question)
        if ward and u.kind == "question" and not u.wards:  # any name it goes by (a former one too), unit or not
            key = ward_key(ward) or ""
            u.wards = {ward_key(self.retriever.ward_names.get(key, key)) or key}
        picked = self.retriever.catalog.get(procedure) if procedure and self.retriever.catalog else None
        if picked is not None and u.kind == "question":
            asked = list(fields or u.procedure_fields)
            decision = Decision(True, PROCEDURE, "procedure_picked", f"Người dân đã chọn thủ tục “{picked.title}”; "
                                "trợ lý trả lời từ hồ sơ thủ tục đó.", coverage=1.0, procedures=[picked],
                                field=asked[0] if asked else None, fields=asked)
            answer = self.composer.compose(question, decision)
            answer.decision = decision
            total = round((time.perf_counter() - started) * 1000, 1)
            answer.timings_ms = {"retrieve": 0.0, "compose": total, "total": total}
            answer.debug = {"coverage": 1.0, "hits": [Hit(self._cards[picked.code], 1.0)] if picked.code in self._cards
                            else [], "understood": u.restored, "rule": decision.rule, "procedures": [picked]}
            return answer
        if u.kind != "question":
            answer = Answer(question, u.reply or "", u.kind == "smalltalk", kind=u.kind, body=u.reply or "")
            answer.decision = self.decider.decide(u, None)  # type: ignore[arg-type]
            answer.timings_ms = {"retrieve": 0.0, "compose": 0.0,
                                 "total": round((time.perf_counter() - started) * 1000, 1)}
            return answer
        found = self.retriever.retrieve(u, mode=mode, k=self.settings.top_k)
        retrieved = time.perf_counter()
        decision: Decision = self.decider.decide(u, found)
        answer = self.composer.compose(question, decision)
        done = time.perf_counter()
        answer.decision = decision
        answer.timings_ms = {
            "retrieve": round((retrieved - started) * 1000, 1),
            "compose": round((done - retrieved) * 1000, 1),
            "total": round((done - started) * 1000, 1),
        }
        hits = found.hits
        if decision.procedures and decision.found:  # the procedures considered are the evidence shown
            hits = [Hit(self._cards[m.code], m.score) for m in decision.procedures if m.code in self._cards] + hits
        answer.debug = {"coverage": round(decision.coverage, 3), "hits": hits, "understood": u.restored,
                        "rule": decision.rule, "procedures": found.procedures}
        return answer
