"""Measure the assistant on an eval file: answer accuracy, hit@5, MRR, out-of-scope handling, per category.

The same code serves `cchc eval`, the tests' quality floors and the calibration of the fusion weight
and the found threshold, so the figures in the README are the figures the tests check.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.answer import Assistant
from bot.types import Answer
from index.search import Mode
from index.vietnamese import fold, has_vietnamese_diacritics

CATEGORIES_NOT_FOUND = {"out_of_scope", "unanswerable", "national_procedure"}


@dataclass
class EvalItem:
    id: str
    question: str
    category: str
    expect_found: bool
    expected_docs: list[str] = field(default_factory=list)
    expected_facts: list[str] = field(default_factory=list)


@dataclass
class ItemResult:
    item: EvalItem
    found: bool
    correct: bool
    rank: int | None  # 1-based rank of the first expected document in the top 5
    coverage: float
    answer: str


@dataclass
class Report:
    results: list[ItemResult]

    def _rate(self, values: list[bool]) -> float | None:
        return round(sum(values) / len(values), 3) if values else None

    def metrics(self, results: list[ItemResult] | None = None) -> dict:
        rs = self.results if results is None else results
        retrieval = [r for r in rs if r.item.expected_docs]
        negatives = [r for r in rs if not r.item.expect_found]
        return {
            "n": len(rs),
            "answer_accuracy": self._rate([r.correct for r in rs]),
            "hit@5": self._rate([r.rank is not None for r in retrieval]),
            "mrr": round(sum(1 / r.rank for r in retrieval if r.rank) / len(retrieval), 3) if retrieval else None,
            "out_of_scope_accuracy": self._rate([not r.found for r in negatives]),
        }

    def by_category(self) -> dict[str, dict]:
        groups: dict[str, list[ItemResult]] = defaultdict(list)
        for r in self.results:
            groups[r.item.category].append(r)
        return {cat: self.metrics(rs) for cat, rs in sorted(groups.items())}

    def diacritics_agreement(self) -> float | None:
        """Share of with/without-diacritics question pairs that get the same found decision."""
        by_folded: dict[str, list[ItemResult]] = defaultdict(list)
        for r in self.results:
            by_folded[" ".join(fold(r.item.question).split())].append(r)
        pairs = [rs for rs in by_folded.values()
                 if len(rs) == 2 and has_vietnamese_diacritics(rs[0].item.question) != has_vietnamese_diacritics(rs[1].item.question)]
        return self._rate([rs[0].found == rs[1].found for rs in pairs])

    def failures(self) -> list[ItemResult]:
        return [r for r in self.results if not r.correct or (r.item.expected_docs and r.rank is None)]


def load_items(path: Path) -> list[EvalItem]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    items = []
    for row in data:
        items.append(EvalItem(
            id=str(row["id"]), question=str(row["question"]), category=str(row.get("category", "other")),
            expect_found=bool(row.get("expect_found", True)),
            expected_docs=list(row.get("expected_docs") or []),
            expected_facts=[str(f) for f in (row.get("expected_facts") or [])],
        ))
    return items


def facts_present(answer: str, facts: list[str]) -> bool:
    text = " ".join(fold(answer).split())
    return all(" ".join(fold(f).split()) in text for f in facts)


def judge(item: EvalItem, answer: Answer) -> ItemResult:
    hits = answer.debug.get("hits", [])[:5]
    rank = next((i + 1 for i, h in enumerate(hits) if h.chunk.doc_id in item.expected_docs), None)
    if item.expect_found:
        correct = answer.found and facts_present(answer.text, item.expected_facts)
    else:
        correct = not answer.found
    return ItemResult(item, answer.found, correct, rank, answer.debug.get("coverage", 0.0), answer.text)


def evaluate(assistant: Assistant, items: list[EvalItem], mode: Mode = "hybrid") -> Report:
    return Report([judge(item, assistant.answer(item.question, mode=mode)) for item in items])


def calibrate(assistant: Assistant, items: list[EvalItem],
              weights: tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5),
              thresholds: tuple[float, ...] = tuple(round(0.30 + 0.025 * i, 3) for i in range(21))) -> list[dict]:
    """Grid over the fusion weight and the found threshold; rows sorted best first."""
    settings = assistant.settings
    original = (assistant.searcher.dense_weight, settings.found_threshold)
    rows = []
    try:
        for w in weights:
            assistant.searcher.dense_weight = w
            settings.found_threshold = 0.0  # compose every answer once; the threshold is applied below
            answers = [(item, assistant.answer(item.question)) for item in items]
            for t in thresholds:
                results = []
                for item, ans in answers:
                    r = judge(item, ans)
                    if ans.kind in ("answer", "not_found"):
                        r.found = ans.found and r.coverage >= t
                        r.correct = (r.found and facts_present(ans.text, item.expected_facts)) if item.expect_found else not r.found
                    results.append(r)
                m = Report(results).metrics()
                rows.append({"dense_weight": w, "found_threshold": t, **m})
    finally:
        assistant.searcher.dense_weight, settings.found_threshold = original
    rows.sort(key=lambda r: (-(r["answer_accuracy"] or 0), -(r["hit@5"] or 0), -(r["mrr"] or 0), r["dense_weight"]))
    return rows


def format_report(report: Report, title: str = "") -> str:
    lines = [title] if title else []
    m = report.metrics()
    lines.append(
        f"Tổng: n={m['n']}  answer_accuracy={m['answer_accuracy']}  hit@5={m['hit@5']}  "
        f"MRR={m['mrr']}  out_of_scope_accuracy={m['out_of_scope_accuracy']}"
    )
    agreement = report.diacritics_agreement()
    if agreement is not None:
        lines.append(f"Cùng quyết định có/không dấu: {agreement}")
    lines.append(f"{'category':<20}{'n':>4}{'acc':>8}{'hit@5':>8}{'MRR':>8}{'oos':>8}")
    for cat, cm in report.by_category().items():
        fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
        lines.append(f"{cat:<20}{cm['n']:>4}{fmt(cm['answer_accuracy']):>8}{fmt(cm['hit@5']):>8}"
                     f"{fmt(cm['mrr']):>8}{fmt(cm['out_of_scope_accuracy']):>8}")
    return "\n".join(lines)
