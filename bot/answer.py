"""The answer core: question in, a short cited Vietnamese answer (or an honest "not found") out.

Channels call `Assistant.answer`; they never touch the index. The assistant loads the model and
the index once and is safe to share between threads (all state is read-only after start).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

from bot import replies
from bot.compose import asks_office_info, asks_procedure_detail, excerpt, lead_in, section_leaf, select_sentences
from bot.intents import read
from bot.types import Answer, Citation
from index import store
from index.build import build_index
from index.embed import Embedder, load_embedder
from index.metadata import ward_key
from index.search import Mode, Searcher
from index.settings import Settings, get_settings
from index.types import Hit
from index.vietnamese import fold

RE_YEAR = re.compile(r"\b(20[2-3]\d)\b")


@dataclass
class Place:
    """Which wards and years a question names."""

    wards: set[str]
    years: set[int]


class Assistant:
    def __init__(self, settings: Settings, searcher: Searcher) -> None:
        self.settings = settings
        self.searcher = searcher
        self._doc_wards: dict[str, str | None] = {}
        self._doc_years: dict[str, int | None] = {}
        self._doc_types: dict[str, str] = {}
        for c in searcher.chunks:
            self._doc_wards[c.doc_id] = ward_key(c.ward)
            self._doc_years[c.doc_id] = c.year
            self._doc_types[c.doc_id] = c.doc_type
        self._wards = {w for w in self._doc_wards.values() if w}
        self._newest_of_ward = self._newest_plans()
        self._titles = {c.doc_id: c.title for c in searcher.chunks}
        self._superseded_by: dict[str, str] = dict(searcher.index.manifest.extra.get("superseded_by", {}))
        self._replaces = {new: old for old, new in self._superseded_by.items()}

    @classmethod
    def load(cls, settings: Settings | None = None, embedder: Embedder | None = None,
             build_if_missing: bool = False, show_progress: bool = False) -> "Assistant":
        settings = settings or get_settings()
        embedder = embedder or load_embedder(settings)
        try:
            index = store.load(settings.data_dir, embedder.model_id)
        except store.IndexMissing:
            if not build_if_missing:
                raise
            build_index(settings, embedder=embedder, show_progress=show_progress)
            index = store.load(settings.data_dir, embedder.model_id)
        return cls(settings, Searcher(index, embedder, settings.dense_weight))

    def _newest_plans(self) -> set[str]:
        """Plans that are the newest of a ward that has several: preferred when no year is asked."""
        by_ward: dict[str, list[tuple[int, str]]] = {}
        for doc, ward in self._doc_wards.items():
            year = self._doc_years.get(doc)
            if ward and year:
                by_ward.setdefault(ward, []).append((year, doc))
        newest = set()
        for plans in by_ward.values():
            top = max(year for year, _ in plans)
            if len(plans) > 1:
                newest |= {doc for year, doc in plans if year == top}
        return newest

    # -- locality and time -------------------------------------------------------------
    def place(self, question: str) -> Place:
        folded = " " + re.sub(r"[^a-z0-9 ]+", " ", fold(question)) + " "
        wards = {w for w in self._wards if f" {w} " in folded}
        years = {int(y) for y in RE_YEAR.findall(question)}
        return Place(wards, years)

    def boosts(self, place: Place) -> dict[str, float]:
        """Prefer the named ward and year; with no year named, prefer each ward's newest plan."""
        factors: dict[str, float] = {}
        for doc, ward in self._doc_wards.items():
            if self._doc_types.get(doc) == "hướng dẫn":
                continue
            year = self._doc_years.get(doc)
            f = 1.0
            if place.wards:
                f *= 1.5 if ward in place.wards else 0.6
            if place.years:
                f *= 1.3 if year in place.years else 0.7
            elif doc in self._newest_of_ward:
                f *= 1.1
            factors[doc] = f
        return factors

    # -- retrieval -----------------------------------------------------------------------
    def retrieve(self, question: str, mode: Mode = "hybrid", k: int | None = None,
                 corrected: str | None = None) -> list[Hit]:
        corrected = corrected or self.searcher.correct(question)
        return self.searcher.search(question, k or self.settings.top_k, mode=mode,
                                    boosts=self.boosts(self.place(corrected)), keyword_query=corrected)

    def decide(self, question: str, hits: list[Hit]) -> tuple[bool, float]:
        """Does the knowledge base answer this? Coverage of the question by the best passages."""
        if not hits:
            return False, 0.0
        coverage = max(self.searcher.coverage(question, h) for h in hits[:3])
        # The plans hold no per-procedure papers, fees or durations, nor office hours or addresses:
        # such questions need a near-full match.
        strict = asks_procedure_detail(question) or asks_office_info(question)
        threshold = self.settings.found_threshold_detail if strict else self.settings.found_threshold
        return coverage >= threshold, coverage

    # -- the whole turn ------------------------------------------------------------------
    def answer(self, question: str, mode: Mode = "hybrid") -> Answer:
        started = time.perf_counter()
        reading = read(question, self.settings.max_question_chars)
        if reading.reply is not None:
            total = (time.perf_counter() - started) * 1000
            return Answer(question, reading.reply, reading.kind == "smalltalk", kind=reading.kind,
                          timings_ms={"retrieve": 0.0, "compose": 0.0, "total": round(total, 1)})
        corrected = self.searcher.correct(reading.question)
        hits = self.retrieve(reading.question, mode=mode, corrected=corrected)
        retrieved = time.perf_counter()
        found, coverage = self.decide(corrected, hits)
        answer = self._compose(question, corrected, hits) if found else None
        if answer is None:
            reply = replies.NO_PROCEDURE_DETAILS if asks_procedure_detail(corrected) else replies.NOT_FOUND
            answer = Answer(question, reply, False, kind="not_found")
        done = time.perf_counter()
        answer.timings_ms = {
            "retrieve": round((retrieved - started) * 1000, 1),
            "compose": round((done - retrieved) * 1000, 1),
            "total": round((done - started) * 1000, 1),
        }
        answer.debug = {"coverage": round(coverage, 3), "hits": hits}
        return answer

    def _version_note(self, doc_id: str) -> str | None:
        """Say when a plan has been replaced, or which older plan the current one replaces."""
        newer = self._superseded_by.get(doc_id)
        if newer:
            return f"Lưu ý: kế hoạch này đã có kế hoạch thay thế: {self._titles.get(newer, newer)}."
        older = self._replaces.get(doc_id)
        if older:
            return f"(Đây là kế hoạch mới nhất, thay cho {self._titles.get(older, older)}.)"
        return None

    def _compose(self, raw: str, question: str, hits: list[Hit]) -> Answer | None:
        # Quote only passages from documents that matter: the best one, and others close to it.
        # One answer, one document (say which plan it comes from); the two guidance notes may combine.
        best = hits[0]
        guidance = best.chunk.doc_type == "hướng dẫn"
        usable = [
            h for h in hits
            if h.score >= 0.5 * best.score
            and (h.chunk.doc_id == best.chunk.doc_id or (guidance and h.chunk.doc_type == "hướng dẫn"))
        ]
        chosen = select_sentences(question, usable, self.searcher.index.keyword.idf)
        if not chosen:
            return None
        citations: list[Citation] = []
        numbers: dict[str, int] = {}
        groups: dict[str, list[str]] = {}  # section -> bullets, in reading order
        idf = self.searcher.index.keyword.idf
        for unit, h in chosen:
            hit = usable[h]
            key = hit.chunk.id
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                citations.append(Citation(
                    n=numbers[key], doc_id=hit.chunk.doc_id, title=hit.chunk.title, section=hit.chunk.section,
                    source=hit.chunk.source, text=hit.chunk.passage, score=round(hit.score, 4), date=hit.chunk.date,
                ))
            leaf = section_leaf(hit.chunk.section)
            heading = leaf if leaf and fold(leaf) not in fold(unit) else ""
            quote = re.sub(r"^[-–+•]\s*", "", excerpt(unit, question, idf))
            if quote[:1].islower():
                quote = "… " + quote  # a clause cut from a longer sentence
            groups.setdefault(heading, []).append(f"• {quote} [{numbers[key]}]")
        parts = [lead_in(usable[chosen[0][1]])]
        for heading, bullets in groups.items():
            parts.append((f"{heading}:\n" if heading else "") + "\n".join(bullets))
        note = self._version_note(usable[chosen[0][1]].chunk.doc_id)
        if note:
            parts.append(note)
        sources = "\n".join(c.label() for c in citations)
        text = "\n".join(parts) + f"\n\nNguồn:\n{sources}"
        return Answer(raw, text, True, citations, kind="answer")
